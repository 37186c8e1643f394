package counter_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/counter"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/service"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

var testKey = []byte(strings.Repeat("k", 32))

// clock is a settable clock shared by the directory, the ledger and the
// pages (login locks, idle sessions).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

const (
	tellerPhone   = "081299990000"
	managerPhone  = "081299990009"
	otherPhone    = "081277770000"
	tellerPass    = "teller-pass-0001"
	managerPass   = "manager-pass-0001"
	otherPass     = "other-pass-00001"
	firstPassword = "first-pass-00001"
)

type env struct {
	t       testing.TB
	srv     *httptest.Server
	db      *ledger.DB
	dir     *members.Directory
	books   *ledger.Ledger
	clock   *clock
	reg     *prometheus.Registry
	coop    members.Cooperative
	other   members.Cooperative
	maria   members.Member // A-001, sukarela Rp1.250.000
	yohanes members.Member // A-002, loan PJ-0001
	left    members.Member // A-009, has left
	foreign members.Member // B-001 of the other cooperative
	loanID  int64
	// a journal of the other cooperative
	foreignJournal int64
	teller         members.Staff
	manager        members.Staff
	newcomer       members.Staff // still has the password staff add printed
}

// eachStore runs fn on both store pairs: PostgreSQL + Redis, and the
// embedded SQLite + in-process session store.
func eachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("postgres+redis", func(t *testing.T) {
		db := ledgertest.Postgres(t)
		rc, prefix := ussdtest.Redis(t)
		fn(t, newEnv(t, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix), nil))
	})
	t.Run("sqlite+memory", func(t *testing.T) {
		fn(t, newEnv(t, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter(), nil))
	})
}

func newEnv(t testing.TB, db *ledger.DB, sessions ussd.SessionStore, limiter ussd.RateLimiter, tune func(*counter.Server)) *env {
	t.Helper()
	ctx := context.Background()
	clk := &clock{}
	dir, err := members.NewDirectory(db, testKey, clk.now)
	require.NoError(t, err)
	books := ledger.New(db, clk.now)
	e := &env{t: t, db: db, dir: dir, books: books, clock: clk, reg: prometheus.NewRegistry()}
	e.seed(ctx)

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(service.Deps{Directory: dir, Books: books, Registry: dir, Finder: dir, Management: books, Records: books, Now: clk.now})
	engine := menus.NewEngine(dir, books, log)
	h := &ussd.Handler{Engine: engine, Sessions: sessions, Metrics: ussd.NewMetrics(e.reg), Log: log, HopDeadline: 30 * time.Second,
		Limiter: limiter}
	s := &counter.Server{DB: db, Dir: dir, Books: books, Service: svc, Phone: counter.NewTrainingPhone(h), Demo: true, DemoCoop: "KSPA",
		Log: log, Now: clk.now}
	if tune != nil {
		tune(s)
	}
	ec := echo.New()
	require.NoError(t, s.Register(ec))
	e.srv = httptest.NewServer(ec)
	t.Cleanup(func() {
		e.srv.Close()
		sessions.Close()
	})
	return e
}

