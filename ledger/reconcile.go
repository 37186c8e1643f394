package ledger

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
)

// Problem is one broken invariant found by Reconcile.
type Problem struct {
	Cooperative string `json:"coop"`      // the cooperative's code
	Invariant   string `json:"invariant"` // short name, e.g. "trial_balance"
	Detail      string `json:"detail"`    // what is wrong, for a person
}

func (p Problem) String() string { return p.Cooperative + " " + p.Invariant + ": " + p.Detail }

// ReconcileReport is what Reconcile found. OK is true only when Problems is
// empty.
type ReconcileReport struct {
	OK       bool      `json:"ok"`
	Journals int       `json:"journals"` // journals checked
	Accounts int       `json:"accounts"` // accounts checked
	Problems []Problem `json:"problems"` // never nil
}

// Invariant names used in Problem.Invariant, one per rule of DOMAIN.md that
// stored data can break.
const (
	InvJournalBalanced  = "journal_balanced"  // Σdebits = Σcredits per journal
	InvJournalEntries   = "journal_entries"   // ≥ 2 entries per journal
	InvPositiveAmount   = "positive_amount"   // every entry amount > 0
	InvOneCooperative   = "one_cooperative"   // entry, journal, account (and loan) in one cooperative
	InvTrialBalance     = "trial_balance"     // Σdebits = Σcredits per cooperative
	InvCachedBalance    = "cached_balance"    // balance + shards = replay of the entries
	InvBoundedBalance   = "bounded_balance"   // savings, loans, tills, collector cash ≥ 0
	InvAccountRules     = "account_rules"     // normal side, bounded and sharded flags fit the kind
	InvVaultNegative    = "vault_negative"    // the vault holds no less than nothing
	InvEquityLock       = "equity_lock"       // no debit on active pokok/wajib outside a reversal
	InvReversalMirror   = "reversal_mirror"   // a reversal turns around exactly its original
	InvReversedTwice    = "reversed_twice"    // a journal is reversed at most once, a reversal never
	InvLoanOutstanding  = "loan_outstanding"  // loan account = Σ(principal due − paid)
	InvLoanSchedule     = "loan_schedule"     // Σ principal due = scheduled principal
	InvInstallmentPaid  = "installment_paid"  // 0 ≤ paid ≤ due per component
	InvInstallmentParts = "installment_parts" // paid columns = Σ repayment parts (reversals negated)
	InvLoanClosed       = "loan_closed"       // a closed loan owes nothing
	InvRepaymentParts   = "repayment_parts"   // parts of a repayment sum to its journal
	InvDepositCode      = "deposit_code"      // confirmed ⇔ journal, amount = journal total
)

// maxProblemsPerRule bounds the report when books are badly broken: after
// this many lines for one cooperative and rule, the rest are counted.
const maxProblemsPerRule = 50

// reconcileQuerier is what the checks need: a consistent read view.
type reconcileQuerier interface {
	sqlx.QueryerContext
	Rebind(string) string
}

// Reconcile checks every ledger invariant that stored data can break, for
// one cooperative (by code) or, with coopCode "", for all of them. Each
// check is one set-based query, so the whole run is a handful of scans
// even over hundreds of thousands of journals. On PostgreSQL all checks
// read one snapshot (REPEATABLE READ, read-only), so postings made while it
// runs cannot show up as false problems.
func (l *Ledger) Reconcile(ctx context.Context, coopCode string) (ReconcileReport, error) {
	var q reconcileQuerier = l.db
	if l.db.Dialect == Postgres {
		tx, err := l.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			return ReconcileReport{}, fmt.Errorf("begin reconcile: %w", err)
		}
		defer tx.Rollback() //nolint:errcheck // read-only
		q = tx
	}
	// SQLite (WAL): every statement reads a snapshot of its own; a
	// transaction would begin IMMEDIATE and hold off writers for the run.

	r := &reconciler{q: q, codes: map[int64]string{}, counts: map[[2]string]int{}}
	if err := r.loadCooperatives(ctx, coopCode); err != nil {
		return ReconcileReport{}, err
	}
	rep := ReconcileReport{Problems: []Problem{}}
	if err := r.get(ctx, &rep.Journals, `SELECT COUNT(*) FROM journals WHERE %s`, "cooperative_id"); err != nil {
		return ReconcileReport{}, fmt.Errorf("count journals: %w", err)
	}
	if err := r.get(ctx, &rep.Accounts, `SELECT COUNT(*) FROM accounts WHERE %s`, "cooperative_id"); err != nil {
		return ReconcileReport{}, fmt.Errorf("count accounts: %w", err)
	}
	for _, c := range []struct {
		what string
		fn   func(context.Context) error
	}{
		{"journals", r.checkJournals},
		{"entry amounts", r.checkAmounts},
		{"tenancy", r.checkTenancy},
		{"trial balance", r.checkTrialBalance},
		{"balances", r.checkBalances},
		{"account rules", r.checkAccountRules},
		{"equity lock", r.checkEquityLock},
		{"reversals", r.checkReversals},
		{"loans", r.checkLoans},
		{"installments", r.checkInstallments},
		{"installment parts", r.checkInstallmentParts},
		{"repayment parts", r.checkRepaymentParts},
		{"deposit codes", r.checkDepositCodes},
	} {
		if err := c.fn(ctx); err != nil {
			return ReconcileReport{}, fmt.Errorf("reconcile %s: %w", c.what, err)
		}
	}
	for k, n := range r.counts {
		if n > maxProblemsPerRule {
			r.problems = append(r.problems, Problem{k[0], k[1], fmt.Sprintf("… and %d more", n-maxProblemsPerRule)})
		}
	}
	// Stable order: cooperative, then rule in the order checked, then as found.
	order := map[string]int{}
	for i, p := range r.problems {
		if _, ok := order[p.Invariant]; !ok {
			order[p.Invariant] = i
		}
	}
	slices.SortStableFunc(r.problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Cooperative, b.Cooperative), cmp.Compare(order[a.Invariant], order[b.Invariant]))
	})
	rep.Problems = append(rep.Problems, r.problems...)
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

