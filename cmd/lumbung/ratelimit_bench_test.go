package main

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// BenchmarkUSSDHopRateLimited is BenchmarkUSSDHop's navigation hop with the
// per-phone rate limit on, as lumbung runs by default
// (LUMBUNG_USSD_RATE_LIMIT=30; here set high enough never to refuse), beside
// /healthz in the same run, with Redis round trips per hop reported:
//
//	go test ./cmd/lumbung -run '^$' -bench USSDHopRateLimited -benchtime 2s
func BenchmarkUSSDHopRateLimited(b *testing.B) {
	manyHops := func(c *config.Config) { c.USSDRateLimit = 1 << 30 }
	trips := &tripCounter{}
	pairs := []struct {
		name  string
		start func(b *testing.B) *testEnv
	}{
		{"sqlite+memory", func(b *testing.B) *testEnv {
			return startApp(b, manyHops, ledgertest.SQLite(b), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter())
		}},
		{"postgres+redis", func(b *testing.B) *testEnv {
			rc, prefix := ussdtest.Redis(b)
			rc.AddHook(trips)
			return startApp(b, manyHops, ledgertest.Postgres(b), ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
		}},
	}
	for _, pair := range pairs {
		b.Run(pair.name, func(b *testing.B) {
			env := pair.start(b)
			ctx := context.Background()
			b.Run("healthz", func(b *testing.B) {
				for b.Loop() {
					resp, err := env.srv.Client().Get(env.srv.URL + "/healthz")
					if err != nil {
						b.Fatal(err)
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.Run("navigate", func(b *testing.B) {
				p := env.phone("081234567890")
				if _, err := p.Dial(ctx); err != nil {
					b.Fatal(err)
				}
				inputs := []string{"7", "0"} // the language menu and back: navigation only
				i := 0
				trips.n.Store(0)
				hops := 0
				for b.Loop() {
					if _, err := p.Send(ctx, inputs[i%2]); err != nil {
						b.Fatal(err)
					}
					hops++
					if i++; i == 100 { // the AT text grows every hop: start afresh now and then
						b.StopTimer()
						n := trips.n.Load()
						if _, err := p.Dial(ctx); err != nil {
							b.Fatal(err)
						}
						trips.n.Store(n)
						i = 0
						b.StartTimer()
					}
				}
				b.ReportMetric(float64(trips.n.Load())/float64(hops), "redis-trips/hop")
			})
		})
	}
}

// tripCounter counts Redis round trips (a command or a pipeline is one)
// with as little cost as a hook can have.
type tripCounter struct{ n atomic.Int64 }

func (h *tripCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (h *tripCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *tripCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}
