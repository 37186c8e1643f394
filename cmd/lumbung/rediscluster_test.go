package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// startAppOnRedisURL opens the app the way `lumbung serve` does (openApp),
// on a fresh PostgreSQL schema and the Redis deployment redisURL names,
// with the demo cooperative seeded.
func startAppOnRedisURL(t *testing.T, redisURL string, mutate func(*config.Config)) *testEnv {
	t.Helper()
	_, dbURL := ledgertest.PostgresWithURL(t)
	vars := map[string]string{"LUMBUNG_DATABASE_URL": dbURL, "LUMBUNG_SECRET": string(testKey),
		"LUMBUNG_REDIS_URL": redisURL, "LUMBUNG_INSECURE_CALLBACKS": "1"}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, "")
	require.NoError(t, err)
	cfg.USSDHopDeadline = 30 * time.Second // as startApp: a loaded -race machine is not what this is about
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := openApp(context.Background(), cfg, log, false)
	require.NoError(t, err)
	require.NoError(t, seedDemo(context.Background(), a.dir, a.books, time.Now()))
	srv := httptest.NewServer(a.echo)
	t.Cleanup(func() {
		srv.Close()
		a.close()
	})
	return &testEnv{srv: srv, app: a, logs: logs}
}

// TestRedisClusterJourneys: `lumbung serve` with LUMBUNG_REDIS_URL naming a
// real three-master Redis Cluster (redis+cluster://h1,h2,h3) answers whole
// USSD journeys through the HTTP handler (a balance, a repayment that posts
// once, the network ending a session, the rate limit), many at once, within
// the same Redis budget per hop as on one server (TestRedisRoundTripsPerHop).
func TestRedisClusterJourneys(t *testing.T) {
	cluster := ussdtest.StartRedisCluster(t)
	const limit = 20
	env := startAppOnRedisURL(t, "redis+cluster://"+strings.Join(cluster.Addrs, ","), func(c *config.Config) { c.USSDRateLimit = limit })
	cc, ok := env.app.redis.(*redis.ClusterClient)
	require.True(t, ok, "LUMBUNG_REDIS_URL redis+cluster:// gives a cluster client, got %T", env.app.redis)
	require.Equal(t, redisTimeout, cc.Options().ReadTimeout, "the cluster client is bounded like the one-server one")
	_, isRedis := env.app.sessions.(*ussd.RedisStore)
	require.True(t, isRedis)
	ctx := context.Background()

	// Warm up: connections open, and the scripts loaded on every master
	// (sessions spread over all three; each master loads a script the first
	// time it is sent, an EVAL after the EVALSHA it did not know).
	journey(t, env.phone("081234567891"), "1", "1")
	for i := range 30 {
		require.NoError(t, env.app.sessions.Update(ctx, fmt.Sprintf("warm-up-%d", i), time.Minute, func([]byte) ([]byte, error) { return nil, nil }))
		require.Error(t, env.app.sessions.Update(ctx, fmt.Sprintf("warm-up-%d", i), time.Minute, func([]byte) ([]byte, error) { return nil, errBoom }))
	}

	trips := &ussdtest.RoundTrips{}
	cc.AddHook(trips)
	// What each master is sent: a pipeline spanning slots is split by
	// go-redis into one pipeline per master, sent at once.
	perNode := &ussdtest.RoundTrips{}
	require.NoError(t, cc.ForEachShard(ctx, func(ctx context.Context, shard *redis.Client) error {
		shard.AddHook(perNode)
		return nil
	}))
	budget := func(name string, want []string, do func() ussdtest.Screen) ussdtest.Screen {
		t.Helper()
		trips.Reset()
		perNode.Reset()
		s := do()
		assert.Equal(t, want, trips.Trips(), "Redis round trips of %s", name)
		t.Logf("%s: %v, on the masters %v", name, trips.Trips(), perNode.Trips())
		return s
	}
	const (
		create = "pipeline(set incr expire)"
		hop    = "pipeline(set get incr expire)"
		commit = "evalsha"
	)
	p := env.phone(phoneMaria)
	s := budget("the first hop", []string{create}, func() ussdtest.Screen {
		s, err := p.Dial(ctx)
		require.NoError(t, err)
		return s
	})
	assert.Contains(t, s.Text, "1 Cek Saldo")
	s = budget("a navigation hop", []string{hop, commit}, func() ussdtest.Screen {
		s, err := p.Send(ctx, "1")
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, "Masukkan PIN (6 angka):\n0 Kembali", s.Text)
	again := budget("a retried hop", []string{hop, commit}, func() ussdtest.Screen {
		s, err := p.Retry(ctx)
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, s, again, "the retry got the stored reply")
	s = budget("the PIN and balance hop", []string{hop, commit}, func() ussdtest.Screen {
		s, err := p.Send(ctx, pinMaria)
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, ussdtest.Screen{End: true, Text: "Saldo Maria G.\nPokok Rp500.000\nWajib Rp1.200.000\nSukarela Rp1.250.000\nPinjaman Rp0"}, s)

	t.Run("the network ends a live session", func(t *testing.T) {
		p := env.phone(phoneMaria)
		_, err := p.Dial(ctx)
		require.NoError(t, err)
		code, _ := post(t, env, "/ussd/africastalking/events", url.Values{"sessionId": {p.SessionID()}, "phoneNumber": {"+62" + phoneMaria[1:]}, "status": {"Success"}})
		assert.Equal(t, http.StatusOK, code)
		got, err := env.app.sessions.Get(ctx, "africastalking:"+p.SessionID())
		require.NoError(t, err)
		assert.Nil(t, got, "the session's state is gone from the cluster")
	})

	t.Run("a repayment posts once", func(t *testing.T) {
		b := demoBooks(t, env)
		loan := b.loan("A-003")
		due, _, err := env.app.books.NextInstallment(ctx, b.coop, loan.LoanID)
		require.NoError(t, err)
		before := b.balances("A-003")
		p := env.phone(phoneFamily)
		journey(t, p, "2", "3")
		s, err := p.Send(ctx, "1")
		require.NoError(t, err)
		require.Contains(t, s.Text, "Masukkan PIN")
		s = hopTwice(t, b, p, pinTheresia)
		assert.Regexp(t, `^Pembayaran `+regexp.QuoteMeta(ledger.FormatRupiah(due))+` berhasil\.`, s.Text)
		assert.Equal(t, before.Sukarela-due, b.balances("A-003").Sukarela, "sukarela down by the payment, once")
		b.reconciles()
	})

	t.Run("journeys at once", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 12)
		for i := range 12 {
			wg.Go(func() {
				p := env.phone(phoneMaria)
				screens := []string{}
				s, err := p.Dial(ctx)
				for _, in := range []string{"1", pinMaria} {
					if err != nil || s.End { // an END: the rate limit, once the phone's minute is used up
						break
					}
					screens = append(screens, s.Text)
					s, err = p.Send(ctx, in)
				}
				switch {
				case err != nil:
					errs <- err
				case !strings.Contains(s.Text, "Sukarela Rp1.250.000") && s.Text != rateLimited:
					errs <- fmt.Errorf("journey %d ended %q after %q", i, s.Text, screens)
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			assert.NoError(t, err)
		}
	})

	t.Run("the rate limit holds across the cluster", func(t *testing.T) {
		p := env.phone("081234567892")
		limited := 0
		for range 3 * limit {
			s, err := p.Dial(ctx)
			require.NoError(t, err)
			if s.Text == rateLimited {
				limited++
			}
		}
		// The minute may turn once during the dials: at most 2*limit pass.
		assert.GreaterOrEqual(t, limited, limit, "hops over %d a minute are refused", limit)
	})
	assertNoSecretsLogged(t, env, demoPINs...)
}

var errBoom = errors.New("boom")

const rateLimited = "Terlalu banyak permintaan. Silakan coba lagi beberapa menit lagi."

// TestRedisSentinelJourney: LUMBUNG_REDIS_URL naming a real Sentinel
// (redis+sentinel://…?master_name=…) gives go-redis's failover client on
// the master it names, and a journey works through it.
func TestRedisSentinelJourney(t *testing.T) {
	sentinel := ussdtest.StartRedisSentinel(t)
	env := startAppOnRedisURL(t, "redis+sentinel://"+sentinel.Addr+"/3?master_name="+sentinel.MasterName, nil)
	rc, ok := env.app.redis.(*redis.Client)
	require.True(t, ok, "got %T", env.app.redis)
	assert.Equal(t, 3, rc.Options().DB)
	screens := journey(t, env.phone(phoneMaria), "1", pinMaria)
	assert.Equal(t, ussdtest.Screen{End: true, Text: "Saldo Maria G.\nPokok Rp500.000\nWajib Rp1.200.000\nSukarela Rp1.250.000\nPinjaman Rp0"}, last(screens))
	info, err := rc.Info(context.Background(), "server").Result()
	require.NoError(t, err)
	assert.Contains(t, info, "tcp_port:"+sentinel.MasterAddr[strings.LastIndex(sentinel.MasterAddr, ":")+1:], "the client is on the master Sentinel named")
}

// The production client settings hold for every kind of LUMBUNG_REDIS_URL,
// and a URL's own setting wins.
func TestRedisClientSettingsPerDeployment(t *testing.T) {
	for _, raw := range []string{"redis://127.0.0.1:1/0", "redis+cluster://127.0.0.1:1,127.0.0.1:2", "redis+sentinel://127.0.0.1:1?master_name=m"} {
		rc, err := newRedisClient(raw)
		require.NoError(t, err, raw)
		var got []any
		switch c := rc.(type) {
		case *redis.ClusterClient:
			o := c.Options()
			got = []any{o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled}
		case *redis.Client:
			o := c.Options()
			got = []any{o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout, o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled}
		default:
			t.Fatalf("%s: %T", raw, rc)
		}
		assert.Equal(t, []any{redisTimeout, redisTimeout, redisTimeout, redisTimeout, 1, 1, true}, got, raw)
		require.NoError(t, rc.Close())
	}
	rc, err := newRedisClient("redis+cluster://127.0.0.1:1?read_timeout=2s&max_retries=3")
	require.NoError(t, err)
	defer rc.Close()
	o := rc.(*redis.ClusterClient).Options()
	assert.Equal(t, 2*time.Second, o.ReadTimeout)
	assert.Equal(t, 3, o.MaxRetries)
	_, err = newRedisClient("redis+sentinel://127.0.0.1:1")
	assert.ErrorContains(t, err, "master_name")
}
