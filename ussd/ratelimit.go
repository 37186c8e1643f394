package ussd

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// RateLimiter counts hops per phone in fixed one-minute windows. Allow
// reports whether one more hop fits within limit.
type RateLimiter interface {
	Allow(ctx context.Context, phone string, limit int) (bool, error)
}

// rateWindow is the length of one counting window.
const rateWindow = time.Minute

// RedisRateLimiter shares the count across lumbung instances: one pipelined
// round trip (INCR, then EXPIRE on the window's first hop). A RedisStore on
// the same client sends the same two commands in the pipeline that takes the
// session's hold, so a limited hop costs no round trip of its own.
type RedisRateLimiter struct {
	client redis.UniversalClient
	prefix string
	now    func() time.Time
}

// NewRedisRateLimiter keeps its counters under prefix.
func NewRedisRateLimiter(client redis.UniversalClient, prefix string) *RedisRateLimiter {
	return &RedisRateLimiter{client: client, prefix: prefix, now: time.Now}
}

// Allow implements RateLimiter.
func (r *RedisRateLimiter) Allow(ctx context.Context, phone string, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	var allowed func() (bool, error)
	_, _ = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		allowed = r.queue(ctx, p, phone, limit)
		return nil
	})
	return allowed()
}

// queue adds the count of one hop of phone to p and returns what tells,
// once p has run, whether the hop fits within limit. The counter's key sits
// in its own hash slot ({phone}): on Redis Cluster the pipeline it rides in
// may span slots, which a pipeline (unlike MULTI or a script) allows.
func (r *RedisRateLimiter) queue(ctx context.Context, p redis.Pipeliner, phone string, limit int) func() (bool, error) {
	window := r.now().Unix() / int64(rateWindow/time.Second)
	key := r.prefix + "rate:{" + phone + "}:" + strconv.FormatInt(window, 10)
	incr := p.Incr(ctx, key)
	expire := p.ExpireNX(ctx, key, 2*rateWindow)
	return func() (bool, error) {
		if err := incr.Err(); err != nil {
			return false, err
		}
		if err := expire.Err(); err != nil {
			return false, err
		}
		return incr.Val() <= int64(limit), nil
	}
}

// MemoryRateLimiter is the in-process counterpart for a single instance.
type MemoryRateLimiter struct {
	mu     sync.Mutex
	window int64
	counts map[string]int
	now    func() time.Time
}

// NewMemoryRateLimiter returns an empty limiter.
func NewMemoryRateLimiter() *MemoryRateLimiter {
	return &MemoryRateLimiter{counts: map[string]int{}, now: time.Now}
}

// Allow implements RateLimiter.
func (m *MemoryRateLimiter) Allow(_ context.Context, phone string, limit int) (bool, error) {
	if limit <= 0 {
		return true, nil
	}
	window := m.now().Unix() / int64(rateWindow/time.Second)
	m.mu.Lock()
	defer m.mu.Unlock()
	if window != m.window { // a new minute: forget the old counts
		m.window = window
		clear(m.counts)
	}
	m.counts[phone]++
	return m.counts[phone] <= limit, nil
}
