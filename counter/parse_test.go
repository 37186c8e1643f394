package counter_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/counter"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/ussd"
)

func memberNamed(no, name string) members.NewMember {
	return members.NewMember{No: no, Name: name, Phone: "081300000000", JoinedOn: time.Now()}
}

func holderOf(m members.Member) members.Holder {
	return members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: m.CooperativeID}
}

func TestParseAmount(t *testing.T) {
	good := map[string]int64{"1": 1, "50000": 50000, "1.250.000": 1_250_000, "Rp1.250.000": 1_250_000, "rp 50.000": 50000,
		"1 250 000": 1_250_000, "1,250,000": 1_250_000, " 75000 ": 75000, "50.000,-": 50000, "1000000000000": counter.MaxAmount}
	for in, want := range good {
		got, err := counter.ParseAmount(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for _, in := range []string{"", "0", "-1", "abc", "12,50", "1.250,50", "1.25.000", "1234.567", ".500", "500.", "1.000 000",
		"1000000000001", "99999999999999999999", "Rp", "1e6", "1_000", "+5", "٥"} {
		_, err := counter.ParseAmount(in)
		assert.Error(t, err, in)
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1.250.000", "Rp 50.000", "12,50", "1 000", "", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := counter.ParseAmount(s)
		if err != nil {
			return
		}
		if n <= 0 || n > counter.MaxAmount {
			t.Fatalf("%q → %d", s, n)
		}
		// what it read is the digits typed, separators aside
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
		if strings.TrimLeft(digits, "0") != fmt.Sprint(n) {
			t.Fatalf("%q → %d", s, n)
		}
		// and the figures as pages print them read back the same
		back, err := counter.ParseAmount(ledger.FormatRupiah(n))
		if err != nil || back != n {
			t.Fatalf("%s → %d, %v", ledger.FormatRupiah(n), back, err)
		}
	})
}

func TestParseRate(t *testing.T) {
	good := map[string]int64{"1": 100, "1,5": 150, "1.5": 150, "1.25": 125, "0": 0, "2 %": 200, "100": 10_000}
	for in, want := range good {
		got, err := counter.ParseRate(in)
		if assert.NoError(t, err, in) {
			assert.Equal(t, want, got, in)
		}
	}
	for _, in := range []string{"", "abc", "1.255", "1,5,0", "-1", "101", "1000", ".5", "1e2"} {
		_, err := counter.ParseRate(in)
		assert.Error(t, err, in)
	}
}

func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"1,5", "2", "0.75", "abc", "100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		bp, err := counter.ParseRate(s)
		if err == nil && (bp < 0 || bp > 10_000) {
			t.Fatalf("%q → %d", s, bp)
		}
	})
}

func TestWords(t *testing.T) {
	id := map[int64]string{0: "nol", 1: "satu", 11: "sebelas", 12: "dua belas", 19: "sembilan belas", 20: "dua puluh", 100: "seratus",
		110: "seratus sepuluh", 1000: "seribu", 1_250_000: "satu juta dua ratus lima puluh ribu", 196_666: "seratus sembilan puluh enam ribu enam ratus enam puluh enam",
		2_000_001_000: "dua miliar seribu", 1_000_000_000_000: "satu triliun", 11_000: "sebelas ribu", 101_000: "seratus satu ribu"}
	for n, want := range id {
		assert.Equal(t, want+" rupiah", counter.Words("id", n), n)
	}
	en := map[int64]string{0: "zero", 15: "fifteen", 42: "forty-two", 1_250_000: "one million two hundred fifty thousand", 1_000_000_000: "one billion"}
	for n, want := range en {
		assert.Equal(t, want+" rupiah", counter.Words("en", n), n)
	}
}

func FuzzWords(f *testing.F) {
	f.Add(int64(1_250_000))
	f.Fuzz(func(t *testing.T, n int64) {
		for _, l := range []string{"id", "en"} {
			w := counter.Words(l, n)
			if !strings.HasSuffix(w, " rupiah") || strings.Contains(w, "  ") {
				t.Fatalf("%d: %q", n, w)
			}
		}
	})
}

