package ledger_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// batchBooks is a fresh database with the same cooperatives, members and
// accounts (so the same ids) as every other batchBooks of its dialect.
type batchBooks struct {
	db      *ledger.DB
	coop    ledgertest.Coop
	members []ledgertest.Member
	other   ledgertest.Member // of another cooperative
}

func newBatchBooks(t *testing.T, dialect ledger.Dialect) batchBooks {
	t.Helper()
	var db *ledger.DB
	if dialect == ledger.Postgres {
		db = ledgertest.Postgres(t)
	} else {
		db = ledgertest.SQLite(t)
	}
	bk := batchBooks{db: db, coop: ledgertest.NewCoop(t, db, "KSP1")}
	for i := range 3 {
		bk.members = append(bk.members, ledgertest.NewMember(t, db, bk.coop, fmt.Sprintf("A-%03d", i+1), fmt.Sprintf("+62812345678%02d", i)))
	}
	bk.other = ledgertest.NewMember(t, db, ledgertest.NewCoop(t, db, "KSP2"), "B-001", "+6281299990000")
	return bk
}

// helper marks the caller a test helper, for a *testing.T (a *rapid.T has
// no Helper).
func helper(t require.TestingT) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
}

// alignSequences sets the next account, journal and entry ids to one past
// the largest. PostTx's INSERT … ON CONFLICT DO NOTHING for a key posted
// before takes an id it never uses (a PostgreSQL sequence value, a bump of
// SQLite's AUTOINCREMENT counter), and on PostgreSQL a rolled-back posting
// keeps the ids it took, while the batch takes none. Gaps are not rows,
// but a journal's id picks its hot shard: with both databases' next ids
// kept equal, the rows compare exactly.
func alignSequences(t require.TestingT, ctx context.Context, q sqlx.ExecerContext, dialect ledger.Dialect) {
	helper(t)
	for _, table := range []string{"accounts", "journals", "entries"} {
		query := fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE(MAX(id), 0) + 1, false) FROM %s`, table, table)
		if dialect == ledger.SQLite {
			query = fmt.Sprintf(`UPDATE sqlite_sequence SET seq = (SELECT COALESCE(MAX(id), 0) FROM %s) WHERE name = '%s'`, table, table)
		}
		_, err := q.ExecContext(ctx, query)
		require.NoError(t, err)
	}
}

// postBatch posts js with one PostBatchTx in one transaction.
func postBatch(t require.TestingT, bk batchBooks, js []ledger.Journal, now time.Time) ([]int64, error) {
	helper(t)
	ctx := context.Background()
	alignSequences(t, ctx, bk.db, bk.db.Dialect)
	var ids []int64
	err := bk.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		ids, err = ledger.PostBatchTx(ctx, tx, js, now)
		return err
	})
	return ids, err
}

// postEach posts js with one PostTx per journal in one transaction,
// stopping at the first error.
func postEach(t require.TestingT, bk batchBooks, js []ledger.Journal, now time.Time) ([]int64, error) {
	helper(t)
	ctx := context.Background()
	alignSequences(t, ctx, bk.db, bk.db.Dialect)
	var ids []int64
	err := bk.db.InTx(ctx, func(tx *sqlx.Tx) error {
		for _, j := range js {
			alignSequences(t, ctx, tx, bk.db.Dialect)
			id, err := ledger.PostTx(ctx, tx, j, now)
			if err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// bookRows is every row the ledger writes when it posts, ids included.
type bookRows struct {
	Journals []struct {
		ID        int64         `db:"id"`
		Coop      int64         `db:"cooperative_id"`
		Key       string        `db:"idem_key"`
		Hash      string        `db:"request_hash"`
		Kind      string        `db:"kind"`
		Memo      string        `db:"memo"`
		Actor     string        `db:"actor"`
		Reason    string        `db:"reason"`
		Reverses  sql.NullInt64 `db:"reverses_id"`
		CreatedAt time.Time     `db:"created_at"`
	}
	Entries []struct {
		ID      int64  `db:"id"`
		Coop    int64  `db:"cooperative_id"`
		Journal int64  `db:"journal_id"`
		Account int64  `db:"account_id"`
		Side    string `db:"side"`
		Amount  int64  `db:"amount"`
	}
	Accounts []struct {
		ID      int64         `db:"id"`
		Coop    int64         `db:"cooperative_id"`
		Kind    string        `db:"kind"`
		Member  sql.NullInt64 `db:"member_id"`
		Staff   sql.NullInt64 `db:"staff_id"`
		Loan    sql.NullInt64 `db:"loan_id"`
		Normal  string        `db:"normal"`
		Bounded bool          `db:"bounded"`
		Sharded bool          `db:"sharded"`
		Balance int64         `db:"balance"`
	}
	Shards []struct {
		Account int64 `db:"account_id"`
		Shard   int64 `db:"shard"`
		Balance int64 `db:"balance"`
	}
}

func readBooks(t require.TestingT, db *ledger.DB) bookRows {
	helper(t)
	var r bookRows
	require.NoError(t, db.Select(&r.Journals, `SELECT id, cooperative_id, idem_key, request_hash, kind, memo, actor, reason, reverses_id, created_at FROM journals ORDER BY id`))
	for i := range r.Journals { // one instant, whatever *time.Location the driver gave it
		r.Journals[i].CreatedAt = r.Journals[i].CreatedAt.UTC()
	}
	require.NoError(t, db.Select(&r.Entries, `SELECT id, cooperative_id, journal_id, account_id, side, amount FROM entries ORDER BY id`))
	require.NoError(t, db.Select(&r.Accounts, `SELECT id, cooperative_id, kind, member_id, staff_id, loan_id, normal, bounded, sharded, balance FROM accounts ORDER BY id`))
	require.NoError(t, db.Select(&r.Shards, `SELECT account_id, shard, balance FROM account_shards ORDER BY account_id, shard`))
	return r
}

// ledgerSentinels are the errors a refused posting is told by.
var ledgerSentinels = []error{ledger.ErrInvalidJournal, ledger.ErrIdempotencyConflict, ledger.ErrNotFound,
	ledger.ErrCrossCooperative, ledger.ErrEquityLocked, ledger.ErrInsufficientFunds}

func sentinel(err error) error {
	for _, s := range ledgerSentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

// sameAsPostTx posts js on a with PostBatchTx and on b with one PostTx
// per journal and checks that both answer alike and leave the same rows.
func sameAsPostTx(t require.TestingT, a, b batchBooks, js []ledger.Journal, now time.Time) ([]int64, error) {
	helper(t)
	idsA, errA := postBatch(t, a, js, now)
	idsB, errB := postEach(t, b, js, now)
	if errB != nil {
		require.Error(t, errA, "PostTx refused the journals (%v); the batch did not", errB)
		assert.Equal(t, sentinel(errB), sentinel(errA), "batch: %v; PostTx: %v", errA, errB)
	} else {
		require.NoError(t, errA, "the batch refused journals that PostTx posted")
		assert.Equal(t, idsB, idsA, "journal ids")
	}
	assert.Equal(t, readBooks(t, b.db), readBooks(t, a.db), "rows of PostBatchTx (want: one PostTx per journal)")
	return idsA, errA
}

func opening(bk batchBooks, m int, kind ledger.AccountKind, key string, amount int64) ledger.Journal {
	return ledger.Journal{CooperativeID: bk.coop.ID, Key: key, Kind: "opening", Memo: "Saldo awal", Actor: "import",
		Postings: []ledger.Posting{{From: bk.coop.Accounts[ledger.OpeningEquity], To: bk.members[m].Accounts[kind], Amount: amount}}}
}

func transfer(bk batchBooks, key string, from, to, amount int64) ledger.Journal {
	return ledger.Journal{CooperativeID: bk.coop.ID, Key: key, Kind: "transfer", Actor: "test",
		Postings: []ledger.Posting{{From: from, To: to, Amount: amount}}}
}

// TestPostBatchTxSameAsPostTx: a batch leaves exactly the rows that one
// PostTx per journal leaves (journals, entries, balances, shard rows), for
// batches that cross the multi-row statements' chunks, spend what an
// earlier journal of the batch brought, net a hot shard to zero, repeat
// keys, and are refused.
func TestPostBatchTxSameAsPostTx(t *testing.T) {
	for _, dialect := range []ledger.Dialect{ledger.Postgres, ledger.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			a, b := newBatchBooks(t, dialect), newBatchBooks(t, dialect)
			now := time.Date(2026, 3, 1, 8, 30, 0, 123456000, time.UTC)
			m0, m1 := a.members[0].Accounts, a.members[1].Accounts
			vault, clearing, income := a.coop.Accounts[ledger.Vault], a.coop.Accounts[ledger.Clearing], a.coop.Accounts[ledger.InterestIncome]

			var openings []ledger.Journal
			for i := range 2_500 { // 3 journal INSERTs, 3 entry INSERTs
				openings = append(openings, opening(a, i%3, ledger.MemberAccountKinds[i%3], fmt.Sprintf("open-%d", i), int64(1+i%97)))
			}
			many := transfer(a, "many", vault, m1[ledger.Sukarela], 1)
			for range 599 { // past one statement's worth of postings
				many.Postings = append(many.Postings, ledger.Posting{From: vault, To: m1[ledger.Sukarela], Amount: 1})
			}
			repeated := transfer(a, "rep", vault, m0[ledger.Sukarela], 10)
			for _, tc := range []struct {
				name    string
				js      []ledger.Journal
				refused error
			}{
				{"openings of many members", openings, nil},
				{"spend what an earlier journal brought", []ledger.Journal{
					transfer(a, "in", vault, m0[ledger.Sukarela], 5_000),
					transfer(a, "out", m0[ledger.Sukarela], clearing, 5_000),
				}, nil},
				{"a journal of many postings", []ledger.Journal{many, transfer(a, "after-many", m1[ledger.Sukarela], income, 600)}, nil},
				{"hot shards netted to zero", []ledger.Journal{
					transfer(a, "h1", clearing, income, 70), transfer(a, "h2", income, clearing, 70),
					transfer(a, "h3", clearing, income, 9), transfer(a, "h4", income, clearing, 9),
				}, nil},
				{"a key repeated in the batch and one posted before", []ledger.Journal{repeated, openings[7], repeated,
					transfer(a, "rep-2", m0[ledger.Sukarela], vault, 10)}, nil},
				{"overdraft after a deposit", []ledger.Journal{
					transfer(a, "d", vault, m1[ledger.Sukarela], 1), transfer(a, "w", m1[ledger.Sukarela], vault, 1_000_000),
				}, ledger.ErrInsufficientFunds},
				{"equity of an active member", []ledger.Journal{transfer(a, "eq", m0[ledger.Pokok], vault, 1)}, ledger.ErrEquityLocked},
				{"another cooperative's account", []ledger.Journal{transfer(a, "x", vault, a.other.Accounts[ledger.Sukarela], 1)}, ledger.ErrCrossCooperative},
				{"no such account", []ledger.Journal{transfer(a, "nx", vault, 1_000_000, 1)}, ledger.ErrNotFound},
				{"invalid", []ledger.Journal{transfer(a, "ok", vault, clearing, 1), transfer(a, "zero", vault, clearing, 0)}, ledger.ErrInvalidJournal},
				{"key reused", []ledger.Journal{transfer(a, "new", vault, clearing, 1), transfer(a, "rep", vault, m0[ledger.Sukarela], 11)}, ledger.ErrIdempotencyConflict},
				{"key reused in the batch", []ledger.Journal{transfer(a, "k", vault, clearing, 1), transfer(a, "k", vault, clearing, 2)}, ledger.ErrIdempotencyConflict},
				{"the first refusal wins", []ledger.Journal{transfer(a, "w2", m1[ledger.Sukarela], vault, 1_000_000), transfer(a, "bad", vault, vault, 1)}, ledger.ErrInsufficientFunds},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := sameAsPostTx(t, a, b, tc.js, now)
					if tc.refused == nil {
						require.NoError(t, err)
					} else {
						require.ErrorIs(t, err, tc.refused)
					}
				})
			}
			problems, err := ledger.New(a.db, nil).TrialBalance(context.Background(), a.coop.ID)
			require.NoError(t, err)
			assert.Empty(t, problems)
		})
	}
}

// TestPostBatchTxProperty: random batches (deposits, withdrawals,
// transfers between savings and hot accounts, overdrafts, equity debits,
// foreign and missing accounts, invalid postings, retries and reused keys,
// inside the batch and across batches) leave the rows one PostTx per
// journal leaves, batch after batch.
func TestPostBatchTxProperty(t *testing.T) {
	for _, dialect := range []ledger.Dialect{ledger.Postgres, ledger.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			a, b := newBatchBooks(t, dialect), newBatchBooks(t, dialect)
			now := time.Date(2026, 3, 1, 8, 30, 0, 0, time.UTC)
			c := a.coop.Accounts
			hot := []int64{c[ledger.Vault], c[ledger.Clearing], c[ledger.InterestIncome], c[ledger.OpeningEquity]}
			var savings, equity []int64
			for _, m := range a.members {
				savings = append(savings, m.Accounts[ledger.Sukarela])
				equity = append(equity, m.Accounts[ledger.Pokok], m.Accounts[ledger.Wajib])
			}
			account := func(t *rapid.T, label string) int64 {
				// rapid favours the ends of a range: the rare cases are in its middle.
				switch n := rapid.IntRange(0, 199).Draw(t, label); {
				case n >= 100 && n < 104:
					return rapid.SampledFrom(equity).Draw(t, label+" equity")
				case n == 104:
					return a.other.Accounts[ledger.Sukarela]
				case n == 105:
					return 1_000_000 // no such account
				case n < 130:
					return rapid.SampledFrom(hot).Draw(t, label+" hot")
				default:
					return rapid.SampledFrom(savings).Draw(t, label+" savings")
				}
			}
			journal := func(t *rapid.T, key string) ledger.Journal {
				j := ledger.Journal{CooperativeID: a.coop.ID, Key: key, Kind: "transfer", Memo: "m", Actor: "test"}
				for range rapid.IntRange(1, 3).Draw(t, "postings") {
					from, to := account(t, "from"), account(t, "to")
					if to == from { // a posting from an account to itself is invalid: rarely on purpose
						to = c[ledger.Vault]
						if from == to {
							to = c[ledger.Clearing]
						}
					}
					amount := rapid.Int64Range(1, 400).Draw(t, "amount")
					switch rapid.IntRange(0, 99).Draw(t, "invalid") {
					case 50:
						amount = 0
					case 51:
						to = from
					}
					j.Postings = append(j.Postings, ledger.Posting{From: from, To: to, Amount: amount})
				}
				return j
			}
			var posted []ledger.Journal // committed on both
			refused := map[error]int{}
			next := 0
			rapid.Check(t, func(t *rapid.T) {
				var js []ledger.Journal
				for range rapid.IntRange(1, 8).Draw(t, "journals") {
					switch n := rapid.IntRange(0, 29).Draw(t, "what"); {
					case n >= 10 && n < 14 && len(posted) > 0: // a retry
						js = append(js, rapid.SampledFrom(posted).Draw(t, "retry"))
					case n == 14 && len(posted) > 0: // a key reused
						j := rapid.SampledFrom(posted).Draw(t, "reused")
						js = append(js, journal(t, j.Key))
					case (n == 15 || n == 16) && len(js) > 0: // a retry inside the batch
						js = append(js, rapid.SampledFrom(js).Draw(t, "again"))
					case n == 17 && len(js) > 0: // a key reused inside the batch
						js = append(js, journal(t, rapid.SampledFrom(js).Draw(t, "reused in batch").Key))
					default:
						next++
						js = append(js, journal(t, fmt.Sprintf("j%d", next)))
					}
				}
				_, err := sameAsPostTx(t, a, b, js, now)
				if err == nil {
					posted = append(posted, js...)
				}
				refused[sentinel(err)]++
			})
			t.Logf("%d journals posted; batches refused by error: %v", len(readBooks(t, a.db).Journals), refused)
		})
	}
}

// A batch posted again posts nothing new and answers with the same ids.
func TestPostBatchTxIdempotent(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		bk := batchBooks{db: db, coop: ledgertest.NewCoop(t, db, "KSP1")}
		bk.members = append(bk.members, ledgertest.NewMember(t, db, bk.coop, "A-001", "+6281234567890"))
		var js []ledger.Journal
		for i := range 1_200 {
			js = append(js, opening(bk, 0, ledger.Sukarela, fmt.Sprintf("open-%d", i), 100))
		}
		now := time.Now()
		first, err := postBatch(t, bk, js, now)
		require.NoError(t, err)
		require.Len(t, first, len(js))
		before := readBooks(t, db)
		require.Len(t, before.Journals, len(js))

		again, err := postBatch(t, bk, js, now.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, first, again)
		assert.Equal(t, before, readBooks(t, db), "nothing new")

		// Half posted before, half new: the old answer their ids, the new are posted.
		more := slices.Concat(js[600:], []ledger.Journal{opening(bk, 0, ledger.Sukarela, "open-new", 5)})
		ids, err := postBatch(t, bk, more, now)
		require.NoError(t, err)
		assert.Equal(t, first[600:], ids[:600])
		assert.Greater(t, ids[600], first[len(first)-1])
		b, err := ledger.New(db, nil).MemberBalances(ctx, bk.coop.ID, bk.members[0].ID)
		require.NoError(t, err)
		assert.Equal(t, int64(1_200*100+5), b.Sukarela)
	})
}

// A refused batch writes nothing, even in the transaction it was posted
// in, and leaves that transaction usable.
func TestPostBatchTxRefusedWritesNothing(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		bk := batchBooks{db: db, coop: ledgertest.NewCoop(t, db, "KSP1")}
		bk.members = append(bk.members, ledgertest.NewMember(t, db, bk.coop, "A-001", "+6281234567890"))
		sukarela, vault := bk.members[0].Accounts[ledger.Sukarela], bk.coop.Accounts[ledger.Vault]
		_, err := postBatch(t, bk, []ledger.Journal{opening(bk, 0, ledger.Sukarela, "open", 1_000)}, time.Now())
		require.NoError(t, err)
		before := readBooks(t, db)

		for _, tc := range []struct {
			name string
			js   []ledger.Journal
			want error
		}{
			{"a key reused with another request", []ledger.Journal{
				transfer(bk, "fine", vault, sukarela, 5), opening(bk, 0, ledger.Sukarela, "open", 999)}, ledger.ErrIdempotencyConflict},
			{"no cooperative", []ledger.Journal{transfer(bk, "fine", vault, sukarela, 5), {Key: "k", Kind: "x",
				Postings: []ledger.Posting{{From: vault, To: sukarela, Amount: 1}}}}, ledger.ErrInvalidJournal},
			{"no postings", []ledger.Journal{{CooperativeID: bk.coop.ID, Key: "k", Kind: "x"}}, ledger.ErrInvalidJournal},
			{"a negative amount", []ledger.Journal{transfer(bk, "neg", vault, sukarela, -5)}, ledger.ErrInvalidJournal},
			{"savings below zero", []ledger.Journal{
				transfer(bk, "fine", vault, sukarela, 5), transfer(bk, "w1", sukarela, vault, 600), transfer(bk, "w2", sukarela, vault, 406),
			}, ledger.ErrInsufficientFunds},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := db.InTx(ctx, func(tx *sqlx.Tx) error {
					ids, err := ledger.PostBatchTx(ctx, tx, tc.js, time.Now())
					assert.ErrorIs(t, err, tc.want)
					assert.Nil(t, ids)
					var n int
					require.NoError(t, tx.Get(&n, `SELECT COUNT(*) FROM journals`))
					assert.Equal(t, len(before.Journals), n, "nothing written in the transaction")
					// The transaction goes on.
					_, err = ledger.PostTx(ctx, tx, transfer(bk, "after-"+tc.name, vault, sukarela, 1), time.Now())
					require.NoError(t, err)
					return errors.New("roll back")
				})
				require.EqualError(t, err, "roll back")
				assert.Equal(t, before, readBooks(t, db))
			})
		}
	})
}

// Batches and single postings that withdraw from the same savings at once
// queue on its row: none deadlocks, the balance never goes below zero, and
// what was withdrawn is exactly what the successful ones asked for.
func TestPostBatchTxConcurrentNeverOverdraws(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		n := ledgertest.NewMember(t, db, c, "A-002", "+6281234567891")
		_, err := l.Post(ctx, deposit(c, m, "open-m", 1_000))
		require.NoError(t, err)
		_, err = l.Post(ctx, deposit(c, n, "open-n", 1_000))
		require.NoError(t, err)
		sm, sn, vault := m.Accounts[ledger.Sukarela], n.Accounts[ledger.Sukarela], c.Accounts[ledger.Vault]

		var wg sync.WaitGroup
		var mu sync.Mutex
		var withdrawn int64
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i%2 == 0 { // a batch of 10 withdrawals from both
					var js []ledger.Journal
					for k := range 10 {
						js = append(js, ledger.Journal{CooperativeID: c.ID, Key: fmt.Sprintf("b%d-%d", i, k), Kind: "withdrawal",
							Postings: []ledger.Posting{{From: sm, To: vault, Amount: 10}, {From: sn, To: vault, Amount: 1}}})
					}
					err := db.InTx(ctx, func(tx *sqlx.Tx) error {
						_, err := ledger.PostBatchTx(ctx, tx, js, time.Now())
						return err
					})
					if err == nil {
						mu.Lock()
						withdrawn += 100
						mu.Unlock()
					} else {
						assert.ErrorIs(t, err, ledger.ErrInsufficientFunds)
					}
					return
				}
				_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: fmt.Sprintf("p%d", i), Kind: "withdrawal",
					Postings: []ledger.Posting{{From: sn, To: vault, Amount: 1}, {From: sm, To: vault, Amount: 90}}})
				if err == nil {
					mu.Lock()
					withdrawn += 90
					mu.Unlock()
				} else {
					assert.ErrorIs(t, err, ledger.ErrInsufficientFunds)
				}
			}()
		}
		wg.Wait()
		b, err := l.Balance(ctx, sm)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, b, int64(0))
		assert.Equal(t, 1_000-withdrawn, b)
		problems, err := l.TrialBalance(ctx, c.ID)
		require.NoError(t, err)
		assert.Empty(t, problems)
	})
}

// TestOpenAccountsTxSameAsCreateAndPost: accounts opened with their opening
// journals are the rows one CreateAccount per account and one PostTx per
// journal leave, each new account written with its balance; a refused
// journal leaves no account behind.
func TestOpenAccountsTxSameAsCreateAndPost(t *testing.T) {
	for _, dialect := range []ledger.Dialect{ledger.Postgres, ledger.SQLite} {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			a, b := newBatchBooks(t, dialect), newBatchBooks(t, dialect)
			// Members 1 and 2 without their accounts, as an import has them.
			for _, bk := range []batchBooks{a, b} {
				_, err := bk.db.Exec(bk.db.Rebind(`DELETE FROM accounts WHERE member_id IN (?, ?)`), bk.members[1].ID, bk.members[2].ID)
				require.NoError(t, err)
			}
			now := time.Date(2026, 3, 1, 8, 30, 0, 123456000, time.UTC)
			c := a.coop.Accounts
			m1, m2 := ledger.Owner{MemberID: a.members[1].ID}, ledger.Owner{MemberID: a.members[2].ID}
			savings := func(o ledger.Owner) []ledger.NewAccount {
				var out []ledger.NewAccount
				for _, k := range ledger.MemberAccountKinds {
					out = append(out, ledger.NewAccount{CooperativeID: a.coop.ID, Kind: k, Owner: o})
				}
				return out
			}
			for _, tc := range []struct {
				name     string
				accounts []ledger.NewAccount
				opening  func(ids []int64) []ledger.Journal
				refused  error
			}{
				{"a member's savings and a loan", append(savings(m1),
					ledger.NewAccount{CooperativeID: a.coop.ID, Kind: ledger.LoanPrincipal, Owner: ledger.Owner{MemberID: m1.MemberID, LoanID: 501}}),
					func(ids []int64) []ledger.Journal {
						return []ledger.Journal{
							transfer(a, "o-pokok", c[ledger.OpeningEquity], ids[0], 100_000),
							transfer(a, "o-wajib", c[ledger.OpeningEquity], ids[1], 250_000),
							transfer(a, "o-sukarela", c[ledger.OpeningEquity], ids[2], 70_000),
							transfer(a, "spend", ids[2], c[ledger.Clearing], 20_001),
							transfer(a, "loan", ids[3], c[ledger.Vault], 1_000_000),
							transfer(a, "old account", c[ledger.Vault], a.members[0].Accounts[ledger.Sukarela], 5),
						}
					}, nil},
				{"a new loan's account credited below zero", []ledger.NewAccount{
					{CooperativeID: a.coop.ID, Kind: ledger.LoanPrincipal, Owner: ledger.Owner{MemberID: m1.MemberID, LoanID: 502}}},
					func(ids []int64) []ledger.Journal {
						return []ledger.Journal{transfer(a, "repay", c[ledger.Vault], ids[0], 1)}
					}, ledger.ErrInsufficientFunds},
				{"a new pokok account debited", savings(m2)[:1], func(ids []int64) []ledger.Journal {
					return []ledger.Journal{transfer(a, "p-in", c[ledger.OpeningEquity], ids[0], 10), transfer(a, "p-out", ids[0], c[ledger.Vault], 1)}
				}, ledger.ErrEquityLocked},
				{"accounts of another cooperative", savings(m2)[:1], func(ids []int64) []ledger.Journal {
					return []ledger.Journal{transfer(a, "x", a.other.Accounts[ledger.Sukarela], ids[0], 1)}
				}, ledger.ErrCrossCooperative},
				{"a key used before", savings(m2)[:1], func(ids []int64) []ledger.Journal {
					return []ledger.Journal{transfer(a, "p2", c[ledger.OpeningEquity], ids[0], 10), transfer(a, "o-pokok", c[ledger.OpeningEquity], ids[0], 10)}
				}, ledger.ErrIdempotencyConflict},
				{"a key used before, then an overdraft", savings(m2)[2:], func(ids []int64) []ledger.Journal {
					return []ledger.Journal{transfer(a, "o-wajib", c[ledger.OpeningEquity], ids[0], 10), transfer(a, "w", ids[0], c[ledger.Vault], 11)}
				}, ledger.ErrIdempotencyConflict},
				{"accounts without journals", savings(m2), func([]int64) []ledger.Journal { return nil }, nil},
			} {
				t.Run(tc.name, func(t *testing.T) {
					alignSequences(t, ctx, a.db, dialect)
					var idsA, jidsA []int64
					errA := a.db.InTx(ctx, func(tx *sqlx.Tx) error {
						var err error
						idsA, jidsA, err = ledger.OpenAccountsTx(ctx, tx, tc.accounts, tc.opening, now)
						return err
					})
					alignSequences(t, ctx, b.db, dialect)
					var idsB, jidsB []int64
					errB := b.db.InTx(ctx, func(tx *sqlx.Tx) error {
						for _, na := range tc.accounts {
							id, err := ledger.CreateAccount(ctx, tx, na.CooperativeID, na.Kind, na.Owner, now)
							if err != nil {
								return err
							}
							idsB = append(idsB, id)
						}
						for _, j := range tc.opening(idsB) {
							alignSequences(t, ctx, tx, dialect)
							id, err := ledger.PostTx(ctx, tx, j, now)
							if err != nil {
								return err
							}
							jidsB = append(jidsB, id)
						}
						return nil
					})
					if tc.refused != nil {
						require.ErrorIs(t, errB, tc.refused)
						require.ErrorIs(t, errA, tc.refused)
					} else {
						require.NoError(t, errB)
						require.NoError(t, errA)
						assert.Equal(t, idsB, idsA, "account ids")
						assert.Equal(t, len(jidsB), len(jidsA))
						if len(jidsB) > 0 {
							assert.Equal(t, jidsB, jidsA, "journal ids")
						}
					}
					assert.Equal(t, readBooks(t, b.db), readBooks(t, a.db), "rows of OpenAccountsTx (want: CreateAccount and PostTx)")
					for _, id := range idsA {
						var created time.Time
						err := a.db.Get(&created, a.db.Rebind(`SELECT created_at FROM accounts WHERE id = ?`), id)
						if tc.refused != nil {
							assert.ErrorIs(t, err, sql.ErrNoRows, "a refused opening leaves no account")
							continue
						}
						require.NoError(t, err)
						assert.True(t, created.Equal(now), "created_at %v; want %v", created, now)
					}
				})
			}
			problems, err := ledger.New(a.db, nil).TrialBalance(ctx, a.coop.ID)
			require.NoError(t, err)
			assert.Empty(t, problems)
		})
	}
}
