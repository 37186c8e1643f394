package counter_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
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

var receiptRE = regexp.MustCompile(`^/counter/receipts/(\d+)$`)

func receiptID(t *testing.T, loc string) int64 {
	t.Helper()
	m := receiptRE.FindStringSubmatch(loc)
	require.NotNil(t, m, "not a receipt: %q", loc)
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.browser()
		p := b.get("/counter/login")
		require.Equal(t, http.StatusOK, p.Status)
		csp := p.Header.Get("Content-Security-Policy")
		assert.Contains(t, csp, "frame-ancestors 'none'")
		assert.Contains(t, csp, "script-src 'self'")
		assert.NotContains(t, csp, "unsafe-inline")
		assert.Equal(t, "DENY", p.Header.Get("X-Frame-Options"))
		assert.Equal(t, "nosniff", p.Header.Get("X-Content-Type-Options"))
		assert.NotContains(t, p.Body, "<script>", "no inline script")

		form := url.Values{"phone": {tellerPhone}, "password": {tellerPass}, "csrf": {b.csrf}}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/counter/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		var session *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == "lumbung_counter" {
				session = c
			}
		}
		require.NotNil(t, session)
		assert.True(t, session.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, session.SameSite)
		assert.False(t, session.Secure, "plain http here")
		assert.Len(t, session.Value, 64)
		// the table keeps only a hash of the cookie
		var n int
		require.NoError(t, e.db.GetContext(context.Background(), &n, e.db.Rebind(`SELECT COUNT(*) FROM counter_sessions WHERE id_hash = ?`), session.Value))
		assert.Zero(t, n)
	})
}

func TestSecureCookieBehindHTTPS(t *testing.T) {
	e := newEnv(t, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter(), func(s *counter.Server) { s.Secure = true })
	b := e.browser()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/counter/login", nil)
	resp, err := b.c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEmpty(t, resp.Cookies())
	for _, c := range resp.Cookies() {
		assert.True(t, c.Secure, c.Name)
	}
	assert.NotEmpty(t, resp.Header.Get("Strict-Transport-Security"))
}

func TestCSRF(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		// before login: the login form needs its token too
		b := e.browser()
		b.get("/counter/login")
		p := b.post("/counter/login", url.Values{"phone": {tellerPhone}, "password": {tellerPass}, "csrf": {""}})
		assert.Equal(t, http.StatusForbidden, p.Status)

		b = e.login(tellerPhone, tellerPass)
		before := e.balances(e.maria)
		for _, tok := range []string{"", strings.Repeat("0", 64), "x"} {
			p := b.post("/counter/members/A-001/deposit", url.Values{"csrf": {tok}, "account": {"sukarela"}, "amount": {"1000"}, "step": {"review"}})
			assert.Equal(t, http.StatusForbidden, p.Status, "token %q", tok)
		}
		// another session's token does not do either
		other := e.login(managerPhone, managerPass)
		p = b.post("/counter/logout", url.Values{"csrf": {other.csrf}})
		assert.Equal(t, http.StatusForbidden, p.Status)
		assert.Equal(t, before, e.balances(e.maria))
	})
}

func TestLoginFirstPasswordChangeAndLogout(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.browser()
		b.get("/counter/login")
		p := b.post("/counter/login", url.Values{"phone": {"+6281299990005"}, "password": {firstPassword}})
		require.Equal(t, http.StatusSeeOther, p.Status)
		assert.Equal(t, "/counter/password", p.Location)
		// nothing else until the password is changed
		for _, path := range []string{"/counter/", "/counter/members?q=A-001", "/counter/cash"} {
			p := b.get(path)
			assert.Equal(t, http.StatusSeeOther, p.Status, path)
			assert.Equal(t, "/counter/password", p.Location, path)
		}
		p = b.get("/counter/password")
		assert.Contains(t, p.Body, "kata sandi sementara")
		p = b.post("/counter/password", url.Values{"current": {firstPassword}, "new": {"short"}, "repeat": {"short"}})
		assert.Contains(t, p.Body, "12 sampai 72")
		p = b.post("/counter/password", url.Values{"current": {"wrong-password-x"}, "new": {"brand-new-pass-1"}, "repeat": {"brand-new-pass-1"}})
		assert.Contains(t, p.Body, "Kata sandi sekarang salah")
		p = b.post("/counter/password", url.Values{"current": {firstPassword}, "new": {"brand-new-pass-1"}, "repeat": {"brand-new-pass-2"}})
		assert.Contains(t, p.Body, "tidak sama")
		p = b.post("/counter/password", url.Values{"current": {firstPassword}, "new": {firstPassword}, "repeat": {firstPassword}})
		assert.Contains(t, p.Body, "berbeda")
		p = b.post("/counter/password", url.Values{"current": {firstPassword}, "new": {"brand-new-pass-1"}, "repeat": {"brand-new-pass-1"}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		home := b.get("/counter/")
		require.Equal(t, http.StatusOK, home.Status)
		assert.Contains(t, home.Body, "Baru Masuk")

		// the old password is gone, the new one works
		x := e.browser()
		x.get("/counter/login")
		assert.Equal(t, http.StatusOK, x.post("/counter/login", url.Values{"phone": {"081299990005"}, "password": {firstPassword}}).Status)
		e.login("081299990005", "brand-new-pass-1")

		p = b.post("/counter/logout", nil)
		require.Equal(t, http.StatusSeeOther, p.Status)
		p = b.get("/counter/")
		assert.Equal(t, http.StatusSeeOther, p.Status)
		assert.Equal(t, "/counter/login", p.Location)
	})
}

