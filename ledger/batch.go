package ledger

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Batched posting: many journals in one caller's transaction, written with
// multi-row statements (an import of a cooperative's members opens hundreds
// of thousands of accounts with their opening balances). The rows it leaves
// are the ones one CreateAccount per account and one PostTx per journal, in
// order, would leave.

// Rows per multi-row statement, far below either database's limit on
// parameters (PostgreSQL 65,535; SQLite 32,766).
const (
	batchAccountRows = 1000 // accounts per INSERT, 11 values each
	batchJournalRows = 1000 // journals per INSERT, 9 values each
	batchEntryRows   = 2000 // entries per INSERT, 5 values each
	batchReadRows    = 2000 // ids or keys per SELECT, up to 3 values each
	batchUpdateRows  = 2000 // account balances per UPDATE, 3 values each
)

// batchJournal is one journal of a batch and what the batch found out
// about it.
type batchJournal struct {
	Journal
	hash   string
	id     int64 // the journal's id, once known
	dupOf  int   // index of an earlier journal of the batch with the same key, or -1
	exists bool  // the key was posted before the batch
}

// fresh reports whether the batch writes this journal.
func (b *batchJournal) fresh() bool { return b.dupOf < 0 && !b.exists }

type batchKey struct {
	coop int64
	key  string
}

// batchAccount is an account a batch moves, with its balance as read
// (locked on PostgreSQL).
type batchAccount struct {
	accountRow
	Balance int64 `db:"balance"`
	opened  bool  // the batch creates it
	owner   Owner // of an account the batch opens
}

// batchAccountsSQL reads the accounts a batch moves on SQLite (whose
// transactions hold the database's write lock from their first
// statement); %s is the ids.
const batchAccountsSQL = `SELECT a.id, a.cooperative_id, a.kind, a.normal, a.bounded, a.sharded, a.balance, m.status AS member_status
FROM accounts a LEFT JOIN members m ON m.id = a.member_id WHERE a.id IN (%s)`

// batchAccountsPgSQL reads the accounts a batch moves on PostgreSQL and
// locks the unsharded ones that some journal changes, as
// postOneStatementSQL does: a nested loop over the VALUES, ascending ids,
// locks them one at a time in that order and reads each at its latest
// balance. The member's status is read only for a debited account (the
// equity rule). %s is one "(id, moves, debited)" per account. The LATERALs
// (OFFSET 0 keeps them so) reach every row by its primary key: with IN
// lists, a cooperative just imported (no statistics yet) was read whole
// for every chunk.
const batchAccountsPgSQL = `SELECT x.id, a.cooperative_id, a.kind, a.normal, a.bounded, a.sharded,
	COALESCE(lk.balance, a.balance) AS balance,
	CASE WHEN x.debited THEN (SELECT m.status FROM members m WHERE m.id = a.member_id) END AS member_status
FROM (VALUES %s) AS x (id, moves, debited)
CROSS JOIN LATERAL (SELECT cooperative_id, kind, normal, bounded, sharded, member_id, balance FROM accounts WHERE id = x.id OFFSET 0) AS a
LEFT JOIN LATERAL (SELECT balance FROM accounts WHERE id = x.id AND NOT a.sharded AND x.moves FOR NO KEY UPDATE) AS lk ON TRUE`

// existingJournalsSQL finds keys posted before on SQLite; %s is the keys.
const existingJournalsSQL = `SELECT id, idem_key, request_hash FROM journals WHERE cooperative_id = ? AND idem_key IN (%s)`

// existingJournalsPgSQL is existingJournalsSQL on PostgreSQL: the keys in
// one array, one index probe per key (an IN list was answered by reading
// the cooperative's journals before it had statistics).
const existingJournalsPgSQL = `SELECT j.id, j.idem_key, j.request_hash FROM unnest($1::text[]) AS k (key)
CROSS JOIN LATERAL (SELECT id, idem_key, request_hash FROM journals WHERE cooperative_id = $2 AND idem_key = k.key OFFSET 0) AS j`

