package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// BenchmarkUSSDHop measures whole USSD hops through the HTTP layer on both
// backend pairs, beside a /healthz request in the same run as the baseline:
//
//	go test ./cmd/lumbung -run '^$' -bench USSDHop -benchtime 3s
//
// dial = a first hop (looks the caller up in the database); navigate = a
// later hop that only moves between menus (no database work); balance = the
// PIN hop that verifies the PIN and reads the balances.
func BenchmarkUSSDHop(b *testing.B) {
	noLimit := func(c *config.Config) { c.USSDRateLimit = 0 }
	pairs := []struct {
		name  string
		start func(b *testing.B) *testEnv
	}{
		{"sqlite+memory", func(b *testing.B) *testEnv {
			return startApp(b, noLimit, ledgertest.SQLite(b), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter())
		}},
		{"postgres+redis", func(b *testing.B) *testEnv {
			rc, prefix := ussdtest.Redis(b)
			var db *ledger.DB = ledgertest.Postgres(b)
			return startApp(b, noLimit, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
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
			b.Run("dial", func(b *testing.B) {
				p := env.phone("081234567890")
				for b.Loop() {
					if _, err := p.Dial(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("navigate", func(b *testing.B) {
				p := env.phone("081234567890")
				if _, err := p.Dial(ctx); err != nil {
					b.Fatal(err)
				}
				inputs := []string{"7", "0"} // the language menu and back: navigation only
				i := 0
				for b.Loop() {
					if _, err := p.Send(ctx, inputs[i%2]); err != nil {
						b.Fatal(err)
					}
					if i++; i == 100 { // the AT text grows every hop: start afresh now and then
						b.StopTimer()
						if _, err := p.Dial(ctx); err != nil {
							b.Fatal(err)
						}
						i = 0
						b.StartTimer()
					}
				}
			})
			b.Run("balance", func(b *testing.B) {
				p := env.phone("081234567890")
				for b.Loop() {
					b.StopTimer()
					_, err := p.Dial(ctx)
					if err == nil {
						_, err = p.Send(ctx, "1")
					}
					if err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
					if _, err := p.Send(ctx, "246810"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