func TestLoginLockout(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		try := func(phone, pass string) page {
			b := e.browser()
			b.get("/counter/login")
			return b.post("/counter/login", url.Values{"phone": {phone}, "password": {pass}})
		}
		unknown := try("081200000000", "whatever-password")
		require.Equal(t, http.StatusOK, unknown.Status)
		assert.Contains(t, unknown.Body, "salah")
		unknown.Body = errorOf(unknown.Body)
		require.NotEmpty(t, unknown.Body)
		for i := 0; i < 4; i++ {
			p := try(tellerPhone, "wrong-password-"+strconv.Itoa(i))
			assert.Equal(t, unknown.Body, errorOf(p.Body), "a wrong password answers as an unknown phone")
		}
		assert.Equal(t, http.StatusSeeOther, try(tellerPhone, tellerPass).Status, "4 failures do not lock; the right one resets")
		for i := 0; i < 5; i++ {
			try("+6281299990000", "wrong-password-"+strconv.Itoa(i)) // any phone form counts
		}
		locked := try(tellerPhone, tellerPass)
		assert.Equal(t, http.StatusOK, locked.Status, "locked: even the right password is refused")
		assert.Equal(t, unknown.Body, errorOf(locked.Body), "the lock answers as an unknown phone")
		assert.Equal(t, http.StatusSeeOther, try(managerPhone, managerPass).Status, "the lock is per staff member")
		e.clock.advance(14 * time.Minute)
		assert.Equal(t, http.StatusOK, try(tellerPhone, tellerPass).Status)
		e.clock.advance(2 * time.Minute)
		assert.Equal(t, http.StatusSeeOther, try(tellerPhone, tellerPass).Status, "15 minutes later it opens")
	})
}

func TestIdleTimeout(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		e.clock.advance(20 * time.Minute)
		require.Equal(t, http.StatusOK, b.get("/counter/").Status, "a request within 30 minutes keeps the session")
		e.clock.advance(20 * time.Minute)
		require.Equal(t, http.StatusOK, b.get("/counter/").Status, "idle time counts from the last request")
		e.clock.advance(31 * time.Minute)
		p := b.get("/counter/")
		assert.Equal(t, http.StatusSeeOther, p.Status)
		assert.Equal(t, "/counter/login", p.Location)
		// a form posted after the timeout goes to the login page, posts nothing
		before := e.balances(e.maria)
		p = b.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"1000"}, "step": {"review"}})
		assert.Equal(t, http.StatusSeeOther, p.Status)
		assert.Equal(t, before, e.balances(e.maria))
	})
}

func TestFindMembers(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		for i := 0; i < 25; i++ {
			_, err := e.dir.AddMember(ctx, e.coop.ID, memberNamed(fmt.Sprintf("C-%03d", i), fmt.Sprintf("Kornelis %02d", i)))
			require.NoError(t, err)
		}
		b := e.login(tellerPhone, tellerPass)
		for _, q := range []string{"A-001", "a-001", "maria", "MARÍA gor", "081234567890", "+6281234567890", "6281234567890", "81234567890"} {
			p := b.get("/counter/members?q=" + url.QueryEscape(q))
			require.Equal(t, http.StatusOK, p.Status, q)
			assert.Contains(t, p.Body, "María Goreti Bria", q)
			assert.NotContains(t, p.Body, "Yohanes", q)
		}
		p := b.get("/counter/members?q=Orang")
		assert.NotContains(t, p.Body, "Orang Lain", "another cooperative's member is not found")
		assert.Contains(t, p.Body, "Tidak ada anggota")

		p = b.get("/counter/members?q=kornelis")
		assert.Equal(t, 20, strings.Count(p.Body, "Kornelis "))
		next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(p.Body)
		require.NotNil(t, next)
		p = b.get(htmlUnescape(next[1]))
		assert.Equal(t, 5, strings.Count(p.Body, "Kornelis "))
		assert.NotContains(t, p.Body, `rel="next"`)

		p = b.get("/counter/members?q=x&after=%00garbage")
		assert.Equal(t, http.StatusOK, p.Status, "a bad cursor is a sentence, not an error page")
	})
}

