package ledger

// What the admin API (CONTRACT §5.2) needs beyond what USSD, SMS and the
// counter use: deposits that arrived by bank transfer, loans found by
// number, one journal with its entries, and a member's statement paged by
// a journal-id cursor. Repayments by transfer are Repay with
// Repayment.FromClearing.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
)

// MaxTransferNote is the most characters a transfer deposit's note keeps.
const MaxTransferNote = 140

// TransferDeposit is money that reached the cooperative's bank account by
// transfer for a member's savings (POST /api/v1/deposits).
type TransferDeposit struct {
	CooperativeID, MemberID int64
	Account                 AccountKind // Pokok, Wajib or Sukarela
	Amount                  int64       // whole rupiah, > 0
	Note                    string      // optional, added to the memo: trimmed, at most MaxTransferNote characters
	Key                     string      // idempotency key of the operation
	Actor                   string      // required: who reported the transfer ("token:7")
}

// DepositTransfer posts a deposit that arrived by bank transfer: Dr the
// cooperative's clearing account, Cr the member's savings account, with the
// member's SMS receipt queued in the same transaction, as DepositCash does
// for cash. The journal is a "deposit" (memo "Setoran transfer <account>",
// then the note). The same key again returns the original receipt with
// Replayed set; with another request it fails with ErrIdempotencyConflict.
// A member who left is refused with ErrMemberLeft (and ErrNotFound).
func (l *Ledger) DepositTransfer(ctx context.Context, d TransferDeposit) (Receipt, error) {
	if d.Amount <= 0 {
		return Receipt{}, fmt.Errorf("%w: deposit amount %d is not positive", ErrInvalidJournal, d.Amount)
	}
	if err := depositAccount(d.Account); err != nil {
		return Receipt{}, err
	}
	if err := validKey(d.Key); err != nil {
		return Receipt{}, err
	}
	if strings.TrimSpace(d.Actor) == "" {
		return Receipt{}, fmt.Errorf("%w: a transfer deposit needs an actor (who reported the transfer)", ErrInvalidJournal)
	}
	note, err := transferNote(d.Note)
	if err != nil {
		return Receipt{}, err
	}
	memo := "Setoran transfer " + string(d.Account)
	if note != "" {
		memo += ": " + note
	}
	var rc Receipt
	err = l.db.InTx(ctx, func(tx *sqlx.Tx) error {
		now := l.now()
		clearing, err := coopAccountTx(ctx, tx, d.CooperativeID, Clearing)
		if err != nil {
			return err
		}
		m, err := depositMember(ctx, tx, d.CooperativeID, d.MemberID, d.Account)
		if err != nil {
			return err
		}
		// A retry is answered even if the member has left since; a new
		// deposit is not.
		var refuse error
		if m.Status != "active" {
			refuse = fmt.Errorf("member %d: %w: %w", d.MemberID, ErrMemberLeft, ErrNotFound)
		}
		j := Journal{
			CooperativeID: d.CooperativeID,
			Key:           d.Key,
			Kind:          journalKindDeposit,
			Memo:          memo,
			Actor:         d.Actor,
			Postings:      []Posting{{From: clearing, To: m.AccountID, Amount: d.Amount}},
		}
		rc, err = postDeposit(ctx, tx, j, refuse, m, d.Account, "sms:"+d.Key, now)
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("transfer deposit %q for member %d: %w", d.Key, d.MemberID, err)
	}
	return rc, nil
}

// transferNote is a note as the memo keeps it: trimmed, valid UTF-8
// without NUL, at most MaxTransferNote characters.
func transferNote(s string) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		return "", fmt.Errorf("%w: the note is not valid text", ErrInvalidJournal)
	case utf8.RuneCountInString(s) > MaxTransferNote:
		return "", fmt.Errorf("%w: the note has more than %d characters", ErrInvalidJournal, MaxTransferNote)
	}
	return s, nil
}

// ---------------------------------------------------------------------------
// Loans by number

const loanIDByNoSQL = `SELECT id FROM loans WHERE cooperative_id = ? AND loan_no = ?`

// LoanByNo reads the cooperative's loan with that number, with its
// schedule; an unknown number (or another cooperative's) is ErrNotFound.
func (l *Ledger) LoanByNo(ctx context.Context, coopID int64, loanNo string) (Loan, error) {
	loanNo = strings.TrimSpace(loanNo)
	var id int64
	err := l.db.GetContext(ctx, &id, l.db.Rebind(loanIDByNoSQL), coopID, loanNo)
	if errors.Is(err, sql.ErrNoRows) {
		return Loan{}, fmt.Errorf("loan %q in cooperative %d: %w", loanNo, coopID, ErrNotFound)
	}
	if err != nil {
		return Loan{}, fmt.Errorf("find loan %q: %w", loanNo, err)
	}
	return loadLoan(ctx, l.db, coopID, id)
}

