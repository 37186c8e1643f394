package ussd_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

const (
	// noLapse is the lockTTL of stores whose holds must never lapse during a
	// test, however loaded the machine is.
	noLapse = time.Minute
	// lapse is the lockTTL of stores whose tests wait for a hold to lapse:
	// short enough to keep them quick, long enough that a hold taken after
	// the lapse survives the few steps that look at it on a busy CI machine.
	lapse = 1500 * time.Millisecond
	// longTTL is a session ttl no test outlives.
	longTTL = time.Hour
	// waitBusy is how long a caller waits for a held session before it
	// gives up; well below lapse.
	waitBusy = 100 * time.Millisecond
	// eventually bounds every wait for something that must happen.
	eventually = 10 * time.Second
)

var errBoom = errors.New("boom")

func TestMemoryStore(t *testing.T) {
	testSessionStore(t, func(t *testing.T, lockTTL time.Duration) ussd.SessionStore {
		s := ussd.NewMemoryStore(lockTTL)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s
	})
	testLimitedUpdates(t, func(t *testing.T) (ussd.SessionStore, ussd.RateLimiter) {
		s := ussd.NewMemoryStore(noLapse)
		t.Cleanup(func() { require.NoError(t, s.Close()) })
		return s, ussd.NewMemoryRateLimiter()
	})
}

// redisBackend opens a test's own view of one kind of Redis deployment: a
// client and a key prefix no other test uses.
type redisBackend func(t testing.TB) (redis.UniversalClient, string)

// TestRedisStore runs the store's contract, and what is particular to Redis,
// on the single test server (LUMBUNG_TEST_REDIS_URL).
func TestRedisStore(t *testing.T) { testRedisStore(t, ussdtest.Redis) }

// testRedisStore is everything TestRedisStore checks, on backend: the
// contract every SessionStore meets, the limited updates with the limiter
// whose count rides in the store's pipeline, the keys, holds and round
// trips.
func testRedisStore(t *testing.T, backend redisBackend) {
	testSessionStore(t, func(t *testing.T, lockTTL time.Duration) ussd.SessionStore {
		s, _, _ := newRedisStoreOn(t, backend, lockTTL)
		return s
	})
	testLimitedUpdates(t, func(t *testing.T) (ussd.SessionStore, ussd.RateLimiter) {
		s, client, prefix := newRedisStoreOn(t, backend, noLapse)
		return s, ussd.NewRedisRateLimiter(client, prefix)
	})
	for _, tc := range []struct {
		name string
		test func(t *testing.T, backend redisBackend)
	}{
		{"keys", testRedisStoreKeys},
		{"keys with braces", testRedisStoreBraces},
		{"count failure lets hops through", testRedisStoreCountFailureLetsHopsThrough},
		{"crashed instance's hold lapses", testRedisStoreCrashedInstanceHoldLapses},
		{"late holder leaves other's hold", testRedisStoreLateHolderLeavesOthersHold},
		{"instances share holds", testRedisStoreInstancesShareHolds},
		{"round trips", testRedisStoreRoundTrips},
		{"create", testRedisStoreCreate},
		{"rate limiter", testRedisRateLimiter},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.test(t, backend) })
	}
}

// errLimiter is a rate limiter whose counter is unreachable.
type errLimiter struct{}

func (errLimiter) Allow(context.Context, string, int) (bool, error) { return false, errBoom }