type reconciler struct {
	q        reconcileQuerier
	coopID   int64            // 0: every cooperative
	codes    map[int64]string // cooperative id → code
	problems []Problem
	counts   map[[2]string]int // (coop, invariant) → problems seen
}

func (r *reconciler) loadCooperatives(ctx context.Context, code string) error {
	var rows []struct {
		ID   int64  `db:"id"`
		Code string `db:"code"`
	}
	query, args := `SELECT id, code FROM cooperatives`, []any{}
	if code != "" {
		query, args = query+` WHERE code = ?`, append(args, code)
	}
	if err := sqlx.SelectContext(ctx, r.q, &rows, r.q.Rebind(query), args...); err != nil {
		return fmt.Errorf("read cooperatives: %w", err)
	}
	if code != "" && len(rows) == 0 {
		return fmt.Errorf("cooperative %q: %w", code, ErrNotFound)
	}
	for _, c := range rows {
		r.codes[c.ID] = c.Code
		if code != "" {
			r.coopID = c.ID
		}
	}
	return nil
}

// scoped fills each %s of query with a filter on one cooperative id column
// ("1 = 1" when every cooperative is checked) and returns the arguments.
// A %s given several columns ("a.cooperative_id|b.cooperative_id") matches
// a row that touches the cooperative through any of them.
func (r *reconciler) scoped(query string, cols ...string) (string, []any) {
	var args []any
	fill := make([]any, len(cols))
	for i, c := range cols {
		if r.coopID == 0 {
			fill[i] = "1 = 1"
			continue
		}
		alts := strings.Split(c, "|")
		for j := range alts {
			alts[j] += " = ?"
			args = append(args, r.coopID)
		}
		fill[i] = "(" + strings.Join(alts, " OR ") + ")"
	}
	return r.q.Rebind(fmt.Sprintf(query, fill...)), args
}

func (r *reconciler) get(ctx context.Context, dest any, query string, cols ...string) error {
	q, args := r.scoped(query, cols...)
	return sqlx.GetContext(ctx, r.q, dest, q, args...)
}

func (r *reconciler) sel(ctx context.Context, dest any, query string, cols ...string) error {
	q, args := r.scoped(query, cols...)
	return sqlx.SelectContext(ctx, r.q, dest, q, args...)
}

func (r *reconciler) add(coopID int64, invariant, format string, a ...any) {
	code, ok := r.codes[coopID]
	if !ok {
		code = fmt.Sprintf("#%d", coopID)
	}
	k := [2]string{code, invariant}
	r.counts[k]++
	if r.counts[k] > maxProblemsPerRule {
		return
	}
	r.problems = append(r.problems, Problem{Cooperative: code, Invariant: invariant, Detail: fmt.Sprintf(format, a...)})
}

// Debit and credit sums of entries aliased e, for reuse in the queries.
const (
	sumDebits  = `COALESCE(SUM(CASE WHEN e.side = 'D' THEN e.amount ELSE 0 END), 0)`
	sumCredits = `COALESCE(SUM(CASE WHEN e.side = 'C' THEN e.amount ELSE 0 END), 0)`
)