// insertJournalsSQL: %s is one "(?, …)" of 9 values per journal.
const insertJournalsSQL = `INSERT INTO journals (cooperative_id, idem_key, request_hash, kind, memo, actor, reason, reverses_id, created_at)
VALUES %s ON CONFLICT (cooperative_id, idem_key) DO NOTHING RETURNING id, cooperative_id, idem_key`

// addBalancesSQL adds to the balance of unsharded accounts; the first %s
// is one "(CAST(? AS BIGINT), CAST(? AS BIGINT))" per account (the casts
// tell PostgreSQL the VALUES' types), the second the ids again: without
// them PostgreSQL joined the VALUES to every account of the installation.
const addBalancesSQL = `WITH v (id, delta) AS (VALUES %s)
UPDATE accounts SET balance = accounts.balance + v.delta FROM v WHERE accounts.id = v.id AND accounts.id IN (%s)`

// PostBatchTx posts js inside tx, in order, and returns their ids in js's
// order. It leaves exactly the rows that one PostTx per journal would: each
// journal validated and hashed as PostTx does; a key posted before (or
// earlier in js) with the same request answers with its journal's id and
// writes nothing, with a different request it fails with
// ErrIdempotencyConflict; the same equity, cooperative and balance rules,
// checked journal by journal in order (a journal may spend what an earlier
// one of the batch brought in); entries in posting order; a hot account's
// movement on the shard of the journal's id.
//
// The batch is all or nothing: the first journal PostTx would refuse
// refuses the batch with PostTx's error, and nothing is written, so tx
// stays usable. Every check is made before the first write; the one
// exception is a key posted by a concurrent transaction between the check
// and the insert, after which an error leaves writes behind: as with
// PostTx, roll tx back on any error.
//
// The unsharded accounts the journals change are locked in ascending id
// order before anything is written, hot accounts' shard rows in ascending
// order last, as PostTx does: batches and single postings queue on each
// other instead of deadlocking. Unlike PostTx, the batch takes no id from the journals'
// sequence for a key that was posted before.
func PostBatchTx(ctx context.Context, tx *sqlx.Tx, js []Journal, now time.Time) ([]int64, error) {
	return postBatch(ctx, tx, nil, js, now)
}

// NewAccount is an account for OpenAccountsTx to create: the one
// CreateAccount(coopID, kind, owner) would.
type NewAccount struct {
	CooperativeID int64
	Kind          AccountKind
	Owner         Owner
}

// OpenAccountsTx creates accounts and posts the journals that give them
// their opening balances (an import of a cooperative's members), leaving
// exactly the rows one CreateAccount per account, in order, then
// PostBatchTx(opening(ids)) would, but writing each new account once, with
// its balance, instead of inserting it empty and updating it (which cost
// as much again as the insert). opening is given the new accounts' ids, in
// the order of accounts, and returns the journals; they may move other
// accounts too. A refused journal refuses it all, as with PostBatchTx, and
// nothing is written; the exception: a journal moving a new account cannot
// be a retry (its request names an id never used before), so its key is
// not looked up first, and one found already taken by the insert fails it
// with ErrIdempotencyConflict after writes: roll tx back on any error.
func OpenAccountsTx(ctx context.Context, tx *sqlx.Tx, accounts []NewAccount, opening func(ids []int64) []Journal,
	now time.Time) (accountIDs, journalIDs []int64, err error) {
	accountIDs, err = reserveAccountIDs(ctx, tx, len(accounts))
	if err != nil {
		return nil, nil, err
	}
	js := opening(accountIDs)
	opened := make([]*batchAccount, len(accounts))
	for i, a := range accounts {
		normal, bounded := a.Kind.rules()
		opened[i] = &batchAccount{accountRow: accountRow{ID: accountIDs[i], CooperativeID: a.CooperativeID, Kind: string(a.Kind),
			Normal: normal, Bounded: bounded, Sharded: a.Kind.sharded()}, opened: true, owner: a.Owner}
	}
	if err := readOwnerStatus(ctx, tx, opened, js); err != nil {
		return nil, nil, err
	}
	journalIDs, err = postBatch(ctx, tx, opened, js, now)
	if err != nil {
		return nil, nil, err
	}
	return accountIDs, journalIDs, nil
}

