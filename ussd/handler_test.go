package ussd_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/ussd"
)

// brokenDirectory misbehaves in the ways a real dependency can.
type brokenDirectory struct {
	panicOn string
	block   bool
}

func (d brokenDirectory) CooperativesForCode(ctx context.Context, code string) ([]members.Cooperative, error) {
	if d.panicOn == "coops" {
		panic("boom with input 1*246810")
	}
	if d.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return []members.Cooperative{{ID: 1, Name: "K"}}, nil
}

func (d brokenDirectory) Identify(context.Context, string, string) ([]members.Identity, error) {
	return []members.Identity{{Cooperative: members.Cooperative{ID: 1, Name: "K"}, Holder: members.Holder{Kind: members.KindMember, ID: 1, CooperativeID: 1}, Name: "A B", Language: "id", HasPIN: true}}, nil
}

func (d brokenDirectory) CheckPIN(context.Context, members.Holder, string) (int, bool, error) {
	if d.panicOn == "pin" {
		panic("boom")
	}
	return 0, false, nil
}

func (d brokenDirectory) SetLanguage(context.Context, members.Holder, string) error { return nil }

func (d brokenDirectory) VerifyActivationCode(context.Context, members.Holder, string) (int64, int, error) {
	return 0, 0, members.ErrNoActivationCode
}

func (d brokenDirectory) StagePIN(context.Context, members.Holder, string) error { return nil }

func (d brokenDirectory) ConfirmPIN(context.Context, members.Holder, string, int64) error { return nil }

func (d brokenDirectory) MemberByNo(context.Context, int64, string) (members.Member, error) {
	return members.Member{}, members.ErrNotFound
}

type noBooks struct{}

func (noBooks) MemberBalances(context.Context, int64, int64) (ledger.MemberBalances, error) {
	return ledger.MemberBalances{}, nil
}

func (noBooks) Statement(context.Context, int64, int64, int) ([]ledger.StatementLine, error) {
	return nil, nil
}

func (noBooks) LoanInfo(context.Context, int64, int64) ([]ledger.LoanInfo, error) { return nil, nil }

func (noBooks) NextInstallment(context.Context, int64, int64) (int64, time.Time, error) {
	return 0, time.Time{}, ledger.ErrNotFound
}

func (noBooks) Repay(context.Context, ledger.Repayment) (ledger.RepaymentResult, error) {
	return ledger.RepaymentResult{}, ledger.ErrNotFound
}

func (noBooks) CreateDepositCode(context.Context, ledger.DepositCodeRequest) (ledger.DepositCode, error) {
	return ledger.DepositCode{}, ledger.ErrNotFound
}

func (noBooks) LookupDepositCode(context.Context, int64, string) (ledger.DepositCode, error) {
	return ledger.DepositCode{}, ledger.ErrDepositCodeNotFound
}

func (noBooks) ConfirmDepositCode(context.Context, int64, int64, string, string) (ledger.Receipt, error) {
	return ledger.Receipt{}, ledger.ErrDepositCodeNotFound
}

func (noBooks) DepositCash(context.Context, ledger.CashDeposit) (ledger.Receipt, error) {
	return ledger.Receipt{}, ledger.ErrNotFound
}

func (noBooks) StaffCashToday(context.Context, int64, int64) (int, int64, error) { return 0, 0, nil }

func (noBooks) MaxUSSDAmount(context.Context, int64) (int64, error) { return 50_000_000, nil }

func (noBooks) Location(context.Context, int64) (*time.Location, error) { return time.UTC, nil }

func serve(t *testing.T, dir menus.Directory, deadline time.Duration) (*httptest.Server, *syncBuffer) {
	t.Helper()
	return serveWithBudget(t, dir, deadline, 0, false)
}

func serveWithBudget(t *testing.T, dir menus.Directory, deadline, budget time.Duration, detach bool) (*httptest.Server, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	h := &ussd.Handler{
		Engine: menus.NewEngine(dir, noBooks{}, log), Sessions: ussd.NewMemoryStore(time.Second),
		Metrics: ussd.NewMetrics(prometheus.NewRegistry()), Log: log, HopDeadline: deadline, Budget: budget, Detach: detach,
	}
	e := echo.New()
	h.Register(e.Group("/ussd"), ussd.AfricasTalking{})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv, logs
}