const unbalancedJournalsSQL = `SELECT j.cooperative_id, j.id, j.idem_key, COUNT(e.id) AS n,
	` + sumDebits + ` AS d, ` + sumCredits + ` AS c
FROM journals j LEFT JOIN entries e ON e.journal_id = j.id
WHERE %s
GROUP BY j.cooperative_id, j.id, j.idem_key
HAVING COUNT(e.id) < 2 OR ` + sumDebits + ` <> ` + sumCredits + `
ORDER BY j.id`

// checkJournals: every journal balances and has at least two entries.
func (r *reconciler) checkJournals(ctx context.Context) error {
	var rows []struct {
		Coop int64  `db:"cooperative_id"`
		ID   int64  `db:"id"`
		Key  string `db:"idem_key"`
		N    int    `db:"n"`
		D    int64  `db:"d"`
		C    int64  `db:"c"`
	}
	if err := r.sel(ctx, &rows, unbalancedJournalsSQL, "j.cooperative_id"); err != nil {
		return err
	}
	for _, j := range rows {
		if j.N < 2 {
			r.add(j.Coop, InvJournalEntries, "journal %d (%q) has %d entries, want at least 2", j.ID, j.Key, j.N)
		}
		if j.D != j.C {
			r.add(j.Coop, InvJournalBalanced, "journal %d (%q): debits %d != credits %d", j.ID, j.Key, j.D, j.C)
		}
	}
	return nil
}

const nonPositiveEntriesSQL = `SELECT e.cooperative_id, e.id, e.journal_id, e.amount FROM entries e
WHERE e.amount <= 0 AND %s ORDER BY e.id`

// checkAmounts: a CHECK constraint refuses them; verified all the same.
func (r *reconciler) checkAmounts(ctx context.Context) error {
	var rows []struct {
		Coop    int64 `db:"cooperative_id"`
		ID      int64 `db:"id"`
		Journal int64 `db:"journal_id"`
		Amount  int64 `db:"amount"`
	}
	if err := r.sel(ctx, &rows, nonPositiveEntriesSQL, "e.cooperative_id"); err != nil {
		return err
	}
	for _, e := range rows {
		r.add(e.Coop, InvPositiveAmount, "entry %d of journal %d has amount %d", e.ID, e.Journal, e.Amount)
	}
	return nil
}

const crossCooperativeEntriesSQL = `SELECT e.cooperative_id, e.id, e.journal_id, e.account_id,
	j.cooperative_id AS journal_coop, a.cooperative_id AS account_coop
FROM entries e LEFT JOIN journals j ON j.id = e.journal_id LEFT JOIN accounts a ON a.id = e.account_id
WHERE (j.id IS NULL OR a.id IS NULL OR j.cooperative_id <> e.cooperative_id OR a.cooperative_id <> e.cooperative_id)
AND %s ORDER BY e.id`

const crossCooperativeLoanAccountsSQL = `SELECT a.cooperative_id, a.id, a.loan_id, l.cooperative_id AS loan_coop
FROM accounts a LEFT JOIN loans l ON l.id = a.loan_id
WHERE a.loan_id IS NOT NULL AND (l.id IS NULL OR l.cooperative_id <> a.cooperative_id) AND %s ORDER BY a.id`

// checkTenancy: an entry, its journal and its account belong to one
// cooperative (composite foreign keys refuse anything else; verified all
// the same), and so do a loan and its account (no foreign key there).
func (r *reconciler) checkTenancy(ctx context.Context) error {
	var rows []struct {
		Coop        int64         `db:"cooperative_id"`
		ID          int64         `db:"id"`
		Journal     int64         `db:"journal_id"`
		Account     int64         `db:"account_id"`
		JournalCoop sql.NullInt64 `db:"journal_coop"`
		AccountCoop sql.NullInt64 `db:"account_coop"`
	}
	if err := r.sel(ctx, &rows, crossCooperativeEntriesSQL, "e.cooperative_id|j.cooperative_id|a.cooperative_id"); err != nil {
		return err
	}
	for _, e := range rows {
		r.add(e.Coop, InvOneCooperative, "entry %d: journal %d in %s, account %d in %s",
			e.ID, e.Journal, r.coopName(e.JournalCoop), e.Account, r.coopName(e.AccountCoop))
	}
	var loans []struct {
		Coop     int64         `db:"cooperative_id"`
		ID       int64         `db:"id"`
		Loan     int64         `db:"loan_id"`
		LoanCoop sql.NullInt64 `db:"loan_coop"`
	}
	if err := r.sel(ctx, &loans, crossCooperativeLoanAccountsSQL, "a.cooperative_id|l.cooperative_id"); err != nil {
		return err
	}
	for _, a := range loans {
		r.add(a.Coop, InvOneCooperative, "account %d belongs to loan %d in %s", a.ID, a.Loan, r.coopName(a.LoanCoop))
	}
	return nil
}

