package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

func deposit(c ledgertest.Coop, m ledgertest.Member, key string, amount int64) ledger.Journal {
	return ledger.Journal{
		CooperativeID: c.ID, Key: key, Kind: "opening", Actor: "test",
		Postings: []ledger.Posting{{From: c.Accounts[ledger.OpeningEquity], To: m.Accounts[ledger.Sukarela], Amount: amount}},
	}
}

func TestPost(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")

		id, err := l.Post(ctx, deposit(c, m, "k1", 1_250_000))
		require.NoError(t, err)
		b, err := l.MemberBalances(ctx, c.ID, m.ID)
		require.NoError(t, err)
		assert.Equal(t, ledger.MemberBalances{Sukarela: 1_250_000}, b)

		t.Run("same key and request returns the original journal", func(t *testing.T) {
			again, err := l.Post(ctx, deposit(c, m, "k1", 1_250_000))
			require.NoError(t, err)
			assert.Equal(t, id, again)
			b, _ := l.MemberBalances(ctx, c.ID, m.ID)
			assert.Equal(t, int64(1_250_000), b.Sukarela, "a retry must not post twice")
		})
		t.Run("same key with another request is refused", func(t *testing.T) {
			_, err := l.Post(ctx, deposit(c, m, "k1", 9))
			assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict)
		})
		t.Run("overdraft refused and nothing written", func(t *testing.T) {
			_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "w1", Kind: "withdrawal",
				Postings: []ledger.Posting{{From: m.Accounts[ledger.Sukarela], To: c.Accounts[ledger.Clearing], Amount: 1_250_001}}})
			assert.ErrorIs(t, err, ledger.ErrInsufficientFunds)
			var n int
			require.NoError(t, db.Get(&n, db.Rebind(`SELECT COUNT(*) FROM journals WHERE idem_key = ?`), "w1"))
			assert.Zero(t, n, "a refused journal leaves no row")
		})
		t.Run("pokok is locked while the member is active", func(t *testing.T) {
			_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "p1", Kind: "refund",
				Postings: []ledger.Posting{{From: m.Accounts[ledger.Pokok], To: c.Accounts[ledger.Vault], Amount: 1}}})
			assert.ErrorIs(t, err, ledger.ErrEquityLocked)
		})
		t.Run("invalid journals", func(t *testing.T) {
			for name, j := range map[string]ledger.Journal{
				"zero amount": {CooperativeID: c.ID, Key: "z", Kind: "x", Postings: []ledger.Posting{{From: 1, To: 2, Amount: 0}}},
				"no postings": {CooperativeID: c.ID, Key: "z", Kind: "x"},
				"self":        {CooperativeID: c.ID, Key: "z", Kind: "x", Postings: []ledger.Posting{{From: 1, To: 1, Amount: 5}}},
				"no key":      {CooperativeID: c.ID, Kind: "x", Postings: []ledger.Posting{{From: 1, To: 2, Amount: 5}}},
			} {
				_, err := l.Post(ctx, j)
				assert.ErrorIs(t, err, ledger.ErrInvalidJournal, name)
			}
		})
		t.Run("accounts of another cooperative are refused", func(t *testing.T) {
			other := ledgertest.NewCoop(t, db, "KSP2")
			_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "x1", Kind: "x",
				Postings: []ledger.Posting{{From: other.Accounts[ledger.OpeningEquity], To: m.Accounts[ledger.Sukarela], Amount: 5}}})
			assert.ErrorIs(t, err, ledger.ErrCrossCooperative)
		})
		t.Run("journals and entries are append-only in the database", func(t *testing.T) {
			for _, q := range []string{
				`UPDATE journals SET memo = 'x'`, `DELETE FROM journals`,
				`UPDATE entries SET amount = 1`, `DELETE FROM entries`,
			} {
				_, err := db.Exec(q)
				assert.Error(t, err, q)
			}
			b, _ := l.MemberBalances(ctx, c.ID, m.ID)
			assert.Equal(t, int64(1_250_000), b.Sukarela)
		})
		problems, err := l.TrialBalance(ctx, c.ID)
		require.NoError(t, err)
		assert.Empty(t, problems)
	})
}

// 100 concurrent debits that together exceed the balance: exactly the
// affordable ones succeed and the balance never goes below zero.
func TestConcurrentDebitsNeverOverdraw(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		_, err := l.Post(ctx, deposit(c, m, "open", 30_000))
		require.NoError(t, err)

		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, refused := 0, 0
		for i := range 100 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: fmt.Sprintf("w%d", i), Kind: "withdrawal",
					Postings: []ledger.Posting{{From: m.Accounts[ledger.Sukarela], To: c.Accounts[ledger.Clearing], Amount: 1_000}}})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ledger.ErrInsufficientFunds):
					refused++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, 30, ok, "exactly the affordable debits succeed")
		assert.Equal(t, 70, refused)
		b, err := l.MemberBalances(ctx, c.ID, m.ID)
		require.NoError(t, err)
		assert.Zero(t, b.Sukarela)
		problems, err := l.TrialBalance(ctx, c.ID)
		require.NoError(t, err)
		assert.Empty(t, problems)
	})
}

// The same key posted by 50 writers at once gives one journal.
func TestConcurrentSameKey(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		ids := make([]int64, 50)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id, err := l.Post(ctx, deposit(c, m, "same", 5_000))
				assert.NoError(t, err)
				ids[i] = id
			}()
		}
		wg.Wait()
		for _, id := range ids {
			assert.Equal(t, ids[0], id)
		}
		b, err := l.MemberBalances(ctx, c.ID, m.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(5_000), b.Sukarela)
	})
}