func TestMemberView(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		p := b.get("/counter/members/A-001")
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, "Rp1.250.000")
		assert.Contains(t, p.Body, "Rp500.000")
		assert.Contains(t, p.Body, `<span id="pin">sudah dibuat</span>`)
		assert.Contains(t, p.Body, "/counter/receipts/")

		p = b.get("/counter/members/A-002")
		assert.Contains(t, p.Body, "PJ-0001")
		assert.Contains(t, p.Body, "/counter/loans/PJ-0001/repay")
		assert.Equal(t, 12+1, strings.Count(tableOf(p.Body, `class="schedule"`), "<tr>"), "12 installments and the header")
		assert.Contains(t, p.Body, `<span id="pin">belum dibuat</span>`)

		// a locked PIN
		for i := 0; i < 3; i++ {
			_, _, _ = e.dir.CheckPIN(context.Background(), holderOf(e.maria), "999999")
		}
		p = b.get("/counter/members/A-001")
		assert.Contains(t, p.Body, "terkunci")

		// last 20 transactions only
		for i := 0; i < 22; i++ {
			e.open(context.Background(), e.coop.ID, e.yohanes.ID, ledger.Wajib, int64(1000+i))
		}
		p = b.get("/counter/members/A-002")
		assert.Equal(t, 20+1, strings.Count(tableOf(p.Body, `id="movements"`), "<tr>"))

		assert.Equal(t, http.StatusNotFound, b.get("/counter/members/NOPE-1").Status)
	})
}

func TestDepositFormConfirmReceipt(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		p := b.get("/counter/members/A-001/deposit")
		require.Equal(t, http.StatusOK, p.Status)

		// refusals are sentences on the form
		for _, bad := range []string{"", "abc", "12,50", "-5", "0", "1.25.000", "99999999999999"} {
			p := b.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {bad}, "step": {"review"}})
			assert.Equal(t, http.StatusOK, p.Status)
			assert.Contains(t, p.Body, `class="error"`, "amount %q", bad)
			assert.Contains(t, p.Body, "rupiah bulat", "amount %q", bad)
		}
		p = b.post("/counter/members/A-001/deposit", url.Values{"account": {"loan_principal"}, "amount": {"1000"}, "step": {"review"}})
		assert.Contains(t, p.Body, "Pilih rekening")
		p = b.post("/counter/members/A-009/deposit", url.Values{"account": {"wajib"}, "amount": {"1000"}, "step": {"review"}})
		assert.Contains(t, p.Body, "sudah keluar")

		before := e.balances(e.maria)
		p = b.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"Rp 1.250.000"}, "step": {"review"}})
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, "María Goreti Bria (A-001)")
		assert.Contains(t, p.Body, "Simpanan Sukarela")
		assert.Contains(t, p.Body, "Rp1.250.000")
		assert.Contains(t, p.Body, "satu juta dua ratus lima puluh ribu rupiah")
		assert.Equal(t, before, e.balances(e.maria), "the confirm page posts nothing")
		form := formOf(t, p.Body)

		p = b.post("/counter/members/A-001/deposit", form)
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		id := receiptID(t, p.Location)
		// a double click and a resubmitted form post once
		again := b.post("/counter/members/A-001/deposit", form)
		require.Equal(t, http.StatusSeeOther, again.Status)
		assert.Equal(t, p.Location, again.Location)
		after := e.balances(e.maria)
		assert.Equal(t, before.Sukarela+1_250_000, after.Sukarela)

		// the same key for another amount is refused on the form
		tampered := url.Values{}
		for k, v := range form {
			tampered[k] = v
		}
		tampered.Set("amount", "5000")
		p2 := b.post("/counter/members/A-001/deposit", tampered)
		assert.Equal(t, http.StatusOK, p2.Status)
		assert.Contains(t, p2.Body, `class="error"`)
		assert.Equal(t, after, e.balances(e.maria))

		r := b.get(p.Location)
		require.Equal(t, http.StatusOK, r.Status)
		assert.Contains(t, r.Body, "Kopdit Sehati")
		assert.Contains(t, r.Body, "María Goreti Bria")
		assert.Contains(t, r.Body, "Rp1.250.000")
		assert.Contains(t, r.Body, ledger.FormatRupiah(after.Sukarela), "balance after")
		assert.Contains(t, r.Body, "Yosef Teller")
		assert.Contains(t, r.Body, `<td id="ref">`+strconv.FormatInt(id, 10)+`</td>`)
		assert.Contains(t, r.Body, `id="print"`)
		assert.Contains(t, r.Body, `/counter/static/print.js`)

		// a receipt keeps the balance right after it, later deposits aside
		p = b.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"1000"}, "step": {"review"}})
		require.Equal(t, http.StatusSeeOther, b.post("/counter/members/A-001/deposit", formOf(t, p.Body)).Status)
		r = b.get(fmt.Sprintf("/counter/receipts/%d", id))
		assert.Contains(t, r.Body, ledger.FormatRupiah(after.Sukarela))

		// an SMS receipt was queued with the posting
		var n int
		require.NoError(t, e.db.GetContext(context.Background(), &n, e.db.Rebind(`SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND template = ?`), e.coop.ID, ledger.TmplDepositReceipt))
		assert.Equal(t, 2, n)
	})
}

