package sms_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/sms"
	"github.com/lumbung-id/lumbung/sms/smstest"
)

func TestMain(m *testing.M) {
	smstest.InstallLoopbackOnly() // in tests, outbound HTTP to any non-loopback host fails
	os.Exit(m.Run())
}

const testSecret = "0123456789abcdef0123456789abcdef-sms-tests"

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is one cooperative with members, wired like serve wires it.
type world struct {
	db     *ledger.DB
	books  *ledger.Ledger
	dir    *members.Directory
	coop   ledgertest.Coop
	maria  ledgertest.Member // alone on +6281234567890, Rp1.250.000 sukarela, PIN 246810
	yoh    ledgertest.Member // family phone +6281234567891 with theresia
	ther   ledgertest.Member
	clock  *clock
	inbox  *sms.Inbox
	logs   *bytes.Buffer
	nextID int
}

const (
	mariaPhone  = "+6281234567890"
	familyPhone = "+6281234567891"
	mariaPIN    = "246810"
)

func newWorld(t *testing.T, db *ledger.DB) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{db: db, clock: &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}, logs: &bytes.Buffer{}}
	w.books = ledger.New(db, w.clock.Now)
	dir, err := members.NewDirectory(db, []byte(testSecret), w.clock.Now)
	require.NoError(t, err)
	w.dir = dir
	w.coop = ledgertest.NewCoop(t, db, "KSP"+fmt.Sprint(time.Now().UnixNano()%100000))
	w.maria = ledgertest.NewMember(t, db, w.coop, "A-001", mariaPhone)
	w.yoh = ledgertest.NewMember(t, db, w.coop, "A-002", familyPhone)
	w.ther = ledgertest.NewMember(t, db, w.coop, "A-003", familyPhone)
	_, err = w.books.Post(ctx, ledger.Journal{CooperativeID: w.coop.ID, Key: "dep-maria", Kind: "deposit",
		Postings: []ledger.Posting{{From: w.coop.Accounts[ledger.Vault], To: w.maria.Accounts[ledger.Sukarela], Amount: 1_250_000}}})
	require.NoError(t, err)
	_, err = w.books.Post(ctx, ledger.Journal{CooperativeID: w.coop.ID, Key: "dep-ther", Kind: "deposit",
		Postings: []ledger.Posting{{From: w.coop.Accounts[ledger.Vault], To: w.ther.Accounts[ledger.Sukarela], Amount: 75_000}}})
	require.NoError(t, err)
	require.NoError(t, dir.SetPIN(ctx, members.Holder{Kind: members.KindMember, ID: w.maria.ID, CooperativeID: w.coop.ID}, mariaPIN))
	sealer, err := sms.NewSealer([]byte(testSecret))
	require.NoError(t, err)
	w.inbox = &sms.Inbox{DB: db, Dir: dir, Answers: menus.NewEngine(dir, w.books, nil), Text: menus.SMSText, Sealer: sealer,
		Log: slog.New(slog.NewTextHandler(w.logs, nil)), Now: w.clock.Now}
	return w
}

// text delivers one message from phone as a gateway would and answers it.
func (w *world) text(t *testing.T, phone, body string) int64 {
	t.Helper()
	w.nextID++
	id, first, err := w.inbox.Store(context.Background(), sms.Inbound{Provider: "kannel", ProviderID: fmt.Sprintf("mo-%d", w.nextID),
		From: phone, To: "1234", Text: body})
	require.NoError(t, err)
	require.True(t, first)
	require.NoError(t, w.inbox.Process(context.Background(), id))
	return id
}

// replies are the answers queued to phone, oldest first.
func (w *world) replies(t *testing.T, phone string) []string {
	t.Helper()
	var params []string
	require.NoError(t, w.db.SelectContext(context.Background(), &params,
		w.db.Rebind(`SELECT params FROM `+allSMS+` WHERE phone = ? AND template = 'reply' ORDER BY id`), phone))
	out := make([]string, len(params))
	for i, p := range params {
		text, err := menus.RenderSMS("id", "reply", decodeParams(t, p))
		require.NoError(t, err)
		out[i] = text
	}
	return out
}

func (w *world) outcome(t *testing.T, id int64) string {
	t.Helper()
	var o string
	require.NoError(t, w.db.GetContext(context.Background(), &o, w.db.Rebind(`SELECT outcome FROM sms_inbound WHERE id = ?`), id))
	return o
}

