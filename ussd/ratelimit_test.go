package ussd_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

func testRateLimiter(t *testing.T, l ussd.RateLimiter, setNow func(time.Time)) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 10, 0, 5, 0, time.UTC)
	setNow(t0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := l.Allow(ctx, "+6281234567890", 30)
			assert.NoError(t, err)
			if ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 30, allowed, "exactly the limit passes, also concurrently")
	ok, err := l.Allow(ctx, "+6281234567891", 30)
	require.NoError(t, err)
	assert.True(t, ok, "another phone has its own count")
	ok, _ = l.Allow(ctx, "+6281234567890", 0)
	assert.True(t, ok, "0 turns the limit off")
	setNow(t0.Add(time.Minute))
	ok, err = l.Allow(ctx, "+6281234567890", 30)
	require.NoError(t, err)
	assert.True(t, ok, "the next minute starts afresh")
}

func TestMemoryRateLimiter(t *testing.T) {
	l := ussd.NewMemoryRateLimiter()
	var mu sync.Mutex
	now := time.Now()
	l.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	testRateLimiter(t, l, func(t time.Time) { mu.Lock(); now = t; mu.Unlock() })
}

func TestRedisRateLimiter(t *testing.T) {
	client, prefix := ussdtest.Redis(t)
	l := ussd.NewRedisRateLimiter(client, prefix)
	var mu sync.Mutex
	now := time.Now()
	l.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	testRateLimiter(t, l, func(t time.Time) { mu.Lock(); now = t; mu.Unlock() })
	keys, err := client.Keys(context.Background(), prefix+"rate:*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		ttl, err := client.TTL(context.Background(), k).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, time.Duration(0), "counters expire by themselves")
	}
}