func TestRepayment(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		p := b.get("/counter/loans/PJ-0001/repay")
		require.Equal(t, http.StatusOK, p.Status)
		due := regexp.MustCompile(`id="amount" name="amount" inputmode="numeric" value="(\d+)"`).FindStringSubmatch(p.Body)
		require.NotNil(t, due, "the due installment is prefilled")
		assert.Equal(t, "112000", due[1], "Rp1.200.000 / 12 + 1% interest")

		// from sukarela: Rp50.000 is not enough
		p = b.post("/counter/loans/PJ-0001/repay", url.Values{"amount": {due[1]}, "source": {"sukarela"}, "step": {"review"}})
		assert.Contains(t, p.Body, "Saldo tidak cukup")
		p = b.post("/counter/loans/PJ-0001/repay", url.Values{"amount": {"5000000"}, "source": {"cash"}, "step": {"review"}})
		assert.Contains(t, p.Body, "melebihi")
		p = b.post("/counter/loans/PJ-0001/repay", url.Values{"amount": {"1000"}, "source": {"bank"}, "step": {"review"}})
		assert.Contains(t, p.Body, "sumber pembayaran")

		before := e.balances(e.yohanes)
		p = b.post("/counter/loans/PJ-0001/repay", url.Values{"amount": {"112.000"}, "source": {"cash"}, "step": {"review"}})
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, `id="allocation"`)
		assert.Contains(t, p.Body, "Rp12.000", "the interest part is shown before confirming")
		assert.Contains(t, p.Body, "Rp100.000", "the principal part")
		assert.Contains(t, p.Body, "Rp1.100.000", "outstanding after")
		assert.Contains(t, p.Body, "seratus dua belas ribu rupiah")
		assert.Equal(t, before, e.balances(e.yohanes), "the preview posts nothing")
		var journals int
		require.NoError(t, e.db.GetContext(context.Background(), &journals, e.db.Rebind(`SELECT COUNT(*) FROM journals WHERE kind = 'repayment'`)))
		assert.Zero(t, journals)

		form := formOf(t, p.Body)
		p = b.post("/counter/loans/PJ-0001/repay", form)
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		again := b.post("/counter/loans/PJ-0001/repay", form)
		assert.Equal(t, p.Location, again.Location)
		assert.Equal(t, before.LoanOutstanding-100_000, e.balances(e.yohanes).LoanOutstanding)
		r := b.get(p.Location)
		assert.Contains(t, r.Body, "Angsuran")
		assert.Contains(t, r.Body, "PJ-0001")

		// from sukarela, once there is enough
		e.open(context.Background(), e.coop.ID, e.yohanes.ID, ledger.Sukarela, 200_000)
		p = b.post("/counter/loans/PJ-0001/repay", url.Values{"amount": {"50000"}, "source": {"sukarela"}, "step": {"review"}})
		require.Equal(t, http.StatusSeeOther, b.post("/counter/loans/PJ-0001/repay", formOf(t, p.Body)).Status)
		assert.Equal(t, int64(250_000-50_000), e.balances(e.yohanes).Sukarela)

		assert.Equal(t, http.StatusNotFound, b.get("/counter/loans/PJ-9999/repay").Status)
	})
}

