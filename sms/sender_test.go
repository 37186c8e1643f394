package sms_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/sms"
)

func decodeParams(t *testing.T, s string) map[string]string {
	t.Helper()
	var m map[string]string
	require.NoError(t, json.Unmarshal([]byte(s), &m))
	return m
}

// gateway is a fake Provider that records what it was given and answers
// with the errors queued for it.
type gateway struct {
	mu    sync.Mutex
	sent  map[int64]int
	texts map[int64]string
	errs  []error
}

func (g *gateway) Name() string { return "kannel" }

func (g *gateway) Send(ctx context.Context, m sms.Outgoing) (sms.SendResult, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.errs) > 0 {
		err := g.errs[0]
		g.errs = g.errs[1:]
		if err != nil {
			return sms.SendResult{}, err
		}
	}
	if g.sent == nil {
		g.sent, g.texts = map[int64]int{}, map[int64]string{}
	}
	g.sent[m.ID]++
	g.texts[m.ID] = m.Text
	return sms.SendResult{ProviderID: fmt.Sprintf("gw-%d", m.ID), Status: sms.StatusSubmitted}, nil
}

func (g *gateway) counts() map[int64]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[int64]int{}
	for k, v := range g.sent {
		out[k] = v
	}
	return out
}

func queue(t *testing.T, db *ledger.DB, coopID int64, m ledger.OutboxMessage, now time.Time) int64 {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, db.InTx(ctx, func(tx *sqlx.Tx) error { return ledger.EnqueueSMS(ctx, tx, m, now) }))
	var id int64
	require.NoError(t, db.GetContext(ctx, &id, db.Rebind(`SELECT id FROM outbox WHERE idem_key = ?`), m.Key))
	return id
}

type outboxRow struct {
	Status    string  `db:"status"`
	Attempts  int     `db:"attempts"`
	Segments  *int    `db:"segments"`
	Provider  *string `db:"provider_id"`
	LastError *string `db:"last_error"`
}

func row(t *testing.T, db *ledger.DB, id int64) outboxRow {
	t.Helper()
	var r outboxRow
	require.NoError(t, db.GetContext(context.Background(), &r,
		db.Rebind(`SELECT status, attempts, segments, provider_id, last_error FROM `+ledger.TableOf(id)+` WHERE id = ?`), id))
	return r
}

func newSender(db *ledger.DB, g sms.Provider, c *clock) *sms.Sender {
	return sms.NewSender(sms.Sender{DB: db, Provider: g, Render: menus.RenderSMS, Now: c.Now,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), BaseBackoff: time.Minute, MaxAttempts: 3})
}

func TestSenderSendsRendersAndRecords(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		coop := ledgertest.NewCoop(t, db, "SND")
		receipt := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "r1", Phone: mariaPhone, Language: "en",
			Template: ledger.TmplDepositReceipt, Params: map[string]string{"amount": "50000", "account": "sukarela", "balance": "1300000", "ref": "17"}}, c.Now())
		curly := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "r2", Phone: mariaPhone,
			Template: "reply", Params: map[string]string{"text": "“Terima kasih” — Kopdit"}}, c.Now())
		broken := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "r3", Phone: mariaPhone,
			Template: "no.such.template"}, c.Now())
		g := &gateway{}
		s := newSender(db, g, c)
		n, err := s.SendDue(context.Background())
		require.NoError(t, err)
		assert.Equal(t, 3, n)

		r := row(t, db, receipt)
		assert.Equal(t, "submitted", r.Status)
		assert.Equal(t, "gw-"+fmt.Sprint(receipt), *r.Provider)
		assert.Equal(t, 1, *r.Segments)
		assert.Contains(t, g.texts[receipt], "Rp50.000", "rendered in the member's language")
		assert.Equal(t, `"Terima kasih" - Kopdit`, g.texts[curly], "look-alikes become GSM-7 instead of UCS-2")
		assert.Equal(t, "failed", row(t, db, broken).Status, "a message that cannot be rendered is not retried")
		assert.NotContains(t, g.counts(), broken)

		n, err = s.SendDue(context.Background())
		require.NoError(t, err)
		assert.Zero(t, n, "nothing is sent twice")
	})
}