// testLimitedUpdates is the contract of SessionStore.UpdateLimited, run with
// the limiter that goes with the store (for Redis, the one whose count rides
// in the store's own pipeline).
func testLimitedUpdates(t *testing.T, newStore func(t *testing.T) (ussd.SessionStore, ussd.RateLimiter)) {
	const phone = "+6281234567890"
	t.Run("limited: hops over the limit are refused without fn", func(t *testing.T) {
		s, l := newStore(t)
		ctx := t.Context()
		limit := ussd.Limit{Limiter: l, Phone: phone, PerMinute: 3}
		for i := range 3 {
			require.NoError(t, s.UpdateLimited(ctx, "k", longTTL, limit, increment), "hop %d", i+1)
		}
		called := false
		err := s.UpdateLimited(ctx, "k", longTTL, limit, func(old []byte) ([]byte, error) {
			called = true
			return increment(old)
		})
		require.ErrorIs(t, err, ussd.ErrRateLimited)
		assert.False(t, called, "fn ran for a hop over the limit")
		assertState(t, s, "k", "3")
		// The refused hop let go of the session at once.
		require.NoError(t, updateWithin(s, "k", waitBusy, increment))
		assertState(t, s, "k", "4")

		other := ussd.Limit{Limiter: l, Phone: "+6281234567891", PerMinute: 3}
		require.NoError(t, s.UpdateLimited(ctx, "k2", longTTL, other, increment), "another phone has its own count")
		require.NoError(t, s.UpdateLimited(ctx, "k", longTTL, ussd.Limit{Limiter: l, Phone: phone}, increment), "no limit: PerMinute 0")
		require.NoError(t, s.UpdateLimited(ctx, "k", longTTL, ussd.Limit{Phone: phone, PerMinute: 1}, increment), "no limit: no limiter")
	})

	t.Run("limited: a busy session over the limit is refused without waiting", func(t *testing.T) {
		s, l := newStore(t)
		limit := ussd.Limit{Limiter: l, Phone: phone, PerMinute: 1}
		require.NoError(t, s.UpdateLimited(t.Context(), "k", longTTL, limit, increment))
		h := startHold(t, s, "k", "held")
		ctx, cancel := context.WithTimeout(t.Context(), eventually)
		defer cancel()
		require.ErrorIs(t, s.UpdateLimited(ctx, "k", longTTL, limit, increment), ussd.ErrRateLimited)
		require.NoError(t, ctx.Err(), "the refused hop waited for the session")
		require.NoError(t, h.finish())
		assertState(t, s, "k", "held")
	})

	t.Run("limited: a hop that waits for its session is counted once", func(t *testing.T) {
		s, l := newStore(t)
		limit := ussd.Limit{Limiter: l, Phone: phone, PerMinute: 2}
		h := startHold(t, s, "k", "1")
		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), eventually)
			defer cancel()
			done <- s.UpdateLimited(ctx, "k", longTTL, limit, increment)
		}()
		time.Sleep(100 * time.Millisecond) // it tries the hold a few times meanwhile
		require.NoError(t, h.finish())
		require.NoError(t, <-done)
		require.NoError(t, s.UpdateLimited(t.Context(), "k", longTTL, limit, increment), "the second hop of the minute")
		require.ErrorIs(t, s.UpdateLimited(t.Context(), "k", longTTL, limit, increment), ussd.ErrRateLimited)
		assertState(t, s, "k", "3")
	})

	t.Run("limited: a failing limiter lets hops through and says why", func(t *testing.T) {
		s, _ := newStore(t)
		var heard []error
		limit := ussd.Limit{Limiter: errLimiter{}, Phone: phone, PerMinute: 1, Unavailable: func(err error) { heard = append(heard, err) }}
		for range 3 {
			require.NoError(t, s.UpdateLimited(t.Context(), "k", longTTL, limit, increment))
		}
		assertState(t, s, "k", "3")
		require.Len(t, heard, 3)
		assert.ErrorIs(t, heard[0], errBoom)
	})
}