func TestDepositCode(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		dc, err := e.books.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: e.coop.ID, MemberID: e.maria.ID, Account: ledger.Wajib, Amount: 75_000, Key: "test:code"})
		require.NoError(t, err)
		b := e.login(tellerPhone, tellerPass)
		require.Equal(t, http.StatusOK, b.get("/counter/codes").Status)
		p := b.post("/counter/codes", url.Values{"code": {"12ab"}, "step": {"lookup"}})
		assert.Contains(t, p.Body, "6 angka")
		wrong := "000000"
		if dc.Code == wrong {
			wrong = "000001"
		}
		p = b.post("/counter/codes", url.Values{"code": {wrong}, "step": {"lookup"}})
		assert.Contains(t, p.Body, `class="error"`)

		before := e.balances(e.maria)
		p = b.post("/counter/codes", url.Values{"code": {dc.Code}, "step": {"lookup"}})
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, "María Goreti Bria")
		assert.Contains(t, p.Body, "Rp75.000")
		assert.Contains(t, p.Body, "tujuh puluh lima ribu rupiah")
		assert.Equal(t, before, e.balances(e.maria))
		form := formOf(t, p.Body)
		p = b.post("/counter/codes", form)
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		receiptID(t, p.Location)
		again := b.post("/counter/codes", form)
		assert.Equal(t, http.StatusOK, again.Status)
		assert.Contains(t, again.Body, "sudah dikonfirmasi")
		assert.Equal(t, before.Wajib+75_000, e.balances(e.maria).Wajib)
	})
}

func TestActivationCode(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		b.get("/counter/members/A-002")
		p := b.post("/counter/members/A-002/activation-code", nil)
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		shown := b.get(p.Location)
		require.Equal(t, http.StatusOK, shown.Status)
		code := regexp.MustCompile(`id="activation-code">(\d{6})<`).FindStringSubmatch(shown.Body)
		require.NotNil(t, code, shown.Body)
		// shown once
		again := b.get(p.Location)
		assert.NotContains(t, again.Body, code[1])
		assert.Contains(t, again.Body, "sudah ditampilkan")
		// it works, and it was sent by SMS
		id, _, err := e.dir.VerifyActivationCode(context.Background(), holderOf(e.yohanes), code[1])
		require.NoError(t, err)
		assert.NotZero(t, id)
		var n int
		require.NoError(t, e.db.GetContext(context.Background(), &n, e.db.Rebind(`SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND phone = ? AND template = 'reply'`), e.coop.ID, e.yohanes.Phone))
		assert.Equal(t, 1, n)
		// not for a member who left, not for another cooperative's
		p = b.post("/counter/members/A-009/activation-code", nil)
		assert.NotEqual(t, http.StatusSeeOther, p.Status)
		assert.Equal(t, http.StatusNotFound, b.post("/counter/members/B-001/activation-code", nil).Status)
	})
}

func TestMyCash(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		p := b.get("/counter/cash")
		assert.Contains(t, p.Body, "Belum ada transaksi")
		for _, amt := range []string{"10000", "25000"} {
			p := b.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {amt}, "step": {"review"}})
			require.Equal(t, http.StatusSeeOther, b.post("/counter/members/A-001/deposit", formOf(t, p.Body)).Status)
		}
		p = b.get("/counter/cash")
		assert.Contains(t, p.Body, "2 transaksi, jumlah Rp35.000")
		assert.Equal(t, 2, strings.Count(p.Body[strings.Index(p.Body, `id="postings"`):], "/counter/receipts/"))
		home := b.get("/counter/")
		assert.Contains(t, home.Body, "2 transaksi, jumlah Rp35.000")
		// the manager's cash is their own
		m := e.login(managerPhone, managerPass)
		assert.Contains(t, m.get("/counter/cash").Body, "Belum ada transaksi")
	})
}

func TestManagerOnlyPages(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		j := e.open(context.Background(), e.coop.ID, e.maria.ID, ledger.Sukarela, 5000)
		for _, path := range []string{"/counter/staff", "/counter/report", "/counter/members/new", "/counter/members/A-001/loans/new",
			fmt.Sprintf("/counter/journals/%d/reverse", j)} {
			assert.Equal(t, http.StatusForbidden, b.get(path).Status, path)
		}
		for _, path := range []string{"/counter/members/new", "/counter/members/A-001/loans/new", fmt.Sprintf("/counter/journals/%d/reverse", j)} {
			assert.Equal(t, http.StatusForbidden, b.post(path, url.Values{"reason": {"x"}, "no": {"Z-1"}, "name": {"Z"}, "phone": {"081200001111"}}).Status, path)
		}
		assert.NotContains(t, b.get("/counter/").Body, "/counter/report")
	})
}