func (r *reconciler) coopName(id sql.NullInt64) string {
	if !id.Valid {
		return "no cooperative (missing row)"
	}
	if c, ok := r.codes[id.Int64]; ok {
		return c
	}
	return fmt.Sprintf("cooperative #%d", id.Int64)
}

const trialBalanceSQL = `SELECT e.cooperative_id, ` + sumDebits + ` AS d, ` + sumCredits + ` AS c
FROM entries e WHERE %s GROUP BY e.cooperative_id
HAVING ` + sumDebits + ` <> ` + sumCredits

func (r *reconciler) checkTrialBalance(ctx context.Context) error {
	var rows []struct {
		Coop int64 `db:"cooperative_id"`
		D    int64 `db:"d"`
		C    int64 `db:"c"`
	}
	if err := r.sel(ctx, &rows, trialBalanceSQL, "e.cooperative_id"); err != nil {
		return err
	}
	for _, t := range rows {
		r.add(t.Coop, InvTrialBalance, "debits %d != credits %d", t.D, t.C)
	}
	return nil
}

// balancesSQL compares every account's cached balance (its row plus its
// shard rows) with the replay of its entries, and returns only the accounts
// with something wrong: a difference, a bounded account or the vault below
// zero.
const balancesSQL = `SELECT * FROM (
	SELECT a.id, a.cooperative_id, a.kind, a.bounded,
		a.balance + COALESCE((SELECT SUM(s.balance) FROM account_shards s WHERE s.account_id = a.id), 0) AS cached,
		CASE WHEN a.normal = 'debit' THEN ` + sumDebits + ` - ` + sumCredits + ` ELSE ` + sumCredits + ` - ` + sumDebits + ` END AS replayed
	FROM accounts a LEFT JOIN entries e ON e.account_id = a.id
	WHERE %s
	GROUP BY a.id, a.cooperative_id, a.kind, a.bounded, a.normal, a.balance
) b
WHERE b.cached <> b.replayed OR (b.bounded AND (b.cached < 0 OR b.replayed < 0))
	OR (b.kind = 'vault' AND (b.cached < 0 OR b.replayed < 0))
ORDER BY b.id`

func (r *reconciler) checkBalances(ctx context.Context) error {
	var rows []struct {
		ID       int64  `db:"id"`
		Coop     int64  `db:"cooperative_id"`
		Kind     string `db:"kind"`
		Bounded  bool   `db:"bounded"`
		Cached   int64  `db:"cached"`
		Replayed int64  `db:"replayed"`
	}
	if err := r.sel(ctx, &rows, balancesSQL, "a.cooperative_id"); err != nil {
		return err
	}
	for _, a := range rows {
		if a.Cached != a.Replayed {
			r.add(a.Coop, InvCachedBalance, "%s account %d: cached balance %d != replayed %d", a.Kind, a.ID, a.Cached, a.Replayed)
		}
		low := min(a.Cached, a.Replayed)
		if a.Bounded && low < 0 {
			r.add(a.Coop, InvBoundedBalance, "%s account %d is below zero: %d", a.Kind, a.ID, low)
		}
		if a.Kind == string(Vault) && low < 0 {
			r.add(a.Coop, InvVaultNegative, "vault account %d is below zero: %d", a.ID, low)
		}
	}
	return nil
}

const accountFlagsSQL = `SELECT a.cooperative_id, a.kind, a.normal, a.bounded, a.sharded, COUNT(*) AS n
FROM accounts a WHERE %s GROUP BY a.cooperative_id, a.kind, a.normal, a.bounded, a.sharded
ORDER BY a.cooperative_id, a.kind`

// checkAccountRules: the flags PostTx trusts (normal side, bounded,
// sharded) are those of the account's kind. A savings account turned
// unbounded would let it be overdrawn.
func (r *reconciler) checkAccountRules(ctx context.Context) error {
	var rows []struct {
		Coop    int64  `db:"cooperative_id"`
		Kind    string `db:"kind"`
		Normal  string `db:"normal"`
		Bounded bool   `db:"bounded"`
		Sharded bool   `db:"sharded"`
		N       int    `db:"n"`
	}
	if err := r.sel(ctx, &rows, accountFlagsSQL, "a.cooperative_id"); err != nil {
		return err
	}
	for _, g := range rows {
		k := AccountKind(g.Kind)
		if !k.known() {
			continue
		}
		normal, bounded := k.rules()
		if g.Normal != normal || g.Bounded != bounded || g.Sharded != k.sharded() {
			r.add(g.Coop, InvAccountRules, "%d %s account(s) are %s-normal, bounded=%t, sharded=%t; want %s-normal, bounded=%t, sharded=%t",
				g.N, g.Kind, g.Normal, g.Bounded, g.Sharded, normal, bounded, k.sharded())
		}
	}
	return nil
}