// testSessionStore is the contract every ussd.SessionStore meets. newStore
// returns an empty store whose holds lapse after lockTTL; the store is
// closed when the test ends.
func testSessionStore(t *testing.T, newStore func(t *testing.T, lockTTL time.Duration) ussd.SessionStore) {
	t.Run("get of a missing session is nil", func(t *testing.T) {
		s := newStore(t, noLapse)
		got, err := s.Get(t.Context(), "missing")
		require.NoError(t, err)
		assert.Nil(t, got)
	})

	t.Run("update stores and passes the old state on", func(t *testing.T) {
		s := newStore(t, noLapse)
		ctx := t.Context()
		var seen [][]byte
		record := func(next string) func([]byte) ([]byte, error) {
			return func(old []byte) ([]byte, error) {
				seen = append(seen, old)
				return []byte(next), nil
			}
		}
		require.NoError(t, s.Update(ctx, "k", longTTL, record(`{"screen":"home"}`)))
		require.NoError(t, s.Update(ctx, "k", longTTL, record(`{"screen":"saldo"}`)))

		assert.Equal(t, [][]byte{nil, []byte(`{"screen":"home"}`)}, seen)
		assertState(t, s, "k", `{"screen":"saldo"}`)
	})

	t.Run("stored bytes are not shared with callers", func(t *testing.T) {
		s := newStore(t, noLapse)
		ctx := t.Context()
		value := []byte("abc")
		require.NoError(t, s.Update(ctx, "k", longTTL, put(value)))
		value[0] = 'X'
		got, err := s.Get(ctx, "k")
		require.NoError(t, err)
		got[1] = 'Y'
		assertState(t, s, "k", "abc")
	})

	t.Run("fn error stores nothing and is returned", func(t *testing.T) {
		s := newStore(t, noLapse)
		ctx := t.Context()
		require.NoError(t, s.Update(ctx, "k", longTTL, put([]byte("before"))))

		err := s.Update(ctx, "k", longTTL, func([]byte) ([]byte, error) {
			return []byte("after"), fmt.Errorf("render screen: %w", errBoom)
		})
		require.ErrorIs(t, err, errBoom)
		assertState(t, s, "k", "before")

		err = s.Update(ctx, "fresh", longTTL, func([]byte) ([]byte, error) { return []byte("x"), errBoom })
		require.ErrorIs(t, err, errBoom)
		assertState(t, s, "fresh", "")

		// The hold went with the error: the next hop gets in at once.
		require.NoError(t, updateWithin(s, "k", waitBusy, put([]byte("next"))))
		assertState(t, s, "k", "next")
	})

	t.Run("a panicking fn releases the hold", func(t *testing.T) {
		s := newStore(t, noLapse)
		assert.Panics(t, func() {
			_ = s.Update(t.Context(), "k", longTTL, func([]byte) ([]byte, error) { panic("menu bug") })
		})
		require.NoError(t, updateWithin(s, "k", waitBusy, put([]byte("next"))))
		assertState(t, s, "k", "next")
	})

	t.Run("nil result deletes the state", func(t *testing.T) {
		s := newStore(t, noLapse)
		ctx := t.Context()
		require.NoError(t, s.Update(ctx, "k", longTTL, put([]byte("state"))))
		require.NoError(t, s.Update(ctx, "k", longTTL, put(nil)))
		assertState(t, s, "k", "")
		// Deleting what is not there is fine too.
		require.NoError(t, s.Update(ctx, "never", longTTL, put(nil)))
		assertState(t, s, "never", "")
	})

	t.Run("state expires after its ttl", func(t *testing.T) {
		s := newStore(t, noLapse)
		ctx := t.Context()
		require.NoError(t, s.Update(ctx, "k", 200*time.Millisecond, put([]byte("state"))))
		assertState(t, s, "k", "state")
		assertGone(t, s, "k")

		var old []byte
		require.NoError(t, s.Update(ctx, "k", longTTL, func(o []byte) ([]byte, error) {
			old = o
			return []byte("again"), nil
		}))
		assert.Nil(t, old, "an expired session starts afresh")
	})

	t.Run("each update sets the ttl anew", func(t *testing.T) {
		s := newStore(t, noLapse)
		ctx := t.Context()
		// Short, then long: the state outlives the first ttl.
		require.NoError(t, s.Update(ctx, "k", 300*time.Millisecond, put([]byte("one"))))
		require.NoError(t, s.Update(ctx, "k", longTTL, put([]byte("two"))))
		time.Sleep(600 * time.Millisecond)
		assertState(t, s, "k", "two")

		// Long, then short: the state goes with the second ttl.
		require.NoError(t, s.Update(ctx, "k", 200*time.Millisecond, put([]byte("three"))))
		assertGone(t, s, "k")
	})

	t.Run("delete drops the state", func(t *testing.T) {
		s := newStore(t, noLapse)
		ctx := t.Context()
		require.NoError(t, s.Update(ctx, "k", longTTL, put([]byte("state"))))
		require.NoError(t, s.Update(ctx, "other", longTTL, put([]byte("kept"))))
		require.NoError(t, s.Delete(ctx, "k"))
		assertState(t, s, "k", "")
		assertState(t, s, "other", "kept")
		require.NoError(t, s.Delete(ctx, "missing"))
	})

	t.Run("concurrent updates of one session are serialised", func(t *testing.T) {
		s := newStore(t, noLapse)
		const n = 50
		var inside, overlaps atomic.Int32
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				errs <- s.Update(ctx, "k", longTTL, func(old []byte) ([]byte, error) {
					if inside.Add(1) > 1 {
						overlaps.Add(1)
					}
					defer inside.Add(-1)
					return increment(old)
				})
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		assert.Zero(t, overlaps.Load(), "fn ran for two hops at once")
		assertState(t, s, "k", strconv.Itoa(n))
	})

	t.Run("a held session is busy until ctx is done", func(t *testing.T) {
		s := newStore(t, noLapse)
		h := startHold(t, s, "k", "holder")

		called := false
		err := updateWithin(s, "k", waitBusy, func([]byte) ([]byte, error) {
			called = true
			return []byte("intruder"), nil
		})
		require.ErrorIs(t, err, ussd.ErrSessionBusy)
		assert.False(t, called, "fn ran without the hold")

		require.NoError(t, h.finish())
		assertState(t, s, "k", "holder")
	})

	t.Run("a waiting hop gets in when the holder lets go", func(t *testing.T) {
		s := newStore(t, noLapse)
		h := startHold(t, s, "k", "1")
		done := make(chan error, 1)
		go func() { done <- updateWithin(s, "k", eventually, increment) }()
		require.NoError(t, h.finish())
		require.NoError(t, <-done)
		assertState(t, s, "k", "2")
	})

	t.Run("a hold that outlives lockTTL lapses", func(t *testing.T) {
		s := newStore(t, lapse)
		crashed := startHold(t, s, "k", "crashed")

		// Waits about lapse, then gets in.
		require.NoError(t, updateWithin(s, "k", eventually, put([]byte("next"))))
		assertState(t, s, "k", "next")

		// The stale holder finally returns: nothing of it is stored.
		require.ErrorIs(t, crashed.finish(), ussd.ErrHoldLost)
		assertState(t, s, "k", "next")
	})

	for _, late := range []struct {
		name    string
		fn      func(old []byte) ([]byte, error)
		wantErr error
	}{
		{"with a new state", put([]byte("stale")), ussd.ErrHoldLost},
		{"with a nil state", put(nil), ussd.ErrHoldLost},
		{"with an error", func([]byte) ([]byte, error) { return nil, errBoom }, errBoom},
	} {
		t.Run("a late holder finishing "+late.name+" leaves the next holder alone", func(t *testing.T) {
			s := newStore(t, lapse)
			require.NoError(t, s.Update(t.Context(), "k", longTTL, put([]byte("start"))))
			stale := startHoldFn(t, s, "k", late.fn)
			next := startHold(t, s, "k", "next") // gets in once stale's hold lapsed

			require.ErrorIs(t, stale.finish(), late.wantErr)
			assertState(t, s, "k", "start")
			require.ErrorIs(t, updateWithin(s, "k", waitBusy, put([]byte("intruder"))), ussd.ErrSessionBusy,
				"the late holder freed the next holder's hold")

			require.NoError(t, next.finish())
			assertState(t, s, "k", "next")
		})
	}

	t.Run("sessions do not block each other", func(t *testing.T) {
		s := newStore(t, noLapse)
		a := startHold(t, s, "a", "A")
		b := startHold(t, s, "b", "B") // both held at once
		require.NoError(t, updateWithin(s, "c", waitBusy, put([]byte("C"))))
		require.NoError(t, a.finish())
		require.NoError(t, b.finish())
		assertState(t, s, "a", "A")
		assertState(t, s, "b", "B")
		assertState(t, s, "c", "C")
	})

	t.Run("a done ctx stops update before fn", func(t *testing.T) {
		s := newStore(t, noLapse)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		called := false
		err := s.Update(ctx, "k", longTTL, func([]byte) ([]byte, error) {
			called = true
			return []byte("x"), nil
		})
		require.ErrorIs(t, err, context.Canceled)
		assert.False(t, called)
	})

	t.Run("ttl must be positive", func(t *testing.T) {
		s := newStore(t, noLapse)
		require.Error(t, s.Update(t.Context(), "k", 0, put([]byte("x"))))
		assertState(t, s, "k", "")
	})

	t.Run("ping", func(t *testing.T) {
		s := newStore(t, noLapse)
		require.NoError(t, s.Ping(t.Context()))
	})
}