func TestReverse(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		teller := e.login(tellerPhone, tellerPass)
		p := teller.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"40000"}, "step": {"review"}})
		p = teller.post("/counter/members/A-001/deposit", formOf(t, p.Body))
		id := receiptID(t, p.Location)
		before := e.balances(e.maria)

		m := e.login(managerPhone, managerPass)
		r := m.get(p.Location)
		assert.Contains(t, r.Body, fmt.Sprintf("/counter/journals/%d/reverse", id))
		f := m.get(fmt.Sprintf("/counter/journals/%d/reverse", id))
		require.Equal(t, http.StatusOK, f.Status)
		assert.Contains(t, f.Body, "Rp40.000")
		p = m.post(fmt.Sprintf("/counter/journals/%d/reverse", id), url.Values{"reason": {"  "}})
		assert.Contains(t, p.Body, "alasan")
		form := url.Values{"reason": {"salah rekening"}}
		p = m.post(fmt.Sprintf("/counter/journals/%d/reverse", id), form)
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		rid := receiptID(t, p.Location)
		assert.NotEqual(t, id, rid)
		again := m.post(fmt.Sprintf("/counter/journals/%d/reverse", id), form)
		assert.Equal(t, p.Location, again.Location, "a double click lands on the same reversal")
		assert.Equal(t, before.Sukarela-40_000, e.balances(e.maria).Sukarela)
		rr := m.get(p.Location)
		assert.Contains(t, rr.Body, "salah rekening")
		assert.Contains(t, rr.Body, "Pembatalan")
		// a reversal of a reversal is refused on the form
		p = m.post(fmt.Sprintf("/counter/journals/%d/reverse", rid), url.Values{"reason": {"lagi"}})
		assert.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, "tidak dapat dibatalkan")
		assert.Equal(t, http.StatusNotFound, m.get(fmt.Sprintf("/counter/journals/%d/reverse", e.foreignJournal)).Status)
	})
}

func TestStaffListAndDayReport(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		teller := e.login(tellerPhone, tellerPass)
		p := teller.post("/counter/members/A-001/deposit", url.Values{"account": {"wajib"}, "amount": {"30000"}, "step": {"review"}})
		require.Equal(t, http.StatusSeeOther, teller.post("/counter/members/A-001/deposit", formOf(t, p.Body)).Status)

		m := e.login(managerPhone, managerPass)
		s := m.get("/counter/staff")
		require.Equal(t, http.StatusOK, s.Status)
		assert.Contains(t, s.Body, "Yosef Teller")
		assert.Contains(t, s.Body, "Maria Manajer")
		assert.NotContains(t, s.Body, "Teller Lain", "another cooperative's staff")

		r := m.get("/counter/report")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Contains(t, r.Body, "Yosef Teller")
		assert.Contains(t, r.Body, "Kas seharusnya Rp30.000")
		r = m.get("/counter/report?date=" + time.Now().AddDate(0, 0, -3).Format(time.DateOnly))
		assert.NotContains(t, r.Body, "Yosef Teller")
		r = m.get("/counter/report?date=07-12-2026")
		assert.Contains(t, r.Body, "YYYY-MM-DD")
	})
}

