package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/sms/smstest"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// kannelWorld is lumbung on PostgreSQL and Redis, listening on a real port,
// talking to a real Kannel (bearerbox + smsbox) whose operator is fakesmsc.
type kannelWorld struct {
	env    *testEnv
	k      *smstest.Kannel
	addr   string
	front  *frontDoor
	server *http.Server
}

// frontDoor sits before the app: it can refuse the next N answers to
// Kannel's MO callbacks after the app handled them (the answer lost on the
// way back, so Kannel delivers the same message again).
type frontDoor struct {
	app      http.Handler
	loseNext atomic.Int32
	moCalls  atomic.Int32
}

func (f *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/sms/kannel" {
		f.app.ServeHTTP(w, r)
		return
	}
	f.moCalls.Add(1)
	if f.loseNext.Load() > 0 {
		f.loseNext.Add(-1)
		f.app.ServeHTTP(httptest.NewRecorder(), r) // stored and answered…
		http.Error(w, "connection reset", http.StatusServiceUnavailable)
		return // …but Kannel never hears so
	}
	f.app.ServeHTTP(w, r)
}

func startKannelWorld(t *testing.T, postURL bool) *kannelWorld {
	t.Helper()
	smstest.RequireKannel(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	w := &kannelWorld{addr: ln.Addr().String()}
	mo := "http://" + w.addr + "/sms/kannel?from=%p&to=%P&text=%a&id=%I&ts=%T"
	if postURL { // the text travels as the body
		mo = "http://" + w.addr + "/sms/kannel?from=%p&to=%P&id=%I&ts=%T"
	}
	w.k = smstest.StartKannel(t, smstest.KannelOptions{MOURL: mo, UsePostURL: postURL,
		HTTPRequestRetry: 10, HTTPQueueDelay: 1, DLRStorage: "spool"}) // as the README's kannel.conf
	db := ledgertest.Postgres(t)
	rc, prefix := ussdtest.Redis(t)
	w.env = startApp(t, func(c *config.Config) {
		c.SMSProvider = config.SMSKannel
		c.KannelSendSMSURL, c.KannelUsername, c.KannelPassword = w.k.SendSMSURL(), w.k.Username(), w.k.Password()
		c.PublicURL = "http://" + w.addr
		c.SMSFrom = "1234" // Kannel refuses a message without a sender unless the sendsms-user has default-sender
	}, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
	w.front = &frontDoor{app: w.env.app.echo}
	w.serve(t, ln)
	ctx, cancel := context.WithCancel(context.Background())
	wait := w.env.app.runWorkers(ctx)
	t.Cleanup(func() {
		cancel()
		wait()
		w.down()
		if t.Failed() {
			w.k.DumpLogs()
			var rows []string
			_ = db.SelectContext(context.Background(), &rows, `SELECT id || ' ' || template || ' ' || status || ' ' || attempts || ' ' || COALESCE(last_error, '') FROM outbox ORDER BY id`)
			t.Logf("outbox:\n%s", strings.Join(rows, "\n"))
		}
	})
	return w
}

// serve answers on ln (the same address every time).
func (w *kannelWorld) serve(t *testing.T, ln net.Listener) {
	w.server = &http.Server{Handler: w.front, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = w.server.Serve(ln) }()
}

// down takes lumbung off the network.
func (w *kannelWorld) down() {
	if w.server != nil {
		_ = w.server.Close()
		w.server = nil
	}
}

// up brings it back on the same address.
func (w *kannelWorld) up(t *testing.T) {
	t.Helper()
	var ln net.Listener
	require.Eventually(t, func() bool {
		var err error
		ln, err = net.Listen("tcp", w.addr)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	w.serve(t, ln)
}

// statuses of the messages of template to phone, oldest first.
func (w *kannelWorld) statuses(t *testing.T, template, phone string) []string {
	return outboxStatus(t, w.env, template, phone)
}

func (w *kannelWorld) eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 60*time.Second, 50*time.Millisecond, what) // real Kannel on a loaded CI machine: 30 s once fell short
}

func allAre(st []string, want string, n int) bool {
	if len(st) != n {
		return false
	}
	for _, s := range st {
		if s != want {
			return false
		}
	}
	return true
}

const mariaE164 = "+6281234567890"

// SALDO from a handset through a real Kannel and back, the receipt of a
// deposit, a redelivered MO, lumbung down for a moment, the operator link
// down: states, not milliseconds.
func TestKannelEndToEnd(t *testing.T) {
	w := startKannelWorld(t, false)
	k := w.k
	toMaria := func(m smstest.MT) bool { return m.To == mariaE164 }

	// 1. SALDO → the reply arrives at the operator; its delivery report marks it delivered.
	k.SendMO("081234567890", "1234", "SALDO")
	mt := k.WaitMT(t, 30*time.Second, toMaria)
	assert.Contains(t, mt.Text, "Saldo Maria")
	assert.Contains(t, mt.Text, "Sukarela Rp1.250.000", "from the ledger")
	w.eventually(t, "the reply is delivered", func() bool { return allAre(w.statuses(t, "reply", mariaE164), "delivered", 1) })

	// 2. A teller takes a cash deposit on USSD: the member's receipt arrives by SMS.
	p := ussdtest.NewPhone("http://"+w.addr, phoneTeller, "*123#")
	s := last(journey(t, p, "1", pinTeller, "A-001", "2", "50000", "1"))
	require.Contains(t, s.Text, "tercatat", "the deposit is recorded")
	receipt := k.WaitMT(t, 30*time.Second, func(m smstest.MT) bool { return toMaria(m) && strings.Contains(m.Text, "Rp50.000") })
	assert.Contains(t, receipt.Text, "Setoran")
	w.eventually(t, "the receipt is delivered", func() bool {
		return allAre(w.statuses(t, ledger.TmplDepositReceipt, mariaE164), "delivered", 1)
	})

	// 3. The same MO delivered twice (our answer lost, Kannel retries it) is answered once.
	calls := w.front.moCalls.Load()
	w.front.loseNext.Store(1)
	k.SendMO("081234567890", "1234", "MUTASI")
	w.eventually(t, "Kannel delivers the MO again", func() bool { return w.front.moCalls.Load() >= calls+2 })
	k.WaitMT(t, 30*time.Second, func(m smstest.MT) bool { return toMaria(m) && strings.Contains(m.Text, "Mutasi") })
	time.Sleep(2 * time.Second) // room for a second answer, if there were one
	assert.Equal(t, 1, countMT(k, "Mutasi"), "the redelivered MO is answered once")
	assert.Len(t, w.statuses(t, "reply", mariaE164), 2, "SALDO and MUTASI: one answer each")

	// 4. lumbung down for a moment: Kannel's retry delivers the MO once it is back.
	w.down()
	k.SendMO("081234567890", "1234", "PINJAMAN")
	time.Sleep(1500 * time.Millisecond) // at least one refused fetch
	w.up(t)
	w.eventually(t, "the MO reaches lumbung after its restart", func() bool { return len(w.statuses(t, "reply", mariaE164)) == 3 })
	w.eventually(t, "the three answers are delivered", func() bool { return allAre(w.statuses(t, "reply", mariaE164), "delivered", 3) })

	// 5. The operator link down: Kannel queues ("3: Queued for later delivery"), delivers when it returns.
	k.StopSMSC()
	_, err := w.env.app.books.DepositCash(context.Background(), ledger.CashDeposit{
		CooperativeID: demoCoopID(t, w.env), StaffID: staffIDByPhone(t, w.env, phoneTeller), MemberID: memberIDByNo(t, w.env, "A-001"),
		Account: ledger.Wajib, Amount: 25_000, Key: "e2e-link-down",
	})
	require.NoError(t, err)
	w.eventually(t, "the gateway took the receipt while the link is down", func() bool {
		return allAre(w.statuses(t, ledger.TmplDepositReceipt, mariaE164)[1:], "submitted", 1)
	})
	k.NoMT(t, time.Second, func(m smstest.MT) bool { return strings.Contains(m.Text, "Rp25.000") })
	k.StartSMSC()
	k.WaitMT(t, 60*time.Second, func(m smstest.MT) bool { return toMaria(m) && strings.Contains(m.Text, "Rp25.000") })
	w.eventually(t, "both receipts delivered", func() bool {
		return allAre(w.statuses(t, ledger.TmplDepositReceipt, mariaE164), "delivered", 2)
	})
	assertNoSecretsLogged(t, w.env, demoPINs...)
}

// countMT counts the MTs whose text contains s.
func countMT(k *smstest.Kannel, s string) int {
	n := 0
	for _, m := range k.MTs() {
		if strings.Contains(m.Text, s) {
			n++
		}
	}
	return n
}

func demoCoopID(t testing.TB, env *testEnv) int64 {
	t.Helper()
	var id int64
	require.NoError(t, env.app.db.GetContext(context.Background(), &id, `SELECT id FROM cooperatives WHERE code = 'DEMO'`))
	return id
}

func staffIDByPhone(t *testing.T, env *testEnv, phone string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, env.app.db.GetContext(context.Background(), &id, env.app.db.Rebind(`SELECT id FROM staff WHERE phone = ?`), "+62"+phone[1:]))
	return id
}

func memberIDByNo(t *testing.T, env *testEnv, no string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, env.app.db.GetContext(context.Background(), &id, env.app.db.Rebind(`SELECT id FROM members WHERE member_no = ?`), no))
	return id
}

