package ledger_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

var requestT0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

// beginState calls BeginRequest and returns only the state.
func beginState(t *testing.T, l *ledger.Ledger, coopID int64, key, hash string, now time.Time) ledger.BeginState {
	t.Helper()
	_, state, err := l.BeginRequest(context.Background(), coopID, key, hash, now)
	require.NoError(t, err)
	return state
}

func TestRequestLifecycle(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		other := ledgertest.NewCoop(t, db, "KSP2")
		now := requestT0

		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "k-1", "h-a", now))
		assert.Equal(t, ledger.InFlight, beginState(t, l, c.ID, "k-1", "h-a", now.Add(time.Second)), "same key while the first runs")
		assert.Equal(t, ledger.Reused, beginState(t, l, c.ID, "k-1", "h-b", now.Add(time.Second)), "same key, other body, while the first runs")
		assert.Equal(t, ledger.Started, beginState(t, l, other.ID, "k-1", "h-b", now), "another cooperative's key is its own")

		body := []byte(`{"journal_id":"12","balances":{"sukarela":50000}}`)
		require.NoError(t, l.FinishRequest(ctx, c.ID, "k-1", 201, body, now.Add(2*time.Second)))
		assert.ErrorIs(t, l.FinishRequest(ctx, c.ID, "k-1", 500, []byte("{}"), now), ledger.ErrNotFound, "finished already")
		assert.ErrorIs(t, l.FinishRequest(ctx, c.ID, "never", 201, []byte("{}"), now), ledger.ErrNotFound, "never begun")

		prior, state, err := l.BeginRequest(ctx, c.ID, "k-1", "h-a", now.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, ledger.Replay, state)
		assert.Equal(t, ledger.StoredResponse{Status: 201, Body: body}, prior)
		assert.Equal(t, ledger.Reused, beginState(t, l, c.ID, "k-1", "h-b", now.Add(time.Hour)))
		assert.Equal(t, ledger.InFlight, beginState(t, l, other.ID, "k-1", "h-b", now.Add(time.Second)), "the other cooperative's request is untouched")

		// An empty body is stored as empty, not lost.
		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "k-2", "h-a", now))
		require.NoError(t, l.FinishRequest(ctx, c.ID, "k-2", 204, nil, now))
		prior, state, err = l.BeginRequest(ctx, c.ID, "k-2", "h-a", now)
		require.NoError(t, err)
		assert.Equal(t, ledger.Replay, state)
		assert.Equal(t, 204, prior.Status)
		assert.Empty(t, prior.Body)

		_, _, err = l.BeginRequest(ctx, c.ID, "", "h-a", now)
		assert.Error(t, err, "no key")
	})
}

// Many requests with one key at once, on one instance or many: exactly one
// runs. Also when the key's in-flight row was abandoned and is taken over.
func TestRequestConcurrentBegin(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		c := ledgertest.NewCoop(t, db, "KSP1")
		race := func(now time.Time) map[ledger.BeginState]int {
			t.Helper()
			const n = 16
			var (
				wg     sync.WaitGroup
				mu     sync.Mutex
				start  = make(chan struct{})
				counts = map[ledger.BeginState]int{}
			)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					l := ledger.New(db, nil) // an instance each
					<-start
					_, state, err := l.BeginRequest(context.Background(), c.ID, "same-key", "h-a", now)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Errorf("begin: %v", err)
						return
					}
					counts[state]++
				}()
			}
			close(start)
			wg.Wait()
			return counts
		}
		assert.Equal(t, map[ledger.BeginState]int{ledger.Started: 1, ledger.InFlight: 15}, race(requestT0))
		assert.Equal(t, map[ledger.BeginState]int{ledger.Started: 1, ledger.InFlight: 15}, race(requestT0.Add(10*time.Minute)),
			"one takes the abandoned row over")
	})
}

// An in-flight row older than the lease was left by a crashed instance: the
// next request with the same body takes it over and holds a fresh lease.
func TestRequestStaleTakeover(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")

		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "k", "h-a", requestT0))
		assert.Equal(t, ledger.InFlight, beginState(t, l, c.ID, "k", "h-a", requestT0.Add(ledger.RequestLease)), "the lease is not over yet")
		late := requestT0.Add(ledger.RequestLease + time.Second)
		assert.Equal(t, ledger.Reused, beginState(t, l, c.ID, "k", "h-b", late), "the key stays bound to its first body")
		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "k", "h-a", late), "taken over")
		assert.Equal(t, ledger.InFlight, beginState(t, l, c.ID, "k", "h-a", late.Add(time.Second)), "with a fresh lease")

		require.NoError(t, l.FinishRequest(ctx, c.ID, "k", 201, []byte(`{"ok":true}`), late.Add(2*time.Second)))
		prior, state, err := l.BeginRequest(ctx, c.ID, "k", "h-a", late.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, ledger.Replay, state, "a finished request is never taken over")
		assert.Equal(t, 201, prior.Status)
	})
}

func TestRequestAbandon(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")

		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "k", "h-a", requestT0))
		require.NoError(t, l.AbandonRequest(ctx, c.ID, "k"))
		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "k", "h-b", requestT0.Add(time.Second)), "a retry runs afresh, with any body")

		require.NoError(t, l.FinishRequest(ctx, c.ID, "k", 201, []byte(`{}`), requestT0.Add(2*time.Second)))
		require.NoError(t, l.AbandonRequest(ctx, c.ID, "k"))
		assert.Equal(t, ledger.Replay, beginState(t, l, c.ID, "k", "h-b", requestT0.Add(3*time.Second)), "a finished request's record stays")
		require.NoError(t, l.AbandonRequest(ctx, c.ID, "never"), "nothing to abandon is no error")
	})
}

func TestPurgeRequests(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		other := ledgertest.NewCoop(t, db, "KSP2")

		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "old", "h-a", requestT0))
		require.NoError(t, l.FinishRequest(ctx, c.ID, "old", 201, []byte(`{}`), requestT0))
		assert.Equal(t, ledger.Started, beginState(t, l, other.ID, "old-stuck", "h-a", requestT0))
		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "new", "h-a", requestT0.Add(24*time.Hour)))
		require.NoError(t, l.FinishRequest(ctx, c.ID, "new", 201, []byte(`{}`), requestT0.Add(24*time.Hour)))

		n, err := l.PurgeRequests(ctx, requestT0.Add(time.Hour))
		require.NoError(t, err)
		assert.Equal(t, int64(2), n, "both cooperatives' old rows, done or not")
		assert.Equal(t, ledger.Started, beginState(t, l, c.ID, "old", "h-b", requestT0.Add(25*time.Hour)), "forgotten")
		assert.Equal(t, ledger.Replay, beginState(t, l, c.ID, "new", "h-a", requestT0.Add(25*time.Hour)), "kept")
	})
}