func TestMemoryStoreCloseTwice(t *testing.T) {
	s := ussd.NewMemoryStore(noLapse)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close())
}

func testRedisStoreKeys(t *testing.T, backend redisBackend) {
	s, client, prefix := newRedisStoreOn(t, backend, noLapse)
	ctx := t.Context()
	holdKey, stateKey := prefix+"l:{sess-1}", prefix+"s:{sess-1}"

	require.NoError(t, s.Update(ctx, "sess-1", 180*time.Second, func([]byte) ([]byte, error) {
		token, err := client.Get(ctx, holdKey).Result()
		require.NoError(t, err)
		assert.NotEmpty(t, token)
		pttl, err := client.PTTL(ctx, holdKey).Result()
		require.NoError(t, err)
		assert.True(t, pttl > 0 && pttl <= noLapse, "hold pttl %v; want in (0, %v]", pttl, noLapse)
		return []byte("state"), nil
	}))

	got, err := client.Get(ctx, stateKey).Result()
	require.NoError(t, err)
	assert.Equal(t, "state", got)
	pttl, err := client.PTTL(ctx, stateKey).Result()
	require.NoError(t, err)
	assert.True(t, pttl > 170*time.Second && pttl <= 180*time.Second, "state pttl %v; want about 180s", pttl)
	n, err := client.Exists(ctx, holdKey).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "hold left behind")
}