// nextAccountIDsPgSQL takes n ids from the accounts' sequence (BIGSERIAL's,
// named once: pg_get_serial_sequence would be looked up for every id), as
// n INSERTs would.
const nextAccountIDsPgSQL = `SELECT nextval('accounts_id_seq'::regclass) AS id FROM generate_series(1, $1) ORDER BY 1`

// nextAccountIDSQLiteSQL is the id SQLite's AUTOINCREMENT gives the next
// account (the largest it ever gave, or the largest there, plus one).
// SQLite transactions hold the database's write lock from their first
// statement, so no other one takes it meanwhile.
const nextAccountIDSQLiteSQL = `SELECT MAX(id) + 1 FROM (SELECT seq AS id FROM sqlite_sequence WHERE name = 'accounts'
UNION ALL SELECT COALESCE(MAX(id), 0) FROM accounts)`

// reserveAccountIDs returns the ids the next n accounts created in tx get.
func reserveAccountIDs(ctx context.Context, tx *sqlx.Tx, n int) ([]int64, error) {
	if n == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, n)
	if tx.DriverName() == "postgres" {
		if err := tx.SelectContext(ctx, &ids, nextAccountIDsPgSQL, n); err != nil {
			return nil, fmt.Errorf("reserve account ids: %w", err)
		}
		return ids, nil
	}
	var next int64
	if err := tx.GetContext(ctx, &next, nextAccountIDSQLiteSQL); err != nil {
		return nil, fmt.Errorf("reserve account ids: %w", err)
	}
	for i := range int64(n) {
		ids = append(ids, next+i)
	}
	return ids, nil
}

// readOwnerStatus reads, for the equity rule, the status of the members
// whose new pokok or wajib account js debit.
func readOwnerStatus(ctx context.Context, tx *sqlx.Tx, opened []*batchAccount, js []Journal) error {
	byID := make(map[int64]*batchAccount, len(opened))
	for _, a := range opened {
		byID[a.ID] = a
	}
	owners := map[int64][]*batchAccount{}
	for _, j := range js {
		for _, p := range j.Postings {
			if a := byID[p.From]; a != nil && a.owner.MemberID != 0 && (a.Kind == string(Pokok) || a.Kind == string(Wajib)) {
				owners[a.owner.MemberID] = append(owners[a.owner.MemberID], a)
			}
		}
	}
	for chunk := range slices.Chunk(slices.Sorted(maps.Keys(owners)), batchReadRows) {
		var rows []struct {
			ID     int64  `db:"id"`
			Status string `db:"status"`
		}
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(fmt.Sprintf(`SELECT id, status FROM members WHERE id IN (%s)`, placeholders(len(chunk)))), int64Args(chunk)...); err != nil {
			return fmt.Errorf("read members: %w", err)
		}
		for _, r := range rows {
			for _, a := range owners[r.ID] {
				a.MemberStatus.String, a.MemberStatus.Valid = r.Status, true
			}
		}
	}
	return nil
}

// insertAccountsSQL: %s is one "(?, …)" of 11 values per account.
const insertAccountsSQL = `INSERT INTO accounts (id, cooperative_id, kind, member_id, staff_id, loan_id, normal, bounded, sharded, balance, created_at)
VALUES %s`

// insertOpenedAccounts writes the new accounts with the balances the batch
// leaves them (total, from which they are taken out).
func insertOpenedAccounts(ctx context.Context, tx *sqlx.Tx, opened []*batchAccount, total map[int64]int64, now time.Time) error {
	for chunk := range slices.Chunk(opened, batchAccountRows) {
		args := make([]any, 0, 11*len(chunk))
		for _, a := range chunk {
			args = append(args, a.ID, a.CooperativeID, a.Kind, nullID(a.owner.MemberID), nullID(a.owner.StaffID), nullID(a.owner.LoanID),
				a.Normal, a.Bounded, a.Sharded, total[a.ID], now.UTC())
			delete(total, a.ID)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(fmt.Sprintf(insertAccountsSQL, tuples(len(chunk), 11))), args...); err != nil {
			return fmt.Errorf("create accounts: %w", err)
		}
	}
	return nil
}