func hop(t *testing.T, srv *httptest.Server, text string) (int, string) {
	t.Helper()
	resp, err := http.PostForm(srv.URL+"/ussd/africastalking", url.Values{
		"sessionId": {"s1"}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567890"}, "text": {text}})
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestHandlerTurnsPanicsIntoPoliteEnd(t *testing.T) {
	for _, where := range []string{"coops", "pin"} {
		t.Run(where, func(t *testing.T) {
			srv, logs := serve(t, brokenDirectory{panicOn: where}, time.Second)
			code, body := hop(t, srv, "")
			if where == "pin" {
				hop(t, srv, "1")
				code, body = hop(t, srv, "1*246810")
			}
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "END Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", body)
			assert.Contains(t, logs.String(), "ussd hop panicked")
			assert.NotContains(t, logs.String(), "246810", "the panic value is not logged")
			assert.NotContains(t, body, "goroutine", "no stack trace reaches the member")
		})
	}
}

func TestHandlerAnswersWithinTheHopDeadline(t *testing.T) {
	srv, _ := serve(t, brokenDirectory{block: true}, 200*time.Millisecond)
	start := time.Now()
	code, body := hop(t, srv, "")
	assert.Equal(t, http.StatusOK, code)
	assert.True(t, strings.HasPrefix(body, "END "), body)
	assert.Less(t, time.Since(start), 5*time.Second, "a stuck dependency must not hold the hop past its deadline")
}

// syncBuffer keeps the log of hops that may go on after their answer.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// stuckDirectory hangs on the first hop until the hop's context is done,
// as a database that stopped answering does; with write it first begins a
// write. Afterwards it tries to begin a write and says how that went.
type stuckDirectory struct {
	brokenDirectory
	write bool
	after chan error
}

func (d stuckDirectory) CooperativesForCode(ctx context.Context, code string) ([]members.Cooperative, error) {
	if d.write {
		if err := ussd.BeginWrite(ctx); err != nil {
			return nil, err
		}
	}
	<-ctx.Done()
	d.after <- ussd.BeginWrite(ctx)
	return nil, ctx.Err()
}

func TestHandlerGivesUpAtItsBudget(t *testing.T) {
	for _, detach := range []bool{false, true} {
		t.Run(map[bool]string{false: "on the request goroutine", true: "detached"}[detach], func(t *testing.T) {
			dir := stuckDirectory{after: make(chan error, 1)}
			srv, logs := serveWithBudget(t, dir, time.Minute, 100*time.Millisecond, detach)
			start := time.Now()
			code, body := hop(t, srv, "")
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "END Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", body)
			assert.Less(t, time.Since(start), 30*time.Second, "the hop waited for its deadline, not its budget")
			select {
			case err := <-dir.after:
				require.ErrorIs(t, err, ussd.ErrHopAnswered, "a write may not start once the hop was answered")
			case <-time.After(10 * time.Second):
				t.Fatal("the hop's work was not cancelled when the handler gave up on it")
			}
			assert.Contains(t, logs.String(), "ussd hop gave up waiting for its backends")
		})
	}
}

func TestHandlerWaitsForAWriteUpToItsDeadline(t *testing.T) {
	for _, detach := range []bool{false, true} {
		t.Run(map[bool]string{false: "on the request goroutine", true: "detached"}[detach], func(t *testing.T) {
			const deadline = 500 * time.Millisecond
			dir := stuckDirectory{write: true, after: make(chan error, 1)}
			srv, _ := serveWithBudget(t, dir, deadline, 20*time.Millisecond, detach)
			start := time.Now()
			code, body := hop(t, srv, "")
			assert.GreaterOrEqual(t, time.Since(start), deadline, "the handler gave up on a hop that was writing before its deadline")
			assert.Equal(t, http.StatusOK, code)
			assert.Equal(t, "END Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", body)
		})
	}
}

// deafDirectory hangs on the first hop whatever its context says, as lib/pq
// does on a PostgreSQL server that went silent, until released.
type deafDirectory struct {
	brokenDirectory
	release chan struct{}
}

func (d deafDirectory) CooperativesForCode(context.Context, string) ([]members.Cooperative, error) {
	<-d.release
	return nil, errors.New("connection reset")
}

func TestDetachedHandlerAnswersACallThatIgnoresItsContext(t *testing.T) {
	dir := deafDirectory{release: make(chan struct{})}
	srv, _ := serveWithBudget(t, dir, time.Minute, 100*time.Millisecond, true)
	t.Cleanup(func() { close(dir.release) })
	start := time.Now()
	code, body := hop(t, srv, "")
	assert.Less(t, time.Since(start), 30*time.Second, "the hop waited for the deaf call")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "END Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", body)
}