// The count that rides in the hold pipeline fails (its key holds no
// number): the hop goes through, and the failure is reported.
func testRedisStoreCountFailureLetsHopsThrough(t *testing.T, backend redisBackend) {
	s, client, prefix := newRedisStoreOn(t, backend, noLapse)
	ctx := t.Context()
	const phone = "+6281234567890"
	window := time.Now().Unix() / 60
	for _, w := range []int64{window, window + 1} { // the minute may turn meanwhile
		require.NoError(t, client.Set(ctx, prefix+"rate:{"+phone+"}:"+strconv.FormatInt(w, 10), "not a number", time.Minute).Err())
	}
	var heard []error
	limit := ussd.Limit{Limiter: ussd.NewRedisRateLimiter(client, prefix), Phone: phone, PerMinute: 1,
		Unavailable: func(err error) { heard = append(heard, err) }}
	for range 2 {
		require.NoError(t, s.UpdateLimited(ctx, "k", longTTL, limit, increment))
	}
	assertState(t, s, "k", "2")
	require.Len(t, heard, 2)
	assert.ErrorContains(t, heard[0], "not an integer")
}

func testRedisStoreCrashedInstanceHoldLapses(t *testing.T, backend redisBackend) {
	s, client, prefix := newRedisStoreOn(t, backend, noLapse)
	ctx := t.Context()
	// An instance took the hold and died.
	require.NoError(t, client.Set(ctx, prefix+"l:{k}", "crashed-instance", lapse).Err())

	require.ErrorIs(t, updateWithin(s, "k", waitBusy, put([]byte("x"))), ussd.ErrSessionBusy)
	require.NoError(t, updateWithin(s, "k", eventually, put([]byte("next"))))
	assertState(t, s, "k", "next")
}

func testRedisStoreLateHolderLeavesOthersHold(t *testing.T, backend redisBackend) {
	for _, tc := range []struct {
		name    string
		fn      func([]byte) ([]byte, error)
		wantErr error
	}{
		{"stores", put([]byte("stale")), ussd.ErrHoldLost},
		{"deletes", put(nil), ussd.ErrHoldLost},
		{"fails", func([]byte) ([]byte, error) { return nil, errBoom }, errBoom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, client, prefix := newRedisStoreOn(t, backend, noLapse)
			ctx := t.Context()
			holdKey := prefix + "l:{k}"
			require.NoError(t, s.Update(ctx, "k", longTTL, put([]byte("start"))))

			h := startHoldFn(t, s, "k", tc.fn)
			// Its hold lapses and another instance takes it.
			require.NoError(t, client.Set(ctx, holdKey, "other-instance", time.Minute).Err())

			require.ErrorIs(t, h.finish(), tc.wantErr)
			assertState(t, s, "k", "start")
			token, err := client.Get(ctx, holdKey).Result()
			require.NoError(t, err)
			assert.Equal(t, "other-instance", token)
		})
	}

	t.Run("hold lapsed and nobody took it", func(t *testing.T) {
		s, client, prefix := newRedisStoreOn(t, backend, noLapse)
		ctx := t.Context()
		require.NoError(t, s.Update(ctx, "k", longTTL, put([]byte("start"))))
		h := startHold(t, s, "k", "stale")
		require.NoError(t, client.Del(ctx, prefix+"l:{k}").Err())
		require.ErrorIs(t, h.finish(), ussd.ErrHoldLost)
		assertState(t, s, "k", "start")
	})
}