// postBatch is PostBatchTx that also creates the accounts opened (not yet
// in the database), with the balances js leave them.
func postBatch(ctx context.Context, tx *sqlx.Tx, opened []*batchAccount, js []Journal, now time.Time) ([]int64, error) {
	if len(js) == 0 && len(opened) == 0 {
		return nil, nil
	}
	b := make([]batchJournal, len(js))
	for i, j := range js {
		b[i] = batchJournal{Journal: j, dupOf: -1}
	}
	// limit is the index of the first journal known to be refused, and
	// refusal its error: only the journals before it still matter.
	limit, refusal := len(b), error(nil)
	refuse := func(i int, err error) {
		if i < limit {
			limit, refusal = i, err
		}
	}

	first := make(map[batchKey]int, len(b))
	for i := range b {
		j := &b[i]
		if err := j.validate(); err != nil {
			refuse(i, err)
			break
		}
		j.hash = j.requestHash()
		k := batchKey{j.CooperativeID, j.Key}
		p, seen := first[k]
		if !seen {
			first[k] = i
			continue
		}
		if b[p].hash != j.hash {
			refuse(i, fmt.Errorf("journal %q: %w", j.Key, ErrIdempotencyConflict))
			break
		}
		j.dupOf = p
	}

	// A journal that moves an account opened here cannot have been posted
	// before with the same request (its hash names an id never used): its
	// key is looked up only to report a refusal as PostTx would, and
	// otherwise found taken, if it is, by the insert.
	accts := make(map[int64]*batchAccount, len(opened))
	for _, a := range opened {
		accts[a.ID] = a
	}
	unseen := func(j *batchJournal) bool {
		for _, p := range j.Postings {
			if from, to := accts[p.From], accts[p.To]; from != nil && from.opened || to != nil && to.opened {
				return true
			}
		}
		return false
	}
	seen := func(j *batchJournal) bool { return !unseen(j) }
	if err := readExistingJournals(ctx, tx, b[:limit], seen, refuse); err != nil {
		return nil, err
	}
	if err := loadBatchAccounts(ctx, tx, b[:limit], accts); err != nil {
		return nil, err
	}
	for i := range b[:limit] {
		if b[i].fresh() {
			if err := checkAccounts(&b[i], accts); err != nil {
				refuse(i, err)
				break
			}
		}
	}
	balances, short := simulateBalances(b[:limit], accts)
	if (short != nil || refusal != nil) && len(opened) > 0 {
		if err := readExistingJournals(ctx, tx, b[:limit], unseen, refuse); err != nil {
			return nil, err
		}
		balances, short = simulateBalances(b[:limit], accts)
	}
	if short != nil {
		return nil, short
	}
	if refusal != nil {
		return nil, refusal
	}

	raced, err := insertJournals(ctx, tx, b, now)
	if err != nil {
		return nil, err
	}
	if raced {
		// Keys posted concurrently since they were read are not this
		// batch's: the balances are worked out again without them.
		if balances, err = simulateBalances(b, accts); err != nil {
			return nil, err
		}
	}
	if err := insertOpenedAccounts(ctx, tx, opened, balances, now); err != nil {
		return nil, err
	}
	if err := insertBatchEntries(ctx, tx, b); err != nil {
		return nil, err
	}
	if err := addBalances(ctx, tx, balances); err != nil {
		return nil, err
	}
	if err := addShardBalances(ctx, tx, b, accts); err != nil {
		return nil, err
	}

	ids := make([]int64, len(b))
	for i := range b {
		if b[i].dupOf >= 0 {
			b[i].id = b[b[i].dupOf].id
		}
		ids[i] = b[i].id
	}
	return ids, nil
}

