package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Sentinel errors; callers choose what to show a member with errors.Is.
var (
	ErrInsufficientFunds   = errors.New("insufficient funds")
	ErrEquityLocked        = errors.New("pokok and wajib savings cannot be debited while the member is active")
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")
	ErrInvalidJournal      = errors.New("invalid journal")
	ErrCrossCooperative    = errors.New("accounts of another cooperative")
	ErrNotFound            = errors.New("not found")
)

// AccountKind says what an account is for.
type AccountKind string

// Member accounts.
const (
	Pokok         AccountKind = "pokok"          // membership share (equity)
	Wajib         AccountKind = "wajib"          // mandatory savings (equity)
	Sukarela      AccountKind = "sukarela"       // voluntary savings, withdrawable
	LoanPrincipal AccountKind = "loan_principal" // receivable, one per loan
)

// Cooperative accounts.
const (
	Till           AccountKind = "till"           // a teller's cash drawer
	CollectorCash  AccountKind = "collector_cash" // a field collector's cash in hand
	Vault          AccountKind = "vault"
	InterestIncome AccountKind = "interest_income"
	PenaltyIncome  AccountKind = "penalty_income"
	FeeIncome      AccountKind = "fee_income"
	OpeningEquity  AccountKind = "opening_equity"
	Clearing       AccountKind = "clearing"
)

// MemberAccountKinds are created for every member.
var MemberAccountKinds = []AccountKind{Pokok, Wajib, Sukarela}

// CoopAccountKinds are created for every cooperative.
var CoopAccountKinds = []AccountKind{Vault, InterestIncome, PenaltyIncome, FeeIncome, OpeningEquity, Clearing}

// rules: which side makes an account grow, and whether it may go below zero.
func (k AccountKind) rules() (normal string, bounded bool) {
	switch k {
	case Pokok, Wajib, Sukarela:
		return "credit", true
	case LoanPrincipal, Till, CollectorCash:
		return "debit", true
	case InterestIncome, PenaltyIncome, FeeIncome, OpeningEquity:
		return "credit", false
	default:
		return "debit", false
	}
}

// sharded reports whether the account's balance is split over shard rows:
// the cooperative-level accounts that many journals touch at once.
func (k AccountKind) sharded() bool {
	switch k {
	case Vault, InterestIncome, PenaltyIncome, FeeIncome, OpeningEquity, Clearing:
		return true
	}
	return false
}

// Shards is how many balance rows a hot account is split over.
const Shards = 8

// Posting moves Amount from one account to another: From is debited, To is
// credited. A journal built from postings cannot be unbalanced.
type Posting struct {
	From, To int64 // account ids
	Amount   int64 // whole rupiah, > 0
}

// JournalKind is what a journal records; channels label statements by it.
type JournalKind string

// The journal kinds the ledger writes. Others ("transfer", …) may be posted
// with Post; statements show their memo.
const (
	KindDeposit      JournalKind = "deposit"
	KindRepayment    JournalKind = "repayment"
	KindDisbursement JournalKind = "disbursement"
	KindOpening      JournalKind = "opening"
	KindReversal     JournalKind = "reversal"
)

// Journal is one atomic, balanced set of postings in one cooperative.
type Journal struct {
	CooperativeID int64
	Key           string      // idempotency key, unique per cooperative
	Kind          JournalKind // e.g. KindOpening, KindDeposit, KindRepayment
	Memo          string
	Actor         string // who caused it ("member:12", "staff:3", "import")
	Postings      []Posting

	reverses int64  // set by Reverse only
	reason   string // why it was reversed
}

// Ledger posts journals and answers balance questions.
type Ledger struct {
	db  *DB
	now func() time.Time
}

// New returns a Ledger over db. now is the clock (time.Now in production).
func New(db *DB, now func() time.Time) *Ledger {
	if now == nil {
		now = time.Now
	}
	return &Ledger{db: db, now: now}
}

// DB returns the database the ledger writes to.
func (l *Ledger) DB() *DB { return l.db }