func testRedisStoreInstancesShareHolds(t *testing.T, backend redisBackend) {
	client, prefix := backend(t)
	instances := []ussd.SessionStore{
		ussd.NewRedisStore(client, prefix, noLapse),
		ussd.NewRedisStore(client, prefix, noLapse),
	}
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- updateWithin(instances[i%2], "k", 30*time.Second, increment) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assertState(t, instances[0], "k", strconv.Itoa(n))
}

func testRedisStoreRoundTrips(t *testing.T, backend redisBackend) {
	client, prefix := backend(t)
	hook := &ussdtest.RoundTrips{}
	client.AddHook(hook)
	s := ussd.NewRedisStore(client, prefix, noLapse)
	limiter := ussd.NewRedisRateLimiter(client, prefix)
	ctx := t.Context()

	// Warm up: the scripts get loaded into Redis.
	require.NoError(t, s.Update(ctx, "k", longTTL, increment))
	require.ErrorIs(t, s.Update(ctx, "k", longTTL, fail), errBoom)

	limit := ussd.Limit{Limiter: limiter, Phone: "+6281234567890", PerMinute: 1}
	for _, tc := range []struct {
		name string
		do   func() error
		want []string
	}{
		{"update", func() error { return s.Update(ctx, "k", longTTL, increment) },
			[]string{"pipeline(set get)", "evalsha"}},
		{"update deleting", func() error { return s.Update(ctx, "k", longTTL, put(nil)) },
			[]string{"pipeline(set get)", "evalsha"}},
		{"update whose fn fails", func() error {
			if err := s.Update(ctx, "k", longTTL, fail); !errors.Is(err, errBoom) {
				return fmt.Errorf("got %v; want %v", err, errBoom)
			}
			return nil
		}, []string{"pipeline(set get)", "evalsha"}},
		{"limited update", func() error { return s.UpdateLimited(ctx, "k", longTTL, limit, increment) },
			[]string{"pipeline(set get incr expire)", "evalsha"}},
		{"limited update over the limit", func() error {
			if err := s.UpdateLimited(ctx, "k", longTTL, limit, increment); !errors.Is(err, ussd.ErrRateLimited) {
				return fmt.Errorf("got %v; want %v", err, ussd.ErrRateLimited)
			}
			return nil
		}, []string{"pipeline(set get incr expire)", "evalsha"}},
		{"create", func() error { _, err := s.Create(ctx, "new", longTTL, ussd.Limit{}, []byte("1")); return err },
			[]string{"set"}},
		{"create limited", func() error {
			_, err := s.Create(ctx, "new2", longTTL, ussd.Limit{Limiter: limiter, Phone: "+6281234567892", PerMinute: 1}, []byte("1"))
			return err
		}, []string{"pipeline(set incr expire)"}},
		{"get", func() error { _, err := s.Get(ctx, "k"); return err }, []string{"get"}},
		{"delete", func() error { return s.Delete(ctx, "k") }, []string{"del"}},
		{"rate limiter on its own", func() error { _, err := limiter.Allow(ctx, "+6281234567891", 5); return err },
			[]string{"pipeline(incr expire)"}},
	} {
		hook.Reset()
		require.NoError(t, tc.do(), tc.name)
		assert.Equal(t, tc.want, hook.Trips(), "round trips of %s", tc.name)
	}
}