// LoanStatus is where one loan stands today in the cooperative's time
// zone: the LoanInfo that LoanInfo(coop, member) gives for it. A loan of
// another cooperative is ErrNotFound.
func (l *Ledger) LoanStatus(ctx context.Context, coopID, loanID int64) (LoanInfo, error) {
	policy, err := readLoanPolicy(ctx, l.db, coopID)
	if err != nil {
		return LoanInfo{}, err
	}
	today, err := policy.today(l.now())
	if err != nil {
		return LoanInfo{}, err
	}
	var ln loanRow
	err = l.db.GetContext(ctx, &ln, l.db.Rebind(loanSQL), coopID, loanID)
	if errors.Is(err, sql.ErrNoRows) {
		return LoanInfo{}, fmt.Errorf("loan %d in cooperative %d: %w", loanID, coopID, ErrNotFound)
	}
	if err != nil {
		return LoanInfo{}, fmt.Errorf("read loan %d: %w", loanID, err)
	}
	rows, err := loadInstallments(ctx, l.db, coopID, loanID)
	if err != nil {
		return LoanInfo{}, err
	}
	return loanInfoOn(ln, rows, today, policy.LateFeeBP), nil
}

// ---------------------------------------------------------------------------
// One journal

// JournalView is one journal with its entries, as the books hold it.
type JournalView struct {
	ID                        int64
	Kind, Memo, Actor, Reason string // Reason: why a reversal was posted
	At                        time.Time
	ReversesID                int64 // the journal this one reverses; 0 if none
	ReversedByID              int64 // the reversal of this journal; 0 if none
	Entries                   []EntryView
}

// EntryView is one entry of a journal and whose account it touched.
type EntryView struct {
	AccountID                 int64
	Kind                      AccountKind
	MemberID, LoanID, StaffID int64  // the account's owner; all 0 for a cooperative account
	MemberNo, LoanNo          string // the member's and the loan's numbers, "" if none
	Side                      string // "debit" or "credit"
	Amount                    int64
}

type journalViewRow struct {
	ID         int64         `db:"id"`
	Kind       string        `db:"kind"`
	Memo       string        `db:"memo"`
	Actor      string        `db:"actor"`
	Reason     string        `db:"reason"`
	At         time.Time     `db:"created_at"`
	Reverses   sql.NullInt64 `db:"reverses_id"`
	ReversedBy sql.NullInt64 `db:"reversed_by"`
}

type entryViewRow struct {
	AccountID int64         `db:"account_id"`
	Kind      string        `db:"kind"`
	MemberID  sql.NullInt64 `db:"member_id"`
	LoanID    sql.NullInt64 `db:"loan_id"`
	StaffID   sql.NullInt64 `db:"staff_id"`
	MemberNo  string        `db:"member_no"`
	LoanNo    string        `db:"loan_no"`
	Side      string        `db:"side"`
	Amount    int64         `db:"amount"`
}

const journalViewSQL = `SELECT j.id, j.kind, j.memo, j.actor, j.reason, j.created_at, j.reverses_id, r.id AS reversed_by
FROM journals j LEFT JOIN journals r ON r.cooperative_id = j.cooperative_id AND r.reverses_id = j.id
WHERE j.cooperative_id = ? AND j.id = ?`

// entryViewsSQL names a loan account's member from its loan when the
// account does not carry the member id itself.
const entryViewsSQL = `SELECT e.account_id, a.kind, COALESCE(a.member_id, ln.member_id) AS member_id, a.loan_id, a.staff_id,
	COALESCE(mb.member_no, '') AS member_no, COALESCE(ln.loan_no, '') AS loan_no, e.side, e.amount
FROM entries e
JOIN accounts a ON a.cooperative_id = e.cooperative_id AND a.id = e.account_id
LEFT JOIN loans ln ON ln.cooperative_id = a.cooperative_id AND ln.id = a.loan_id
LEFT JOIN members mb ON mb.cooperative_id = a.cooperative_id AND mb.id = COALESCE(a.member_id, ln.member_id)
WHERE e.cooperative_id = ? AND e.journal_id = ? ORDER BY e.id`

// Journal reads one journal of the cooperative with its entries in the
// order they were written (a debit then a credit per posting). A journal
// of another cooperative is ErrNotFound.
func (l *Ledger) Journal(ctx context.Context, coopID, journalID int64) (JournalView, error) {
	var j journalViewRow
	err := l.db.GetContext(ctx, &j, l.db.Rebind(journalViewSQL), coopID, journalID)
	if errors.Is(err, sql.ErrNoRows) {
		return JournalView{}, fmt.Errorf("journal %d in cooperative %d: %w", journalID, coopID, ErrNotFound)
	}
	if err != nil {
		return JournalView{}, fmt.Errorf("read journal %d: %w", journalID, err)
	}
	var rows []entryViewRow
	if err := l.db.SelectContext(ctx, &rows, l.db.Rebind(entryViewsSQL), coopID, journalID); err != nil {
		return JournalView{}, fmt.Errorf("read entries of journal %d: %w", journalID, err)
	}
	v := JournalView{ID: j.ID, Kind: j.Kind, Memo: j.Memo, Actor: j.Actor, Reason: j.Reason, At: j.At.UTC(),
		ReversesID: j.Reverses.Int64, ReversedByID: j.ReversedBy.Int64, Entries: make([]EntryView, len(rows))}
	for i, r := range rows {
		side := "credit"
		if r.Side == "D" {
			side = "debit"
		}
		v.Entries[i] = EntryView{AccountID: r.AccountID, Kind: AccountKind(r.Kind), MemberID: r.MemberID.Int64,
			LoanID: r.LoanID.Int64, StaffID: r.StaffID.Int64, MemberNo: r.MemberNo, LoanNo: r.LoanNo, Side: side, Amount: r.Amount}
	}
	return v, nil
}

