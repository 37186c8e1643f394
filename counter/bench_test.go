package counter_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
)

// BenchmarkCounter times the pages a teller uses most against the
// stylesheet (a static file through the same middleware) in the same run:
//
//	go test ./counter -run '^$' -bench Counter -benchtime 2s
func BenchmarkCounter(b *testing.B) {
	e := newEnv(b, ledgertest.SQLite(b), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter(), nil)
	br := e.login(tellerPhone, tellerPass)
	p := br.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"1000"}, "step": {"review"}})
	receipt := br.post("/counter/members/A-001/deposit", formOf(b, p.Body)).Location
	get := func(path string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				if p := br.get(path); p.Status != http.StatusOK {
					b.Fatalf("%s: %d", path, p.Status)
				}
			}
		}
	}
	b.Run("stylesheet", get("/counter/static/counter.css"))
	b.Run("home", get("/counter/"))
	b.Run("member", get("/counter/members/A-002"))
	b.Run("receipt", get(receipt))
	b.Run("deposit", func(b *testing.B) { // review, confirm, receipt: one whole deposit
		for b.Loop() {
			p := br.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"1000"}, "step": {"review"}})
			p = br.post("/counter/members/A-001/deposit", formOf(b, p.Body))
			if p.Status != http.StatusSeeOther {
				b.Fatalf("deposit: %d", p.Status)
			}
			br.get(p.Location)
		}
	})
}