// Create stores a new session's first state only where there is none, with
// its TTL, and over the limit stores nothing.
func testRedisStoreCreate(t *testing.T, backend redisBackend) {
	s, client, prefix := newRedisStoreOn(t, backend, noLapse)
	ctx := t.Context()
	limiter := ussd.NewRedisRateLimiter(client, prefix)

	created, err := s.Create(ctx, "k", time.Minute, ussd.Limit{}, []byte("first"))
	require.NoError(t, err)
	assert.True(t, created)
	assertState(t, s, "k", "first")
	ttl, err := client.PTTL(ctx, prefix+"s:{k}").Result()
	require.NoError(t, err)
	assert.InDelta(t, time.Minute.Seconds(), ttl.Seconds(), 5, "the state carries the session's TTL")

	created, err = s.Create(ctx, "k", time.Minute, ussd.Limit{}, []byte("second"))
	require.NoError(t, err)
	assert.False(t, created, "a session that exists is not created again")
	assertState(t, s, "k", "first")
	require.NoError(t, s.Update(ctx, "k", time.Minute, put([]byte("updated"))), "Update works on a created state")
	assertState(t, s, "k", "updated")

	limit := ussd.Limit{Limiter: limiter, Phone: "+6281234567890", PerMinute: 1}
	created, err = s.Create(ctx, "a", time.Minute, limit, []byte("within"))
	require.NoError(t, err)
	assert.True(t, created)
	_, err = s.Create(ctx, "b", time.Minute, limit, []byte("over"))
	require.ErrorIs(t, err, ussd.ErrRateLimited)
	got, err := s.Get(ctx, "b")
	require.NoError(t, err)
	assert.Nil(t, got, "a hop over the limit leaves no state")

	// A limiter apart from the store's client is asked first.
	other := ussd.NewMemoryRateLimiter()
	limit = ussd.Limit{Limiter: other, Phone: "+6281234567891", PerMinute: 1}
	_, err = s.Create(ctx, "c", time.Minute, limit, []byte("1"))
	require.NoError(t, err)
	_, err = s.Create(ctx, "d", time.Minute, limit, []byte("1"))
	require.ErrorIs(t, err, ussd.ErrRateLimited)
	got, err = s.Get(ctx, "d")
	require.NoError(t, err)
	assert.Nil(t, got)

	_, err = s.Create(ctx, "e", 0, ussd.Limit{}, []byte("1"))
	assert.Error(t, err, "a TTL that is not positive")
	_, err = s.Create(ctx, "e", time.Minute, ussd.Limit{}, nil)
	assert.Error(t, err, "no state")
}

func BenchmarkMemoryStoreUpdate(b *testing.B) {
	s := ussd.NewMemoryStore(noLapse)
	b.Cleanup(func() { _ = s.Close() })
	benchmarkUpdate(b, s)
}

func BenchmarkRedisStoreUpdate(b *testing.B) {
	client, prefix := ussdtest.Redis(b)
	benchmarkUpdate(b, ussd.NewRedisStore(client, prefix, 10*time.Second))
}