func TestRegisterMemberAndDisburseLoan(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		m := e.login(managerPhone, managerPass)
		require.Equal(t, http.StatusOK, m.get("/counter/members/new").Status)
		p := m.post("/counter/members/new", url.Values{"no": {"A-100"}, "name": {"Agustina Nahak"}, "phone": {"bukan nomor"}, "language": {"id"}})
		assert.Contains(t, p.Body, "Nomor HP tidak sah")
		p = m.post("/counter/members/new", url.Values{"no": {"A-001"}, "name": {"Dua Kali"}, "phone": {"081200002222"}, "language": {"id"}})
		assert.Contains(t, p.Body, "sudah ada")
		p = m.post("/counter/members/new", url.Values{"no": {"A-100"}, "name": {"Agustina Nahak"}, "phone": {"0812 0000 3333"}, "language": {"en"}})
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		assert.Equal(t, "/counter/members/A-100", p.Location)
		assert.Contains(t, m.get(p.Location).Body, "Agustina Nahak")

		require.Equal(t, http.StatusOK, m.get("/counter/members/A-100/loans/new").Status)
		p = m.post("/counter/members/A-100/loans/new", url.Values{"loan_no": {"PJ-0100"}, "principal": {"1.000.000"}, "rate": {"1,5,0"}, "term": {"10"}, "method": {"flat"}})
		assert.Contains(t, p.Body, "Bunga ditulis")
		p = m.post("/counter/members/A-100/loans/new", url.Values{"loan_no": {"PJ-0100"}, "principal": {"1.000.000"}, "rate": {"1,5"}, "term": {"0"}, "method": {"flat"}})
		assert.Contains(t, p.Body, "Jangka")
		p = m.post("/counter/members/A-100/loans/new", url.Values{"loan_no": {"PJ-0100"}, "principal": {"1.000.000"}, "rate": {"1,5"}, "term": {"10"}, "method": {"flat"}})
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, `id="schedule"`)
		assert.Equal(t, 10, strings.Count(p.Body, "Rp100.000"), "ten principal parts shown before confirming")
		assert.Contains(t, p.Body, "Rp15.000", "flat interest")
		assert.Contains(t, p.Body, "satu juta rupiah")
		var loans int
		require.NoError(t, e.db.GetContext(context.Background(), &loans, e.db.Rebind(`SELECT COUNT(*) FROM loans WHERE loan_no = 'PJ-0100'`)))
		assert.Zero(t, loans)
		form := formOf(t, p.Body)
		p = m.post("/counter/members/A-100/loans/new", form)
		require.Equal(t, http.StatusSeeOther, p.Status, p.Body)
		again := m.post("/counter/members/A-100/loans/new", form)
		assert.Equal(t, p.Location, again.Location)
		require.NoError(t, e.db.GetContext(context.Background(), &loans, e.db.Rebind(`SELECT COUNT(*) FROM loans WHERE loan_no = 'PJ-0100'`)))
		assert.Equal(t, 1, loans)
		r := m.get(p.Location)
		assert.Contains(t, r.Body, "Pencairan pinjaman")
		mv := m.get("/counter/members/A-100")
		assert.Contains(t, mv.Body, "PJ-0100")
		// the schedule shown is the schedule stored
		assert.Equal(t, 10, strings.Count(mv.Body[strings.Index(mv.Body, `class="schedule"`):], "Rp100.000"))
	})
}

func TestAnotherCooperativesObjectsAre404(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		nf := b.get("/counter/no-such-page")
		assert.Equal(t, http.StatusNotFound, nf.Status)
		assert.Contains(t, nf.Body, "tidak ditemukan", "a page of its own, not a bare text")
		for _, path := range []string{"/counter/members/B-001", "/counter/members/B-001/deposit",
			fmt.Sprintf("/counter/receipts/%d", e.foreignJournal), "/counter/receipts/0", "/counter/receipts/abc", "/counter/receipts/99999999"} {
			assert.Equal(t, http.StatusNotFound, b.get(path).Status, path)
		}
		before := e.balances(e.foreign)
		p := b.post("/counter/members/B-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"1000"}, "step": {"confirm"}, "key": {strings.Repeat("a", 32)}})
		assert.Equal(t, http.StatusNotFound, p.Status)
		assert.Equal(t, before, e.balances(e.foreign))
		// and the other cooperative's staff does not see ours
		o := e.login(otherPhone, otherPass)
		assert.Equal(t, http.StatusNotFound, o.get("/counter/members/A-001").Status)
		assert.Equal(t, http.StatusNotFound, o.get("/counter/loans/PJ-0001/repay").Status)
	})
}

func TestEnglishPerStaffMember(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		b := e.login(tellerPhone, tellerPass)
		assert.Contains(t, b.get("/counter/").Body, "Kas saya hari ini")
		p := b.post("/counter/language", url.Values{"lang": {"en"}})
		require.Equal(t, http.StatusSeeOther, p.Status)
		home := b.get("/counter/")
		assert.Contains(t, home.Body, "My cash today")
		assert.Contains(t, home.Body, `<html lang="en">`)
		p = b.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"1250000"}, "step": {"review"}})
		assert.Contains(t, p.Body, "one million two hundred fifty thousand rupiah")
		assert.Contains(t, p.Body, "Voluntary savings", "the account's name as USSD says it in English")
		p = b.post("/counter/members/A-001/deposit", url.Values{"account": {"sukarela"}, "amount": {"x"}, "step": {"review"}})
		assert.Contains(t, p.Body, "whole rupiah")
		// another staff member keeps Bahasa Indonesia
		assert.Contains(t, e.login(managerPhone, managerPass).get("/counter/").Body, "Kas saya hari ini")
		assert.Equal(t, http.StatusBadRequest, b.post("/counter/language", url.Values{"lang": {"fr"}}).Status)
	})
}

