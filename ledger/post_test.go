package ledger_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// Transfers in both directions between the same two savings accounts lock
// them in one order, so they queue instead of deadlocking (PostgreSQL would
// abort one of a deadlocked pair after a second).
func TestOppositeTransfersDoNotDeadlock(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		a := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		b := ledgertest.NewMember(t, db, c, "A-002", "+6281234567891")
		_, err := l.Post(ctx, deposit(c, a, "open-a", 1_000))
		require.NoError(t, err)
		_, err = l.Post(ctx, deposit(c, b, "open-b", 1_000))
		require.NoError(t, err)

		var wg sync.WaitGroup
		for i := range 40 {
			from, to := a.Accounts[ledger.Sukarela], b.Accounts[ledger.Sukarela]
			if i%2 == 1 {
				from, to = to, from
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: fmt.Sprintf("t%d", i), Kind: "transfer",
					Postings: []ledger.Posting{{From: from, To: to, Amount: 10}}})
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		ba, err := l.MemberBalances(ctx, c.ID, a.ID)
		require.NoError(t, err)
		bb, err := l.MemberBalances(ctx, c.ID, b.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(1_000), ba.Sukarela)
		assert.Equal(t, int64(1_000), bb.Sukarela)
		problems, err := l.TrialBalance(ctx, c.ID)
		require.NoError(t, err)
		assert.Empty(t, problems)
	})
}

// A refused posting inside a caller's transaction leaves the transaction
// usable (no error aborts it), and a key posted earlier in it answers with
// the original journal.
func TestPostTxRefusalKeepsTheTransaction(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		now := time.Now()
		var first, again int64
		err := db.InTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			if first, err = ledger.PostTx(ctx, tx, deposit(c, m, "k1", 500), now); err != nil {
				return err
			}
			_, err = ledger.PostTx(ctx, tx, ledger.Journal{CooperativeID: c.ID, Key: "w1", Kind: "withdrawal",
				Postings: []ledger.Posting{{From: m.Accounts[ledger.Sukarela], To: c.Accounts[ledger.Clearing], Amount: 501}}}, now)
			assert.ErrorIs(t, err, ledger.ErrInsufficientFunds)
			_, err = ledger.PostTx(ctx, tx, ledger.Journal{CooperativeID: c.ID, Key: "p1", Kind: "refund",
				Postings: []ledger.Posting{{From: m.Accounts[ledger.Pokok], To: c.Accounts[ledger.Vault], Amount: 1}}}, now)
			assert.ErrorIs(t, err, ledger.ErrEquityLocked)
			if again, err = ledger.PostTx(ctx, tx, deposit(c, m, "k1", 500), now); err != nil {
				return err
			}
			_, err = ledger.PostTx(ctx, tx, ledger.Journal{CooperativeID: c.ID, Key: "w2", Kind: "withdrawal",
				Postings: []ledger.Posting{{From: m.Accounts[ledger.Sukarela], To: c.Accounts[ledger.Clearing], Amount: 200}}}, now)
			return err
		})
		require.NoError(t, err)
		assert.Equal(t, first, again)
		b, err := l.MemberBalances(ctx, c.ID, m.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(300), b.Sukarela)
		if db.Dialect == ledger.Postgres {
			// On SQLite the refused journal's row stays in a transaction
			// that goes on to commit: callers roll back on any error.
			var n int
			require.NoError(t, db.Get(&n, db.Rebind(`SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`), c.ID))
			assert.Equal(t, 2, n, "the refused journals leave no row")
		}
	})
}

// A journal whose postings pass through an account (netting it to zero),
// touch a hot account twice and run past one statement's worth of
// postings: balances, entries in posting order, and trial balance.
func TestPostManyPostings(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		a := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		b := ledgertest.NewMember(t, db, c, "A-002", "+6281234567891")
		_, err := l.Post(ctx, deposit(c, a, "open", 1_000))
		require.NoError(t, err)

		sa, sb, vault := a.Accounts[ledger.Sukarela], b.Accounts[ledger.Sukarela], c.Accounts[ledger.Vault]
		through := []ledger.Posting{{From: sa, To: sb, Amount: 400}, {From: sb, To: vault, Amount: 400}, {From: vault, To: sb, Amount: 50}}
		id, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "through", Kind: "x", Postings: through})
		require.NoError(t, err)
		var entries []struct {
			Account int64  `db:"account_id"`
			Side    string `db:"side"`
			Amount  int64  `db:"amount"`
		}
		require.NoError(t, db.Select(&entries, db.Rebind(`SELECT account_id, side, amount FROM entries WHERE journal_id = ? ORDER BY id`), id))
		require.Len(t, entries, 2*len(through))
		for i, p := range through {
			assert.Equal(t, p.From, entries[2*i].Account)
			assert.Equal(t, "D", entries[2*i].Side)
			assert.Equal(t, p.To, entries[2*i+1].Account)
			assert.Equal(t, "C", entries[2*i+1].Side)
			assert.Equal(t, p.Amount, entries[2*i].Amount)
			assert.Equal(t, p.Amount, entries[2*i+1].Amount)
		}

		many := make([]ledger.Posting, 600)
		for i := range many {
			many[i] = ledger.Posting{From: sa, To: sb, Amount: 1}
		}
		_, err = l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "many", Kind: "x", Postings: many})
		require.NoError(t, err)

		ba, err := l.MemberBalances(ctx, c.ID, a.ID)
		require.NoError(t, err)
		bb, err := l.MemberBalances(ctx, c.ID, b.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(1_000-400-600), ba.Sukarela)
		assert.Equal(t, int64(50+600), bb.Sukarela)
		v, err := l.Balance(ctx, vault)
		require.NoError(t, err)
		assert.Equal(t, int64(-350), v, "the vault is debit-normal: credited 400, debited 50")
		problems, err := l.TrialBalance(ctx, c.ID)
		require.NoError(t, err)
		assert.Empty(t, problems)
	})
}
