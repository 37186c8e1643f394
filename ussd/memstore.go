package ussd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrHoldLost is returned by SessionStore.Update when fn ran for longer than
// the store's lockTTL, so the exclusive hold lapsed (and may have been taken
// by another hop) before the new state could be stored. Nothing is stored.
var ErrHoldLost = errors.New("ussd session hold lapsed before the update was stored")

// ErrSessionsFull is returned by MemoryStore when a new session would go
// past its cap: a flood of first hops must not grow the process without
// bound. Live sessions go on; new ones are refused until some end.
var ErrSessionsFull = errors.New("ussd session store full: new session refused")

// DefaultMaxSessions caps a MemoryStore's live sessions: a one-machine
// cooperative has a few hundred at once (180 s idle each); a state is 1–2 KB.
const DefaultMaxSessions = 50_000

// defaultLockTTL is used when a store is built with lockTTL <= 0.
const defaultLockTTL = 10 * time.Second

// memJanitorInterval is how often MemoryStore sweeps expired states and
// lapsed holds that nobody read again.
const memJanitorInterval = 30 * time.Second

// MemoryStore is an in-process SessionStore for a single lumbung instance
// (development, tests, a one-machine cooperative). State expires lazily on
// read and is swept by a janitor goroutine that Close stops.
type MemoryStore struct {
	lockTTL time.Duration
	// MaxSessions caps the live sessions (DefaultMaxSessions; 0 or less:
	// no cap). Set it before the store is used.
	MaxSessions int

	mu     sync.Mutex
	states map[string]memState
	holds  map[string]*memHold
	swept  time.Time // the last sweep

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type memState struct {
	value   []byte
	expires time.Time
}

// memHold is one exclusive hold on a session. Its identity (the pointer) is
// the holder's token; released is closed by the holder, exactly once, when it
// lets go, waking everybody waiting for the session.
type memHold struct {
	expires  time.Time
	released chan struct{}
}

var _ SessionStore = (*MemoryStore)(nil)

// NewMemoryStore returns a MemoryStore whose holds lapse after lockTTL
// (lockTTL <= 0 selects 10 s) and starts its janitor; call Close to stop it.
func NewMemoryStore(lockTTL time.Duration) *MemoryStore {
	if lockTTL <= 0 {
		lockTTL = defaultLockTTL
	}
	s := &MemoryStore{
		lockTTL:     lockTTL,
		MaxSessions: DefaultMaxSessions,
		states:      make(map[string]memState),
		holds:       make(map[string]*memHold),
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
	}
	go s.janitor(memJanitorInterval)
	return s
}

// Update implements SessionStore.
func (s *MemoryStore) Update(ctx context.Context, key string, ttl time.Duration, fn func(old []byte) ([]byte, error)) error {
	return s.UpdateLimited(ctx, key, ttl, Limit{}, fn)
}

// UpdateLimited implements SessionStore: the count is asked of limit's
// limiter before the hold is taken.
func (s *MemoryStore) UpdateLimited(ctx context.Context, key string, ttl time.Duration, limit Limit, fn func(old []byte) ([]byte, error)) error {
	if ttl <= 0 {
		return fmt.Errorf("memory session store: ttl %v is not positive", ttl)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if !limit.allow(ctx) {
		return ErrRateLimited
	}
	h, old, err := s.acquire(ctx, key)
	if err != nil {
		return err
	}
	stored := false
	defer func() {
		if !stored { // fn failed or panicked
			s.release(key, h)
		}
	}()

	value, err := fn(old)
	if err != nil {
		return err
	}
	stored = true
	return s.commit(key, h, value, ttl)
}

// acquire takes the hold on key, waiting for the current holder to let go or
// its hold to lapse, and returns the hold with the current state.
func (s *MemoryStore) acquire(ctx context.Context, key string) (*memHold, []byte, error) {
	for {
		s.mu.Lock()
		now := time.Now()
		cur := s.holds[key]
		if cur == nil || !now.Before(cur.expires) {
			old := s.loadLocked(key, now)
			if old == nil && s.fullLocked(now) {
				s.mu.Unlock()
				return nil, nil, ErrSessionsFull
			}
			h := &memHold{expires: now.Add(s.lockTTL), released: make(chan struct{})}
			s.holds[key] = h
			s.mu.Unlock()
			return h, old, nil
		}
		released, wait := cur.released, cur.expires.Sub(now)
		s.mu.Unlock()
		if !extend(ctx) { // the handler answered already: stop here
			return nil, nil, ErrSessionBusy
		}

		timer := time.NewTimer(wait)
		select {
		case <-released:
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, ErrSessionBusy
		}
		timer.Stop()
	}
}

// commit stores value (deleting the state when it is nil) and lets go of h,
// provided h is still the live hold on key.
func (s *MemoryStore) commit(key string, h *memHold, value []byte, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer close(h.released)
	now := time.Now()
	if s.holds[key] != h {
		return ErrHoldLost
	}
	delete(s.holds, key)
	if !now.Before(h.expires) {
		return ErrHoldLost
	}
	if value == nil {
		delete(s.states, key)
		return nil
	}
	s.states[key] = memState{value: bytes.Clone(value), expires: now.Add(ttl)}
	return nil
}

// fullLocked reports whether a new session must be refused: the store holds
// MaxSessions live ones. It is asked before the hop's work runs, so that a
// refused hop has done nothing; a few hops admitted at once may overshoot
// the cap by as many. s.mu must be held.
func (s *MemoryStore) fullLocked(now time.Time) bool {
	if s.MaxSessions <= 0 || len(s.states) < s.MaxSessions {
		return false
	}
	if now.Sub(s.swept) >= time.Second { // at most once a second under a flood
		s.sweepLocked(now)
	}
	return len(s.states) >= s.MaxSessions
}

// Len is how many sessions the store holds (some may have expired unswept):
// the lumbung_ussd_memory_sessions gauge.
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.states)
}