// readExistingJournals marks the journals (of those which selects) whose
// key was posted before,
// with their id, and refuses the first whose request differs.
func readExistingJournals(ctx context.Context, tx *sqlx.Tx, b []batchJournal, which func(*batchJournal) bool, refuse func(int, error)) error {
	byKey := map[batchKey]int{}
	keys := map[int64][]string{}
	for i := range b {
		if b[i].dupOf < 0 && which(&b[i]) {
			byKey[batchKey{b[i].CooperativeID, b[i].Key}] = i
			keys[b[i].CooperativeID] = append(keys[b[i].CooperativeID], b[i].Key)
		}
	}
	for _, coop := range slices.Sorted(maps.Keys(keys)) {
		for chunk := range slices.Chunk(keys[coop], batchReadRows) {
			query, args := existingJournalsPgSQL, []any{pq.StringArray(chunk), coop}
			if tx.DriverName() != "postgres" {
				query, args = tx.Rebind(fmt.Sprintf(existingJournalsSQL, placeholders(len(chunk)))), []any{coop}
				for _, k := range chunk {
					args = append(args, k)
				}
			}
			var prev []struct {
				ID   int64  `db:"id"`
				Key  string `db:"idem_key"`
				Hash string `db:"request_hash"`
			}
			if err := tx.SelectContext(ctx, &prev, query, args...); err != nil {
				return fmt.Errorf("read journals: %w", err)
			}
			for _, p := range prev {
				i := byKey[batchKey{coop, p.Key}]
				if p.Hash != b[i].hash {
					refuse(i, fmt.Errorf("journal %q: %w", p.Key, ErrIdempotencyConflict))
					continue
				}
				b[i].exists, b[i].id = true, p.ID
			}
		}
	}
	return nil
}

// loadBatchAccounts adds to accts every other account the fresh journals
// of b move (locking, on PostgreSQL, the unsharded ones they change).
func loadBatchAccounts(ctx context.Context, tx *sqlx.Tx, b []batchJournal, accts map[int64]*batchAccount) error {
	type use struct{ moves, debited bool }
	uses := map[int64]*use{}
	for i := range b {
		if !b[i].fresh() {
			continue
		}
		net := map[int64]int64{} // debits less credits: a journal changes an account unless they cancel out
		for _, p := range b[i].Postings {
			net[p.From] += p.Amount
			net[p.To] -= p.Amount
		}
		for id, n := range net {
			if accts[id] != nil {
				continue
			}
			if uses[id] == nil {
				uses[id] = &use{}
			}
			uses[id].moves = uses[id].moves || n != 0
		}
		for _, p := range b[i].Postings {
			if u := uses[p.From]; u != nil {
				u.debited = true
			}
		}
	}
	ids := slices.Sorted(maps.Keys(uses))
	for chunk := range slices.Chunk(ids, batchReadRows) {
		query := fmt.Sprintf(batchAccountsSQL, placeholders(len(chunk)))
		args := int64Args(chunk)
		if tx.DriverName() == "postgres" {
			query = fmt.Sprintf(batchAccountsPgSQL, strings.TrimSuffix(strings.Repeat("(CAST(? AS BIGINT), CAST(? AS BOOLEAN), CAST(? AS BOOLEAN)), ", len(chunk)), ", "))
			args = make([]any, 0, 3*len(chunk))
			for _, id := range chunk {
				args = append(args, id, uses[id].moves, uses[id].debited)
			}
		}
		var rows []batchAccount
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("load accounts: %w", err)
		}
		for i := range rows {
			accts[rows[i].ID] = &rows[i]
		}
	}
	return nil
}

// checkAccounts applies PostTx's rules that do not depend on balances to
// a fresh journal, in postOneStatement's order: every account exists, none
// is of another cooperative, no active member's equity is debited (other
// than by a reversal).
func checkAccounts(j *batchJournal, accts map[int64]*batchAccount) error {
	ids := journalAccounts(j.Journal)
	for _, id := range ids {
		if accts[id] == nil {
			return fmt.Errorf("journal %q: account %w", j.Key, ErrNotFound)
		}
	}
	for _, id := range ids {
		if accts[id].CooperativeID != j.CooperativeID {
			return fmt.Errorf("journal %q: account %d: %w", j.Key, id, ErrCrossCooperative)
		}
	}
	if j.reverses == 0 {
		debited := map[int64]bool{}
		for _, p := range j.Postings {
			debited[p.From] = true
		}
		for _, id := range ids {
			a := accts[id]
			if debited[id] && (a.Kind == string(Pokok) || a.Kind == string(Wajib)) && a.MemberStatus.String == "active" {
				return fmt.Errorf("journal %q: account %d: %w", j.Key, id, ErrEquityLocked)
			}
		}
	}
	return nil
}