func (k AccountKind) known() bool {
	switch k {
	case Pokok, Wajib, Sukarela, LoanPrincipal, Till, CollectorCash,
		Vault, InterestIncome, PenaltyIncome, FeeIncome, OpeningEquity, Clearing:
		return true
	}
	return false
}

const equityDebitsSQL = `SELECT e.cooperative_id, e.journal_id, j.idem_key, e.account_id, a.kind, m.member_no, e.amount
FROM entries e
JOIN accounts a ON a.id = e.account_id
JOIN members m ON m.id = a.member_id
JOIN journals j ON j.id = e.journal_id
WHERE e.side = 'D' AND a.kind IN ('pokok', 'wajib') AND m.status = 'active' AND j.reverses_id IS NULL AND %s
ORDER BY e.id`

// checkEquityLock: pokok and wajib are not debited while the member is
// active, except by a reversal (which undoes a credit).
func (r *reconciler) checkEquityLock(ctx context.Context) error {
	var rows []struct {
		Coop    int64  `db:"cooperative_id"`
		Journal int64  `db:"journal_id"`
		Key     string `db:"idem_key"`
		Account int64  `db:"account_id"`
		Kind    string `db:"kind"`
		Member  string `db:"member_no"`
		Amount  int64  `db:"amount"`
	}
	if err := r.sel(ctx, &rows, equityDebitsSQL, "e.cooperative_id"); err != nil {
		return err
	}
	for _, e := range rows {
		r.add(e.Coop, InvEquityLock, "journal %d (%q) debits %d from %s account %d of active member %s",
			e.Journal, e.Key, e.Amount, e.Kind, e.Account, e.Member)
	}
	return nil
}

// reversalMismatchSQL lines up each reversal's entries against its
// original's with the sides turned around (+1 for the original, −1 for the
// reversal); any (account, side, amount) that does not cancel out is a
// difference.
const reversalMismatchSQL = `SELECT x.cooperative_id, x.rid, MIN(x.oid) AS oid, COUNT(*) AS n FROM (
	SELECT y.cooperative_id, y.rid, y.oid, y.account_id, y.side, y.amount FROM (
		SELECT r.cooperative_id, r.id AS rid, r.reverses_id AS oid, e.account_id,
			CASE WHEN e.side = 'D' THEN 'C' ELSE 'D' END AS side, e.amount, 1 AS w
		FROM journals r JOIN entries e ON e.journal_id = r.reverses_id
		WHERE r.reverses_id IS NOT NULL AND %s
		UNION ALL
		SELECT r.cooperative_id, r.id, r.reverses_id, e.account_id, e.side, e.amount, -1
		FROM journals r JOIN entries e ON e.journal_id = r.id
		WHERE r.reverses_id IS NOT NULL AND %s
	) y
	GROUP BY y.cooperative_id, y.rid, y.oid, y.account_id, y.side, y.amount
	HAVING SUM(y.w) <> 0
) x GROUP BY x.cooperative_id, x.rid ORDER BY x.rid`

const reversalChainSQL = `SELECT r.cooperative_id, r.id, r.reverses_id, o.id AS original, o.reverses_id AS original_reverses
FROM journals r LEFT JOIN journals o ON o.id = r.reverses_id
WHERE r.reverses_id IS NOT NULL AND (o.id IS NULL OR o.reverses_id IS NOT NULL OR o.cooperative_id <> r.cooperative_id) AND %s
ORDER BY r.id`

const reversedTwiceSQL = `SELECT r.cooperative_id, r.reverses_id, COUNT(*) AS n FROM journals r
WHERE r.reverses_id IS NOT NULL AND %s GROUP BY r.cooperative_id, r.reverses_id HAVING COUNT(*) > 1 ORDER BY r.reverses_id`