// TestHandlerHungUpOnIsNotAnError: a provider that closes the request
// before the reply (the member hung up, the gateway gave up) cancels the
// hop's work; that is logged as what it is, not as an error, and does not
// send the backend watcher looking for an outage.
func TestHandlerHungUpOnIsNotAnError(t *testing.T) {
	for _, detach := range []bool{false, true} {
		t.Run(map[bool]string{false: "on the request goroutine", true: "detached"}[detach], func(t *testing.T) {
			dir := stuckDirectory{after: make(chan error, 1)}
			logs := &syncBuffer{}
			log := slog.New(slog.NewTextHandler(logs, nil))
			reg := prometheus.NewRegistry()
			watch := &countingBackends{}
			h := &ussd.Handler{
				Engine: menus.NewEngine(dir, noBooks{}, log), Sessions: ussd.NewMemoryStore(time.Second),
				Metrics: ussd.NewMetrics(reg), Log: log, HopDeadline: time.Minute, Budget: time.Minute, Detach: detach, Backends: watch,
			}
			e := echo.New()
			h.Register(e.Group("/ussd"), ussd.AfricasTalking{})
			srv := httptest.NewServer(e)
			t.Cleanup(srv.Close)

			ctx, cancel := context.WithCancel(context.Background())
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/ussd/africastalking", strings.NewReader(url.Values{
				"sessionId": {"s1"}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567890"}, "text": {""}}.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			go func() { time.Sleep(100 * time.Millisecond); cancel() }()
			_, err = http.DefaultClient.Do(req)
			require.Error(t, err, "the client went away")
			select {
			case <-dir.after:
			case <-time.After(10 * time.Second):
				t.Fatal("the hop's work was not cancelled when the provider hung up")
			}
			require.Eventually(t, func() bool { return strings.Contains(logs.String(), "closed the request") }, 5*time.Second, 10*time.Millisecond, "logs: %s", logs)
			assert.NotContains(t, logs.String(), "level=ERROR", "a hang-up is not an error")
			assert.Zero(t, watch.suspects.Load(), "a hang-up says nothing about the backends")
			require.Eventually(t, func() bool {
				return testutil.ToFloat64(h.Metrics.Hops.WithLabelValues("africastalking", "", "hung_up")) == 1
			}, 5*time.Second, 10*time.Millisecond, "counted as hung_up")
		})
	}
}

// countingBackends is a Backends that is never down and counts suspicions.
type countingBackends struct{ suspects atomic.Int64 }

func (*countingBackends) Down() bool { return false }
func (b *countingBackends) Suspect() { b.suspects.Add(1) }

// TestHandlerAnswersAFullStorePolitely: at the in-process store's cap a new
// session gets a polite END (and is counted), a live one goes on.
func TestHandlerAnswersAFullStorePolitely(t *testing.T) {
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	store := ussd.NewMemoryStore(time.Second)
	t.Cleanup(func() { store.Close() })
	store.MaxSessions = 1
	h := &ussd.Handler{
		Engine: menus.NewEngine(brokenDirectory{}, noBooks{}, log), Sessions: store,
		Metrics: ussd.NewMetrics(prometheus.NewRegistry()), Log: log, HopDeadline: time.Second,
	}
	e := echo.New()
	h.Register(e.Group("/ussd"), ussd.AfricasTalking{})
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	hopAs := func(session, text string) string {
		resp, err := http.PostForm(srv.URL+"/ussd/africastalking", url.Values{
			"sessionId": {session}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567890"}, "text": {text}})
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	first := hopAs("s1", "")
	require.True(t, strings.HasPrefix(first, "CON "), first)
	assert.Equal(t, "END Terlalu banyak permintaan. Silakan coba lagi beberapa menit lagi.", hopAs("s2", ""))
	assert.Equal(t, 1.0, testutil.ToFloat64(h.Metrics.Hops.WithLabelValues("africastalking", "", "sessions_full")))
	assert.Contains(t, logs.String(), "session store full")
	assert.Equal(t, first, hopAs("s1", ""), "the live session is untouched (a retried first hop gets its reply)")
}
