// Package ussdtest holds helpers for testing the ussd package and what is
// built on it against real backends.
package ussdtest

import (
	"context"
	"crypto/rand"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// DefaultRedisURL is used when LUMBUNG_TEST_REDIS_URL is not set.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// BackendsRequired reports whether tests must fail, rather than skip, when a
// backend (Redis, PostgreSQL) is unreachable: in CI (CI=true) or when
// LUMBUNG_TEST_REQUIRE_BACKENDS=1. One rule for every backend.
func BackendsRequired() bool { return ledgertest.BackendsRequired() }

// Redis returns a client for the test Redis (LUMBUNG_TEST_REDIS_URL, default
// DefaultRedisURL) and a key prefix of the form "lumbungtest:<random>:"
// unique to this test. When the test ends, every key under the prefix is
// deleted and the client is closed. If Redis is unreachable the test is
// skipped, or fails when BackendsRequired.
func Redis(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	url := os.Getenv("LUMBUNG_TEST_REDIS_URL")
	if url == "" {
		url = DefaultRedisURL
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("LUMBUNG_TEST_REDIS_URL %q: %v", url, err)
	}
	unreachable := func(err error) {
		t.Helper()
		if BackendsRequired() {
			t.Fatalf("Redis is required (CI=true or LUMBUNG_TEST_REQUIRE_BACKENDS=1) but %s is unreachable: %v", opts.Addr, err)
		}
		t.Skipf("Redis at %s is unreachable (%v); start one or set LUMBUNG_TEST_REDIS_URL, and set LUMBUNG_TEST_REQUIRE_BACKENDS=1 to fail instead of skip", opts.Addr, err)
	}
	// A plain dial first: the client retries a refused dial for seconds,
	// which would make every skipped test slow.
	conn, err := net.DialTimeout(opts.Network, opts.Addr, time.Second)
	if err != nil {
		unreachable(err)
	}
	_ = conn.Close()

	client := redis.NewClient(opts)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		unreachable(err)
	}

	prefix := "lumbungtest:" + strings.ToLower(rand.Text()) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		defer client.Close()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("scan test keys %s*: %v", prefix, err)
			return
		}
		if len(keys) > 0 {
			if err := client.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("delete test keys %s*: %v", prefix, err)
			}
		}
	})
	return client, prefix
}

// RoundTrips is a go-redis hook that counts round trips to Redis: a command
// is one, a pipeline (however many commands it carries) is one. A script is
// what it sends: EVALSHA, and EVAL as a second round trip when Redis answers
// NOSCRIPT. Add it with client.AddHook; it is safe for concurrent use.
type RoundTrips struct {
	mu    sync.Mutex
	trips []string
}

var _ redis.Hook = (*RoundTrips)(nil)

// Reset forgets the round trips counted so far.
func (h *RoundTrips) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.trips = nil
}

// Count is the number of round trips since the last Reset.
func (h *RoundTrips) Count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.trips)
}

// Trips names each round trip since the last Reset, in order: a command by
// its name ("evalsha", "del"), a pipeline as "pipeline(setnx get incr expire)".
func (h *RoundTrips) Trips() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.trips...)
}

func (h *RoundTrips) add(trip string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.trips = append(h.trips, trip)
}

// DialHook implements redis.Hook.
func (h *RoundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

// ProcessHook implements redis.Hook.
func (h *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.add(cmd.Name())
		return next(ctx, cmd)
	}
}

// ProcessPipelineHook implements redis.Hook.
func (h *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.add("pipeline(" + strings.Join(names, " ") + ")")
		return next(ctx, cmds)
	}
}

// Proxy is a TCP proxy a test puts between lumbung and a backend (Redis,
// PostgreSQL) to cut it off the ways a network does: Refuse makes the
// backend refuse connections, Blackhole makes it accept them and never
// answer, Pass puts it back. It starts passing; the test's cleanup stops it.
type Proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	mode  proxyMode
	ln    net.Listener
	pairs map[*proxyPair]struct{}
	wg    sync.WaitGroup
}

type proxyMode int

