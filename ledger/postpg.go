package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// postOneStatementSQL is a whole posting on PostgreSQL in one statement, so
// it costs one round trip (three inside a caller's transaction: begin, this,
// commit) instead of one per step. It does what postSteps does, in the same
// order, and writes nothing unless every rule holds:
//
//  1. a: each account of the journal (the first VALUES: one row per
//     account, ascending id, with its net debits and credits), looked up
//     in the journal's cooperative only, with its rules, its movement in
//     its natural sign, and what would stop the journal (equity of an
//     active member debited other than by a reversal, a bounded account
//     going below zero). An account of another cooperative is not found
//     here; which it was is asked only after a refusal (crossOrMissing).
//     Every table is filtered on $1, the journal's cooperative, so a
//     cluster distributed by cooperative_id can send the whole statement
//     to one node (ledger/CITUS.md).
//     Unsharded accounts that move are locked as they are read, one at a
//     time in ascending id order (a nested loop over the sorted rows), so
//     two journals on the same accounts queue instead of deadlocking, and
//     each is read at its latest balance (READ COMMITTED rechecks a locked
//     row that changed);
//  2. j: the journal, only if every account exists and nothing stops it;
//     ON CONFLICT on the idempotency key inserts nothing;
//  3. u, e, s: only with a new journal: the locked balances, the entries
//     (the second VALUES: a debit then a credit per posting, so ids follow
//     the postings) and the shard rows of hot accounts (ascending id, after
//     every unsharded account: still one global lock order).
//
// The result says which rule stopped it, if any; no id and no rule means
// the key was posted before. Every table is reached by its primary key
// from one row at a time, and the rows are VALUES rather than arrays so
// the prepared statement's generic plan costs what a custom one does and
// is kept (with arrays PostgreSQL planned it again on every call). %s are
// the two VALUES lists, %d the number of accounts.
const postOneStatementSQL = Prepared + `WITH
a AS MATERIALIZED (
	SELECT x.id, acc.sharded, lk.balance IS NOT NULL AS locked,
		CASE WHEN acc.normal = 'debit' THEN x.dr - x.cr ELSE x.cr - x.dr END AS delta,
		x.dr > 0 AND acc.kind IN ('pokok', 'wajib') AND $8::bigint IS NULL
			AND (SELECT m.status FROM members m WHERE m.id = acc.member_id AND m.cooperative_id = $1::bigint) = 'active' AS equity_locked,
		acc.bounded AND lk.balance + CASE WHEN acc.normal = 'debit' THEN x.dr - x.cr ELSE x.cr - x.dr END < 0 AS short
	FROM (VALUES %s) AS x (id, dr, cr)
	CROSS JOIN LATERAL (SELECT kind, normal, bounded, sharded, member_id FROM accounts WHERE id = x.id AND cooperative_id = $1::bigint OFFSET 0) AS acc
	LEFT JOIN LATERAL (SELECT balance FROM accounts WHERE id = x.id AND cooperative_id = $1::bigint AND NOT acc.sharded AND x.dr <> x.cr FOR NO KEY UPDATE) AS lk ON TRUE
),
chk AS MATERIALIZED (
	SELECT %d - COUNT(*) AS missing,
		MIN(id) FILTER (WHERE equity_locked) AS equity_id,
		MIN(id) FILTER (WHERE short) AS short_id
	FROM a
),
j AS (
	INSERT INTO journals (cooperative_id, idem_key, request_hash, kind, memo, actor, reason, reverses_id, created_at)
	SELECT $1::bigint, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::bigint, $9::timestamptz
	FROM chk WHERE missing = 0 AND equity_id IS NULL AND short_id IS NULL
	ON CONFLICT (cooperative_id, idem_key) DO NOTHING RETURNING id
),
u AS (
	UPDATE accounts SET balance = accounts.balance + a.delta FROM a WHERE accounts.id = a.id AND accounts.cooperative_id = $1::bigint AND a.locked AND EXISTS (SELECT FROM j)
),
e AS (
	INSERT INTO entries (cooperative_id, journal_id, account_id, side, amount)
	SELECT $1::bigint, (SELECT id FROM j), x.account_id, x.side, x.amount
	FROM (VALUES %s) AS x (account_id, side, amount)
	WHERE EXISTS (SELECT FROM j)
),
s AS (
	INSERT INTO account_shards (account_id, shard, balance, cooperative_id)
	SELECT a.id, j.id %% $10::bigint, a.delta, $1::bigint FROM a, j WHERE a.sharded AND a.delta <> 0 ORDER BY a.id
	ON CONFLICT (account_id, shard, cooperative_id) DO UPDATE SET balance = account_shards.balance + excluded.balance
)
SELECT (SELECT id FROM j) AS id, missing, equity_id, short_id FROM chk`

type postOutcome struct {
	ID       sql.NullInt64 `db:"id"`
	Missing  int64         `db:"missing"`
	EquityID sql.NullInt64 `db:"equity_id"`
	ShortID  sql.NullInt64 `db:"short_id"`
}

// maxPostingsPerStatement: larger journals (rare) are posted by postSteps,
// far below PostgreSQL's 65,535 parameters per statement.
const maxPostingsPerStatement = maxPostingsPerInsert