// checkReversals: each reversal mirrors its original exactly; a journal is
// reversed at most once; a reversal is never reversed itself.
func (r *reconciler) checkReversals(ctx context.Context) error {
	var mirror []struct {
		Coop     int64 `db:"cooperative_id"`
		Reversal int64 `db:"rid"`
		Original int64 `db:"oid"`
		N        int   `db:"n"`
	}
	if err := r.sel(ctx, &mirror, reversalMismatchSQL, "r.cooperative_id", "r.cooperative_id"); err != nil {
		return err
	}
	for _, m := range mirror {
		r.add(m.Coop, InvReversalMirror, "reversal journal %d does not mirror journal %d (%d entry lines differ)", m.Reversal, m.Original, m.N)
	}
	var chain []struct {
		Coop             int64         `db:"cooperative_id"`
		ID               int64         `db:"id"`
		Reverses         int64         `db:"reverses_id"`
		Original         sql.NullInt64 `db:"original"`
		OriginalReverses sql.NullInt64 `db:"original_reverses"`
	}
	if err := r.sel(ctx, &chain, reversalChainSQL, "r.cooperative_id"); err != nil {
		return err
	}
	for _, c := range chain {
		switch {
		case !c.Original.Valid:
			r.add(c.Coop, InvReversalMirror, "reversal journal %d reverses journal %d, which does not exist", c.ID, c.Reverses)
		case c.OriginalReverses.Valid:
			r.add(c.Coop, InvReversedTwice, "reversal journal %d reverses journal %d, itself a reversal", c.ID, c.Reverses)
		default:
			r.add(c.Coop, InvOneCooperative, "reversal journal %d reverses journal %d of another cooperative", c.ID, c.Reverses)
		}
	}
	var twice []struct {
		Coop     int64 `db:"cooperative_id"`
		Original int64 `db:"reverses_id"`
		N        int   `db:"n"`
	}
	if err := r.sel(ctx, &twice, reversedTwiceSQL, "r.cooperative_id"); err != nil {
		return err
	}
	for _, t := range twice {
		r.add(t.Coop, InvReversedTwice, "journal %d is reversed %d times", t.Original, t.N)
	}
	return nil
}

// loansSQL puts each loan beside its schedule and its principal account and
// returns only the loans where they disagree.
const loansSQL = `SELECT * FROM (
	SELECT l.cooperative_id, l.id, l.loan_no, l.status, l.scheduled_principal,
		COALESCE(i.due, 0) AS due, COALESCE(i.paid, 0) AS paid,
		COALESCE(acc.n, 0) AS accounts, COALESCE(acc.balance, 0) AS balance
	FROM loans l
	LEFT JOIN (SELECT loan_id, SUM(principal_due) AS due, SUM(principal_paid) AS paid
		FROM installments GROUP BY loan_id) i ON i.loan_id = l.id
	LEFT JOIN (SELECT a.loan_id, COUNT(*) AS n, SUM(a.balance + COALESCE(s.total, 0)) AS balance
		FROM accounts a
		LEFT JOIN (SELECT account_id, SUM(balance) AS total FROM account_shards GROUP BY account_id) s ON s.account_id = a.id
		WHERE a.kind = 'loan_principal' AND a.loan_id IS NOT NULL GROUP BY a.loan_id) acc ON acc.loan_id = l.id
	WHERE %s
) x
WHERE x.accounts <> 1 OR x.balance <> x.due - x.paid OR x.due <> x.scheduled_principal
	OR (x.status = 'closed' AND (x.due <> x.paid OR x.balance <> 0))
ORDER BY x.id`

// checkLoans: the principal account equals what the schedule says is still
// owed, the schedule repays exactly the scheduled principal, and a closed
// loan owes no principal.
func (r *reconciler) checkLoans(ctx context.Context) error {
	var rows []struct {
		Coop      int64  `db:"cooperative_id"`
		ID        int64  `db:"id"`
		No        string `db:"loan_no"`
		Status    string `db:"status"`
		Scheduled int64  `db:"scheduled_principal"`
		Due       int64  `db:"due"`
		Paid      int64  `db:"paid"`
		Accounts  int    `db:"accounts"`
		Balance   int64  `db:"balance"`
	}
	if err := r.sel(ctx, &rows, loansSQL, "l.cooperative_id"); err != nil {
		return err
	}
	for _, l := range rows {
		if l.Accounts != 1 {
			r.add(l.Coop, InvLoanOutstanding, "loan %s has %d loan_principal accounts, want 1", l.No, l.Accounts)
		} else if l.Balance != l.Due-l.Paid {
			r.add(l.Coop, InvLoanOutstanding, "loan %s: account balance %d != principal due %d - paid %d", l.No, l.Balance, l.Due, l.Paid)
		}
		if l.Due != l.Scheduled {
			r.add(l.Coop, InvLoanSchedule, "loan %s: installments' principal %d != scheduled principal %d", l.No, l.Due, l.Scheduled)
		}
		if l.Status == "closed" && (l.Due != l.Paid || l.Balance != 0) {
			r.add(l.Coop, InvLoanClosed, "loan %s is closed but owes principal %d (account balance %d)", l.No, l.Due-l.Paid, l.Balance)
		}
	}
	return nil
}