// BenchmarkRedisStoreLimitedHop is one rate-limited hop's Redis work, the
// limiter asked on its own round trip before the update (as before
// UpdateLimited) beside the count riding in the update's first pipeline:
//
//	go test ./ussd -run '^$' -bench RedisStoreLimitedHop -benchtime 2s
func BenchmarkRedisStoreLimitedHop(b *testing.B) {
	client, prefix := ussdtest.Redis(b)
	s := ussd.NewRedisStore(client, prefix, 10*time.Second)
	l := ussd.NewRedisRateLimiter(client, prefix)
	ctx := context.Background()
	b.Run("limiter-apart", func(b *testing.B) {
		for b.Loop() {
			if ok, err := l.Allow(ctx, "+6281234567890", 1<<30); err != nil || !ok {
				b.Fatal(ok, err)
			}
			if err := s.Update(ctx, "apart", time.Minute, increment); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("limiter-in-pipeline", func(b *testing.B) {
		limit := ussd.Limit{Limiter: l, Phone: "+6281234567891", PerMinute: 1 << 30}
		for b.Loop() {
			if err := s.UpdateLimited(ctx, "together", time.Minute, limit, increment); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// benchmarkUpdate runs hops of distinct sessions in parallel.
func benchmarkUpdate(b *testing.B, s ussd.SessionStore) {
	var sessions atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		key := "bench-" + strconv.FormatInt(sessions.Add(1), 10)
		ctx := context.Background()
		for pb.Next() {
			if err := s.Update(ctx, key, time.Minute, increment); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func newRedisStoreOn(t *testing.T, backend redisBackend, lockTTL time.Duration) (*ussd.RedisStore, redis.UniversalClient, string) {
	t.Helper()
	client, prefix := backend(t)
	s := ussd.NewRedisStore(client, prefix, lockTTL)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s, client, prefix
}

// put returns an update fn that stores value whatever was there.
func put(value []byte) func([]byte) ([]byte, error) {
	return func([]byte) ([]byte, error) { return value, nil }
}

func fail([]byte) ([]byte, error) { return []byte("never stored"), errBoom }

// increment treats the state as a decimal counter (nil is 0) and adds one.
func increment(old []byte) ([]byte, error) {
	n := 0
	if old != nil {
		var err error
		if n, err = strconv.Atoi(string(old)); err != nil {
			return nil, fmt.Errorf("counter %q: %w", old, err)
		}
	}
	return []byte(strconv.Itoa(n + 1)), nil
}

// updateWithin runs an Update that waits at most d for the session.
func updateWithin(s ussd.SessionStore, key string, d time.Duration, fn func([]byte) ([]byte, error)) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return s.Update(ctx, key, longTTL, fn)
}

// assertState checks the stored state of key; want "" means none.
func assertState(t *testing.T, s ussd.SessionStore, key, want string) {
	t.Helper()
	got, err := s.Get(t.Context(), key)
	require.NoError(t, err)
	if want == "" {
		assert.Nil(t, got, "state of %s", key)
		return
	}
	assert.Equal(t, want, string(got), "state of %s", key)
}

// assertGone waits for key's state to expire.
func assertGone(t *testing.T, s ussd.SessionStore, key string) {
	t.Helper()
	assert.Eventually(t, func() bool {
		got, err := s.Get(context.Background(), key)
		return err == nil && got == nil
	}, eventually, 20*time.Millisecond, "state of %s never expired", key)
}

// held is an Update stopped inside its fn, holding its session.
type held struct {
	let  chan struct{}
	done chan error
}

// startHold starts an Update of key that takes the hold and keeps it until
// finish, then stores value.
func startHold(t *testing.T, s ussd.SessionStore, key, value string) *held {
	t.Helper()
	return startHoldFn(t, s, key, put([]byte(value)))
}

// startHoldFn is startHold with fn deciding the outcome once let go.
func startHoldFn(t *testing.T, s ussd.SessionStore, key string, fn func([]byte) ([]byte, error)) *held {
	t.Helper()
	h := &held{let: make(chan struct{}), done: make(chan error, 1)}
	entered := make(chan struct{})
	go func() {
		h.done <- updateWithin(s, key, eventually+time.Minute, func(old []byte) ([]byte, error) {
			close(entered)
			<-h.let
			return fn(old)
		})
	}()
	select {
	case <-entered:
	case err := <-h.done:
		t.Fatalf("hold %s: update ended before fn: %v", key, err)
	case <-time.After(eventually):
		t.Fatalf("hold %s: not taken within %v", key, eventually)
	}
	t.Cleanup(func() { h.finish() }) // idempotent; frees the goroutine on failure
	return h
}

// finish lets the held fn return and reports what Update returned.
func (h *held) finish() error {
	select {
	case <-h.let:
	default:
		close(h.let)
	}
	err, ok := <-h.done
	if ok {
		close(h.done)
	}
	return err
}

// TestMemoryStoreIsBounded: a flood of new sessions stops at MaxSessions
// (ErrSessionsFull, nothing stored) while live sessions go on updating; an
// expired session makes room again.
func TestMemoryStoreIsBounded(t *testing.T) {
	ctx := context.Background()
	s := ussd.NewMemoryStore(time.Second)
	t.Cleanup(func() { s.Close() })
	assert.Equal(t, ussd.DefaultMaxSessions, s.MaxSessions, "bounded by default")
	s.MaxSessions = 3
	put := func(key string, ttl time.Duration) error {
		return s.Update(ctx, key, ttl, func([]byte) ([]byte, error) { return []byte(key), nil })
	}
	require.NoError(t, put("a", time.Minute))
	require.NoError(t, put("b", time.Minute))
	require.NoError(t, put("c", 50*time.Millisecond))
	assert.Equal(t, 3, s.Len())
	ran := false
	err := s.Update(ctx, "d", time.Minute, func([]byte) ([]byte, error) { ran = true; return []byte("d"), nil })
	assert.ErrorIs(t, err, ussd.ErrSessionsFull)
	assert.False(t, ran, "a refused session's hop does no work (no posting behind a refusal)")
	v, err := s.Get(ctx, "d")
	require.NoError(t, err)
	assert.Nil(t, v, "nothing stored for the refused session")
	require.NoError(t, put("a", time.Minute), "a live session still updates at the cap")

	time.Sleep(1100 * time.Millisecond) // "c" expires; the sweep under the cap runs at most once a second
	require.NoError(t, put("d", time.Minute), "an expired session made room")
	assert.Equal(t, 3, s.Len())
	require.NoError(t, s.Delete(ctx, "b"))
	require.NoError(t, put("e", time.Minute), "an ended session made room")
}