func (j Journal) validate() error {
	if j.CooperativeID <= 0 {
		return fmt.Errorf("%w: no cooperative", ErrInvalidJournal)
	}
	if strings.TrimSpace(j.Key) == "" || len(j.Key) > 200 {
		return fmt.Errorf("%w: idempotency key must be 1-200 characters", ErrInvalidJournal)
	}
	if j.Kind == "" {
		return fmt.Errorf("%w: no kind", ErrInvalidJournal)
	}
	if len(j.Postings) == 0 {
		return fmt.Errorf("%w: no postings", ErrInvalidJournal)
	}
	for i, p := range j.Postings {
		if p.Amount <= 0 {
			return fmt.Errorf("%w: posting %d amount %d is not positive", ErrInvalidJournal, i, p.Amount)
		}
		if p.From == p.To {
			return fmt.Errorf("%w: posting %d moves money from an account to itself", ErrInvalidJournal, i)
		}
	}
	return nil
}

// requestHash identifies what a journal asks for, so a reused key with a
// different request is told apart from a retry.
func (j Journal) requestHash() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d|%s|%s", j.CooperativeID, j.Kind, j.Memo)
	for _, p := range j.Postings {
		fmt.Fprintf(&b, "|%d>%d:%d", p.From, p.To, p.Amount)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// Post writes j in its own transaction and returns the journal id. Posting
// the same key with the same request again returns the original id; the same
// key with a different request fails with ErrIdempotencyConflict.
func (l *Ledger) Post(ctx context.Context, j Journal) (int64, error) {
	if l.db.Dialect == Postgres && len(j.Postings) <= maxPostingsPerStatement {
		// One statement is one transaction: no begin and commit round trips.
		if err := j.validate(); err != nil {
			return 0, err
		}
		if err := writeStarts(ctx); err != nil { // no BEGIN to wait for: the statement is the write
			return 0, err
		}
		return postOneStatement(ctx, l.db, j, j.requestHash(), l.now())
	}
	var id int64
	err := l.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = PostTx(ctx, tx, j, l.now())
		return err
	})
	return id, err
}

type accountRow struct {
	ID            int64          `db:"id"`
	CooperativeID int64          `db:"cooperative_id"`
	Kind          string         `db:"kind"`
	Normal        string         `db:"normal"`
	Bounded       bool           `db:"bounded"`
	Sharded       bool           `db:"sharded"`
	MemberStatus  sql.NullString `db:"member_status"`
}

const insertJournalSQL = Prepared + `INSERT INTO journals (cooperative_id, idem_key, request_hash, kind, memo, actor, reason, reverses_id, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (cooperative_id, idem_key) DO NOTHING RETURNING id`

const existingJournalSQL = `SELECT id, request_hash FROM journals WHERE cooperative_id = ? AND idem_key = ?`

const accountsForPostSQL = Prepared + `SELECT a.id, a.cooperative_id, a.kind, a.normal, a.bounded, a.sharded, m.status AS member_status
FROM accounts a LEFT JOIN members m ON m.id = a.member_id WHERE a.id IN (%s)`

const applyDeltaSQL = Prepared + `UPDATE accounts SET balance = balance + ? WHERE id = ? AND (bounded = ? OR balance + ? >= 0)`

// applyShardDeltasSQL adds to one shard row of each hot account; %s is
// one "(?, ?, ?)" per account. Rows of one INSERT are written in the order
// listed, so listing accounts by ascending id keeps the lock order.
const applyShardDeltasSQL = Prepared + `INSERT INTO account_shards (account_id, shard, balance) VALUES %s
ON CONFLICT (account_id, shard) DO UPDATE SET balance = account_shards.balance + excluded.balance`

// applyShardDeltasPgSQL is applyShardDeltasSQL on PostgreSQL, whose shard
// rows carry their cooperative and are keyed (account_id, shard,
// cooperative_id) since migration 00017 (ledger/CITUS.md); %s is one
// "(?, ?, ?, ?)" per account. SQLite keeps the old columns and key.
const applyShardDeltasPgSQL = Prepared + `INSERT INTO account_shards (account_id, shard, balance, cooperative_id) VALUES %s
ON CONFLICT (account_id, shard, cooperative_id) DO UPDATE SET balance = account_shards.balance + excluded.balance`

// shardDeltasSQL is the shard upsert of tx's dialect for n accounts, and
// whether each row takes the cooperative's id after its three values.
func shardDeltasSQL(tx *sqlx.Tx) (q func(n int) string, withCoop bool) {
	if tx.DriverName() == "postgres" {
		return func(n int) string { return fmt.Sprintf(applyShardDeltasPgSQL, tuples(n, 4)) }, true
	}
	return func(n int) string { return fmt.Sprintf(applyShardDeltasSQL, tuples(n, 3)) }, false
}