// journalAccounts are the accounts of j, ascending.
func journalAccounts(j Journal) []int64 {
	ids := make([]int64, 0, 2*len(j.Postings))
	for _, p := range j.Postings {
		ids = append(ids, p.From, p.To)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// journalDeltas is j's net movement per account in the account's natural
// sign, accounts ascending, without the accounts it leaves unchanged.
func journalDeltas(j Journal, accts map[int64]*batchAccount) (ids []int64, deltas map[int64]int64) {
	deltas = make(map[int64]int64, 2*len(j.Postings))
	for _, p := range j.Postings {
		deltas[p.From] += signed(accts[p.From].Normal, 'D', p.Amount)
		deltas[p.To] += signed(accts[p.To].Normal, 'C', p.Amount)
	}
	for _, id := range journalAccounts(j) {
		if deltas[id] != 0 {
			ids = append(ids, id)
		}
	}
	return ids, deltas
}

// simulateBalances runs the fresh journals of b, in order, over the
// unsharded accounts' balances as PostTx would (a bounded account may not
// end a journal below zero) and returns each moved account's total change.
// The balances in accts are left as read.
func simulateBalances(b []batchJournal, accts map[int64]*batchAccount) (map[int64]int64, error) {
	balance := map[int64]int64{}
	total := map[int64]int64{}
	for i := range b {
		if !b[i].fresh() {
			continue
		}
		moved, deltas := journalDeltas(b[i].Journal, accts)
		for _, id := range moved {
			a := accts[id]
			if a.Sharded {
				continue
			}
			bal, ok := balance[id]
			if !ok {
				bal = a.Balance
			}
			if a.Bounded && bal+deltas[id] < 0 {
				return nil, fmt.Errorf("journal %q: account %d: %w", b[i].Key, id, ErrInsufficientFunds)
			}
			balance[id] = bal + deltas[id]
			total[id] += deltas[id]
		}
	}
	return total, nil
}

// insertJournals writes the fresh journals of b and sets their ids. A key
// posted by a concurrent transaction since it was read is taken as posted
// before (raced reports that one was); with a different request it is
// ErrIdempotencyConflict.
func insertJournals(ctx context.Context, tx *sqlx.Tx, b []batchJournal, now time.Time) (raced bool, err error) {
	var fresh []*batchJournal
	for i := range b {
		if b[i].fresh() {
			fresh = append(fresh, &b[i])
		}
	}
	for chunk := range slices.Chunk(fresh, batchJournalRows) {
		args := make([]any, 0, 9*len(chunk))
		for _, j := range chunk {
			args = append(args, j.CooperativeID, j.Key, j.hash, j.Kind, j.Memo, j.Actor, j.reason, nullID(j.reverses), now.UTC())
		}
		var rows []struct {
			ID   int64  `db:"id"`
			Coop int64  `db:"cooperative_id"`
			Key  string `db:"idem_key"`
		}
		if err := tx.SelectContext(ctx, &rows, tx.Rebind(fmt.Sprintf(insertJournalsSQL, tuples(len(chunk), 9))), args...); err != nil {
			return false, fmt.Errorf("insert journals: %w", err)
		}
		id := make(map[batchKey]int64, len(rows))
		for _, r := range rows {
			id[batchKey{r.Coop, r.Key}] = r.ID
		}
		for _, j := range chunk {
			if j.id = id[batchKey{j.CooperativeID, j.Key}]; j.id != 0 {
				continue
			}
			raced = true
			var prev struct {
				ID   int64  `db:"id"`
				Hash string `db:"request_hash"`
			}
			if err := tx.GetContext(ctx, &prev, tx.Rebind(existingJournalSQL), j.CooperativeID, j.Key); err != nil {
				return false, fmt.Errorf("read journal %q: %w", j.Key, err)
			}
			if prev.Hash != j.hash {
				return false, fmt.Errorf("journal %q: %w", j.Key, ErrIdempotencyConflict)
			}
			j.exists, j.id = true, prev.ID
		}
	}
	return raced, nil
}

// insertBatchEntries writes the entries of the fresh journals of b: a
// debit then a credit per posting, journal after journal, so entry ids
// follow the postings as with PostTx.
func insertBatchEntries(ctx context.Context, tx *sqlx.Tx, b []batchJournal) error {
	args := make([]any, 0, 5*batchEntryRows)
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		query := strings.TrimPrefix(fmt.Sprintf(insertEntriesSQL, tuples(len(args)/5, 5)), Prepared)
		if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("insert entries: %w", err)
		}
		args = args[:0]
		return nil
	}
	for i := range b {
		j := &b[i]
		if !j.fresh() {
			continue
		}
		for _, p := range j.Postings {
			if len(args)+10 > 5*batchEntryRows {
				if err := flush(); err != nil {
					return err
				}
			}
			args = append(args, j.CooperativeID, j.id, p.From, "D", p.Amount, j.CooperativeID, j.id, p.To, "C", p.Amount)
		}
	}
	return flush()
}