func (e *env) seed(ctx context.Context) {
	t := e.t
	var err error
	e.coop, err = e.dir.CreateCooperative(ctx, "KSPA", "Kopdit Sehati", []string{"*123#"})
	require.NoError(t, err)
	e.other, err = e.dir.CreateCooperative(ctx, "KSPB", "Kopdit Lain", []string{"*456#"})
	require.NoError(t, err)
	add := func(c members.Cooperative, no, name, phone string, sukarela int64) members.Member {
		m, err := e.dir.AddMember(ctx, c.ID, members.NewMember{No: no, Name: name, Phone: phone, JoinedOn: time.Now().AddDate(-1, 0, 0)})
		require.NoError(t, err)
		e.open(ctx, c.ID, m.ID, ledger.Pokok, 500_000)
		if sukarela > 0 {
			e.open(ctx, c.ID, m.ID, ledger.Sukarela, sukarela)
		}
		return m
	}
	e.maria = add(e.coop, "A-001", "María Goreti Bria", "081234567890", 1_250_000)
	require.NoError(t, e.dir.SetPIN(ctx, members.Holder{Kind: members.KindMember, ID: e.maria.ID, CooperativeID: e.coop.ID}, "246810"))
	e.yohanes = add(e.coop, "A-002", "Yohanes Bere", "081234567891", 50_000)
	e.left = add(e.coop, "A-009", "Paulus Lalu", "081234567899", 0)
	_, err = e.db.ExecContext(ctx, e.db.Rebind(`UPDATE members SET status = 'left' WHERE id = ?`), e.left.ID)
	require.NoError(t, err)
	e.foreign = add(e.other, "B-001", "Orang Lain", "081234560000", 100_000)
	// vault cash for loans
	equity, err := e.books.AccountID(ctx, e.coop.ID, ledger.OpeningEquity, ledger.Owner{})
	require.NoError(t, err)
	vault, err := e.books.AccountID(ctx, e.coop.ID, ledger.Vault, ledger.Owner{})
	require.NoError(t, err)
	_, err = e.books.Post(ctx, ledger.Journal{CooperativeID: e.coop.ID, Key: "test:vault", Kind: "opening", Actor: "test",
		Postings: []ledger.Posting{{From: vault, To: equity, Amount: 50_000_000}}})
	require.NoError(t, err)
	loan, err := e.books.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: e.coop.ID, MemberID: e.yohanes.ID, LoanNo: "PJ-0001", Principal: 1_200_000,
		RateBP: 100, Method: ledger.MethodFlat, TermMonths: 12, DisbursedOn: time.Now().AddDate(0, 0, -25), Key: "test:loan", Actor: "test", NoSMS: true})
	require.NoError(t, err)
	e.loanID = loan.ID
	e.foreignJournal = e.open(ctx, e.other.ID, e.foreign.ID, ledger.Wajib, 10_000)

	staff := func(c members.Cooperative, name, phone string, role members.Role, pass string, temporary bool) members.Staff {
		st, _, _, err := e.dir.AddStaffWithCredentials(ctx, c.ID, name, phone, role, pass)
		require.NoError(t, err)
		if !temporary {
			_, err = e.db.ExecContext(ctx, e.db.Rebind(`UPDATE staff SET web_password_temporary = ? WHERE id = ?`), false, st.ID)
			require.NoError(t, err)
		}
		return st
	}
	e.teller = staff(e.coop, "Yosef Teller", tellerPhone, members.RoleTeller, tellerPass, false)
	e.manager = staff(e.coop, "Maria Manajer", managerPhone, members.RoleManager, managerPass, false)
	e.newcomer = staff(e.coop, "Baru Masuk", "081299990005", members.RoleTeller, firstPassword, true)
	staff(e.other, "Teller Lain", otherPhone, members.RoleManager, otherPass, false)
}

func (e *env) open(ctx context.Context, coopID, memberID int64, kind ledger.AccountKind, amount int64) int64 {
	equity, err := e.books.AccountID(ctx, coopID, ledger.OpeningEquity, ledger.Owner{})
	require.NoError(e.t, err)
	acct, err := e.books.AccountID(ctx, coopID, kind, ledger.Owner{MemberID: memberID})
	require.NoError(e.t, err)
	id, err := e.books.Post(ctx, ledger.Journal{CooperativeID: coopID, Key: "test:open:" + string(kind) + ":" + time.Now().String(), Kind: "opening", Actor: "test",
		Postings: []ledger.Posting{{From: equity, To: acct, Amount: amount}}})
	require.NoError(e.t, err)
	return id
}

func (e *env) balances(m members.Member) ledger.MemberBalances {
	b, err := e.books.MemberBalances(context.Background(), m.CooperativeID, m.ID)
	require.NoError(e.t, err)
	return b
}

// browser is a cookie-keeping client that does not follow redirects and
// remembers the last page's CSRF token.
type browser struct {
	t    testing.TB
	e    *env
	c    *http.Client
	csrf string
}

type page struct {
	Status   int
	Body     string
	Header   http.Header
	Location string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, e: e, c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	p := page{Status: resp.StatusCode, Body: string(body), Header: resp.Header, Location: resp.Header.Get("Location")}
	if m := csrfRE.FindStringSubmatch(p.Body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	require.NoError(b.t, err)
	return b.do(req)
}

// post sends form with the last page's CSRF token (unless form has one).
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// follow GETs a 303's target.
func (b *browser) follow(p page) page {
	b.t.Helper()
	require.Equal(b.t, http.StatusSeeOther, p.Status, "expected a 303, got %d: %s", p.Status, p.Body)
	return b.get(p.Location)
}

// login signs in and lands on home.
func (e *env) login(phone, pass string) *browser {
	e.t.Helper()
	b := e.browser()
	b.get("/counter/login")
	p := b.post("/counter/login", url.Values{"phone": {phone}, "password": {pass}})
	require.Equal(e.t, http.StatusSeeOther, p.Status, p.Body)
	require.Equal(e.t, "/counter/", p.Location)
	b.get("/counter/")
	return b
}

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// formOf is the hidden fields of the form holding id="confirm-button".
func formOf(t testing.TB, body string) url.Values {
	t.Helper()
	i := strings.Index(body, `id="confirm-button"`)
	require.GreaterOrEqual(t, i, 0, "no confirm button in %s", body)
	start := strings.LastIndex(body[:i], "<form")
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body[start:i], -1) {
		v.Set(m[1], htmlUnescape(m[2]))
	}
	return v
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&amp;", "&", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}
