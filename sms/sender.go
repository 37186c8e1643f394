package sms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// Sender delivers the outbox: it claims due messages, renders them in the
// member's language, hands them to the gateway and records what happened.
//
// A claim is a lease, not a lock held across the network call: a sender
// that dies mid-batch leaves its messages leased, and once the lease runs
// out any sender takes them again. A message is marked submitted as soon as
// the gateway accepts it; only a crash between the gateway's acceptance and
// that update (a few milliseconds) can send a message twice — lumbung
// prefers a receipt twice to a receipt never.
type Sender struct {
	DB       *ledger.DB
	Provider Provider
	// Render turns a template and its params into text (menus.RenderSMS).
	Render  func(lang, template string, params map[string]string) (string, error)
	Log     *slog.Logger
	Metrics *Metrics
	Now     func() time.Time

	Batch       int           // messages claimed at once (default 20)
	Lease       time.Duration // how long a claim lasts (default 2 min)
	SendTimeout time.Duration // one gateway call (default 15 s)
	MaxAttempts int           // then failed (default 8)
	BaseBackoff time.Duration // first retry delay (default 30 s), doubled per attempt, with jitter
	MaxBackoff  time.Duration // (default 1 h)
	Poll        time.Duration // idle poll interval (default 1 s)

	wake chan struct{}

	names *sync.Map // cooperative id → name, read once
}

// coopName is the cooperative's name ("" if it cannot be read: the message
// goes out unsigned rather than not at all).
func (s *Sender) coopName(ctx context.Context, id int64) string {
	if name, ok := s.names.Load(id); ok {
		return name.(string)
	}
	var name string
	if err := s.DB.GetContext(ctx, &name, s.DB.Rebind(`SELECT name FROM cooperatives WHERE id = ?`), id); err != nil {
		return ""
	}
	s.names.Store(id, name)
	return name
}

