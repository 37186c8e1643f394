package sms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
)

// Directory is what answering an SMS needs to know about the sender.
type Directory interface {
	MembersByPhone(ctx context.Context, msisdn string) ([]members.SMSMember, error)
	CheckPIN(ctx context.Context, h members.Holder, pin string) (remaining int, justLocked bool, err error)
}

// Answers renders the answers to commands from the same operations the
// USSD screens use (menus.Engine).
type Answers interface {
	SMSBalance(ctx context.Context, who members.Identity) (string, error)
	SMSStatement(ctx context.Context, who members.Identity) (string, error)
	SMSLoans(ctx context.Context, who members.Identity) (string, error)
}

// Reply limits (CONTRACT §4).
const (
	MaxRepliesPerHour = 10 // replies to one phone in any hour
	// An unregistered sender gets one reply per calendar day (WITA).

	// MaxUnregisteredRepliesPerDay caps the replies to numbers nobody
	// registered, all numbers together, per calendar day (WITA), for the
	// whole database: a flood of made-up senders cannot make lumbung send
	// (and pay for) more than this many SMS a day.
	MaxUnregisteredRepliesPerDay = 200
)

// maxProcessAttempts: an inbound message that failed this many times is
// answered with the apology and closed.
const maxProcessAttempts = 5

// processLease is how long one attempt may hold a message before another
// instance may take it over.
const processLease = 30 * time.Second

// replyTemplate is the outbox template of an answer: params {"text": …},
// rendered when the message was answered.
const replyTemplate = menus.TmplReply

// Outcomes of an inbound message (metrics, and kept on the row).
const (
	OutcomeBalance      = "balance"
	OutcomeStatement    = "statement"
	OutcomeLoan         = "loan"
	OutcomeHelp         = "help"
	OutcomeUnregistered = "unregistered"
	OutcomeFamily       = "family"
	OutcomePINRequired  = "pin_required"
	OutcomePINWrong     = "pin_wrong"
	OutcomePINLocked    = "pin_locked"
	OutcomePINNone      = "pin_none"
	OutcomeLimited      = "limited"
	// OutcomeForeign: the sender's number is outside the reply countries
	// (LUMBUNG_SMS_REPLY_COUNTRIES); stored, never answered.
	OutcomeForeign = "foreign"
	// OutcomeUnregisteredCapped: today's unregistered replies reached
	// MaxUnregisteredRepliesPerDay; not answered.
	OutcomeUnregisteredCapped = "unregistered_capped"
	OutcomeNotAPhone          = "not_a_phone"
	OutcomeError              = "error"
)

// Inbox stores messages from phones once per gateway message id and
// answers each exactly once.
type Inbox struct {
	DB      *ledger.DB
	Dir     Directory
	Answers Answers
	// Text renders a catalogue text (menus.SMSText).
	Text func(lang, key string, args ...any) string
	// Sign adds the cooperative's name to a notice (menus.SignSMS); nil
	// leaves notices unsigned.
	Sign    func(text, coop string) string
	Sealer  *Sealer
	Log     *slog.Logger
	Now     func() time.Time
	Metrics *Metrics
	// Queued is called after an answer was queued (wakes the sender).
	Queued func()
	// Zone is the calendar for "one reply a day" (WITA by default).
	Zone *time.Location
	// ReplyCountries are the country calling codes ("62") whose numbers
	// get replies (LUMBUNG_SMS_REPLY_COUNTRIES); nil answers any number.
	ReplyCountries []string
	// MaxUnregisteredPerDay overrides MaxUnregisteredRepliesPerDay (tests);
	// 0 keeps it.
	MaxUnregisteredPerDay int
}

// replyAllowed reports whether phone (E.164) is in a reply country. Country
// calling codes are prefix-free, so a prefix match is exact.
func (in *Inbox) replyAllowed(phone string) bool {
	if in.ReplyCountries == nil {
		return true
	}
	for _, cc := range in.ReplyCountries {
		if strings.HasPrefix(phone, "+"+cc) {
			return true
		}
	}
	return false
}