// addBalances adds each unsharded account's total change, ascending ids.
// The accounts were checked (and on PostgreSQL locked) before.
func addBalances(ctx context.Context, tx *sqlx.Tx, total map[int64]int64) error {
	ids := slices.Sorted(maps.Keys(total))
	ids = slices.DeleteFunc(ids, func(id int64) bool { return total[id] == 0 })
	for chunk := range slices.Chunk(ids, batchUpdateRows) {
		args := make([]any, 0, 3*len(chunk))
		for _, id := range chunk {
			args = append(args, id, total[id])
		}
		args = append(args, int64Args(chunk)...)
		values := strings.TrimSuffix(strings.Repeat("(CAST(? AS BIGINT), CAST(? AS BIGINT)), ", len(chunk)), ", ")
		res, err := tx.ExecContext(ctx, tx.Rebind(fmt.Sprintf(addBalancesSQL, values, placeholders(len(chunk)))), args...)
		if err != nil {
			return fmt.Errorf("update balances: %w", err)
		}
		if n, err := res.RowsAffected(); err == nil && n != int64(len(chunk)) {
			return fmt.Errorf("update balances: %d of %d accounts updated", n, len(chunk))
		}
	}
	return nil
}

// addShardBalances adds the hot accounts' movements to the shard of each
// fresh journal's id, one row per account and shard, ascending. A shard a
// journal moved gets its row even when the batch nets it to zero, as with
// PostTx.
func addShardBalances(ctx context.Context, tx *sqlx.Tx, b []batchJournal, accts map[int64]*batchAccount) error {
	type shardKey struct{ account, shard int64 }
	sums := map[shardKey]int64{}
	for i := range b {
		if !b[i].fresh() {
			continue
		}
		moved, deltas := journalDeltas(b[i].Journal, accts)
		for _, id := range moved {
			if accts[id].Sharded {
				sums[shardKey{id, b[i].id % Shards}] += deltas[id]
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(sums), func(x, y shardKey) int {
		return cmp.Or(cmp.Compare(x.account, y.account), cmp.Compare(x.shard, y.shard))
	})
	q, withCoop := shardDeltasSQL(tx)
	for chunk := range slices.Chunk(keys, batchReadRows) {
		args := make([]any, 0, 4*len(chunk))
		for _, k := range chunk {
			args = append(args, k.account, k.shard, sums[k])
			if withCoop {
				args = append(args, accts[k.account].CooperativeID)
			}
		}
		query := strings.TrimPrefix(q(len(chunk)), Prepared)
		if _, err := tx.ExecContext(ctx, tx.Rebind(query), args...); err != nil {
			return fmt.Errorf("update balances of hot accounts: %w", err)
		}
	}
	return nil
}

func int64Args(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}
