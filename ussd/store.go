package ussd

import (
	"context"
	"errors"
	"time"
)

// ErrSessionBusy is returned by SessionStore.Update when another hop of the
// same session holds the session and does not let go within the wait.
var ErrSessionBusy = errors.New("ussd session busy")

// ErrRateLimited is returned by SessionStore.UpdateLimited when the hop is
// over its per-phone limit: fn was not called and nothing was stored.
var ErrRateLimited = errors.New("ussd hop over the per-phone rate limit")

// SessionStore keeps each USSD session's state (opaque bytes, JSON in
// practice) with an idle TTL, and serialises updates of one session across
// goroutines and, for Redis, across lumbung instances.
//
// Update loads the current state of key (nil when there is none or it has
// expired), calls fn with it while holding the session exclusively, and then
// stores what fn returns with the given ttl (a nil result deletes the state).
// If fn returns an error nothing is stored and the error is returned. The
// exclusive hold is released on every path, and only by its holder: a hold
// that outlives lockTTL (a crashed instance) lapses by itself and a late
// release never frees somebody else's hold. Update waits at most until ctx
// is done for a hold held by somebody else, then returns ErrSessionBusy.
//
// UpdateLimited is Update that first counts the hop against limit (see
// Limit), in the same round trip that takes the hold where the store can.
// Over the limit it returns ErrRateLimited at once, without calling fn and
// without waiting for a busy session. A limiter that fails lets the hop
// through (and reports the error to limit.Unavailable): a flaky counter must
// not lock members out.
type SessionStore interface {
	Update(ctx context.Context, key string, ttl time.Duration, fn func(old []byte) (new []byte, err error)) error
	UpdateLimited(ctx context.Context, key string, ttl time.Duration, limit Limit, fn func(old []byte) (new []byte, err error)) error
	// Get returns the stored state (nil if none) without taking the hold.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete drops the state (the network ended the session).
	Delete(ctx context.Context, key string) error
	// Ping reports whether the store can serve (used by /readyz).
	Ping(ctx context.Context) error
	Close() error
}

// SessionCreator is a SessionStore that can store the first state of a new
// session in one round trip, without taking the session's hold: Create
// stores state under key with ttl only if key holds no state, and reports
// whether it did. The handler computes a first hop's answer (a read-only
// screen) before it knows whether the session is new, and falls back to
// Update when Create finds a state there (a telco retry, a reused id).
// Like UpdateLimited it counts the hop against limit, and over the limit
// returns ErrRateLimited with nothing stored.
type SessionCreator interface {
	Create(ctx context.Context, key string, ttl time.Duration, limit Limit, state []byte) (created bool, err error)
}

// Limit is the per-phone rate limit one hop counts against: one more hop of
// Phone in Limiter's current window, allowed while the count stays within
// PerMinute. A nil Limiter or PerMinute <= 0 counts nothing.
type Limit struct {
	Limiter   RateLimiter
	Phone     string
	PerMinute int
	// Unavailable, when set, hears why the count failed (the hop went
	// through uncounted).
	Unavailable func(err error)
}

func (l Limit) off() bool { return l.Limiter == nil || l.PerMinute <= 0 }

// allow asks the limiter on its own (a store that cannot send the count
// along with its own round trip).
func (l Limit) allow(ctx context.Context) bool {
	if l.off() {
		return true
	}
	ok, err := l.Limiter.Allow(ctx, l.Phone, l.PerMinute)
	return l.judge(ok, err)
}

// judge turns a count's outcome into whether the hop may go on.
func (l Limit) judge(ok bool, err error) bool {
	if err != nil {
		if l.Unavailable != nil {
			l.Unavailable(err)
		}
		return true
	}
	return ok
}