// insertEntriesSQL writes every entry of a journal in one statement; %s is
// one "(?, ?, ?, ?, ?)" per entry.
const insertEntriesSQL = Prepared + `INSERT INTO entries (cooperative_id, journal_id, account_id, side, amount) VALUES %s`

// maxPostingsPerInsert: 2 entries × 5 values each per posting.
const maxPostingsPerInsert = 500

// PostTx writes j inside tx (so callers can add an outbox row or a
// domain row in the same transaction). now is the one timestamp of the
// transaction.
func PostTx(ctx context.Context, tx *sqlx.Tx, j Journal, now time.Time) (int64, error) {
	if err := j.validate(); err != nil {
		return 0, err
	}
	if tx.DriverName() == "postgres" && len(j.Postings) <= maxPostingsPerStatement {
		return postOneStatement(ctx, tx, j, j.requestHash(), now)
	}
	return postSteps(ctx, tx, j, j.requestHash(), now)
}

// postSteps is PostTx one statement per step: on SQLite (which has no
// INSERT or UPDATE inside WITH) and for journals too large for one
// statement.
func postSteps(ctx context.Context, tx *sqlx.Tx, j Journal, hash string, now time.Time) (int64, error) {
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(insertJournalSQL),
		j.CooperativeID, j.Key, hash, j.Kind, j.Memo, j.Actor, j.reason, nullID(j.reverses), now.UTC())
	if errors.Is(err, sql.ErrNoRows) {
		var prev struct {
			ID   int64  `db:"id"`
			Hash string `db:"request_hash"`
		}
		if err := tx.GetContext(ctx, &prev, tx.Rebind(existingJournalSQL), j.CooperativeID, j.Key); err != nil {
			return 0, fmt.Errorf("read journal %q: %w", j.Key, err)
		}
		if prev.Hash != hash {
			return 0, fmt.Errorf("journal %q: %w", j.Key, ErrIdempotencyConflict)
		}
		return prev.ID, nil
	}
	if err != nil {
		return 0, fmt.Errorf("insert journal %q: %w", j.Key, err)
	}

	// Net movement per account, in the account's natural sign.
	ids := make([]int64, 0, 2*len(j.Postings))
	for _, p := range j.Postings {
		ids = append(ids, p.From, p.To)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	args := make([]any, len(ids))
	for i, v := range ids {
		args[i] = v
	}
	var rows []accountRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(fmt.Sprintf(accountsForPostSQL, placeholders(len(ids)))), args...); err != nil {
		return 0, fmt.Errorf("load accounts: %w", err)
	}
	if len(rows) != len(ids) {
		return 0, fmt.Errorf("journal %q: account %w", j.Key, ErrNotFound)
	}
	acct := make(map[int64]accountRow, len(rows))
	for _, r := range rows {
		if r.CooperativeID != j.CooperativeID {
			return 0, fmt.Errorf("journal %q: account %d: %w", j.Key, r.ID, ErrCrossCooperative)
		}
		acct[r.ID] = r
	}
	delta := make(map[int64]int64, len(ids))
	for _, p := range j.Postings {
		from, to := acct[p.From], acct[p.To]
		if (from.Kind == string(Pokok) || from.Kind == string(Wajib)) && from.MemberStatus.String == "active" && j.reverses == 0 {
			return 0, fmt.Errorf("journal %q: account %d: %w", j.Key, from.ID, ErrEquityLocked)
		}
		delta[p.From] += signed(from.Normal, 'D', p.Amount)
		delta[p.To] += signed(to.Normal, 'C', p.Amount)
	}
	// Bounded and other unsharded accounts first, one conditional update
	// each in ascending id order: two journals touching the same accounts
	// always lock them in the same order, so they queue instead of
	// deadlocking, and a refusal costs no further writes.
	var hot []int64
	for _, aid := range ids {
		d := delta[aid]
		if d == 0 {
			continue
		}
		if acct[aid].Sharded {
			hot = append(hot, aid)
			continue
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(applyDeltaSQL), d, aid, false, d)
		if err != nil {
			return 0, fmt.Errorf("update balance of account %d: %w", aid, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return 0, fmt.Errorf("journal %q: account %d: %w", j.Key, aid, ErrInsufficientFunds)
		}
	}
	// Entries in one statement (a debit then a credit per posting, in
	// order: ids follow the rows), in chunks that stay far below either
	// database's limit on parameters.
	for chunk := range slices.Chunk(j.Postings, maxPostingsPerInsert) {
		args := make([]any, 0, 10*len(chunk))
		for _, p := range chunk {
			args = append(args, j.CooperativeID, id, p.From, "D", p.Amount, j.CooperativeID, id, p.To, "C", p.Amount)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(fmt.Sprintf(insertEntriesSQL, tuples(2*len(chunk), 5))), args...); err != nil {
			return 0, fmt.Errorf("insert entries: %w", err)
		}
	}
	// Hot accounts last, in one statement and ascending id order (after
	// every unsharded account: still one global order): their shard rows
	// are the ones other journals wait for, so they are held only from here
	// to commit.
	if len(hot) > 0 {
		q, withCoop := shardDeltasSQL(tx)
		shardArgs := make([]any, 0, 4*len(hot))
		for _, aid := range hot {
			shardArgs = append(shardArgs, aid, id%Shards, delta[aid])
			if withCoop {
				shardArgs = append(shardArgs, j.CooperativeID)
			}
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q(len(hot))), shardArgs...); err != nil {
			return 0, fmt.Errorf("update balances of hot accounts %v: %w", hot, err)
		}
	}
	return id, nil
}

