package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// StatementMax is the most lines Statement returns.
const StatementMax = 50

// StatementLine is one movement on one of a member's accounts.
type StatementLine struct {
	JournalID int64
	At        time.Time   // when the journal was posted (UTC)
	Kind      JournalKind // the journal's kind: KindDeposit, KindRepayment, KindReversal, …
	Memo      string
	Account   AccountKind
	// Amount is signed: + into the member, − out of the member. For a loan
	// account + means more owed (a disbursement), − less owed (a repayment).
	Amount int64
}

// statementSQL nets each journal per account in the account's natural sign
// (credits grow savings, debits grow a loan). The member's accounts are
// their savings and the accounts of their loans (whether or not a loan
// account also carries the member id).
const statementSQL = `SELECT j.id AS journal_id, j.created_at, j.kind, j.memo, a.kind AS account_kind,
	SUM(CASE WHEN (e.side = 'D') = (a.normal = 'debit') THEN e.amount ELSE -e.amount END) AS amount
FROM entries e
JOIN accounts a ON a.cooperative_id = e.cooperative_id AND a.id = e.account_id
JOIN journals j ON j.cooperative_id = e.cooperative_id AND j.id = e.journal_id
WHERE e.cooperative_id = ? AND e.account_id IN (
	SELECT m.id FROM accounts m WHERE m.cooperative_id = ? AND m.member_id = ? AND m.loan_id IS NULL
	UNION
	SELECT x.id FROM accounts x JOIN loans ln ON ln.cooperative_id = x.cooperative_id AND ln.id = x.loan_id
	WHERE ln.cooperative_id = ? AND ln.member_id = ?)
GROUP BY j.id, j.created_at, j.kind, j.memo, a.id, a.kind
HAVING SUM(CASE WHEN (e.side = 'D') = (a.normal = 'debit') THEN e.amount ELSE -e.amount END) <> 0
ORDER BY j.created_at DESC, j.id DESC, a.id
LIMIT ?`

// statementPgSQL is statementSQL on PostgreSQL, written so that its plan
// is the same whatever the planner knows: the member's few accounts, then
// one index look-up of each account's entries (entries_account) and of each
// journal by its key (LATERAL: a nested loop by construction), then the
// sort. Left to choose, and before it had statistics, PostgreSQL once
// walked the cooperative's journals by date instead (ledger/CITUS.md,
// accounts). $1 cooperative, $2 member, journals with ids in [$3, $4), at
// most $5 lines; %s orders them.
const statementPgSQL = `WITH acct AS MATERIALIZED (
	SELECT m.id, m.kind, m.normal FROM accounts m WHERE m.cooperative_id = $1 AND m.member_id = $2 AND m.loan_id IS NULL
	UNION
	SELECT x.id, x.kind, x.normal FROM accounts x JOIN loans ln ON ln.cooperative_id = x.cooperative_id AND ln.id = x.loan_id
	WHERE ln.cooperative_id = $1 AND ln.member_id = $2
),
mv AS MATERIALIZED (
	SELECT t.journal_id, a.id AS account_id, a.kind AS account_kind, t.amount
	FROM acct a CROSS JOIN LATERAL (
		SELECT e.journal_id, SUM(CASE WHEN (e.side = 'D') = (a.normal = 'debit') THEN e.amount ELSE -e.amount END) AS amount
		FROM entries e WHERE e.cooperative_id = $1 AND e.account_id = a.id AND e.journal_id >= $3 AND e.journal_id < $4
		GROUP BY e.journal_id
	) AS t
	WHERE t.amount <> 0
)
SELECT j.id AS journal_id, j.created_at, j.kind, j.memo, mv.account_kind, mv.amount
FROM mv CROSS JOIN LATERAL (
	SELECT jj.id, jj.created_at, jj.kind, jj.memo FROM journals jj WHERE jj.cooperative_id = $1 AND jj.id = mv.journal_id OFFSET 0
) AS j
ORDER BY %s
LIMIT $5`

// statementOrder is Statement's order: newest journal first.
const statementOrder = "j.created_at DESC, j.id DESC, mv.account_id"

