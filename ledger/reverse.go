package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// ErrAlreadyReversed is returned when a journal was reversed before (a
// journal is reversed at most once) or is itself a reversal.
var ErrAlreadyReversed = errors.New("journal already reversed")

// ErrNotReversible is returned for journals whose reversal would leave
// other records wrong: a loan disbursement (the loan and its schedule
// would stay) and an opening balance from a migration (re-import instead).
var ErrNotReversible = errors.New("this kind of journal cannot be reversed")

// Reversal says which journal to undo, who does it and why.
type Reversal struct {
	CooperativeID int64
	JournalID     int64
	Actor         string // e.g. "staff:3"
	Reason        string // required: shown in audits
}

// Reverse posts a new journal with every posting of the original turned
// around. The original stays as it was; the two net to zero. A journal is
// reversed at most once (a UNIQUE constraint on reverses_id), and balance
// rules still hold: a deposit whose money has since been withdrawn cannot
// be reversed (ErrInsufficientFunds).
func (l *Ledger) Reverse(ctx context.Context, r Reversal) (int64, error) {
	if strings.TrimSpace(r.Reason) == "" || strings.TrimSpace(r.Actor) == "" {
		return 0, fmt.Errorf("%w: a reversal needs an actor and a reason", ErrInvalidJournal)
	}
	var id int64
	err := l.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = ReverseTx(ctx, tx, r, l.now())
		return err
	})
	return id, err
}

const journalForReversalSQL = `SELECT kind, reverses_id FROM journals WHERE cooperative_id = ? AND id = ?`

const entriesOfJournalSQL = `SELECT account_id, side, amount FROM entries WHERE journal_id = ? ORDER BY id`

// ReverseTx reverses inside tx.
func ReverseTx(ctx context.Context, tx *sqlx.Tx, r Reversal, now time.Time) (int64, error) {
	var orig struct {
		Kind     JournalKind   `db:"kind"`
		Reverses sql.NullInt64 `db:"reverses_id"`
	}
	err := tx.GetContext(ctx, &orig, tx.Rebind(journalForReversalSQL), r.CooperativeID, r.JournalID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("journal %d: %w", r.JournalID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("read journal %d: %w", r.JournalID, err)
	}
	if orig.Reverses.Valid {
		return 0, fmt.Errorf("journal %d is a reversal itself: %w", r.JournalID, ErrAlreadyReversed)
	}
	if orig.Kind == journalKindDisbursement || orig.Kind == journalKindOpening {
		return 0, fmt.Errorf("journal %d (%s): %w", r.JournalID, orig.Kind, ErrNotReversible)
	}
	if orig.Kind == journalKindRepayment {
		// Lock the loan rows before any account, as Repay does, so a
		// reversal and a repayment of one loan queue instead of deadlocking.
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE loans SET status = status WHERE cooperative_id = ?
			AND id IN (SELECT loan_id FROM repayment_parts WHERE cooperative_id = ? AND journal_id = ?)`), r.CooperativeID, r.CooperativeID, r.JournalID); err != nil {
			return 0, fmt.Errorf("lock loans of journal %d: %w", r.JournalID, err)
		}
	}
	var done int
	if err := tx.GetContext(ctx, &done, tx.Rebind(`SELECT COUNT(*) FROM journals WHERE cooperative_id = ? AND reverses_id = ?`), r.CooperativeID, r.JournalID); err != nil {
		return 0, fmt.Errorf("look for an earlier reversal: %w", err)
	}
	if done > 0 {
		return 0, fmt.Errorf("journal %d: %w", r.JournalID, ErrAlreadyReversed)
	}
	var entries []struct {
		Account int64  `db:"account_id"`
		Side    string `db:"side"`
		Amount  int64  `db:"amount"`
	}
	if err := tx.SelectContext(ctx, &entries, tx.Rebind(entriesOfJournalSQL), r.JournalID); err != nil {
		return 0, fmt.Errorf("read entries of journal %d: %w", r.JournalID, err)
	}
	// Entries come in pairs (debit, credit) per posting; turn each around.
	var postings []Posting
	for i := 0; i+1 < len(entries); i += 2 {
		d, c := entries[i], entries[i+1]
		if d.Side != "D" || c.Side != "C" || d.Amount != c.Amount {
			return 0, fmt.Errorf("journal %d: entries are not in posting pairs", r.JournalID)
		}
		postings = append(postings, Posting{From: c.Account, To: d.Account, Amount: d.Amount})
	}
	j := Journal{
		CooperativeID: r.CooperativeID,
		Key:           "reversal:" + strconv.FormatInt(r.JournalID, 10),
		Kind:          KindReversal,
		Memo:          "reversal of journal " + strconv.FormatInt(r.JournalID, 10) + " (" + string(orig.Kind) + ")",
		Actor:         r.Actor,
		Postings:      postings,
		reverses:      r.JournalID,
		reason:        r.Reason,
	}
	id, err := PostTx(ctx, tx, j, now.UTC())
	if err != nil {
		if IsUniqueViolation(err) {
			return 0, fmt.Errorf("journal %d: %w", r.JournalID, ErrAlreadyReversed)
		}
		return 0, err
	}
	if orig.Kind == journalKindRepayment {
		if err := undoRepaymentTx(ctx, tx, r.CooperativeID, r.JournalID); err != nil {
			return 0, err
		}
	}
	var total int64
	for _, p := range postings {
		total += p.Amount
	}
	if err := tellReversedMembers(ctx, tx, r, id, total, now); err != nil {
		return 0, err
	}
	return id, nil
}

// reversedMembersSQL are the members whose accounts (savings, or a loan's)
// a journal touched.
const reversedMembersSQL = `SELECT DISTINCT m.id, m.phone, m.language FROM entries e
JOIN accounts a ON a.cooperative_id = e.cooperative_id AND a.id = e.account_id
LEFT JOIN loans ln ON ln.cooperative_id = a.cooperative_id AND ln.id = a.loan_id
JOIN members m ON m.cooperative_id = a.cooperative_id AND m.id = COALESCE(a.member_id, ln.member_id)
WHERE e.cooperative_id = ? AND e.journal_id = ? ORDER BY m.id`

// tellReversedMembers queues, in the reversal's transaction, the reversal
// SMS to every member the reversed journal touched: their money moved back,
// and they were told of it moving the first time.
func tellReversedMembers(ctx context.Context, tx *sqlx.Tx, r Reversal, reversalID, amount int64, now time.Time) error {
	var ms []struct {
		ID       int64  `db:"id"`
		Phone    string `db:"phone"`
		Language string `db:"language"`
	}
	if err := tx.SelectContext(ctx, &ms, tx.Rebind(reversedMembersSQL), r.CooperativeID, r.JournalID); err != nil {
		return fmt.Errorf("members of journal %d: %w", r.JournalID, err)
	}
	for _, m := range ms {
		if m.Phone == "" {
			continue
		}
		err := EnqueueSMS(ctx, tx, OutboxMessage{
			CooperativeID: r.CooperativeID,
			Key:           "sms:reversal:" + strconv.FormatInt(r.JournalID, 10) + ":" + strconv.FormatInt(m.ID, 10),
			Phone:         m.Phone, Language: m.Language, Template: TmplReversal,
			Params: map[string]string{"amount": strconv.FormatInt(amount, 10), "ref": strconv.FormatInt(reversalID, 10), "reason": r.Reason},
		}, now)
		if err != nil {
			return err
		}
	}
	return nil
}