func (s *Sender) defaults() {
	if s.Batch <= 0 {
		s.Batch = 20
	}
	if s.Lease <= 0 {
		s.Lease = 2 * time.Minute
	}
	if s.SendTimeout <= 0 {
		s.SendTimeout = 15 * time.Second
	}
	if s.MaxAttempts <= 0 {
		s.MaxAttempts = 8
	}
	if s.BaseBackoff <= 0 {
		s.BaseBackoff = 30 * time.Second
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = time.Hour
	}
	if s.Poll <= 0 {
		s.Poll = time.Second
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
	if s.names == nil {
		s.names = &sync.Map{}
	}
}

// NewSender returns a Sender with its defaults filled in.
func NewSender(s Sender) *Sender {
	s.defaults()
	return &s
}

// Poke wakes the sender now instead of at its next poll.
func (s *Sender) Poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx ends. Several Runs (in one process or many) share the
// outbox safely.
func (s *Sender) Run(ctx context.Context) {
	t := time.NewTicker(s.Poll)
	defer t.Stop()
	for {
		n, err := s.SendDue(ctx)
		if err != nil && ctx.Err() == nil {
			s.Log.Warn("sms sender", "err", err)
		}
		if n > 0 && err == nil {
			continue // there may be more
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

// claimSQL leases up to n due messages of a table (%[1]s: the outbox, or
// ledger.RepliesTable, whose messages belong to no cooperative: %[2]s is
// the cooperative column or NULL). On PostgreSQL, SKIP LOCKED (%[3]s) lets
// concurrent senders take disjoint rows without waiting; SQLite has one
// writer at a time anyway.
const claimSQL = `UPDATE %[1]s SET lease_until = ?, attempts = attempts + 1, updated_at = ?
WHERE id IN (SELECT id FROM %[1]s WHERE status = 'queued' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until < ?)
  ORDER BY next_attempt_at, id LIMIT ?%[3]s)
RETURNING id, %[2]s AS cooperative_id, phone, language, template, params, attempts, lease_until`

// sendTables are the tables the sender works, and what each gives as the
// message's cooperative.
var sendTables = []struct{ table, coop string }{
	{"outbox", "cooperative_id"},
	{ledger.RepliesTable, "CAST(NULL AS BIGINT)"},
}

type claimed struct {
	table    string    // where the message is: the outbox or ledger.RepliesTable
	ID       int64     `db:"id"`
	CoopID   *int64    `db:"cooperative_id"`
	Phone    string    `db:"phone"`
	Language string    `db:"language"`
	Template string    `db:"template"`
	Params   string    `db:"params"`
	Attempts int       `db:"attempts"`
	Lease    time.Time `db:"lease_until"`
}

// SendDue claims one batch of due messages and sends them. It returns how
// many it handled.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	s.defaults()
	now := s.Now()
	lock := ""
	if s.DB.Dialect == ledger.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var batch []claimed
	for _, t := range sendTables {
		if len(batch) >= s.Batch {
			break
		}
		var got []claimed
		q := s.DB.Rebind(fmt.Sprintf(claimSQL, t.table, t.coop, lock))
		if err := s.DB.SelectContext(ctx, &got, q, now.Add(s.Lease).UTC(), now.UTC(), now.UTC(), now.UTC(), s.Batch-len(batch)); err != nil {
			return 0, fmt.Errorf("claim %s: %w", t.table, err)
		}
		for i := range got {
			got[i].table = t.table
		}
		batch = append(batch, got...)
	}
	for _, m := range batch {
		if ctx.Err() != nil {
			return 0, ctx.Err() // the rest come back when their lease ends
		}
		if s.Now().After(m.Lease.Add(-s.SendTimeout)) {
			continue // too late to finish within the lease: another claim will take it
		}
		s.send(ctx, m)
	}
	return len(batch), nil
}

// send hands one claimed message to the gateway and records the outcome.
func (s *Sender) send(ctx context.Context, m claimed) {
	var params map[string]string
	if err := json.Unmarshal([]byte(m.Params), &params); err != nil {
		s.fail(ctx, m, "params are not a JSON object")
		return
	}
	if params == nil {
		params = map[string]string{}
	}
	if _, ok := params["coop"]; !ok && m.CoopID != nil && m.Template != replyTemplate {
		// Signed with the cooperative's name: a member of two cooperatives
		// knows which one wrote.
		params["coop"] = s.coopName(ctx, *m.CoopID)
	}
	text, err := s.Render(m.Language, m.Template, params)
	if err != nil {
		s.fail(ctx, m, "render: "+err.Error())
		return
	}
	out, enc, segments := Prepare(text)
	msg := Outgoing{ID: m.ID, Template: m.Template, To: m.Phone, Text: out, Encoding: enc, Segments: segments}
	sctx, cancel := context.WithTimeout(ctx, s.SendTimeout)
	start := time.Now()
	res, err := s.Provider.Send(sctx, msg)
	cancel()
	s.Metrics.sendDuration(s.Provider.Name(), time.Since(start))
	switch {
	case err == nil:
		s.submitted(ctx, m, msg, res)
	case IsPermanent(err) || m.Attempts >= s.MaxAttempts:
		s.Log.Warn("sms failed", "id", m.ID, "template", m.Template, "phone", members.MaskMSISDN(m.Phone), "attempts", m.Attempts, "err", err)
		s.fail(ctx, m, err.Error())
	default:
		s.retry(ctx, m, err)
	}
}

// The status only moves forward: a delivery report that arrived before this
// update (Kannel can be that quick) keeps its status.
const submittedSQL = `UPDATE %s SET status = CASE WHEN status = 'queued' THEN ? ELSE status END,
  provider = ?, provider_id = ?, segments = ?, encoding = ?, lease_until = NULL, last_error = NULL, updated_at = ?
WHERE id = ?`

func (s *Sender) submitted(ctx context.Context, m claimed, msg Outgoing, res SendResult) {
	status := res.Status
	if status.rank() < StatusSubmitted.rank() || status == StatusFailed {
		status = StatusSubmitted
	}
	var pid any
	if res.ProviderID != "" {
		pid = res.ProviderID
	}
	s.record(ctx, "record submitted sms", fmt.Sprintf(submittedSQL, m.table), string(status), s.Provider.Name(), pid, msg.Segments, string(msg.Encoding), s.Now().UTC(), m.ID)
	s.Metrics.sent(s.Provider.Name(), "submitted")
}

const retrySQL = `UPDATE %s SET next_attempt_at = ?, lease_until = NULL, last_error = ?, updated_at = ?
WHERE id = ? AND status = 'queued'`

func (s *Sender) retry(ctx context.Context, m claimed, err error) {
	delay := Backoff(s.BaseBackoff, s.MaxBackoff, m.Attempts)
	now := s.Now()
	s.record(ctx, "reschedule sms", fmt.Sprintf(retrySQL, m.table), now.Add(delay).UTC(), oneLine(err.Error(), 300), now.UTC(), m.ID)
	s.Metrics.sent(s.Provider.Name(), "retry")
}

const failSQL = `UPDATE %s SET status = 'failed', lease_until = NULL, last_error = ?, updated_at = ?
WHERE id = ? AND status = 'queued'`

func (s *Sender) fail(ctx context.Context, m claimed, reason string) {
	s.record(ctx, "record failed sms", fmt.Sprintf(failSQL, m.table), oneLine(reason, 300), s.Now().UTC(), m.ID)
	s.Metrics.sent(s.Provider.Name(), "failed")
}

// record runs one bookkeeping update; it outlives a cancelled ctx briefly
// so that a message the gateway took is not left looking unsent.
func (s *Sender) record(ctx context.Context, what, query string, args ...any) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := s.DB.ExecContext(rctx, s.DB.Rebind(query), args...); err != nil {
		s.Log.Error(what, "err", err)
	}
}

// Backoff is the delay before retry number attempt (1 = the first retry):
// base doubled per attempt up to max, then spread at random over its upper
// half so that messages that failed together do not retry together.
func Backoff(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return d/2 + rand.N(d/2+1)
}

// applyReportByIDSQL and applyReportByProviderSQL move a message forward
// only: a report of a lower or equal rank (a late "sent" after
// "delivered", a repeated report) changes nothing.
const rankSQL = `CASE status WHEN 'queued' THEN 0 WHEN 'submitted' THEN 1 WHEN 'sent' THEN 2 ELSE 3 END`

// A report found by our own id moves only a message this gateway took
// (submitted or later, provider = the gateway), or one a sender is handing
// to a gateway right now (queued under a live lease: Kannel's first report
// can beat the sender's own update by milliseconds). A message still
// waiting in the queue, or one another gateway took, is left alone: a
// report must never stop a message from being sent.
//
// Kannel can send two reports (submitted to the operator, then delivered)
// before the sender's update: while no gateway is recorded (provider NULL)
// the sender's lease is kept, so the second report is taken as the first
// was.
const applyReportByIDSQL = `UPDATE %s SET status = ?, last_error = COALESCE(?, last_error),
  lease_until = CASE WHEN provider IS NULL THEN lease_until END, updated_at = ?
WHERE id = ? AND ` + rankSQL + ` < ?
  AND ((status <> 'queued' AND provider = ?) OR ((status = 'queued' OR provider IS NULL) AND lease_until > ?))`

const applyReportByProviderSQL = `UPDATE %s SET status = ?, last_error = COALESCE(?, last_error), lease_until = NULL, updated_at = ?
WHERE provider = ? AND provider_id = ? AND ` + rankSQL + ` < ?`

// ApplyReport records a delivery report from provider. Our own message id
// (from the callback URL, which the adapter has authenticated) wins;
// without it the gateway's id, as recorded from that gateway at submit,
// finds the message. It reports whether a message moved.
func ApplyReport(ctx context.Context, db *ledger.DB, provider string, r Report, now time.Time) (bool, error) {
	if r.Status == "" || r.Status.rank() <= 0 {
		return false, nil
	}
	var detail any
	if r.Status == StatusFailed && r.Detail != "" {
		detail = oneLine(r.Detail, 300)
	}
	switch {
	case r.MessageID > 0: // our id says which table
		return applyReport(ctx, db, fmt.Sprintf(applyReportByIDSQL, ledger.TableOf(r.MessageID)), string(r.Status), detail, now.UTC(),
			r.MessageID, r.Status.rank(), provider, now.UTC())
	case r.ProviderID != "": // the gateway's id is in one table or the other
		for _, t := range sendTables {
			moved, err := applyReport(ctx, db, fmt.Sprintf(applyReportByProviderSQL, t.table), string(r.Status), detail, now.UTC(),
				provider, r.ProviderID, r.Status.rank())
			if moved || err != nil {
				return moved, err
			}
		}
		return false, nil
	default:
		return false, errors.New("delivery report names no message")
	}
}

func applyReport(ctx context.Context, db *ledger.DB, query string, args ...any) (bool, error) {
	res, err := db.ExecContext(ctx, db.Rebind(query), args...)
	if err != nil {
		return false, fmt.Errorf("apply delivery report: %w", err)
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}