// ---------------------------------------------------------------------------
// A statement in pages

// StatementPageMax is the most lines StatementPage is asked for (the
// API's largest limit).
const StatementPageMax = 100

// statementPageSQL is statementSQL within a window of journal ids
// [from, before) and ordered by journal id, so that a cursor on the journal
// id pages through a statement exactly once whatever the journals' times.
// It reads the member's entries through entries_account (account_id,
// journal_id), as Statement does.
const statementPageSQL = `SELECT j.id AS journal_id, j.created_at, j.kind, j.memo, a.kind AS account_kind,
	SUM(CASE WHEN (e.side = 'D') = (a.normal = 'debit') THEN e.amount ELSE -e.amount END) AS amount
FROM entries e
JOIN accounts a ON a.cooperative_id = e.cooperative_id AND a.id = e.account_id
JOIN journals j ON j.cooperative_id = e.cooperative_id AND j.id = e.journal_id
WHERE e.cooperative_id = ? AND e.journal_id >= ? AND e.journal_id < ? AND e.account_id IN (
	SELECT m.id FROM accounts m WHERE m.cooperative_id = ? AND m.member_id = ? AND m.loan_id IS NULL
	UNION
	SELECT x.id FROM accounts x JOIN loans ln ON ln.cooperative_id = x.cooperative_id AND ln.id = x.loan_id
	WHERE ln.cooperative_id = ? AND ln.member_id = ?)
GROUP BY j.id, j.created_at, j.kind, j.memo, a.id, a.kind
HAVING SUM(CASE WHEN (e.side = 'D') = (a.normal = 'debit') THEN e.amount ELSE -e.amount END) <> 0
ORDER BY j.id DESC, a.id
LIMIT ?`

// pageOrder is StatementPage's order (statementPgSQL on PostgreSQL): by
// journal id, newest first.
const pageOrder = "j.id DESC, mv.account_id"

// journalLinesMax bounds the lines of one journal for one member (one per
// account of theirs it moved).
const journalLinesMax = 1000

type statementRow struct {
	JournalID int64     `db:"journal_id"`
	At        time.Time `db:"created_at"`
	Kind      string    `db:"kind"`
	Memo      string    `db:"memo"`
	Account   string    `db:"account_kind"`
	Amount    int64     `db:"amount"`
}

// StatementPage returns a member's movements over all their accounts, as
// Statement does, newest journal first, from the journals strictly before
// beforeJournalID (0: from the newest). limit is capped at
// StatementPageMax. A page never splits a journal: it ends with all the
// lines of its last journal, so it holds at least limit lines unless it is
// the last page, and a few more when its last journal moved several of the
// member's accounts. The next page starts before the last line's
// JournalID.
func (l *Ledger) StatementPage(ctx context.Context, coopID, memberID int64, beforeJournalID int64, limit int) ([]StatementLine, error) {
	if limit <= 0 {
		return nil, nil
	}
	limit = min(limit, StatementPageMax)
	before := beforeJournalID
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := l.statementWindow(ctx, coopID, memberID, 0, before, limit+1)
	if err != nil {
		return nil, err
	}
	if len(rows) > limit {
		last := rows[limit-1].JournalID
		page := rows[:limit]
		if rows[limit].JournalID == last {
			// The last journal goes on past the limit: take all of it.
			for len(page) > 0 && page[len(page)-1].JournalID == last {
				page = page[:len(page)-1]
			}
			tail, err := l.statementWindow(ctx, coopID, memberID, last, last+1, journalLinesMax)
			if err != nil {
				return nil, err
			}
			page = append(page, tail...)
		}
		rows = page
	}
	lines := make([]StatementLine, len(rows))
	for i, r := range rows {
		lines[i] = StatementLine{JournalID: r.JournalID, At: r.At.UTC(), Kind: JournalKind(r.Kind), Memo: r.Memo,
			Account: AccountKind(r.Account), Amount: r.Amount}
	}
	return lines, nil
}

// statementWindow reads up to n statement lines of journals with ids in
// [from, before).
func (l *Ledger) statementWindow(ctx context.Context, coopID, memberID, from, before int64, n int) ([]statementRow, error) {
	var rows []statementRow
	query, args := l.db.Rebind(statementPageSQL), []any{coopID, from, before, coopID, memberID, coopID, memberID, n}
	if l.db.Dialect == Postgres {
		query, args = fmt.Sprintf(statementPgSQL, pageOrder), []any{coopID, memberID, from, before, n}
	}
	if err := l.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("statement of member %d before journal %d: %w", memberID, before, err)
	}
	return rows, nil
}