func (in *Inbox) unregisteredCap() int {
	if in.MaxUnregisteredPerDay > 0 {
		return in.MaxUnregisteredPerDay
	}
	return MaxUnregisteredRepliesPerDay
}

func (in *Inbox) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

func (in *Inbox) zone() *time.Location {
	if in.Zone != nil {
		return in.Zone
	}
	return wita
}

var wita = time.FixedZone("WITA", 8*3600)

const storeInboundSQL = `INSERT INTO sms_inbound (provider, provider_msg_id, sender, recipient, text_masked, text_sealed, status, received_at)
VALUES (?, ?, ?, ?, ?, ?, 'received', ?) ON CONFLICT (provider, provider_msg_id) DO NOTHING RETURNING id`

// Store writes m durably, once per (provider, provider id). It returns the
// row's id and whether this delivery was the first.
func (in *Inbox) Store(ctx context.Context, m Inbound) (id int64, first bool, err error) {
	at := m.ReceivedAt
	if at.IsZero() {
		at = in.now()
	}
	ad := m.Provider + "\x00" + m.ProviderID
	err = in.DB.GetContext(ctx, &id, in.DB.Rebind(storeInboundSQL), m.Provider, m.ProviderID, m.From, m.To,
		maskDigits(m.Text), in.Sealer.Seal(m.Text, ad), at.UTC())
	if err == nil {
		return id, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("store inbound sms: %w", err)
	}
	err = in.DB.GetContext(ctx, &id, in.DB.Rebind(`SELECT id FROM sms_inbound WHERE provider = ? AND provider_msg_id = ?`), m.Provider, m.ProviderID)
	if err != nil {
		return 0, false, fmt.Errorf("find stored inbound sms: %w", err)
	}
	return id, false, nil
}

const claimInboundSQL = `UPDATE sms_inbound SET lease_until = ?, attempts = attempts + 1
WHERE id = ? AND status = 'received' AND (lease_until IS NULL OR lease_until < ?)
RETURNING provider, provider_msg_id, sender, text_sealed, attempts`

// Process answers the stored message id unless it is answered already or
// another instance is answering it now. The answer is queued in the same
// transaction that marks the message processed, under a key derived from
// the message: a crash anywhere means the message is processed again later
// (Resume), never answered twice.
func (in *Inbox) Process(ctx context.Context, id int64) error {
	now := in.now()
	var row struct {
		Provider   string         `db:"provider"`
		ProviderID string         `db:"provider_msg_id"`
		Sender     string         `db:"sender"`
		Sealed     sql.NullString `db:"text_sealed"`
		Attempts   int            `db:"attempts"`
	}
	err := in.DB.GetContext(ctx, &row, in.DB.Rebind(claimInboundSQL), now.Add(processLease).UTC(), id, now.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		return nil // answered already, or being answered
	}
	if err != nil {
		return fmt.Errorf("claim inbound sms %d: %w", id, err)
	}
	phone, perr := members.NormalizeMSISDN(row.Sender)
	if perr != nil {
		return in.finish(ctx, id, row.Provider, OutcomeNotAPhone, nil)
	}
	if !in.replyAllowed(phone) {
		// SMS pumping: a reply abroad costs the cooperative and helps nobody.
		return in.finish(ctx, id, row.Provider, OutcomeForeign, nil)
	}
	text, err := in.Sealer.Open(row.Sealed.String, row.Provider+"\x00"+row.ProviderID)
	if err != nil {
		return in.finish(ctx, id, row.Provider, OutcomeError, nil) // sealed under another secret: nothing to answer
	}
	r, err := in.answer(ctx, phone, text)
	if err != nil {
		if row.Attempts < maxProcessAttempts {
			in.release(id)
			return fmt.Errorf("answer inbound sms %d: %w", id, err)
		}
		in.Log.Error("inbound sms failed too often; apologising", "id", id, "phone", members.MaskMSISDN(phone), "err", err)
		r = reply{outcome: OutcomeError, unscoped: true, lang: "id", text: in.Text("id", "error.internal")}
	}
	r.phone = phone
	return in.finish(ctx, id, row.Provider, r.outcome, &r)
}