func TestInboxAnswers(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		id := w.text(t, "081234567890", "saldo")
		assert.Equal(t, sms.OutcomeBalance, w.outcome(t, id))
		got := w.replies(t, mariaPhone)
		require.Len(t, got, 1)
		assert.Contains(t, got[0], "Rp1.250.000", "the balance comes from the ledger")

		for _, c := range []struct{ body, outcome, want string }{
			{"MINI", sms.OutcomeStatement, "Rp1.250.000"},
			{"Loan please", sms.OutcomeLoan, ""},
			{"apa ini?", sms.OutcomeHelp, "SALDO"},
			{"", sms.OutcomeHelp, "SALDO"},
		} {
			id := w.text(t, mariaPhone, c.body)
			assert.Equal(t, c.outcome, w.outcome(t, id), c.body)
			got := w.replies(t, mariaPhone)
			assert.Contains(t, got[len(got)-1], c.want, c.body)
		}

		// A family phone must name the member; then it gets that member's books only.
		id = w.text(t, familyPhone, "SALDO")
		assert.Equal(t, sms.OutcomeFamily, w.outcome(t, id))
		assert.Contains(t, w.replies(t, familyPhone)[0], "SALDO A-002")
		id = w.text(t, familyPhone, "saldo a-003")
		assert.Equal(t, sms.OutcomeBalance, w.outcome(t, id))
		last := w.replies(t, familyPhone)[1]
		assert.Contains(t, last, "Rp75.000")
		assert.NotContains(t, last, "Rp1.250.000")
	})
}

func TestInboxOnceEach(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		m := sms.Inbound{Provider: "kannel", ProviderID: "same-mo", From: mariaPhone, Text: "SALDO"}
		// The gateway delivers the same message 20 times at once; every
		// delivery stores and processes it.
		var wg sync.WaitGroup
		firsts := make(chan bool, 20)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, first, err := w.inbox.Store(ctx, m)
				if !assert.NoError(t, err) {
					return
				}
				firsts <- first
				assert.NoError(t, w.inbox.Process(ctx, id))
			}()
		}
		wg.Wait()
		close(firsts)
		n := 0
		for f := range firsts {
			if f {
				n++
			}
		}
		assert.Equal(t, 1, n, "stored once")
		assert.Len(t, w.replies(t, mariaPhone), 1, "answered once")
		var rows int
		require.NoError(t, db.GetContext(ctx, &rows, `SELECT COUNT(*) FROM sms_inbound`))
		assert.Equal(t, 1, rows)
	})
}

func TestInboxResumesWhatWasNotAnswered(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		_, _, err := w.inbox.Store(ctx, sms.Inbound{Provider: "africastalking", ProviderID: "at-1", From: mariaPhone, Text: "SALDO"})
		require.NoError(t, err) // the instance died before answering
		n, err := w.inbox.Resume(ctx, time.Second)
		require.NoError(t, err)
		assert.Zero(t, n, "a message just stored is left to the request that stored it")
		w.clock.Add(2 * time.Second)
		n, err = w.inbox.Resume(ctx, time.Second)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Len(t, w.replies(t, mariaPhone), 1)
		n, err = w.inbox.Resume(ctx, time.Second)
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

func TestInboxLimits(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		// Unregistered: one polite reply a day, whatever they send.
		stranger := "+6281399998888"
		for range 3 {
			id := w.text(t, stranger, "SALDO")
			_ = id
		}
		got := w.replies(t, stranger)
		require.Len(t, got, 1)
		assert.Contains(t, got[0], "belum terdaftar")
		w.clock.Add(24 * time.Hour)
		w.text(t, stranger, "halo")
		assert.Len(t, w.replies(t, stranger), 2, "a new day, one more reply")

		// Anyone: at most 10 replies in any hour.
		for i := range 12 {
			id := w.text(t, mariaPhone, "SALDO")
			if i >= sms.MaxRepliesPerHour {
				assert.Equal(t, sms.OutcomeLimited, w.outcome(t, id))
			}
			w.clock.Add(time.Minute)
		}
		assert.Len(t, w.replies(t, mariaPhone), sms.MaxRepliesPerHour)
		w.clock.Add(time.Hour)
		w.text(t, mariaPhone, "SALDO")
		assert.Len(t, w.replies(t, mariaPhone), sms.MaxRepliesPerHour+1)

		// A sender that is no phone number (an operator's promo) gets nothing.
		id := w.text(t, "TELKOMSEL", "Promo!")
		assert.Equal(t, sms.OutcomeNotAPhone, w.outcome(t, id))
	})
}

