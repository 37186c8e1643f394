package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/ussd"
)

// How lumbung talks to PostgreSQL and Redis so that an outage is answered
// fast: a member whose hop cannot reach a backend gets the polite END well
// within a second, not at the end of LUMBUNG_USSD_HOP_DEADLINE, and
// everything comes back by itself when the backend does.

// redisTimeout bounds every dial, read and write of Redis, and the wait for
// a free connection. A hop costs two round trips of well under a
// millisecond; a Redis that takes this long is not answering.
const redisTimeout = 300 * time.Millisecond

// redisOptions parses a one-server LUMBUNG_REDIS_URL (redis://…) and sets
// the timeouts the URL leaves unset (see boundRedis).
func redisOptions(rawURL string) (*redis.Options, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	boundRedis(&opts.DialTimeout, &opts.ReadTimeout, &opts.WriteTimeout, &opts.PoolTimeout,
		&opts.MaxRetries, &opts.DialerRetries, &opts.ContextTimeoutEnabled)
	return opts, nil
}

// newRedisClient connects to what LUMBUNG_REDIS_URL names (config.ParseRedisURL):
// one server, a Redis Cluster (go-redis's cluster client, which follows
// MOVED/ASK and splits a pipeline by master) or the master Sentinel names
// (go-redis's failover client). Each gets the timeouts of boundRedis, on
// every node's connections.
func newRedisClient(rawURL string) (redis.UniversalClient, error) {
	t, err := config.ParseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	switch t.Mode {
	case config.RedisCluster:
		o := t.Cluster
		boundRedis(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled)
		return redis.NewClusterClient(o), nil
	case config.RedisSentinel:
		o := t.Sentinel
		boundRedis(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled)
		return redis.NewFailoverClient(o), nil
	default:
		o := t.Server
		boundRedis(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout,
			&o.MaxRetries, &o.DialerRetries, &o.ContextTimeoutEnabled)
		return redis.NewClient(o), nil
	}
}

// boundRedis sets what the URL leaves unset: one dial attempt per command
// and one retry (on a fresh connection, for a connection Redis dropped while
// idle), every wait bounded by redisTimeout and by the caller's context.
func boundRedis(dial, read, write, pool *time.Duration, maxRetries, dialerRetries *int, contextTimeout *bool) {
	for _, d := range []*time.Duration{dial, read, write, pool} {
		if *d == 0 {
			*d = redisTimeout
		}
	}
	if *maxRetries == 0 {
		*maxRetries = 1
	}
	if *dialerRetries == 0 {
		*dialerRetries = 1
	}
	*contextTimeout = true
}

// postgresDSN adds connect_timeout=1 (lib/pq counts it in whole seconds) to
// LUMBUNG_DATABASE_URL unless it sets one: without it, a server that accepts
// the TCP connection but never answers the start-up keeps the new
// connection waiting for ever.
func postgresDSN(dsn string) string {
	if strings.Contains(dsn, "connect_timeout") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("connect_timeout", "1")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " connect_timeout=1" // key=value form
}

// hopBudget is how long a USSD hop waits on PostgreSQL and Redis before it
// answers the polite END: a sixth of LUMBUNG_USSD_HOP_DEADLINE (830 ms at
// the default 5 s), so that an outage is answered well within a second while
// a slow posting still gets the whole deadline (see ussd.Handler.Budget).
// On the embedded SQLite file the hop keeps the whole deadline: a local
// file does not go silent, but a PIN check may queue behind another
// teller's posting for the write lock, and cutting it short would tell the
// member "gangguan" under load (seen with `lumbung loadtest --flow deposit`);
// Redis, if used with SQLite, still fails within its client timeouts.
func hopBudget(deadline time.Duration, d ledger.Dialect) time.Duration {
	if d == ledger.SQLite {
		return deadline
	}
	return deadline / 6
}

// readyTimeout bounds each /readyz probe: a backend that does not answer
// within it is reported as timing out.
const readyTimeout = 500 * time.Millisecond

