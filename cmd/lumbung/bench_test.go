package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/sms"
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

// nullGateway accepts every message at once: the sender's own cost.
type nullGateway struct{}

func (nullGateway) Name() string { return "kannel" }
func (nullGateway) Send(context.Context, sms.Outgoing) (sms.SendResult, error) {
	return sms.SendResult{Status: sms.StatusSubmitted}, nil
}

// BenchmarkSMS measures the SMS side on both backend pairs beside /healthz
// in the same run:
//
//	go test ./cmd/lumbung -run '^$' -bench 'SMS$' -benchtime 3s
//
// saldo = one SALDO through GET /sms/kannel: stored (sealed), the member
// found, balances read, the answer queued and the message marked
// processed, before the gateway gets its 200; send = one outbox message
// claimed, rendered, prepared and recorded as submitted (gateway cost
// excluded), in batches as the sender claims them.
func BenchmarkSMS(b *testing.B) {
	pairs := []struct {
		name string
		db   func(b *testing.B) *ledger.DB
	}{
		{"sqlite", func(b *testing.B) *ledger.DB { return ledgertest.SQLite(b) }},
		{"postgres", func(b *testing.B) *ledger.DB { return ledgertest.Postgres(b) }},
	}
	for _, pair := range pairs {
		b.Run(pair.name, func(b *testing.B) {
			env := startApp(b, nil, pair.db(b), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter())
			// An hour passes between messages, so the 10-an-hour reply
			// limit never turns the answer into a refusal.
			var hours atomic.Int64
			start := time.Now()
			env.app.sms.inbox.Now = func() time.Time { return start.Add(time.Duration(hours.Add(1)) * time.Hour) }
			get := func(b *testing.B, path string) {
				resp, err := env.srv.Client().Get(env.srv.URL + path)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", path, resp.StatusCode)
				}
			}
			b.Run("healthz", func(b *testing.B) {
				for b.Loop() {
					get(b, "/healthz")
				}
			})
			b.Run("saldo", func(b *testing.B) {
				n := 0
				for b.Loop() {
					n++
					get(b, fmt.Sprintf("/sms/kannel?from=081234567890&to=1234&text=SALDO&id=bench-%s-%d", pair.name, n))
				}
			})
			b.Run("send", func(b *testing.B) {
				ctx := context.Background()
				s := sms.NewSender(sms.Sender{DB: env.app.db, Provider: nullGateway{}, Render: menus.RenderSMS, Batch: 50})
				coop := demoCoopID(b, env)
				n := 0
				for b.Loop() {
					b.StopTimer()
					if n%50 == 0 {
						if err := env.app.db.InTx(ctx, func(tx *sqlx.Tx) error {
							for i := range 50 {
								if err := ledger.EnqueueSMS(ctx, tx, ledger.OutboxMessage{CooperativeID: coop, Key: fmt.Sprintf("bench-%d", n+i),
									Phone: "+6281234567890", Template: ledger.TmplDepositReceipt,
									Params: map[string]string{"amount": "50000", "account": "sukarela", "balance": "1300000", "ref": "17"}}, time.Now()); err != nil {
									return err
								}
							}
							return nil
						}); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
					if n%50 == 0 {
						if _, err := s.SendDue(ctx); err != nil {
							b.Fatal(err)
						}
					}
					n++
				}
			})
		})
	}
}
