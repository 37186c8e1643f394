package ledger

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// Loan reminder templates. Params: loan (number), amount (digits still owed
// on the installment), due (YYYY-MM-DD).
const (
	TmplReminderDue     = "reminder.due"     // the installment falls due within ReminderLeadDays
	TmplReminderOverdue = "reminder.overdue" // the installment's due date has passed unpaid
)

// ReminderLeadDays is how many days ahead "due soon" reminders go out.
const ReminderLeadDays = 3

// OverdueCatchUpDays bounds which overdue installments still get their
// reminder: an installment that fell due longer ago than this (a loan
// imported with old arrears, a job that was down for weeks) is left to the
// collector rather than flooding the member with texts at once.
const OverdueCatchUpDays = 7

// The unpaid installments of active loans of active members with a phone,
// due in [from, to].
const reminderCandidatesSQL = `SELECT i.loan_id, i.no, i.due_on, l.loan_no, m.phone, m.language,
  (i.principal_due + i.interest_due + i.fee_due) - (i.principal_paid + i.interest_paid + i.fee_paid) AS owed
FROM installments i
JOIN loans l ON l.cooperative_id = i.cooperative_id AND l.id = i.loan_id
JOIN members m ON m.cooperative_id = l.cooperative_id AND m.id = l.member_id
WHERE i.cooperative_id = ? AND l.status = 'active' AND m.status = 'active' AND m.phone <> ''
  AND i.due_on >= ? AND i.due_on <= ?
  AND (i.principal_due + i.interest_due + i.fee_due) > (i.principal_paid + i.interest_paid + i.fee_paid)
ORDER BY i.due_on, i.loan_id, i.no`

type reminderCandidate struct {
	LoanID   int64     `db:"loan_id"`
	No       int       `db:"no"`
	DueOn    time.Time `db:"due_on"`
	LoanNo   string    `db:"loan_no"`
	Phone    string    `db:"phone"`
	Language string    `db:"language"`
	Owed     int64     `db:"owed"`
}

// QueueReminders queues, for the cooperative's civil date today, a "due
// soon" SMS for every unpaid installment due within the next
// ReminderLeadDays days and an "overdue" SMS for every unpaid installment
// that fell due in the last OverdueCatchUpDays days. Each installment gets
// each reminder once: its outbox key names the loan, the installment and
// the kind, so running this again — after a restart, on another instance,
// twice a day — queues nothing new. It returns how many messages it queued.
func (l *Ledger) QueueReminders(ctx context.Context, coopID int64, today time.Time) (int, error) {
	today = civilDate(today)
	queued := 0
	err := l.db.InTx(ctx, func(tx *sqlx.Tx) error {
		now := l.now()
		queued = 0
		for _, kind := range []struct {
			template string
			from, to time.Time
		}{
			{TmplReminderDue, today.AddDate(0, 0, 1), today.AddDate(0, 0, ReminderLeadDays)},
			{TmplReminderOverdue, today.AddDate(0, 0, -OverdueCatchUpDays), today.AddDate(0, 0, -1)},
		} {
			var cands []reminderCandidate
			if err := tx.SelectContext(ctx, &cands, tx.Rebind(reminderCandidatesSQL), coopID, kind.from, kind.to); err != nil {
				return fmt.Errorf("find installments for %s: %w", kind.template, err)
			}
			for _, c := range cands {
				n, err := enqueueSMS(ctx, tx, OutboxMessage{
					CooperativeID: coopID,
					Key:           fmt.Sprintf("%s:%d:%d", kind.template, c.LoanID, c.No),
					Phone:         c.Phone, Language: c.Language, Template: kind.template,
					Params: map[string]string{
						"loan":   c.LoanNo,
						"amount": strconv.FormatInt(c.Owed, 10),
						"due":    c.DueOn.UTC().Format(time.DateOnly),
					},
				}, now)
				if err != nil {
					return err
				}
				queued += n
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("queue reminders for cooperative %d: %w", coopID, err)
	}
	return queued, nil
}

// CooperativeIDs lists every cooperative (for jobs that run per
// cooperative).
func (l *Ledger) CooperativeIDs(ctx context.Context) ([]int64, error) {
	var ids []int64
	if err := l.db.SelectContext(ctx, &ids, `SELECT id FROM cooperatives ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list cooperatives: %w", err)
	}
	return ids, nil
}
