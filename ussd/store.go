package ussd

import (
	"context"
	"errors"
	"time"
)

// ErrSessionBusy is returned by SessionStore.Update when another hop of the
// same session holds the session and does not let go within the wait.
var ErrSessionBusy = errors.New("ussd session busy")

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
type SessionStore interface {
	Update(ctx context.Context, key string, ttl time.Duration, fn func(old []byte) (new []byte, err error)) error
	// Get returns the stored state (nil if none) without taking the hold.
	Get(ctx context.Context, key string) ([]byte, error)
	// Delete drops the state (the network ended the session).
	Delete(ctx context.Context, key string) error
	// Ping reports whether the store can serve (used by /readyz).
	Ping(ctx context.Context) error
	Close() error
}
