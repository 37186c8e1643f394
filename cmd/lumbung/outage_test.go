package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strings"
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

// answeredWithin is the bound on a hop or a /readyz during an outage: a
// behaviour (not a speed) bound, with the hop's own budget (outageDeadline/6
// = 500 ms) well below it.
const (
	answeredWithin = time.Second
	outageDeadline = 3 * time.Second
)

const failureText = "Maaf, layanan sedang gangguan. Silakan coba lagi nanti."

// outageEnv is lumbung on PostgreSQL and Redis, each behind a proxy the test
// can cut, with the production client settings (redisOptions, postgresDSN).
type outageEnv struct {
	*testEnv
	pg, redis *ussdtest.Proxy
	books     *ledger.DB // the same database, not behind the proxy
}

func startOutageEnv(t *testing.T) *outageEnv {
	t.Helper()
	ctx := context.Background()
	direct, dsn := ledgertest.PostgresWithURL(t)
	u, err := url.Parse(dsn)
	require.NoError(t, err)
	pg := ussdtest.NewProxy(t, u.Host)
	u.Host = pg.Addr()
	db, err := ledger.OpenPostgres(ctx, postgresDSN(u.String()))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })

	_, prefix := ussdtest.Redis(t) // its cleanup drops the keys under prefix
	redisURL := os.Getenv("LUMBUNG_TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = ussdtest.DefaultRedisURL
	}
	opts, err := redisOptions(redisURL)
	require.NoError(t, err)
	rp := ussdtest.NewProxy(t, opts.Addr)
	opts.Addr = rp.Addr()
	rc := redis.NewClient(opts)
	t.Cleanup(func() { rc.Close() })

	env := startApp(t, func(c *config.Config) {
		c.USSDHopDeadline = outageDeadline
		c.USSDRateLimit = 1000
	}, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
	return &outageEnv{testEnv: env, pg: pg, redis: rp, books: direct}
}

// timed runs one request and fails the test if it took answeredWithin or more.
func timed[T any](t *testing.T, what string, do func() T) T {
	t.Helper()
	start := time.Now()
	v := do()
	took := time.Since(start)
	t.Logf("%s answered in %v", what, took.Round(time.Millisecond))
	assert.Less(t, took, answeredWithin, "%s was answered too late", what)
	return v
}

func (env *outageEnv) readyz(t *testing.T) (int, map[string]string) {
	t.Helper()
	resp, err := env.srv.Client().Get(env.srv.URL + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var status map[string]string
	require.NoError(t, json.Unmarshal(b, &status), "%s", b)
	return resp.StatusCode, status
}

func (env *outageEnv) metrics(t *testing.T) string {
	t.Helper()
	resp, err := env.srv.Client().Get(env.srv.URL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func TestOutagesAnsweredFast(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxy   func(env *outageEnv) *ussdtest.Proxy
		backend string // the /readyz key
		cut     func(p *ussdtest.Proxy) error
		want    string // what /readyz says of it
		// stored: the failed hop's answer was stored (the hop failed
		// within its budget with Redis up), so its retry gets it again;
		// otherwise the retry runs the hop.
		stored bool
	}{
		{"redis refusing", func(env *outageEnv) *ussdtest.Proxy { return env.redis }, "sessions", refuse, "unreachable", false},
		{"redis black-holed", func(env *outageEnv) *ussdtest.Proxy { return env.redis }, "sessions", (*ussdtest.Proxy).Blackhole, "timeout", false},
		{"postgres refusing", func(env *outageEnv) *ussdtest.Proxy { return env.pg }, "database", refuse, "unreachable", true},
		{"postgres black-holed", func(env *outageEnv) *ussdtest.Proxy { return env.pg }, "database", (*ussdtest.Proxy).Blackhole, "timeout", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := startOutageEnv(t)
			ctx := context.Background()
			code, status := env.readyz(t)
			require.Equal(t, http.StatusOK, code, status)

			// A session open when the backend goes, and the goroutines of a
			// lumbung that has served.
			p := env.phone("081234567890")
			journey(t, p, "1", "246810")
			_, err := p.Dial(ctx)
			require.NoError(t, err)
			_, err = p.Send(ctx, "1")
			require.NoError(t, err)
			before := runtime.NumGoroutine()

			require.NoError(t, tc.cut(tc.proxy(env)))
			s := timed(t, "the PIN hop", func() ussdtest.Screen {
				s, err := p.Send(ctx, "246810")
				require.NoError(t, err)
				return s
			})
			assert.Equal(t, ussdtest.Screen{End: true, Text: failureText}, s)
			for i := range 3 { // and so on for every new caller
				s := timed(t, "a first hop", func() ussdtest.Screen {
					s, err := env.phone("081234567891").Dial(ctx)
					require.NoError(t, err)
					return s
				})
				assert.Equal(t, ussdtest.Screen{End: true, Text: failureText}, s, "dial %d", i+1)
			}
			timed(t, "/readyz", func() bool { code, status = env.readyz(t); return true })
			assert.Equal(t, http.StatusServiceUnavailable, code)
			assert.Equal(t, tc.want, status[tc.backend], "%v", status)
			// Known down: a hop is answered without waiting on it.
			s = timed(t, "a first hop with the backend known down", func() ussdtest.Screen {
				s, err := env.phone("081234567891").Dial(ctx)
				require.NoError(t, err)
				return s
			})
			assert.Equal(t, ussdtest.Screen{End: true, Text: failureText}, s)
			assert.Contains(t, env.metrics(t), `lumbung_ussd_hops_total{outcome="unavailable",provider="africastalking",screen=""}`)

			// The backend is back: lumbung is, without a restart.
			require.NoError(t, tc.proxy(env).Pass())
			require.Eventually(t, func() bool {
				code, _ := env.readyz(t)
				return code == http.StatusOK
			}, 10*time.Second, 50*time.Millisecond, "/readyz never recovered")
			s, err = p.Retry(ctx) // the telco retries the hop that failed
			require.NoError(t, err)
			if tc.stored {
				assert.Equal(t, ussdtest.Screen{End: true, Text: failureText}, s, "the retry gets the answer the hop got")
			} else {
				assert.True(t, strings.HasPrefix(s.Text, "Saldo Maria G."), "the retried hop runs: %q", s.Text)
			}
			screens := journey(t, env.phone("081234567890"), "1", "246810")
			assert.Equal(t, ussdtest.Screen{End: true, Text: "Saldo Maria G.\nPokok Rp500.000\nWajib Rp1.200.000\nSukarela Rp1.250.000\nPinjaman Rp0"}, last(screens))

			// What waited on the dead backend has finished.
			assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+10 }, 10*time.Second, 50*time.Millisecond,
				"goroutines: %d before the outage, %d after", before, runtime.NumGoroutine())
		})
	}
}