// maxPreparedPostings: the statement's text depends on the number of
// accounts and postings; only the common small shapes (a deposit, a
// transfer, a repayment's four parts) are kept prepared, so rare large
// journals do not take the connection's prepared slots from the hot reads.
const maxPreparedPostings = 4

// postOneStatement posts j on PostgreSQL with postOneStatementSQL, on q: the
// database itself (the statement is its own transaction) or a caller's
// transaction. hash is j.requestHash(); j has at most
// maxPostingsPerStatement postings.
func postOneStatement(ctx context.Context, q sqlx.QueryerContext, j Journal, hash string, now time.Time) (int64, error) {
	// Net debits and credits per account, accounts in ascending id order.
	ids := make([]int64, 0, 2*len(j.Postings))
	for _, p := range j.Postings {
		ids = append(ids, p.From, p.To)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	dr := make([]int64, len(ids))
	cr := make([]int64, len(ids))
	for _, p := range j.Postings {
		f, _ := slices.BinarySearch(ids, p.From)
		t, _ := slices.BinarySearch(ids, p.To)
		dr[f] += p.Amount
		cr[t] += p.Amount
	}
	args := make([]any, 0, 10+3*len(ids)+3*len(j.Postings))
	args = append(args, j.CooperativeID, j.Key, hash, j.Kind, j.Memo, j.Actor, j.reason, nullID(j.reverses), now.UTC(), int64(Shards))
	var accounts, entries strings.Builder
	for i, id := range ids {
		n := len(args)
		if i > 0 {
			accounts.WriteString(", ")
		}
		fmt.Fprintf(&accounts, "($%d::bigint, $%d::bigint, $%d::bigint)", n+1, n+2, n+3)
		args = append(args, id, dr[i], cr[i])
	}
	for i, p := range j.Postings {
		n := len(args)
		if i > 0 {
			entries.WriteString(", ")
		}
		fmt.Fprintf(&entries, "($%d::bigint, 'D', $%d::bigint), ($%d::bigint, 'C', $%d::bigint)", n+1, n+3, n+2, n+3)
		args = append(args, p.From, p.To, p.Amount)
	}
	query := fmt.Sprintf(postOneStatementSQL, accounts.String(), len(ids), entries.String())
	if len(j.Postings) > maxPreparedPostings {
		query = strings.TrimPrefix(query, Prepared)
	}
	var out postOutcome
	err := sqlx.GetContext(ctx, q, &out, query, args...)
	if err != nil {
		return 0, fmt.Errorf("post journal %q: %w", j.Key, err)
	}
	if out.ID.Valid {
		return out.ID.Int64, nil
	}
	// Nothing written. A key posted before answers first, as in postSteps
	// (a retry of a withdrawal that emptied the account is not refused),
	// then the rule that stopped it.
	var prev struct {
		ID   int64  `db:"id"`
		Hash string `db:"request_hash"`
	}
	err = sqlx.GetContext(ctx, q, &prev, existingJournalPgSQL, j.CooperativeID, j.Key)
	switch {
	case err == nil:
		if prev.Hash != hash {
			return 0, fmt.Errorf("journal %q: %w", j.Key, ErrIdempotencyConflict)
		}
		return prev.ID, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, fmt.Errorf("read journal %q: %w", j.Key, err)
	}
	switch {
	case out.Missing != 0:
		return 0, crossOrMissing(ctx, q, j, ids)
	case out.EquityID.Valid:
		return 0, fmt.Errorf("journal %q: account %d: %w", j.Key, out.EquityID.Int64, ErrEquityLocked)
	case out.ShortID.Valid:
		return 0, fmt.Errorf("journal %q: account %d: %w", j.Key, out.ShortID.Int64, ErrInsufficientFunds)
	}
	return 0, fmt.Errorf("read journal %q: %w", j.Key, sql.ErrNoRows)
}

const existingJournalPgSQL = `SELECT id, request_hash FROM journals WHERE cooperative_id = $1 AND idem_key = $2`

// accountsAnywherePgSQL looks ids up in every cooperative: only after a
// refusal, to tell an account of another cooperative from none at all (on
// a distributed database, a query to every node, off the hot path).
const accountsAnywherePgSQL = `SELECT COUNT(*) AS found, MIN(id) FILTER (WHERE cooperative_id <> $1) AS cross_id
FROM accounts WHERE id = ANY($2)`

// crossOrMissing is the error for a journal some of whose accounts ids
// are not in its cooperative: ErrNotFound if one exists nowhere (as
// postSteps checks first), else ErrCrossCooperative with the first
// account of another cooperative.
func crossOrMissing(ctx context.Context, q sqlx.QueryerContext, j Journal, ids []int64) error {
	var r struct {
		Found   int64         `db:"found"`
		CrossID sql.NullInt64 `db:"cross_id"`
	}
	if err := sqlx.GetContext(ctx, q, &r, accountsAnywherePgSQL, j.CooperativeID, pq.Array(ids)); err != nil {
		return fmt.Errorf("read accounts of journal %q: %w", j.Key, err)
	}
	if r.Found != int64(len(ids)) || !r.CrossID.Valid {
		return fmt.Errorf("journal %q: account %w", j.Key, ErrNotFound)
	}
	return fmt.Errorf("journal %q: account %d: %w", j.Key, r.CrossID.Int64, ErrCrossCooperative)
}