func TestTrainingPhone(t *testing.T) {
	eachStore(t, func(t *testing.T, e *env) {
		// with LUMBUNG_DEMO, without a login, for the demo cooperative
		anon := e.browser()
		p := anon.get("/counter/phone")
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, htmlUnescape(p.Body), `<option value="+6281234567890">`)
		p = anon.post("/counter/phone", url.Values{"action": {"dial"}, "msisdn": {"081234567890"}})
		require.Equal(t, http.StatusOK, p.Status)
		assert.Contains(t, p.Body, "1 Cek Saldo")
		send := func(b *browser, body, input string) page {
			v := url.Values{"input": {input}}
			for _, m := range hiddenRE.FindAllStringSubmatch(body[strings.Index(body, `name="action" value="send"`)-80:], -1) {
				v.Set(m[1], htmlUnescape(m[2]))
				if m[1] == "msisdn" {
					break
				}
			}
			return b.post("/counter/phone", v)
		}
		p = send(anon, p.Body, "1")
		assert.Contains(t, p.Body, "Masukkan PIN")
		resent := send(anon, p.Body, "246810")
		assert.Contains(t, resent.Body, "Sukarela Rp1.250.000")
		assert.Contains(t, resent.Body, "sesi berakhir")

		// a number of another cooperative is refused, and without a login
		// so is a staff member's
		p = anon.post("/counter/phone", url.Values{"action": {"dial"}, "msisdn": {"081234560000"}})
		assert.Contains(t, p.Body, "bukan nomor")
		p = anon.post("/counter/phone", url.Values{"action": {"dial"}, "msisdn": {tellerPhone}})
		assert.Contains(t, p.Body, "bukan nomor")
		// no CSRF, no hop
		assert.Equal(t, http.StatusForbidden, anon.post("/counter/phone", url.Values{"csrf": {""}, "action": {"dial"}, "msisdn": {"081234567890"}}).Status)

		// a teller of the other cooperative dials its own members only
		o := e.login(otherPhone, otherPass)
		p = o.post("/counter/phone", url.Values{"action": {"dial"}, "msisdn": {"081234567890"}})
		assert.Contains(t, p.Body, "bukan nomor")
		p = o.post("/counter/phone", url.Values{"action": {"dial"}, "msisdn": {"081234560000"}})
		assert.Contains(t, p.Body, "Kopdit Lain")

		// the hops are counted as training
		mfs, err := e.reg.Gather()
		require.NoError(t, err)
		training := 0.0
		for _, mf := range mfs {
			if mf.GetName() != "lumbung_ussd_hops_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "provider" && l.GetValue() == counter.TrainingProvider {
						training += m.GetCounter().GetValue()
					}
				}
			}
		}
		assert.GreaterOrEqual(t, training, 4.0)
	})
}

func TestTrainingPhoneNeedsLoginWithoutDemo(t *testing.T) {
	e := newEnv(t, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter(), func(s *counter.Server) { s.Demo = false })
	b := e.browser()
	p := b.get("/counter/phone")
	assert.Equal(t, http.StatusSeeOther, p.Status)
	assert.Equal(t, "/counter/login", p.Location)
	b = e.login(tellerPhone, tellerPass)
	p = b.get("/counter/phone")
	require.Equal(t, http.StatusOK, p.Status)
	p = b.post("/counter/phone", url.Values{"action": {"dial"}, "msisdn": {"081299990000"}})
	assert.Contains(t, p.Body, "Masukkan kode aktivasi", "a staff member without a PIN is asked for the activation code")
	require.NoError(t, e.dir.SetPIN(t.Context(), members.Holder{Kind: members.KindStaff, ID: e.teller.ID, CooperativeID: e.coop.ID}, "975310"))
	p = b.post("/counter/phone", url.Values{"action": {"dial"}, "msisdn": {"081299990000"}})
	assert.Contains(t, p.Body, "Petugas Kopdit Sehati", "a staff phone dials the staff menu")
}

// errorOf is a page's refusal sentence.
func errorOf(body string) string {
	m := regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// tableOf is the table that starts at marker.
func tableOf(body, marker string) string {
	i := strings.Index(body, marker)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</table>")
	return body[i : i+j]
}