// Statement returns a member's last n movements over all their accounts
// (savings and loans), newest first; n is capped at StatementMax.
func (l *Ledger) Statement(ctx context.Context, coopID, memberID int64, n int) ([]StatementLine, error) {
	if n <= 0 {
		return nil, nil
	}
	n = min(n, StatementMax)
	var rows []struct {
		JournalID int64     `db:"journal_id"`
		At        time.Time `db:"created_at"`
		Kind      string    `db:"kind"`
		Memo      string    `db:"memo"`
		Account   string    `db:"account_kind"`
		Amount    int64     `db:"amount"`
	}
	query, args := l.db.Rebind(statementSQL), []any{coopID, coopID, memberID, coopID, memberID, n}
	if l.db.Dialect == Postgres {
		query, args = fmt.Sprintf(statementPgSQL, statementOrder), []any{coopID, memberID, 0, int64(math.MaxInt64), n}
	}
	if err := l.db.SelectContext(ctx, &rows, query, args...); err != nil {
		return nil, fmt.Errorf("statement of member %d: %w", memberID, err)
	}
	lines := make([]StatementLine, len(rows))
	for i, r := range rows {
		lines[i] = StatementLine{JournalID: r.JournalID, At: r.At.UTC(), Kind: JournalKind(r.Kind), Memo: r.Memo,
			Account: AccountKind(r.Account), Amount: r.Amount}
	}
	return lines, nil
}

// staffCashTodaySQL reads only the day's entries: the planner may start
// from the day's journals (journals_created index) or from the staff
// member's cash account, and then the lower bound on journal ids keeps it
// from reading the account's whole history. GROUP BY stops PostgreSQL from
// answering MIN by walking the primary key up from the oldest journal.
const staffCashTodaySQL = `SELECT COUNT(DISTINCT e.journal_id) AS n, COALESCE(SUM(e.amount), 0) AS total
FROM entries e
JOIN journals j ON j.cooperative_id = e.cooperative_id AND j.id = e.journal_id
WHERE e.cooperative_id = ? AND e.side = 'D'
AND e.account_id IN (SELECT a.id FROM accounts a WHERE a.cooperative_id = ? AND a.staff_id = ? AND a.kind IN ('till', 'collector_cash'))
AND e.journal_id >= (SELECT MIN(f.id) FROM journals f WHERE f.cooperative_id = ? AND f.created_at >= ? AND f.created_at < ? GROUP BY f.cooperative_id)
AND j.created_at >= ? AND j.created_at < ?`

const staffInCoopSQL = `SELECT c.timezone FROM staff s JOIN cooperatives c ON c.id = s.cooperative_id
WHERE s.cooperative_id = ? AND s.id = ?`

// StaffCashToday is "Kas Saya Hari Ini": how many receipts of cash and how
// much cash a staff member received today (debits to their till or
// collector cash), today being the cooperative's local calendar day.
func (l *Ledger) StaffCashToday(ctx context.Context, coopID, staffID int64) (count int, total int64, err error) {
	var tz string
	err = l.db.GetContext(ctx, &tz, l.db.Rebind(staffInCoopSQL), coopID, staffID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, fmt.Errorf("staff %d in cooperative %d: %w", staffID, coopID, ErrNotFound)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read staff %d: %w", staffID, err)
	}
	loc, err := coopLocation(tz)
	if err != nil {
		return 0, 0, err
	}
	from, to := localDay(l.now(), loc)
	var sum struct {
		N     int   `db:"n"`
		Total int64 `db:"total"`
	}
	if err := l.db.GetContext(ctx, &sum, l.db.Rebind(staffCashTodaySQL),
		coopID, coopID, staffID, coopID, from.UTC(), to.UTC(), from.UTC(), to.UTC()); err != nil {
		return 0, 0, fmt.Errorf("cash of staff %d today: %w", staffID, err)
	}
	return sum.N, sum.Total, nil
}

// localDay returns the local midnight that starts t's day in loc and the
// one that ends it.
func localDay(t time.Time, loc *time.Location) (from, to time.Time) {
	y, m, d := t.In(loc).Date()
	from = time.Date(y, m, d, 0, 0, 0, 0, loc)
	return from, from.AddDate(0, 0, 1)
}

// indonesianZones are used when the system has no time zone database;
// Indonesia keeps no daylight saving time, so fixed offsets are exact.
var indonesianZones = map[string]int{
	"Asia/Jakarta":   7,
	"Asia/Pontianak": 7,
	"Asia/Makassar":  8,
	"Asia/Jayapura":  9,
}

// coopLocation resolves a cooperative's time zone; empty means WITA
// (Asia/Makassar, UTC+8).
func coopLocation(name string) (*time.Location, error) {
	if name == "" {
		name = "Asia/Makassar"
	}
	if loc, err := time.LoadLocation(name); err == nil {
		return loc, nil
	}
	if h, ok := indonesianZones[name]; ok {
		return time.FixedZone(name, h*3600), nil
	}
	return nil, fmt.Errorf("cooperative time zone %q is unknown", name)
}