// release lets another attempt take the message at once.
func (in *Inbox) release(id int64) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _ = in.DB.ExecContext(ctx, in.DB.Rebind(`UPDATE sms_inbound SET lease_until = NULL WHERE id = ? AND status = 'received'`), id)
}

// reply is an answer to queue.
type reply struct {
	outcome  string
	coopID   int64 // 0 with unscoped
	unscoped bool  // to an unregistered sender: at most one a day
	phone    string
	lang     string
	text     string
}

const markProcessedSQL = `UPDATE sms_inbound SET status = 'processed', outcome = ?, text_sealed = NULL, lease_until = NULL, processed_at = ?
WHERE id = ? AND status = 'received'`

const touchSenderSQL = `INSERT INTO sms_senders (phone, last_seen_at) VALUES (?, ?)
ON CONFLICT (phone) DO UPDATE SET last_seen_at = excluded.last_seen_at`

// repliesLastHourSQL counts the replies one cooperative sent phone in the
// last hour (outbox_phone). The limit is per cooperative: each pays for its
// own replies, and the count stays on the one shard that holds the
// cooperative's outbox when the database is distributed (ledger/CITUS.md).
// A phone shared by members of two cooperatives may get the limit from
// each.
const repliesLastHourSQL = `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND phone = ? AND template = 'reply' AND created_at > ?`

// unscopedRepliesLastHourSQL is repliesLastHourSQL for the replies that
// belong to no cooperative (to an unregistered number, or the apology).
const unscopedRepliesLastHourSQL = `SELECT COUNT(*) FROM sms_replies WHERE phone = ? AND template = 'reply' AND created_at > ?`

// unscopedLock is the sms_senders row that every reply to an unregistered
// number locks (after its own phone's row), so that the daily cap is
// counted with no other such reply in flight. It is no phone number.
const unscopedLock = "unregistered-replies"

// unscopedTodaySQL counts today's replies that belong to no cooperative
// (sms_replies_created: at most the cap's rows are read).
const unscopedTodaySQL = `SELECT COUNT(*) FROM sms_replies WHERE template = 'reply' AND created_at >= ?`

// unscopedKey is the outbox key of today's one reply to an unregistered phone.
func (in *Inbox) unscopedKey(phone string, now time.Time) string {
	return "unregistered:" + phone + ":" + now.In(in.zone()).Format(time.DateOnly)
}

const unscopedKeyTakenSQL = `SELECT COUNT(*) FROM sms_replies WHERE idem_key = ?`

// unscopedCapReached locks the cap's row and reports whether today's
// unregistered replies reached the cap. A phone that had today's reply
// already is not capped: it is limited (one a day), as before the cap.
func (in *Inbox) unscopedCapReached(ctx context.Context, tx *sqlx.Tx, now time.Time, key string) (bool, error) {
	if _, err := tx.ExecContext(ctx, tx.Rebind(touchSenderSQL), unscopedLock, now.UTC()); err != nil {
		return false, fmt.Errorf("lock unregistered replies: %w", err)
	}
	local := now.In(in.zone())
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, in.zone())
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(unscopedTodaySQL), midnight.UTC()); err != nil {
		return false, fmt.Errorf("count unregistered replies: %w", err)
	}
	if n < in.unregisteredCap() {
		return false, nil
	}
	var taken int
	if err := tx.GetContext(ctx, &taken, tx.Rebind(unscopedKeyTakenSQL), key); err != nil {
		return false, fmt.Errorf("find today's unregistered reply: %w", err)
	}
	return taken == 0, nil
}