func refuse(p *ussdtest.Proxy) error { p.Refuse(); return nil }

// A teller's cash deposit whose PIN hop meets a silent PostgreSQL: the hop
// is answered at once, posts nothing, and the telco's retry once the
// database is back posts the deposit exactly once.
func TestPostgresOutageOnAMoneyHopPostsOnce(t *testing.T) {
	env := startOutageEnv(t)
	ctx := context.Background()
	deposits := func() int {
		var n int
		require.NoError(t, env.books.GetContext(ctx, &n, `SELECT COUNT(*) FROM journals WHERE idem_key LIKE 'ussd:%:cash_deposit'`))
		return n
	}
	p := env.phone("081299990000")
	s := last(journey(t, p, "1", "975310", "A-001", "2", "50000"))
	require.Contains(t, s.Text, "Terima Rp50.000 Sukarela dari Maria Goreti Bria (A-001)?")

	require.NoError(t, env.pg.Blackhole())
	s = timed(t, "the confirmation hop of a deposit", func() ussdtest.Screen {
		s, err := p.Send(ctx, "1")
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, ussdtest.Screen{End: true, Text: failureText}, s)

	require.NoError(t, env.pg.Pass())
	require.Eventually(t, func() bool {
		code, _ := env.readyz(t)
		return code == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond, "/readyz never recovered")
	assert.Zero(t, deposits(), "the hop that was given up on posted")
	again, err := p.Retry(ctx)
	require.NoError(t, err)
	assert.True(t, again.End)
	assert.Contains(t, again.Text, "Setoran Rp50.000 Sukarela untuk Maria Goreti Bria (A-001) tercatat.")
	third, err := p.Retry(ctx)
	require.NoError(t, err)
	assert.Equal(t, again, third)
	assert.Equal(t, 1, deposits(), "posted once")
}

func TestBackendClientSettings(t *testing.T) {
	opts, err := redisOptions("redis://127.0.0.1:6379/0")
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{redisTimeout, redisTimeout, redisTimeout, redisTimeout},
		[]time.Duration{opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.PoolTimeout})
	assert.Equal(t, 1, opts.MaxRetries)
	assert.Equal(t, 1, opts.DialerRetries)
	assert.True(t, opts.ContextTimeoutEnabled)
	opts, err = redisOptions("redis://127.0.0.1:6379/0?read_timeout=2s&max_retries=3")
	require.NoError(t, err)
	assert.Equal(t, 2*time.Second, opts.ReadTimeout, "the URL's own setting wins")
	assert.Equal(t, 3, opts.MaxRetries)

	assert.Equal(t, "postgres://u@db:5432/x?connect_timeout=1&sslmode=disable", postgresDSN("postgres://u@db:5432/x?sslmode=disable"))
	assert.Equal(t, "host=db dbname=x connect_timeout=1", postgresDSN("host=db dbname=x"))
	assert.Equal(t, "postgres://db/x?connect_timeout=5", postgresDSN("postgres://db/x?connect_timeout=5"))
	assert.Equal(t, 833*time.Millisecond, hopBudget(5*time.Second, ledger.Postgres).Round(time.Millisecond))
	assert.Equal(t, 5*time.Second, hopBudget(5*time.Second, ledger.SQLite))
}