// Kannel's post-url, a member's phone that sends UCS-2 (curly quotes) and
// a message long enough to arrive in two parts: each is answered once.
func TestKannelPostURLUnicodeAndLongMessages(t *testing.T) {
	w := startKannelWorld(t, true)
	k := w.k
	k.SendMOUCS2("081234567890", "1234", "Saldo “tolong”")
	mt := k.WaitMT(t, 30*time.Second, func(m smstest.MT) bool { return m.To == mariaE164 })
	assert.Contains(t, mt.Text, "Saldo Maria")
	assert.Equal(t, 0, mt.Coding, "the answer travels as GSM-7")

	k.SendMO("081234567891", "1234", "mutasi A-003 "+strings.Repeat("terima kasih banyak ", 15))
	mt = k.WaitMT(t, 30*time.Second, func(m smstest.MT) bool { return m.To == "+6281234567891" })
	assert.Contains(t, mt.Text, "Mutasi")
	w.eventually(t, "both answers delivered", func() bool {
		return allAre(w.statuses(t, "reply", mariaE164), "delivered", 1) && allAre(w.statuses(t, "reply", "+6281234567891"), "delivered", 1)
	})
	var texts []string
	require.NoError(t, w.env.app.db.SelectContext(context.Background(), &texts, `SELECT text_masked FROM sms_inbound ORDER BY id`))
	require.Len(t, texts, 2, "each message stored once")
	assert.Equal(t, "Saldo “tolong”", texts[0], "the UCS-2 text arrives as UTF-8 (mo-recode)")
}