// finish marks the message processed and queues its answer, in one
// transaction. The sender's row is locked first, so the reply limits are
// counted with no other answer to that phone in flight.
func (in *Inbox) finish(ctx context.Context, id int64, provider, outcome string, r *reply) error {
	now := in.now()
	queued := false
	err := in.DB.InTx(ctx, func(tx *sqlx.Tx) error {
		queued = false
		if r != nil {
			if _, err := tx.ExecContext(ctx, tx.Rebind(touchSenderSQL), r.phone, now.UTC()); err != nil {
				return fmt.Errorf("lock sender: %w", err)
			}
			var n int
			count, args := repliesLastHourSQL, []any{r.coopID, r.phone, now.Add(-time.Hour).UTC()}
			if r.unscoped {
				count, args = unscopedRepliesLastHourSQL, args[1:]
			}
			if err := tx.GetContext(ctx, &n, tx.Rebind(count), args...); err != nil {
				return fmt.Errorf("count replies: %w", err)
			}
			capped := false
			if n < MaxRepliesPerHour && r.unscoped {
				var err error
				if capped, err = in.unscopedCapReached(ctx, tx, now, in.unscopedKey(r.phone, now)); err != nil {
					return err
				}
			}
			switch {
			case n >= MaxRepliesPerHour:
				outcome = OutcomeLimited
			case capped:
				outcome = OutcomeUnregisteredCapped
			default:
				m := ledger.OutboxMessage{CooperativeID: r.coopID, Phone: r.phone, Language: r.lang, Template: replyTemplate,
					Key: "reply:" + strconv.FormatInt(id, 10), Params: map[string]string{"text": r.text}}
				if r.unscoped {
					m.CooperativeID = 0
					m.Key = in.unscopedKey(r.phone, now)
				}
				var err error
				if queued, err = ledger.EnqueueSMSOnce(ctx, tx, m, now); err != nil {
					return err
				}
				if !queued && r.unscoped {
					outcome = OutcomeLimited // today's one reply went out already
				}
			}
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(markProcessedSQL), outcome, now.UTC(), id)
		if err != nil {
			return fmt.Errorf("mark inbound sms processed: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			queued = false
			return errAlreadyProcessed // roll back: another attempt finished it
		}
		return nil
	})
	if errors.Is(err, errAlreadyProcessed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("finish inbound sms %d: %w", id, err)
	}
	in.Metrics.inbound(provider, outcome)
	if queued && in.Queued != nil {
		in.Queued()
	}
	return nil
}

var errAlreadyProcessed = errors.New("inbound sms already processed")

const pendingInboundSQL = `SELECT id FROM sms_inbound WHERE status = 'received' AND received_at < ?
AND (lease_until IS NULL OR lease_until < ?) ORDER BY id LIMIT 100`

// Resume processes messages that were stored but not answered (the
// instance that stored them crashed, or answering failed). grace leaves
// just-stored messages to the request that stored them.
func (in *Inbox) Resume(ctx context.Context, grace time.Duration) (int, error) {
	now := in.now()
	var ids []int64
	if err := in.DB.SelectContext(ctx, &ids, in.DB.Rebind(pendingInboundSQL), now.Add(-grace).UTC(), now.UTC()); err != nil {
		return 0, fmt.Errorf("find unanswered sms: %w", err)
	}
	done := 0
	for _, id := range ids {
		if err := in.Process(ctx, id); err != nil {
			in.Log.Warn("answer sms", "id", id, "err", err)
			continue
		}
		done++
	}
	return done, nil
}

// RunResume calls Resume every interval until ctx ends, and once an hour
// purges answered messages older than InboundRetention.
func (in *Inbox) RunResume(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	var purged time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := in.Resume(ctx, interval); err != nil && ctx.Err() == nil {
				in.Log.Warn("resume inbound sms", "err", err)
			}
			if now := in.now(); now.Sub(purged) >= time.Hour {
				purged = now
				if n, err := in.Purge(ctx, now.Add(-InboundRetention)); err != nil && ctx.Err() == nil {
					in.Log.Warn("purge inbound sms", "err", err)
				} else if n > 0 {
					in.Log.Info("purged old inbound sms", "count", n)
				}
			}
		}
	}
}

// InboundRetention is how long an answered message is kept: long past any
// gateway's redelivery (the dedupe needs the row), short enough that who
// texted what does not pile up for years.
const InboundRetention = 90 * 24 * time.Hour

// Purge deletes answered messages received before before; it returns how
// many.
func (in *Inbox) Purge(ctx context.Context, before time.Time) (int, error) {
	res, err := in.DB.ExecContext(ctx, in.DB.Rebind(`DELETE FROM sms_inbound WHERE status = 'processed' AND received_at < ?`), before.UTC())
	if err != nil {
		return 0, fmt.Errorf("purge inbound sms: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