// tuples returns "(?, ?), (?, ?)" for n rows of width values: the VALUES
// of a multi-row INSERT.
func tuples(n, width int) string {
	row := "(" + placeholders(width) + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

func signed(normal string, side byte, amount int64) int64 {
	if (normal == "debit") == (side == 'D') {
		return amount
	}
	return -amount
}

const insertAccountSQL = `INSERT INTO accounts (cooperative_id, kind, member_id, staff_id, loan_id, normal, bounded, sharded, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`

// Owner says whose account it is: the cooperative itself (all zero), a
// member, a staff member or a loan.
type Owner struct {
	MemberID, StaffID, LoanID int64
}

// CreateAccount adds an account inside tx and returns its id.
func CreateAccount(ctx context.Context, tx *sqlx.Tx, coopID int64, kind AccountKind, owner Owner, now time.Time) (int64, error) {
	normal, bounded := kind.rules()
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(insertAccountSQL), coopID, string(kind),
		nullID(owner.MemberID), nullID(owner.StaffID), nullID(owner.LoanID), normal, bounded, kind.sharded(), now.UTC())
	if err != nil {
		return 0, fmt.Errorf("create %s account: %w", kind, err)
	}
	return id, nil
}

func nullID(id int64) sql.NullInt64 { return sql.NullInt64{Int64: id, Valid: id != 0} }

// accountIDSQL finds the account of a kind and owner. The COALESCEs say
// exactly whose it is; the owner's own column, compared as such, lets the
// unique index of that kind of owner find the one row (the COALESCEs alone
// read every account of the cooperative).
func accountIDSQL(o Owner) string {
	const q = `SELECT id FROM accounts WHERE cooperative_id = ? AND kind = ?
AND COALESCE(member_id, 0) = ? AND COALESCE(staff_id, 0) = ? AND COALESCE(loan_id, 0) = ?`
	switch {
	case o.LoanID != 0:
		return q + ` AND loan_id = ?`
	case o.MemberID != 0:
		return q + ` AND member_id = ? AND loan_id IS NULL`
	case o.StaffID != 0:
		return q + ` AND staff_id = ?`
	}
	return q + ` AND member_id IS NULL AND staff_id IS NULL AND loan_id IS NULL`
}

// accountIDArgs are accountIDSQL's arguments.
func accountIDArgs(coopID int64, kind AccountKind, o Owner) []any {
	args := []any{coopID, string(kind), o.MemberID, o.StaffID, o.LoanID}
	switch {
	case o.LoanID != 0:
		return append(args, o.LoanID)
	case o.MemberID != 0:
		return append(args, o.MemberID)
	case o.StaffID != 0:
		return append(args, o.StaffID)
	}
	return args // the cooperative's own account
}

// AccountID finds the account of kind held by owner in a cooperative.
func (l *Ledger) AccountID(ctx context.Context, coopID int64, kind AccountKind, owner Owner) (int64, error) {
	var id int64
	err := l.db.GetContext(ctx, &id, l.db.Rebind(accountIDSQL(owner)), accountIDArgs(coopID, kind, owner)...)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s account of %+v in cooperative %d: %w", kind, owner, coopID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("find %s account: %w", kind, err)
	}
	return id, nil
}