// release lets go of h without storing anything; a hold that already lapsed
// and was taken by somebody else is left alone.
func (s *MemoryStore) release(key string, h *memHold) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holds[key] == h {
		delete(s.holds, key)
	}
	close(h.released)
}

// Get implements SessionStore.
func (s *MemoryStore) Get(ctx context.Context, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(key, time.Now()), nil
}

// loadLocked returns a copy of key's live state, dropping it if it expired.
// s.mu must be held.
func (s *MemoryStore) loadLocked(key string, now time.Time) []byte {
	st, ok := s.states[key]
	if !ok {
		return nil
	}
	if !now.Before(st.expires) {
		delete(s.states, key)
		return nil
	}
	return bytes.Clone(st.value)
}

// Delete implements SessionStore. It does not touch a hold on key.
func (s *MemoryStore) Delete(ctx context.Context, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.states, key)
	return nil
}

// Ping implements SessionStore; an in-process store can always serve.
func (s *MemoryStore) Ping(ctx context.Context) error {
	return ctx.Err()
}

// Close stops the janitor. It is safe to call more than once; the store keeps
// answering afterwards, only without the background sweep.
func (s *MemoryStore) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
	})
	return nil
}

func (s *MemoryStore) janitor(every time.Duration) {
	defer close(s.done)
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-ticker.C:
			s.sweep(time.Now())
		}
	}
}

// sweep drops expired states and lapsed holds. A lapsed hold's holder still
// closes its own released channel when it finishes.
func (s *MemoryStore) sweep(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
}

// sweepLocked is sweep with s.mu held.
func (s *MemoryStore) sweepLocked(now time.Time) {
	s.swept = now
	for k, st := range s.states {
		if !now.Before(st.expires) {
			delete(s.states, k)
		}
	}
	for k, h := range s.holds {
		if !now.Before(h.expires) {
			delete(s.holds, k)
		}
	}
}