func TestInboxPIN(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		require.NoError(t, w.dir.SetSMSPINRequired(ctx, w.coop.ID, true))

		id := w.text(t, mariaPhone, "SALDO")
		assert.Equal(t, sms.OutcomePINRequired, w.outcome(t, id))
		id = w.text(t, mariaPhone, "SALDO "+mariaPIN)
		assert.Equal(t, sms.OutcomeBalance, w.outcome(t, id))
		id = w.text(t, familyPhone, "SALDO A-003 111111")
		assert.Equal(t, sms.OutcomePINNone, w.outcome(t, id), "no PIN yet: the office gives an activation code")

		// Wrong PINs count towards the lockout shared with USSD.
		id = w.text(t, mariaPhone, "SALDO 135799")
		assert.Equal(t, sms.OutcomePINWrong, w.outcome(t, id))
		w.text(t, mariaPhone, "SALDO 135799")
		id = w.text(t, mariaPhone, "SALDO 135799")
		assert.Equal(t, sms.OutcomePINLocked, w.outcome(t, id))
		id = w.text(t, mariaPhone, "SALDO "+mariaPIN)
		assert.Equal(t, sms.OutcomePINLocked, w.outcome(t, id), "locked stays locked")
		var alerts int
		require.NoError(t, db.GetContext(ctx, &alerts, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE phone = ? AND template = ?`), mariaPhone, ledger.TmplPINLocked))
		assert.Equal(t, 1, alerts, "the lock is announced by SMS")

		// The PIN is never kept in clear: not in the row, not in the logs.
		var rows []struct {
			Masked string  `db:"text_masked"`
			Sealed *string `db:"text_sealed"`
		}
		require.NoError(t, db.SelectContext(ctx, &rows, `SELECT text_masked, text_sealed FROM sms_inbound`))
		for _, r := range rows {
			assert.NotContains(t, r.Masked, mariaPIN)
			assert.NotContains(t, r.Masked, "135799")
			assert.Nil(t, r.Sealed, "the sealed text is dropped once answered")
		}
		assert.NotContains(t, w.logs.String(), mariaPIN)
		assert.NotContains(t, w.logs.String(), "135799")
		assert.NotContains(t, w.logs.String(), mariaPhone)
	})
}

func TestSealer(t *testing.T) {
	s, err := sms.NewSealer([]byte(testSecret))
	require.NoError(t, err)
	sealed := s.Seal("SALDO 246810", "kannel\x00id-1")
	assert.NotContains(t, sealed, "246810")
	got, err := s.Open(sealed, "kannel\x00id-1")
	require.NoError(t, err)
	assert.Equal(t, "SALDO 246810", got)
	_, err = s.Open(sealed, "kannel\x00id-2")
	assert.Error(t, err, "bound to its row")
	other, err := sms.NewSealer([]byte(strings.Repeat("x", 40)))
	require.NoError(t, err)
	_, err = other.Open(sealed, "kannel\x00id-1")
	assert.Error(t, err, "useless without the secret")
}

// Thirty messages from one phone at once: exactly ten answers, because the
// sender's row is locked while each answer is counted and queued.
func TestInboxLimitUnderConcurrency(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, _, err := w.inbox.Store(ctx, sms.Inbound{Provider: "kannel", ProviderID: fmt.Sprint("burst-", i), From: mariaPhone, Text: "SALDO"})
				if assert.NoError(t, err) {
					assert.NoError(t, w.inbox.Process(ctx, id))
				}
			}()
		}
		wg.Wait()
		assert.Len(t, w.replies(t, mariaPhone), sms.MaxRepliesPerHour)
		var limited int
		require.NoError(t, db.GetContext(ctx, &limited, `SELECT COUNT(*) FROM sms_inbound WHERE outcome = 'limited'`))
		assert.Equal(t, 30-sms.MaxRepliesPerHour, limited)
	})
}

// The hourly limit counts one cooperative's replies: a phone whose members
// are in two cooperatives, limited by one, is still answered by the other
// (each pays for its own replies, and the count stays in its shard).
func TestInboxLimitIsPerCooperative(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		other := ledgertest.NewCoop(t, db, "KSPB"+fmt.Sprint(time.Now().UnixNano()%100000))
		ledgertest.NewMember(t, db, other, "B-001", mariaPhone)
		for range sms.MaxRepliesPerHour {
			w.text(t, mariaPhone, "SALDO A-001")
			w.clock.Add(time.Minute)
		}
		assert.Equal(t, sms.OutcomeLimited, w.outcome(t, w.text(t, mariaPhone, "SALDO A-001")))
		assert.Equal(t, sms.OutcomeBalance, w.outcome(t, w.text(t, mariaPhone, "SALDO B-001")), "the other cooperative has sent nothing")
		var perCoop []int
		require.NoError(t, db.SelectContext(context.Background(), &perCoop, db.Rebind(`SELECT COUNT(*) FROM outbox
			WHERE phone = ? AND template = 'reply' GROUP BY cooperative_id ORDER BY cooperative_id = ? DESC`), mariaPhone, w.coop.ID))
		assert.Equal(t, []int{sms.MaxRepliesPerHour, 1}, perCoop)
	})
}

func TestInboxPurge(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		w := newWorld(t, db)
		ctx := context.Background()
		w.text(t, mariaPhone, "SALDO")
		_, _, err := w.inbox.Store(ctx, sms.Inbound{Provider: "kannel", ProviderID: "unanswered", From: mariaPhone, Text: "SALDO"})
		require.NoError(t, err)
		w.clock.Add(sms.InboundRetention + time.Hour)
		n, err := w.inbox.Purge(ctx, w.clock.Now().Add(-sms.InboundRetention))
		require.NoError(t, err)
		assert.Equal(t, 1, n, "only the answered one; the other still waits for its answer")
		assert.Len(t, w.replies(t, mariaPhone), 1, "the outbox keeps its record")
	})
}