// MemberBalances are what a member sees on "Cek Saldo".
type MemberBalances struct {
	Pokok, Wajib, Sukarela int64
	LoanOutstanding        int64 // remaining principal over all loans
}

const memberBalancesSQL = Prepared + `SELECT kind, COALESCE(SUM(balance), 0) AS total FROM accounts
WHERE cooperative_id = ? AND member_id = ? GROUP BY kind`

// MemberBalances reads one member's savings and loan outstanding. The
// cooperative id is part of the query so no screen can read across
// cooperatives.
func (l *Ledger) MemberBalances(ctx context.Context, coopID, memberID int64) (MemberBalances, error) {
	var rows []struct {
		Kind  string `db:"kind"`
		Total int64  `db:"total"`
	}
	if err := l.db.SelectContext(ctx, &rows, l.db.Rebind(memberBalancesSQL), coopID, memberID); err != nil {
		return MemberBalances{}, fmt.Errorf("balances of member %d: %w", memberID, err)
	}
	var b MemberBalances
	for _, r := range rows {
		b.Add(AccountKind(r.Kind), r.Total)
	}
	return b, nil
}

// Add counts total, the sum of a member's accounts of kind k, in b (kinds
// a member does not see are left out).
func (b *MemberBalances) Add(k AccountKind, total int64) {
	switch k {
	case Pokok:
		b.Pokok = total
	case Wajib:
		b.Wajib = total
	case Sukarela:
		b.Sukarela = total
	case LoanPrincipal:
		b.LoanOutstanding = total
	}
}

const balanceSQL = Prepared + `SELECT a.balance + COALESCE((SELECT SUM(s.balance) FROM account_shards s WHERE s.account_id = a.id), 0)
FROM accounts a WHERE a.id = ?`

// Balance returns one account's balance (its row plus its shards).
func (l *Ledger) Balance(ctx context.Context, accountID int64) (int64, error) {
	var b int64
	err := l.db.GetContext(ctx, &b, l.db.Rebind(balanceSQL), accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("account %d: %w", accountID, ErrNotFound)
	}
	return b, err
}

// TrialBalance checks one cooperative's books: debits equal credits over all
// entries, and every cached balance equals the replay of its entries. It
// returns one line per problem.
func (l *Ledger) TrialBalance(ctx context.Context, coopID int64) ([]string, error) {
	var problems []string
	var sums struct {
		D int64 `db:"d"`
		C int64 `db:"c"`
	}
	err := l.db.GetContext(ctx, &sums, l.db.Rebind(`SELECT
		COALESCE(SUM(CASE WHEN side = 'D' THEN amount ELSE 0 END), 0) AS d,
		COALESCE(SUM(CASE WHEN side = 'C' THEN amount ELSE 0 END), 0) AS c
		FROM entries WHERE cooperative_id = ?`), coopID)
	if err != nil {
		return nil, fmt.Errorf("sum entries: %w", err)
	}
	if sums.D != sums.C {
		problems = append(problems, "debits "+strconv.FormatInt(sums.D, 10)+" != credits "+strconv.FormatInt(sums.C, 10))
	}
	var rows []struct {
		ID      int64  `db:"id"`
		Normal  string `db:"normal"`
		Balance int64  `db:"balance"`
		D       int64  `db:"d"`
		C       int64  `db:"c"`
	}
	err = l.db.SelectContext(ctx, &rows, l.db.Rebind(`SELECT a.id, a.normal,
		a.balance + COALESCE((SELECT SUM(s.balance) FROM account_shards s WHERE s.account_id = a.id), 0) AS balance,
		COALESCE(SUM(CASE WHEN e.side = 'D' THEN e.amount ELSE 0 END), 0) AS d,
		COALESCE(SUM(CASE WHEN e.side = 'C' THEN e.amount ELSE 0 END), 0) AS c
		FROM accounts a LEFT JOIN entries e ON e.account_id = a.id
		WHERE a.cooperative_id = ? GROUP BY a.id, a.normal, a.balance ORDER BY a.id`), coopID)
	if err != nil {
		return nil, fmt.Errorf("replay balances: %w", err)
	}
	for _, r := range rows {
		want := r.D - r.C
		if r.Normal == "credit" {
			want = -want
		}
		if want != r.Balance {
			problems = append(problems, fmt.Sprintf("account %d: cached balance %d != replayed %d", r.ID, r.Balance, want))
		}
	}
	return problems, nil
}