const (
	proxyPass proxyMode = iota
	proxyRefuse
	proxyBlackhole
)

// proxyPair is one proxied connection. A blackholed pair forwards nothing
// either way, and is closed when the proxy stops blackholing.
type proxyPair struct {
	client, server net.Conn // server is nil for a connection accepted while blackholing
	blackholed     bool     // under Proxy.mu
}

// NewProxy starts a proxy on a free loopback port that forwards to target
// (host:port).
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target, addr: "127.0.0.1:0", pairs: map[*proxyPair]struct{}{}}
	if err := p.listen(); err != nil {
		t.Fatalf("proxy to %s: %v", target, err)
	}
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's host:port, to use instead of the target's.
func (p *Proxy) Addr() string { return p.addr }

// Pass forwards again: dials reach the backend; connections that were
// blackholed are closed (the backend has long given up on them).
func (p *Proxy) Pass() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pair := range p.pairs {
		if pair.blackholed {
			p.dropLocked(pair)
		}
	}
	prev := p.mode
	p.mode = proxyPass
	if prev == proxyRefuse {
		return p.listenLocked()
	}
	return nil
}

// Refuse closes the listening socket and every connection: dials are
// refused, as by a backend that is down.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = proxyRefuse
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for pair := range p.pairs {
		p.dropLocked(pair)
	}
}

// Blackhole keeps accepting connections but stops forwarding anything on
// them, new and open ones alike: whatever is sent is never answered.
func (p *Proxy) Blackhole() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.mode
	p.mode = proxyBlackhole
	for pair := range p.pairs {
		pair.blackholed = true
	}
	if prev == proxyRefuse {
		return p.listenLocked()
	}
	return nil
}

func (p *Proxy) listen() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.listenLocked()
}

// listenLocked listens on p.addr again (the port of the first listen), a
// few tries in case the port is slow to free.
func (p *Proxy) listenLocked() error {
	var ln net.Listener
	var err error
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	p.ln, p.addr = ln, ln.Addr().String()
	p.wg.Add(1)
	go p.accept(ln)
	return nil
}

func (p *Proxy) accept(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		mode := p.mode
		p.mu.Unlock()
		pair := &proxyPair{client: c}
		if mode == proxyPass {
			s, err := net.DialTimeout("tcp", p.target, 5*time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			pair.server = s
		}
		p.mu.Lock()
		if p.mode != mode || p.ln != ln { // switched meanwhile: start afresh
			p.mu.Unlock()
			_ = c.Close()
			if pair.server != nil {
				_ = pair.server.Close()
			}
			continue
		}
		pair.blackholed = mode == proxyBlackhole
		p.pairs[pair] = struct{}{}
		p.wg.Add(1)
		go p.pipe(pair, pair.client, pair.server)
		if pair.server != nil {
			p.wg.Add(1)
			go p.pipe(pair, pair.server, pair.client)
		}
		p.mu.Unlock()
	}
}

// pipe copies from src to dst until src closes, dropping what it reads
// while the pair is blackholed (dst nil: always). The client closing ends
// the pair; the server closing ends it unless it is blackholed (a
// blackholed backend never says goodbye either: the client side stays open
// until the proxy lets go of it).
func (p *Proxy) pipe(pair *proxyPair, src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		blackholed := pair.blackholed
		p.mu.Unlock()
		if n > 0 && !blackholed && dst != nil {
			if _, werr := dst.Write(buf[:n]); werr != nil && err == nil {
				err = werr
			}
		}
		if err != nil {
			if src == pair.client || !blackholed {
				p.mu.Lock()
				p.dropLocked(pair)
				p.mu.Unlock()
			}
			return
		}
	}
}

// dropLocked closes both sides of pair and forgets it. p.mu must be held.
func (p *Proxy) dropLocked(pair *proxyPair) {
	_ = pair.client.Close()
	if pair.server != nil {
		_ = pair.server.Close()
	}
	delete(p.pairs, pair)
}

func (p *Proxy) close() {
	p.Refuse()
	p.wg.Wait()
}