const badInstallmentsSQL = `SELECT i.cooperative_id, l.loan_no, i.no,
	i.principal_due, i.principal_paid, i.interest_due, i.interest_paid, i.fee_due, i.fee_paid, i.penalty_paid
FROM installments i JOIN loans l ON l.id = i.loan_id
WHERE (i.principal_paid < 0 OR i.principal_paid > i.principal_due
	OR i.interest_paid < 0 OR i.interest_paid > i.interest_due
	OR i.fee_paid < 0 OR i.fee_paid > i.fee_due OR i.penalty_paid < 0) AND %s
ORDER BY i.loan_id, i.no`

// checkInstallments: no component is paid beyond what is due (CHECK
// constraints refuse it; verified all the same).
func (r *reconciler) checkInstallments(ctx context.Context) error {
	var rows []struct {
		Coop          int64  `db:"cooperative_id"`
		Loan          string `db:"loan_no"`
		No            int    `db:"no"`
		PrincipalDue  int64  `db:"principal_due"`
		PrincipalPaid int64  `db:"principal_paid"`
		InterestDue   int64  `db:"interest_due"`
		InterestPaid  int64  `db:"interest_paid"`
		FeeDue        int64  `db:"fee_due"`
		FeePaid       int64  `db:"fee_paid"`
		PenaltyPaid   int64  `db:"penalty_paid"`
	}
	if err := r.sel(ctx, &rows, badInstallmentsSQL, "i.cooperative_id"); err != nil {
		return err
	}
	for _, i := range rows {
		for _, c := range []struct {
			name      string
			due, paid int64
		}{{"principal", i.PrincipalDue, i.PrincipalPaid}, {"interest", i.InterestDue, i.InterestPaid}, {"fee", i.FeeDue, i.FeePaid}} {
			if c.paid < 0 || c.paid > c.due {
				r.add(i.Coop, InvInstallmentPaid, "loan %s installment %d: %s paid %d of %d due", i.Loan, i.No, c.name, c.paid, c.due)
			}
		}
		if i.PenaltyPaid < 0 {
			r.add(i.Coop, InvInstallmentPaid, "loan %s installment %d: penalty paid %d", i.Loan, i.No, i.PenaltyPaid)
		}
	}
	return nil
}

// installmentPartsSQL compares each installment's paid columns with the
// sum of the repayment parts recorded against it (a reversed repayment
// records its parts again, negated, under the reversal journal), and finds
// parts of installments that do not exist.
const installmentPartsSQL = `SELECT i.cooperative_id, l.loan_no, i.no,
	i.penalty_paid, i.fee_paid, i.interest_paid, i.principal_paid,
	COALESCE(p.penalty, 0) AS parts_penalty, COALESCE(p.fee, 0) AS parts_fee,
	COALESCE(p.interest, 0) AS parts_interest, COALESCE(p.principal, 0) AS parts_principal
FROM installments i JOIN loans l ON l.id = i.loan_id
LEFT JOIN (SELECT loan_id, installment_no, SUM(penalty) AS penalty, SUM(fee) AS fee, SUM(interest) AS interest, SUM(principal) AS principal
	FROM repayment_parts GROUP BY loan_id, installment_no) p ON p.loan_id = i.loan_id AND p.installment_no = i.no
WHERE (i.penalty_paid <> COALESCE(p.penalty, 0) OR i.fee_paid <> COALESCE(p.fee, 0)
	OR i.interest_paid <> COALESCE(p.interest, 0) OR i.principal_paid <> COALESCE(p.principal, 0)) AND %s
ORDER BY i.loan_id, i.no`

const orphanPartsSQL = `SELECT p.cooperative_id, p.journal_id, p.loan_id, p.installment_no FROM repayment_parts p
WHERE NOT EXISTS (SELECT 1 FROM installments i WHERE i.loan_id = p.loan_id AND i.no = p.installment_no) AND %s
ORDER BY p.journal_id`

