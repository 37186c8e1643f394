package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/api"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

// fixture is the API over real stores, with two cooperatives and a token
// each, and the answers it gave (checked against openapi.json by
// TestOpenAPIDescribesEveryRoute's callers).
type fixture struct {
	t          testing.TB
	db         *ledger.DB
	echo       *echo.Echo
	server     *api.Server
	registry   *prometheus.Registry
	dir        *members.Directory
	books      *ledger.Ledger
	coop       members.Cooperative
	other      members.Cooperative
	token      string // KSP1's
	otherToken string // KSP2's
	readOnly   string // KSP1's, read-only
	answers    []answer
}

func newFixture(t testing.TB, db *ledger.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir, err := members.NewDirectory(db, []byte("a test secret of at least 32 bytes!!"), nil)
	require.NoError(t, err)
	books := ledger.New(db, nil)
	svc := service.New(service.Deps{Directory: dir, Books: books, Registry: dir, Finder: dir, Management: books, Records: books})
	f := &fixture{t: t, db: db, dir: dir, books: books, registry: prometheus.NewRegistry()}
	f.server = &api.Server{Service: svc, Tokens: dir, Requests: books}
	f.echo = echo.New()
	f.server.Register(f.echo.Group("/api/v1"), f.registry)
	f.coop, err = dir.CreateCooperative(ctx, "KSP1", "Koperasi Satu", []string{"*123#"})
	require.NoError(t, err)
	f.other, err = dir.CreateCooperative(ctx, "KSP2", "Koperasi Dua", []string{"*124#"})
	require.NoError(t, err)
	f.token, _, err = dir.AddToken(ctx, f.coop.ID, "akuntansi", false)
	require.NoError(t, err)
	f.otherToken, _, err = dir.AddToken(ctx, f.other.ID, "lain", false)
	require.NoError(t, err)
	f.readOnly, _, err = dir.AddToken(ctx, f.coop.ID, "dasbor", true)
	require.NoError(t, err)
	return f
}

// answer is one response.
type answer struct {
	Status int
	Header http.Header
	Body   string
	req    *http.Request
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal([]byte(a.Body), &v), a.Body)
	return v
}

func (a answer) code(t *testing.T) string {
	t.Helper()
	e, _ := a.json(t)["error"].(map[string]any)
	require.NotNil(t, e, "not an error body: %s", a.Body)
	return e["code"].(string)
}

func (f *fixture) do(method, path, token, key, body string) answer {
	f.t.Helper()
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		r.Header.Set("Idempotency-Key", key)
	}
	w := httptest.NewRecorder()
	f.echo.ServeHTTP(w, r)
	a := answer{Status: w.Code, Header: w.Header(), Body: w.Body.String(), req: r}
	f.answers = append(f.answers, a)
	return a
}

func (f *fixture) get(path string) answer { return f.do(http.MethodGet, path, f.token, "", "") }
func (f *fixture) post(path, key, body string) answer {
	return f.do(http.MethodPost, path, f.token, key, body)
}

// setUp registers members and a loan PJ-1 for A-001 through
// the API.
func (f *fixture) setUp() {
	t := f.t
	t.Helper()
	for i, m := range []string{
		`{"member_no":"A-001","name":"Maria Goreti Bria","phone":"081234567890","joined_on":"2020-01-15","language":"id"}`,
		`{"member_no":"A-002","name":"Yohanes Bere","phone":"+62 812-3456-7891"}`,
	} {
		a := f.post("/api/v1/members", fmt.Sprintf("member-%d", i), m)
		require.Equal(t, http.StatusCreated, a.Status, a.Body)
	}
	ctx := context.Background()
	vault, err := f.books.AccountID(ctx, f.coop.ID, ledger.Vault, ledger.Owner{})
	require.NoError(t, err)
	equity, err := f.books.AccountID(ctx, f.coop.ID, ledger.OpeningEquity, ledger.Owner{})
	require.NoError(t, err)
	_, err = f.books.Post(ctx, ledger.Journal{CooperativeID: f.coop.ID, Key: "opening:vault", Kind: "opening", Memo: "Kas awal", Actor: "import",
		Postings: []ledger.Posting{{From: vault, To: equity, Amount: 10_000_000}}}) // the vault's opening cash
	require.NoError(t, err)
	a := f.post("/api/v1/loans", "loan-1", `{"loan_no":"PJ-1","member_no":"A-001","principal":1200000,"rate_pct_month":1,"method":"flat","term_months":12}`)
	require.Equal(t, http.StatusCreated, a.Status, a.Body)
}