// A message of no cooperative (the one daily reply to an unregistered
// phone) lives in ledger.RepliesTable, not in the outbox, so that the
// outbox can be distributed by cooperative (ledger/CITUS.md); the sender
// claims, sends, retries and records it as it does the outbox's, and a
// delivery report finds it by our id (from ledger.RepliesFirstID) or by the
// gateway's.
func TestSenderSendsRepliesOfNoCooperative(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		coop := ledgertest.NewCoop(t, db, "RPL")
		receipt := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "k", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		stranger := "+6281399990000"
		require.NoError(t, db.InTx(ctx, func(tx *sqlx.Tx) error {
			return ledger.EnqueueSMS(ctx, tx, ledger.OutboxMessage{Key: "unregistered:x", Phone: stranger, Template: "reply",
				Params: map[string]string{"text": "Nomor ini belum terdaftar."}}, c.Now())
		}))
		var reply int64
		require.NoError(t, db.GetContext(ctx, &reply, db.Rebind(`SELECT id FROM sms_replies WHERE phone = ?`), stranger))
		assert.GreaterOrEqual(t, reply, ledger.RepliesFirstID, "its id says which table")
		assert.Equal(t, ledger.RepliesTable, ledger.TableOf(reply))
		assert.Equal(t, "outbox", ledger.TableOf(receipt))
		var inOutbox int
		require.NoError(t, db.GetContext(ctx, &inOutbox, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE phone = ? OR cooperative_id IS NULL`), stranger))
		assert.Zero(t, inOutbox, "the outbox holds one cooperative's messages only")

		replyRow := func() outboxRow { t.Helper(); return row(t, db, reply) } // in sms_replies
		// The outbox's message goes first; the reply's gateway call fails
		// and is retried after its backoff, in its own table.
		g := &gateway{errs: []error{nil, sms.ClassifyHTTP(503, "Temporal failure, try again later.")}}
		s := newSender(db, g, c)
		n, err := s.SendDue(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "one batch claims from both tables")
		assert.Equal(t, "submitted", row(t, db, receipt).Status)
		r := replyRow()
		assert.Equal(t, "queued", r.Status)
		assert.Equal(t, 1, r.Attempts)
		assert.Contains(t, *r.LastError, "503")
		c.Add(time.Minute + time.Second)
		_, err = s.SendDue(ctx)
		require.NoError(t, err)
		r = replyRow()
		assert.Equal(t, "submitted", r.Status)
		assert.Equal(t, "gw-"+fmt.Sprint(reply), *r.Provider)
		assert.Equal(t, "Nomor ini belum terdaftar.", g.texts[reply])
		assert.Equal(t, 1, g.counts()[reply])

		apply := func(r sms.Report) bool {
			moved, err := sms.ApplyReport(ctx, db, "kannel", r, c.Now())
			require.NoError(t, err)
			return moved
		}
		assert.True(t, apply(sms.Report{ProviderID: "gw-" + fmt.Sprint(reply), Status: sms.StatusSent}), "found by the gateway's id")
		assert.Equal(t, "sent", replyRow().Status)
		assert.True(t, apply(sms.Report{MessageID: reply, Status: sms.StatusDelivered}), "found by our id")
		assert.Equal(t, "delivered", replyRow().Status)
		assert.Equal(t, "submitted", row(t, db, receipt).Status, "the outbox's message is another one")
		assert.False(t, apply(sms.Report{MessageID: reply + 1, Status: sms.StatusDelivered}), "no such reply")

		// A batch of one takes the outbox's due message before a reply.
		s.Batch = 1
		later := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "k2", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		require.NoError(t, db.InTx(ctx, func(tx *sqlx.Tx) error {
			return ledger.EnqueueSMS(ctx, tx, ledger.OutboxMessage{Key: "unregistered:y", Phone: stranger, Template: "reply",
				Params: map[string]string{"text": "Lagi."}}, c.Now())
		}))
		n, err = s.SendDue(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, "submitted", row(t, db, later).Status)
		n, err = s.SendDue(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "then the reply")
		var queued int
		require.NoError(t, db.GetContext(ctx, &queued, `SELECT COUNT(*) FROM sms_replies WHERE status = 'queued'`))
		assert.Zero(t, queued)
	})
}

func TestSenderRetriesWithBackoffThenFails(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		coop := ledgertest.NewCoop(t, db, "RTY")
		flaky := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "f", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		g := &gateway{errs: []error{sms.ClassifyHTTP(503, "Temporal failure, try again later."), nil}}
		s := newSender(db, g, c)
		_, err := s.SendDue(context.Background())
		require.NoError(t, err)
		r := row(t, db, flaky)
		assert.Equal(t, "queued", r.Status)
		assert.Equal(t, 1, r.Attempts)
		assert.Contains(t, *r.LastError, "503")
		n, _ := s.SendDue(context.Background())
		assert.Zero(t, n, "not before its backoff")
		c.Add(time.Minute + time.Second)
		_, err = s.SendDue(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "submitted", row(t, db, flaky).Status)
		assert.Equal(t, 1, g.counts()[flaky])

		// Permanent errors fail at once; temporary ones after MaxAttempts.
		perm := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "p", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		g.errs = []error{sms.ClassifyHTTP(403, "Authorization failed for sendsms")}
		_, err = s.SendDue(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "failed", row(t, db, perm).Status)

		temp := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "t", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		for i := range 3 {
			g.errs = []error{sms.ClassifyHTTP(500, "boom")}
			_, err = s.SendDue(context.Background())
			require.NoError(t, err)
			c.Add(time.Hour)
			want := "queued"
			if i == 2 {
				want = "failed"
			}
			assert.Equal(t, want, row(t, db, temp).Status, "attempt %d", i+1)
		}
	})
}

func TestBackoff(t *testing.T) {
	for attempt := 1; attempt <= 12; attempt++ {
		want := min(30*time.Second<<(attempt-1), time.Hour)
		for range 50 {
			d := sms.Backoff(30*time.Second, time.Hour, attempt)
			assert.GreaterOrEqual(t, d, want/2)
			assert.LessOrEqual(t, d, want)
		}
	}
}

// Senders on several instances share the outbox: every message goes out
// exactly once, and a crashed sender's lease runs out and its messages come
// back.
func TestSendersShareTheOutbox(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		coop := ledgertest.NewCoop(t, db, "SHR")
		const n = 120
		ids := make([]int64, n)
		for i := range n {
			ids[i] = queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: fmt.Sprint("m", i), Phone: mariaPhone,
				Template: ledger.TmplPINChanged}, c.Now())
		}
		// A sender claims a batch and dies before sending any of it.
		var claimed int
		require.NoError(t, db.GetContext(ctx, &claimed, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE id <= ?`), ids[19]))
		_, err := db.ExecContext(ctx, db.Rebind(`UPDATE outbox SET lease_until = ?, attempts = 1 WHERE id <= ?`), c.Now().Add(2*time.Minute).UTC(), ids[19])
		require.NoError(t, err)

		g := &gateway{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := newSender(db, g, c)
				for {
					k, err := s.SendDue(ctx)
					if !assert.NoError(t, err) || k == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		assert.Len(t, g.counts(), n-20, "the dead sender's batch waits for its lease")
		c.Add(2*time.Minute + time.Second)
		s := newSender(db, g, c)
		for {
			k, err := s.SendDue(ctx)
			require.NoError(t, err)
			if k == 0 {
				break
			}
		}
		counts := g.counts()
		require.Len(t, counts, n)
		for _, id := range ids {
			assert.Equal(t, 1, counts[id], "message %d", id)
		}
	})
}