// checkInstallmentParts: the paid columns are a projection of the
// repayment journals' parts, written in the same transaction.
func (r *reconciler) checkInstallmentParts(ctx context.Context) error {
	var rows []struct {
		Coop           int64  `db:"cooperative_id"`
		Loan           string `db:"loan_no"`
		No             int    `db:"no"`
		PenaltyPaid    int64  `db:"penalty_paid"`
		FeePaid        int64  `db:"fee_paid"`
		InterestPaid   int64  `db:"interest_paid"`
		PrincipalPaid  int64  `db:"principal_paid"`
		PartsPenalty   int64  `db:"parts_penalty"`
		PartsFee       int64  `db:"parts_fee"`
		PartsInterest  int64  `db:"parts_interest"`
		PartsPrincipal int64  `db:"parts_principal"`
	}
	if err := r.sel(ctx, &rows, installmentPartsSQL, "i.cooperative_id"); err != nil {
		return err
	}
	for _, i := range rows {
		r.add(i.Coop, InvInstallmentParts, "loan %s installment %d: paid (penalty %d, fee %d, interest %d, principal %d) != repayment parts (%d, %d, %d, %d)",
			i.Loan, i.No, i.PenaltyPaid, i.FeePaid, i.InterestPaid, i.PrincipalPaid, i.PartsPenalty, i.PartsFee, i.PartsInterest, i.PartsPrincipal)
	}
	var orphans []struct {
		Coop    int64 `db:"cooperative_id"`
		Journal int64 `db:"journal_id"`
		Loan    int64 `db:"loan_id"`
		No      int   `db:"installment_no"`
	}
	if err := r.sel(ctx, &orphans, orphanPartsSQL, "p.cooperative_id"); err != nil {
		return err
	}
	for _, o := range orphans {
		r.add(o.Coop, InvInstallmentParts, "journal %d has repayment parts for installment %d of loan %d, which does not exist", o.Journal, o.No, o.Loan)
	}
	return nil
}

// repaymentPartsSQL compares the parts recorded for each journal with the
// journal's total (its debits). A reversal journal may record its parts
// negated.
const repaymentPartsSQL = `SELECT p.cooperative_id, p.journal_id, j.idem_key, j.reverses_id, p.total,
	` + sumDebits + ` AS journal_total
FROM (SELECT cooperative_id, journal_id, SUM(penalty + fee + interest + principal) AS total
	FROM repayment_parts GROUP BY cooperative_id, journal_id) p
JOIN journals j ON j.id = p.journal_id
LEFT JOIN entries e ON e.journal_id = p.journal_id
WHERE %s
GROUP BY p.cooperative_id, p.journal_id, j.idem_key, j.reverses_id, p.total
HAVING p.total <> ` + sumDebits + ` AND (j.reverses_id IS NULL OR p.total <> -` + sumDebits + `)
ORDER BY p.journal_id`

func (r *reconciler) checkRepaymentParts(ctx context.Context) error {
	var rows []struct {
		Coop     int64         `db:"cooperative_id"`
		Journal  int64         `db:"journal_id"`
		Key      string        `db:"idem_key"`
		Reverses sql.NullInt64 `db:"reverses_id"`
		Parts    int64         `db:"total"`
		Total    int64         `db:"journal_total"`
	}
	if err := r.sel(ctx, &rows, repaymentPartsSQL, "p.cooperative_id"); err != nil {
		return err
	}
	for _, p := range rows {
		r.add(p.Coop, InvRepaymentParts, "journal %d (%q): repayment parts sum to %d, journal total %d", p.Journal, p.Key, p.Parts, p.Total)
	}
	return nil
}

// depositCodesSQL returns the codes that are confirmed without a journal,
// have a journal without being confirmed, or whose journal moved another
// amount.
const depositCodesSQL = `SELECT d.cooperative_id, d.id, d.status, d.journal_id, d.amount,
	` + sumDebits + ` AS journal_total, COUNT(e.id) AS n
FROM deposit_codes d LEFT JOIN entries e ON e.journal_id = d.journal_id
WHERE (d.status = 'confirmed' OR d.journal_id IS NOT NULL) AND %s
GROUP BY d.cooperative_id, d.id, d.status, d.journal_id, d.amount
HAVING d.status <> 'confirmed' OR d.journal_id IS NULL OR ` + sumDebits + ` <> d.amount
ORDER BY d.id`

func (r *reconciler) checkDepositCodes(ctx context.Context) error {
	var rows []struct {
		Coop    int64         `db:"cooperative_id"`
		ID      int64         `db:"id"`
		Status  string        `db:"status"`
		Journal sql.NullInt64 `db:"journal_id"`
		Amount  int64         `db:"amount"`
		Total   int64         `db:"journal_total"`
		N       int           `db:"n"`
	}
	if err := r.sel(ctx, &rows, depositCodesSQL, "d.cooperative_id"); err != nil {
		return err
	}
	for _, d := range rows {
		switch {
		case d.Status == "confirmed" && !d.Journal.Valid:
			r.add(d.Coop, InvDepositCode, "deposit code %d is confirmed but has no journal", d.ID)
		case d.Status != "confirmed":
			r.add(d.Coop, InvDepositCode, "deposit code %d is %s but has journal %d", d.ID, d.Status, d.Journal.Int64)
		default:
			r.add(d.Coop, InvDepositCode, "deposit code %d for %d: journal %d moved %d", d.ID, d.Amount, d.Journal.Int64, d.Total)
		}
	}
	return nil
}