func TestAPIWritesAndReads(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		f := newFixture(t, db)
		f.setUp()

		dep := `{"member_no":"a-001","account":"sukarela","amount":300000,"note":"transfer BRI 2611"}`
		a := f.post("/api/v1/deposits", "bri-2611", dep)
		require.Equal(t, http.StatusCreated, a.Status, a.Body)
		assert.Equal(t, float64(300_000), a.json(t)["balances"].(map[string]any)["sukarela"])
		again := f.post("/api/v1/deposits", "bri-2611", dep)
		assert.Equal(t, a.Status, again.Status)
		assert.Equal(t, a.Body, again.Body, "a retry gets the first answer")
		assert.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
		assert.Empty(t, a.Header.Get("Idempotent-Replayed"))
		reused := f.post("/api/v1/deposits", "bri-2611", strings.Replace(dep, "300000", "300001", 1))
		assert.Equal(t, http.StatusUnprocessableEntity, reused.Status)
		assert.Equal(t, "idempotency_key_reused", reused.code(t))

		m := f.get("/api/v1/members/A-001")
		require.Equal(t, http.StatusOK, m.Status, m.Body)
		mv := m.json(t)
		assert.Equal(t, float64(300_000), mv["balances"].(map[string]any)["sukarela"], "posted once")
		assert.Equal(t, float64(1_200_000), mv["balances"].(map[string]any)["loan_outstanding"])
		require.Len(t, mv["loans"], 1)

		rep := f.post("/api/v1/repayments", "rep-1", `{"loan_no":"PJ-1","amount":112000,"source":"sukarela"}`)
		require.Equal(t, http.StatusCreated, rep.Status, rep.Body)
		rv := rep.json(t)
		assert.Equal(t, map[string]any{"denda": 0.0, "biaya": 0.0, "bunga": 12_000.0, "pokok": 100_000.0}, rv["allocation"])
		assert.Equal(t, float64(1_100_000), rv["outstanding"])
		cash := f.post("/api/v1/repayments", "rep-2", `{"loan_no":"PJ-1","amount":50000,"source":"cash"}`)
		require.Equal(t, http.StatusCreated, cash.Status, cash.Body)

		loan := f.get("/api/v1/loans/PJ-1")
		require.Equal(t, http.StatusOK, loan.Status, loan.Body)
		lv := loan.json(t)
		assert.Equal(t, "A-001", lv["member_no"])
		assert.Len(t, lv["schedule"], 12)
		assert.Equal(t, float64(1), lv["rate_pct_month"])

		st := f.get("/api/v1/members/A-001/statement?limit=2")
		require.Equal(t, http.StatusOK, st.Status, st.Body)
		sv := st.json(t)
		require.GreaterOrEqual(t, len(sv["movements"].([]any)), 2, "a page holds whole journals: at least limit lines")
		next := sv["next_cursor"].(string)
		require.NotEmpty(t, next)
		st2 := f.get("/api/v1/members/A-001/statement?limit=2&cursor=" + next)
		require.Equal(t, http.StatusOK, st2.Status, st2.Body)
		assert.NotEmpty(t, st2.json(t)["movements"])
		assert.NotEqual(t, sv["movements"], st2.json(t)["movements"])

		depID := a.json(t)["journal_id"].(string)
		j := f.get("/api/v1/journals/" + depID)
		require.Equal(t, http.StatusOK, j.Status, j.Body)
		jv := j.json(t)
		assert.Equal(t, "deposit", jv["kind"])
		assert.Len(t, jv["entries"], 2)
		spent := f.post("/api/v1/journals/"+depID+"/reversal", "rev-0", `{"reason":"transfer salah anggota"}`)
		assert.Equal(t, http.StatusUnprocessableEntity, spent.Status, "the sukarela it brought has paid an installment")
		assert.Equal(t, "insufficient_funds", spent.code(t))
		wajib := f.post("/api/v1/deposits", "bri-2612", `{"member_no":"A-002","account":"wajib","amount":10000}`)
		require.Equal(t, http.StatusCreated, wajib.Status, wajib.Body)
		depID = wajib.json(t)["journal_id"].(string)
		rev := f.post("/api/v1/journals/"+depID+"/reversal", "rev-1", `{"reason":"transfer salah anggota"}`)
		require.Equal(t, http.StatusCreated, rev.Status, rev.Body)
		assert.Equal(t, rev.json(t)["journal_id"], f.get("/api/v1/journals/" + depID).json(t)["reversed_by"])
		twice := f.post("/api/v1/journals/"+depID+"/reversal", "rev-2", `{"reason":"lagi"}`)
		assert.Equal(t, http.StatusConflict, twice.Status)
		assert.Equal(t, "already_reversed", twice.code(t))

		day := f.get("/api/v1/reports/day")
		require.Equal(t, http.StatusOK, day.Status, day.Body)
		assert.Positive(t, day.json(t)["journals"])

		found := f.get("/api/v1/members?q=maria")
		require.Equal(t, http.StatusOK, found.Status, found.Body)
		assert.Len(t, found.json(t)["members"], 1)

		var receipts int
		require.NoError(t, db.Get(&receipts, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND template = ?`), f.coop.ID, ledger.TmplDepositReceipt))
		assert.Equal(t, 2, receipts, "each member's SMS receipt is queued with the transfer, once")
		problems, err := f.books.Reconcile(context.Background(), "KSP1")
		require.NoError(t, err)
		assert.Empty(t, problems.Problems)

		assert.Positive(t, testutil.ToFloat64(counter(t, f.registry, "/deposits", "POST", "201")))
		conformsToOpenAPI(t, f.answers)
	})
}

func counter(t *testing.T, reg *prometheus.Registry, route, method, status string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "lumbung_api_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["route"] == route && labels["method"] == method && labels["status"] == status {
				c := prometheus.NewCounter(prometheus.CounterOpts{Name: "x"})
				c.Add(m.GetCounter().GetValue())
				return c
			}
		}
	}
	t.Fatalf("no lumbung_api_requests_total{route=%q,method=%q,status=%q}", route, method, status)
	return nil
}

func TestAPIRefusals(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		f := newFixture(t, db)
		f.setUp()
		big := `{"reason":"` + strings.Repeat("x", api.MaxBody) + `"}`
		for _, c := range []struct {
			name, method, path, token, key, body string
			status                               int
			code, message                        string
		}{
			{"no token", "GET", "/api/v1/members", "", "", "", 401, "unauthenticated", ""},
			{"a wrong token", "GET", "/api/v1/members", "lbk_nope", "", "", 401, "unauthenticated", ""},
			{"a read-only token posts", "POST", "/api/v1/deposits", f.readOnly, "k", `{"member_no":"A-001","account":"wajib","amount":1}`, 403, "forbidden", ""},
			{"no Idempotency-Key", "POST", "/api/v1/deposits", f.token, "", `{"member_no":"A-001","account":"wajib","amount":1}`, 400, "invalid_request", "Idempotency-Key"},
			{"unknown fields, all named", "POST", "/api/v1/deposits", f.token, "k1", `{"member_no":"A-001","account":"wajib","amount":1,"amout":2,"memo":"x"}`, 400, "invalid_request", `"amout", "memo"`},
			{"a fraction of a rupiah", "POST", "/api/v1/deposits", f.token, "k2", `{"member_no":"A-001","account":"wajib","amount":1.5}`, 400, "invalid_request", "amount"},
			{"not JSON", "POST", "/api/v1/deposits", f.token, "k3", `member_no=A-001`, 400, "invalid_request", ""},
			{"an unknown account", "POST", "/api/v1/deposits", f.token, "k4", `{"member_no":"A-001","account":"vault","amount":1}`, 400, "invalid_request", "account"},
			{"a negative amount", "POST", "/api/v1/deposits", f.token, "k5", `{"member_no":"A-001","account":"wajib","amount":-5}`, 400, "invalid_request", "amount"},
			{"an unknown member", "POST", "/api/v1/deposits", f.token, "k6", `{"member_no":"Z-9","account":"wajib","amount":1}`, 404, "not_found", ""},
			{"a body over 64 KB", "POST", "/api/v1/journals/1/reversal", f.token, "k7", big, 413, "too_large", ""},
			{"an unknown endpoint", "GET", "/api/v1/nothing", f.token, "", "", 404, "not_found", ""},
			{"a bad cursor", "GET", "/api/v1/members/A-001/statement?cursor=zz", f.token, "", "", 400, "invalid_request", "cursor"},
			{"a bad limit", "GET", "/api/v1/members?limit=1000", f.token, "", "", 400, "invalid_request", "limit"},
			{"a bad date", "GET", "/api/v1/reports/day?date=27-11-2026", f.token, "", "", 400, "invalid_request", "date"},
			{"no sukarela to repay from", "POST", "/api/v1/repayments", f.token, "k8", `{"loan_no":"PJ-1","amount":100000,"source":"sukarela"}`, 422, "insufficient_funds", ""},
			{"more than the loan owes", "POST", "/api/v1/repayments", f.token, "k9", `{"loan_no":"PJ-1","amount":99000000,"source":"cash"}`, 422, "overpayment", "At most"},
			{"an unknown source", "POST", "/api/v1/repayments", f.token, "k10", `{"loan_no":"PJ-1","amount":1,"source":"gold"}`, 400, "invalid_request", "source"},
			{"a rate with three decimals", "POST", "/api/v1/loans", f.token, "k11", `{"loan_no":"PJ-2","member_no":"A-002","principal":100,"rate_pct_month":1.125,"method":"flat","term_months":1}`, 400, "invalid_request", "rate_pct_month"},
			{"a journal id that is not a number", "GET", "/api/v1/journals/abc", f.token, "", "", 404, "not_found", ""},
			{"a member registered twice", "POST", "/api/v1/members", f.token, "k12", `{"member_no":"A-001","name":"Lagi","phone":"081234567899"}`, 409, "already_exists", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := f.do(c.method, c.path, c.token, c.key, c.body)
				assert.Equal(t, c.status, a.Status, a.Body)
				assert.Equal(t, "application/json", strings.TrimSuffix(a.Header.Get("Content-Type"), "; charset=UTF-8"))
				assert.Equal(t, c.code, a.code(t))
				if c.message != "" {
					assert.Contains(t, a.json(t)["error"].(map[string]any)["message"], c.message)
				}
				assert.NotContains(t, a.Body, "goroutine")
			})
		}
		b, err := f.books.MemberBalances(context.Background(), f.coop.ID, mustMember(t, f, "A-001").ID)
		require.NoError(t, err)
		assert.Equal(t, ledger.MemberBalances{LoanOutstanding: 1_200_000}, b, "no refusal posted anything")
		conformsToOpenAPI(t, f.answers)
	})
}

func mustMember(t *testing.T, f *fixture, no string) members.Member {
	t.Helper()
	m, err := f.dir.MemberByNo(context.Background(), f.coop.ID, no)
	require.NoError(t, err)
	return m
}

// TestAPITenancy: a token of another cooperative gets 404 for every
// object of this one, on every endpoint that names one, and changes
// nothing.
func TestAPITenancy(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		f := newFixture(t, db)
		f.setUp()
		a := f.post("/api/v1/deposits", "d1", `{"member_no":"A-001","account":"wajib","amount":5000}`)
		require.Equal(t, http.StatusCreated, a.Status, a.Body)
		jid := a.json(t)["journal_id"].(string)
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/api/v1/members/A-001", ""},
			{"GET", "/api/v1/members/A-001/statement", ""},
			{"GET", "/api/v1/loans/PJ-1", ""},
			{"GET", "/api/v1/journals/" + jid, ""},
			{"POST", "/api/v1/journals/" + jid + "/reversal", `{"reason":"bukan punya saya"}`},
			{"POST", "/api/v1/deposits", `{"member_no":"A-001","account":"wajib","amount":1}`},
			{"POST", "/api/v1/repayments", `{"loan_no":"PJ-1","amount":1,"source":"cash"}`},
			{"POST", "/api/v1/loans", `{"loan_no":"PJ-9","member_no":"A-001","principal":100,"rate_pct_month":1,"method":"flat","term_months":1}`},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				got := f.do(c.method, c.path, f.otherToken, "other-"+c.path, c.body)
				assert.Equal(t, http.StatusNotFound, got.Status, got.Body)
				assert.Equal(t, "not_found", got.code(t))
				assert.NotContains(t, got.Body, "Maria")
			})
		}
		found := f.do("GET", "/api/v1/members?q=maria", f.otherToken, "", "")
		require.Equal(t, http.StatusOK, found.Status)
		assert.Empty(t, found.json(t)["members"])
		j := f.get("/api/v1/journals/" + jid)
		assert.Nil(t, j.json(t)["reversed_by"], "the other cooperative reversed nothing")
	})
}

// TestAPIIdempotentUnderConcurrency: sixteen identical POSTs at once post
// once, and every answer is the first one or a 409 while it ran.
func TestAPIIdempotentUnderConcurrency(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		f := newFixture(t, db)
		f.setUp()
		body := `{"member_no":"A-002","account":"sukarela","amount":125000}`
		answers := make([]answer, 16)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := httptest.NewRequest(http.MethodPost, "/api/v1/deposits", bytes.NewBufferString(body))
				r.Header.Set("Content-Type", "application/json")
				r.Header.Set("Authorization", "Bearer "+f.token)
				r.Header.Set("Idempotency-Key", "same-transfer")
				w := httptest.NewRecorder()
				f.echo.ServeHTTP(w, r)
				answers[i] = answer{Status: w.Code, Body: w.Body.String()}
			}()
		}
		wg.Wait()
		var first string
		for _, a := range answers {
			switch a.Status {
			case http.StatusCreated:
				if first == "" {
					first = a.Body
				}
				assert.Equal(t, first, a.Body)
			case http.StatusConflict:
				assert.Equal(t, "idempotency_in_progress", a.code(t))
			default:
				t.Errorf("status %d: %s", a.Status, a.Body)
			}
		}
		require.NotEmpty(t, first)
		after := f.post("/api/v1/deposits", "same-transfer", body)
		assert.Equal(t, first, after.Body)
		b, err := f.books.MemberBalances(context.Background(), f.coop.ID, mustMember(t, f, "A-002").ID)
		require.NoError(t, err)
		assert.Equal(t, int64(125_000), b.Sukarela, "one posting")
	})
}

func TestAPIRateLimit(t *testing.T) {
	f := newFixture(t, ledgertest.SQLite(t))
	f.server.RatePerSecond, f.server.Burst = 0.001, 3
	f.echo = echo.New()
	f.registry = prometheus.NewRegistry()
	f.server.Register(f.echo.Group("/api/v1"), f.registry)
	for range 3 {
		require.Equal(t, http.StatusOK, f.get("/api/v1/members").Status)
	}
	a := f.get("/api/v1/members")
	assert.Equal(t, http.StatusTooManyRequests, a.Status)
	assert.Equal(t, "rate_limited", a.code(t))
	assert.Equal(t, http.StatusOK, f.do("GET", "/api/v1/members", f.readOnly, "", "").Status, "the limit is per token")
}