// TestPagesWeighUnder50KB holds every page, with its stylesheet (and the
// receipt's script), under 50 KB; none needs JavaScript and the stylesheet
// lays nothing out with grid or flex.
func TestPagesWeighUnder50KB(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m := e.login(managerPhone, managerPass)
		css := m.get("/counter/static/counter.css")
		require.Equal(t, http.StatusOK, css.Status)
		assert.Contains(t, css.Header.Get("Content-Type"), "text/css")
		assert.NotRegexp(t, `display:\s*(grid|flex|inline-flex)`, css.Body)
		assert.Contains(t, css.Body, "@media print")
		assert.Contains(t, css.Body, "58mm")
		js := m.get("/counter/static/print.js")
		require.Equal(t, http.StatusOK, js.Status)

		// a member with a long history and a loan: the heaviest member page
		for i := 0; i < 30; i++ {
			e.open(t.Context(), e.coop.ID, e.yohanes.ID, ledger.Wajib, int64(1000+i))
		}
		p := m.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"1250000"}, "step": {"review"}})
		dep := m.post("/counter/members/A-001/deposit", formOf(t, p.Body))
		pages := map[string]string{
			"login": "/counter/login", "home": "/counter/", "find": "/counter/members?q=a", "member": "/counter/members/A-002",
			"deposit": "/counter/members/A-001/deposit", "repay": "/counter/loans/PJ-0001/repay", "codes": "/counter/codes",
			"cash": "/counter/cash", "receipt": dep.Location, "staff": "/counter/staff", "report": "/counter/report",
			"new member": "/counter/members/new", "new loan": "/counter/members/A-001/loans/new", "phone": "/counter/phone",
			"password": "/counter/password", "reverse": strings.Replace(dep.Location, "receipts", "journals", 1) + "/reverse",
		}
		for name, path := range pages {
			b := m
			if name == "login" {
				b = e.browser()
			}
			p := b.get(path)
			require.Equal(t, http.StatusOK, p.Status, name)
			size := len(p.Body) + len(css.Body)
			if name == "receipt" {
				size += len(js.Body)
			}
			assert.Less(t, size, counter.MaxPage, "%s weighs %d bytes", name, size)
			t.Logf("%-12s %6d bytes with its stylesheet (%.2f of the 50 KB budget)", name, size, float64(size)/counter.MaxPage)
			assert.NotContains(t, p.Body, "<script>", name)
			assert.Contains(t, p.Body, `name="viewport"`, name)
		}
		// confirm pages too
		for name, post := range map[string][2]string{
			"deposit confirm": {"/counter/members/A-001/deposit", "account=sukarela&amount=5000&step=review"},
			"repay confirm":   {"/counter/loans/PJ-0001/repay", "amount=5000&source=cash&step=review"},
			"loan confirm":    {"/counter/members/A-001/loans/new", "loan_no=PJ-9&principal=1000000&rate=1&term=120&method=anuitas&step=review"},
		} {
			v, _ := url.ParseQuery(post[1])
			p := m.post(post[0], v)
			require.Equal(t, http.StatusOK, p.Status, name)
			assert.Contains(t, p.Body, `id="confirm-button"`, name)
			assert.Less(t, len(p.Body)+len(css.Body), counter.MaxPage, name)
		}
	})
}

// FuzzCounterForms posts whatever a browser (or someone without one) may
// send to the money forms' first step and to the training phone: every
// answer is a page (never a 500), and the review step moves no money.
func FuzzCounterForms(f *testing.F) {
	e := newEnv(f, ledgertest.SQLite(f), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter(), nil)
	b := e.login(tellerPhone, tellerPass)
	before := e.balances(e.maria)
	for _, s := range [][3]string{{"sukarela", "1.250.000", "review"}, {"wajib", "Rp 5.000", "confirm"}, {"\x00", "\xff\xfe", "x"},
		{"pokok", strings.Repeat("9", 300), "review"}, {"sukarela", "-1", "confirm"}} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, account, amount, step string) {
		b.t, e.t = t, t
		if step == "confirm" {
			step = "review" // a confirm needs the confirm page's key; that path is TestDepositFormConfirmReceipt's
		}
		for _, path := range []string{"/counter/members/A-001/deposit", "/counter/loans/PJ-0001/repay"} {
			p := b.post(path, url.Values{"account": {account}, "source": {account}, "amount": {amount}, "step": {step}})
			if p.Status != http.StatusOK && p.Status != http.StatusRequestEntityTooLarge {
				t.Fatalf("%s %q %q %q: %d", path, account, amount, step, p.Status)
			}
		}
		p := b.post("/counter/phone", url.Values{"action": {"send"}, "msisdn": {"081234567890"}, "session": {amount}, "hop": {step}, "input": {account}})
		if p.Status != http.StatusOK && p.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("phone %q %q %q: %d", account, amount, step, p.Status)
		}
		if got := e.balances(e.maria); got != before {
			t.Fatalf("a review step moved money: %+v → %+v", before, got)
		}
	})
}