func TestDeliveryReportsOnlyMoveForward(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		coop := ledgertest.NewCoop(t, db, "DLR")
		id := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "d", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		g := &gateway{}
		_, err := newSender(db, g, c).SendDue(ctx)
		require.NoError(t, err)

		apply := func(r sms.Report) bool {
			moved, err := sms.ApplyReport(ctx, db, "kannel", r, c.Now())
			require.NoError(t, err)
			return moved
		}
		assert.True(t, apply(sms.Report{MessageID: id, Status: sms.StatusSent}))
		assert.False(t, apply(sms.Report{MessageID: id, Status: sms.StatusSent}), "a repeated report changes nothing")
		assert.False(t, apply(sms.Report{MessageID: id, Status: sms.StatusSubmitted}), "never backwards")
		for _, p := range []string{"twilio", "africastalking", "log"} {
			moved, err := sms.ApplyReport(ctx, db, p, sms.Report{MessageID: id, Status: sms.StatusDelivered}, c.Now())
			require.NoError(t, err)
			assert.False(t, moved, "a %s report does not move a message Kannel took", p)
			moved, err = sms.ApplyReport(ctx, db, p, sms.Report{ProviderID: "gw-" + fmt.Sprint(id), Status: sms.StatusDelivered}, c.Now())
			require.NoError(t, err)
			assert.False(t, moved, "nor by Kannel's id")
		}
		assert.Equal(t, "sent", row(t, db, id).Status)
		assert.True(t, apply(sms.Report{ProviderID: "gw-" + fmt.Sprint(id), Status: sms.StatusDelivered}), "found by the gateway's id")
		assert.False(t, apply(sms.Report{MessageID: id, Status: sms.StatusFailed, Detail: "late"}), "delivered is final")
		assert.Equal(t, "delivered", row(t, db, id).Status)
		assert.False(t, apply(sms.Report{ProviderID: "unknown", Status: sms.StatusDelivered}))
		assert.False(t, apply(sms.Report{MessageID: id}), "a report that says nothing")

		other := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "e", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		assert.False(t, apply(sms.Report{MessageID: other, Status: sms.StatusDelivered}), "a message still waiting in the queue: a report never stops it being sent")
		assert.Equal(t, "queued", row(t, db, other).Status)
		// A sender holds it (claimed, the gateway call under way): the
		// gateway's first report may beat the sender's own update.
		_, err = db.ExecContext(ctx, db.Rebind(`UPDATE outbox SET lease_until = ?, attempts = 1 WHERE id = ?`), c.Now().Add(time.Minute).UTC(), other)
		require.NoError(t, err)
		assert.True(t, apply(sms.Report{MessageID: other, Status: sms.StatusSent}), "a report may beat the sender's own update")
		assert.Equal(t, "sent", row(t, db, other).Status)
		// So may the second: Kannel's fake SMSC reports "sent" and the
		// final status within a millisecond (seen in CI, where the message
		// stayed "sent" for good).
		assert.True(t, apply(sms.Report{MessageID: other, Status: sms.StatusFailed, Detail: "absent subscriber"}), "the second report too")
		r := row(t, db, other)
		assert.Equal(t, "failed", r.Status)
		assert.Equal(t, "absent subscriber", *r.LastError)
		_, err = db.ExecContext(ctx, db.Rebind(`UPDATE outbox SET provider = 'kannel', lease_until = NULL WHERE id = ?`), other) // what the sender's update records
		require.NoError(t, err)
		assert.False(t, apply(sms.Report{MessageID: other, Status: sms.StatusDelivered}), "failed is final")
		// A message a report moved while no sender held it any more, and
		// that no gateway took, is not moved again.
		stray := queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: "s", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		_, err = db.ExecContext(ctx, db.Rebind(`UPDATE outbox SET status = 'sent', lease_until = ? WHERE id = ?`), c.Now().Add(-time.Minute).UTC(), stray)
		require.NoError(t, err)
		assert.False(t, apply(sms.Report{MessageID: stray, Status: sms.StatusDelivered}), "its lease is over and no gateway is recorded")
	})
}