// probe runs ping with a readyTimeout deadline and stops waiting for it at
// the deadline even if ping does not return (lib/pq waits for a server that
// accepted a query and went silent however its context ends).
func probe(ctx context.Context, ping func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ping(ctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// readiness names a probe's outcome for /readyz.
func readiness(err error) string {
	var netErr net.Error
	switch {
	case err == nil:
		return "ok"
	case degraded(err):
		return "degraded"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	default:
		return "unreachable"
	}
}

// degraded reports whether a probe found a backend partly down: some
// masters of a Redis Cluster answer. The sessions on them are served, so
// neither are hops ENDed at once nor does /readyz say 503 — every instance
// shares the cluster, and a load balancer that took them all out would turn
// one lost master into a lost service.
func degraded(err error) bool { return errors.Is(err, ussd.ErrSomeMastersDown) }

// waitForWrites tells the USSD handler when a hop's posting starts (the
// database has opened its transaction), so that the hop waits for the
// posting's outcome (up to LUMBUNG_USSD_HOP_DEADLINE) instead of answering
// at its backend budget: a member is not told "gangguan" about money that
// then moved. Until the database answers, the hop keeps its budget: a
// database that went silent gets the polite END within it, nothing posted.
// A hop already answered posts nothing (ussd.ErrHopAnswered); its retry
// posts under the same idempotency key, once.
type waitForWrites struct{ menus.Books }

// whenWriteStarts is ctx for a posting of the hop of ctx.
func whenWriteStarts(ctx context.Context) context.Context {
	return ledger.WhenWriteStarts(ctx, func() error { return ussd.BeginWrite(ctx) })
}

func (b waitForWrites) Repay(ctx context.Context, r ledger.Repayment) (ledger.RepaymentResult, error) {
	return b.Books.Repay(whenWriteStarts(ctx), r)
}

func (b waitForWrites) CreateDepositCode(ctx context.Context, r ledger.DepositCodeRequest) (ledger.DepositCode, error) {
	return b.Books.CreateDepositCode(whenWriteStarts(ctx), r)
}

func (b waitForWrites) ConfirmDepositCode(ctx context.Context, coopID, staffID int64, code string, actor string) (ledger.Receipt, error) {
	return b.Books.ConfirmDepositCode(whenWriteStarts(ctx), coopID, staffID, code, actor)
}

func (b waitForWrites) DepositCash(ctx context.Context, d ledger.CashDeposit) (ledger.Receipt, error) {
	return b.Books.DepositCash(whenWriteStarts(ctx), d)
}

// rewatchEvery is how often, while a backend is down, a hop starts another
// look at it (in the background: the hop does not wait for it).
const rewatchEvery = 250 * time.Millisecond

// backendWatch knows whether PostgreSQL or Redis is down, from probes that
// /readyz runs and that the USSD handler starts when a hop fails or gives
// up (ussd.Backends). While one is down, hops get the polite END at once
// rather than each waiting out its budget; a look every rewatchEvery, started
// by the hops themselves, notices the backend is back. Nothing runs while
// both are up and no hop fails.
type backendWatch struct {
	log    *slog.Logger
	probes map[string]func(context.Context) error // by /readyz name

	down    atomic.Bool
	mu      sync.Mutex
	partly  map[string]bool // backends last found partly down (logged once)
	looking bool            // a background look is running
	looked  time.Time       // when the last look ended
	started uint64          // looks started so far
	latest  uint64          // the look whose finding down holds: the latest started of those recorded
}

func newBackendWatch(log *slog.Logger, probes map[string]func(context.Context) error) *backendWatch {
	return &backendWatch{log: log, probes: probes}
}

// Down implements ussd.Backends.
func (w *backendWatch) Down() bool {
	if !w.down.Load() {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if time.Since(w.looked) >= rewatchEvery {
		w.lookLocked()
	}
	return true
}

// Suspect implements ussd.Backends.
func (w *backendWatch) Suspect() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lookLocked()
}

// lookLocked starts a background look unless one is running. w.mu must be held.
func (w *backendWatch) lookLocked() {
	if w.looking {
		return
	}
	w.looking = true
	go func() {
		w.look(context.Background())
		w.mu.Lock()
		w.looking, w.looked = false, time.Now()
		w.mu.Unlock()
	}()
}

// look checks every backend and records what it found, unless a look that
// started later has recorded already: a probe begun during an outage and
// timing out after the backend came back must not undo a newer "ok".
func (w *backendWatch) look(ctx context.Context) map[string]error {
	w.mu.Lock()
	w.started++
	n := w.started
	w.mu.Unlock()
	errs := w.check(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > w.latest {
		w.latest = n
		w.record(errs)
	}
	return errs
}

// check probes every backend at once; each gets readyTimeout.
func (w *backendWatch) check(ctx context.Context) map[string]error {
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(w.probes))
	for name, ping := range w.probes {
		go func() { results <- result{name, probe(ctx, ping)} }()
	}
	errs := make(map[string]error, len(w.probes))
	for range w.probes {
		r := <-results
		errs[r.name] = r.err
	}
	return errs
}

// record takes what a check found, logging when a backend goes or comes
// back. w.mu must be held.
func (w *backendWatch) record(errs map[string]error) {
	down := false
	for name, err := range errs {
		switch {
		case err == nil:
		case degraded(err):
			if !w.partly[name] {
				w.log.Error("backend partly down: USSD sessions on the rest are served", "backend", name, "err", err)
			}
		default:
			down = true
			if !w.down.Load() {
				w.log.Error("backend down: USSD hops get the polite END at once until it is back", "backend", name, "err", err)
			}
		}
	}
	for name, err := range errs {
		was := w.partly[name]
		if now := err != nil && degraded(err); now != was {
			if w.partly == nil {
				w.partly = map[string]bool{}
			}
			w.partly[name] = now
			if !now && err == nil {
				w.log.Info("backend whole again", "backend", name)
			}
		}
	}
	if w.down.Swap(down) && !down {
		w.log.Info("backends back: USSD hops are served again")
	}
}
