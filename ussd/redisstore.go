package ussd

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Waiting for a busy session's hold backs off from redisMinBackoff, doubling
// up to redisMaxBackoff, until the caller's context is done.
const (
	redisMinBackoff = 5 * time.Millisecond
	redisMaxBackoff = 50 * time.Millisecond
)

// redisReleaseTimeout bounds the best-effort release of a hold on a failure
// path; it runs even when the caller's context is already done.
const redisReleaseTimeout = 2 * time.Second

// redisCommit stores the new state and releases the hold in one round trip,
// but only while the hold still carries the caller's token.
//
//	KEYS[1] hold key, KEYS[2] state key
//	ARGV[1] token, ARGV[2] "set" or "del", ARGV[3] state, ARGV[4] ttl in ms
//
// It returns 1 when stored and 0 when the hold was lost (nothing written).
var redisCommit = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
	return 0
end
if ARGV[2] == 'del' then
	redis.call('DEL', KEYS[2])
else
	redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
redis.call('DEL', KEYS[1])
return 1
`)

// redisRelease deletes the hold KEYS[1] only if it still carries ARGV[1].
var redisRelease = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
	return redis.call('DEL', KEYS[1])
end
return 0
`)

// RedisStore is a SessionStore in Redis, shared by every lumbung instance.
// A session's state lives at <prefix>s:<key> with the session's idle TTL and
// its exclusive hold at <prefix>l:<key>: a random token set with NX and a
// lockTTL expiry, deleted only by a script that compares the token.
//
// An uncontended Update costs two round trips: one pipeline (SET NX the hold
// + GET the state) and one script (check the token, SET PX or DEL the state,
// DEL the hold). A failing fn costs two as well (the second releases the hold).
// UpdateLimited with a RedisRateLimiter on the same client adds the limiter's
// INCR and EXPIRE to the first pipeline, so it costs two as well; a hop over
// the limit costs the pipeline and the release of the hold it took.
// Create, a new session's first state, is one round trip (SET NX PX).
// The commit script touches two keys; the session key sits in a hash tag
// ({key}) so both land in one slot on Redis Cluster. The rate limiter's
// counter has a slot of its own ({phone}): on a cluster the first pipeline
// is split by go-redis between the session's master and the phone's, sent
// to both at once, so it still costs one round trip of waiting.
type RedisStore struct {
	client  redis.UniversalClient
	prefix  string
	lockTTL time.Duration
}

var _ SessionStore = (*RedisStore)(nil)

// NewRedisStore returns a RedisStore using client, with every key under
// prefix and holds that lapse after lockTTL (lockTTL <= 0 selects 10 s).
// The caller owns client and closes it.
func NewRedisStore(client redis.UniversalClient, prefix string, lockTTL time.Duration) *RedisStore {
	if lockTTL <= 0 {
		lockTTL = defaultLockTTL
	}
	return &RedisStore{client: client, prefix: prefix, lockTTL: lockTTL}
}

func (s *RedisStore) stateKey(key string) string { return s.prefix + "s:{" + hashTag(key) + "}" }
func (s *RedisStore) holdKey(key string) string  { return s.prefix + "l:{" + hashTag(key) + "}" }

// hashTag is what goes between the braces of a session's keys: the key
// itself, so both keys (the script touches both) hash to the same slot on
// Redis Cluster. Redis takes the tag from the first '{' to the first '}'
// after it; as the text after the prefix's '{' is the same in both keys,
// so is their tag, unless it is empty: a key that is empty or starts with
// '}' would leave "{}" and hash each whole key on its own (CROSSSLOT).
// Such a key, and one starting with '~' (to keep the mapping one-to-one),
// gets a '~' in front. The handler's keys ("<provider>:<session id>") never
// start with either, so their Redis keys are those of earlier releases.
func hashTag(key string) string {
	if key == "" || key[0] == '}' || key[0] == '~' {
		return "~" + key
	}
	return key
}

// Update implements SessionStore.
func (s *RedisStore) Update(ctx context.Context, key string, ttl time.Duration, fn func(old []byte) ([]byte, error)) error {
	return s.UpdateLimited(ctx, key, ttl, Limit{}, fn)
}

// UpdateLimited implements SessionStore.
func (s *RedisStore) UpdateLimited(ctx context.Context, key string, ttl time.Duration, limit Limit, fn func(old []byte) ([]byte, error)) error {
	if ttl <= 0 {
		return fmt.Errorf("redis session store: ttl %v is not positive", ttl)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	holdKey, stateKey := s.holdKey(key), s.stateKey(key)
	token := rand.Text()

	old, err := s.acquire(ctx, holdKey, stateKey, token, limit)
	if err != nil {
		return err
	}
	settled := false // the commit script ran: the hold is gone either way
	defer func() {
		if !settled { // fn failed or panicked, or the commit did not reach Redis
			s.release(ctx, holdKey, token)
		}
	}()

	value, err := fn(old)
	if err != nil {
		return err
	}

	mode, ttlMS := "set", max(ttl.Milliseconds(), 1)
	if value == nil {
		mode = "del"
	}
	n, err := redisCommit.Run(ctx, s.client, []string{holdKey, stateKey}, token, mode, value, ttlMS).Int()
	if err != nil {
		s.failed(err)
		return fmt.Errorf("redis session store: store state: %w", err)
	}
	settled = true
	if n != 1 {
		return ErrHoldLost
	}
	return nil
}

var _ SessionCreator = (*RedisStore)(nil)

// Create implements SessionCreator: one SET NX PX of the state, in one
// pipeline with the limiter's count when it rides along. A hop over the limit that
// created the state deletes it again.
func (s *RedisStore) Create(ctx context.Context, key string, ttl time.Duration, limit Limit, state []byte) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("redis session store: ttl %v is not positive", ttl)
	}
	if state == nil {
		return false, errors.New("redis session store: create with no state")
	}
	rl, limit, ok := s.riding(ctx, limit)
	if !ok {
		return false, ErrRateLimited
	}
	stateKey := s.stateKey(key)
	var setNX *redis.BoolCmd
	var allowed func() (bool, error)
	if limit.off() {
		setNX = s.client.SetNX(ctx, stateKey, state, ttl)
	} else {
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			setNX = p.SetNX(ctx, stateKey, state, ttl)
			allowed = rl.queue(ctx, p, limit.Phone, limit.PerMinute)
			return nil
		})
	}
	if err := setNX.Err(); err != nil {
		s.failed(err)
		return false, fmt.Errorf("redis session store: create state: %w", err)
	}
	if allowed != nil && !limit.judge(allowed()) {
		if setNX.Val() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisReleaseTimeout)
			defer cancel()
			_ = s.client.Del(ctx, stateKey).Err()
		}
		return false, ErrRateLimited
	}
	return setNX.Val(), nil
}

// riding returns the limiter whose count rides in the store's own pipeline
// and the limit left to count there. A limiter of another kind, or on
// another client, is asked on its own first: then nothing is left to count,
// and ok is false if the hop is over the limit.
func (s *RedisStore) riding(ctx context.Context, limit Limit) (rl *RedisRateLimiter, left Limit, ok bool) {
	rl, same := limit.Limiter.(*RedisRateLimiter)
	if limit.off() || (same && rl.client == s.client) {
		return rl, limit, true
	}
	return nil, Limit{}, limit.allow(ctx)
}

// acquire sets the hold on the session to token and returns the session's
// state, retrying with backoff while somebody else holds it. The first
// attempt also counts the hop against limit: over it, acquire lets go of a
// hold it took and returns ErrRateLimited without waiting.
func (s *RedisStore) acquire(ctx context.Context, holdKey, stateKey, token string, limit Limit) ([]byte, error) {
	rl, limit, ok := s.riding(ctx, limit)
	if !ok {
		return nil, ErrRateLimited
	}
	backoff := redisMinBackoff
	busy := false
	for {
		var setNX *redis.BoolCmd
		var get *redis.StringCmd
		var allowed func() (bool, error)
		_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			setNX = p.SetNX(ctx, holdKey, token, s.lockTTL)
			get = p.Get(ctx, stateKey)
			if !limit.off() {
				allowed = rl.queue(ctx, p, limit.Phone, limit.PerMinute)
			}
			return nil
		})
		if err := setNX.Err(); err != nil {
			s.failed(err)
			// The SET may have reached Redis even though the answer did not.
			s.release(ctx, holdKey, token)
			if busy && ctx.Err() != nil {
				return nil, ErrSessionBusy
			}
			return nil, fmt.Errorf("redis session store: take hold: %w", err)
		}
		if allowed != nil {
			if !limit.judge(allowed()) {
				if setNX.Val() {
					s.release(ctx, holdKey, token)
				}
				return nil, ErrRateLimited
			}
			limit = Limit{} // counted once, however long the wait
		}
		if setNX.Val() {
			old, err := get.Bytes()
			switch {
			case errors.Is(err, redis.Nil):
				return nil, nil
			case err != nil:
				s.failed(err)
				s.release(ctx, holdKey, token)
				return nil, fmt.Errorf("redis session store: load state: %w", err)
			}
			return old, nil
		}

		if !busy && !extend(ctx) { // the handler answered already: stop here
			return nil, ErrSessionBusy
		}
		busy = true
		timer := time.NewTimer(backoff/2 + mathrand.N(backoff/2))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ErrSessionBusy
		case <-timer.C:
		}
		backoff = min(2*backoff, redisMaxBackoff)
	}
}

// failed is told of every command of the store that failed. On Redis
// Cluster it has go-redis reload the cluster's slots: the master of the
// slot may be gone and its replica promoted, and as nothing answers at the
// old address to say so (the MOVED that go-redis follows and reloads on),
// go-redis would go on sending there until its periodic reload
// (ClusterOptions.ClusterStateReloadInterval, 60 s by default), failing
// every hop of those sessions. The reload runs in the background, one at a
// time and at most every 200 ms however many hops fail.
func (s *RedisStore) failed(err error) {
	if cc, ok := s.client.(*redis.ClusterClient); ok && !errors.Is(err, redis.Nil) {
		cc.ReloadState(context.Background())
	}
}

// release deletes the hold if it still carries token, best effort: if it
// fails, the hold lapses after lockTTL.
func (s *RedisStore) release(ctx context.Context, holdKey, token string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisReleaseTimeout)
	defer cancel()
	_ = redisRelease.Run(ctx, s.client, []string{holdKey}, token).Err()
}

// Get implements SessionStore.
func (s *RedisStore) Get(ctx context.Context, key string) ([]byte, error) {
	b, err := s.client.Get(ctx, s.stateKey(key)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, nil
	case err != nil:
		s.failed(err)
		return nil, fmt.Errorf("redis session store: get state: %w", err)
	}
	return b, nil
}

// Delete implements SessionStore. It does not touch a hold on key.
func (s *RedisStore) Delete(ctx context.Context, key string) error {
	if err := s.client.Del(ctx, s.stateKey(key)).Err(); err != nil {
		s.failed(err)
		return fmt.Errorf("redis session store: delete state: %w", err)
	}
	return nil
}

// Ping implements SessionStore by pinging Redis: on Redis Cluster every
// master, at once (sessions hash to all of them; one that is down fails its
// share of hops, and PING alone, carrying no key, would be answered by any
// node even while the cluster is down).
func (s *RedisStore) Ping(ctx context.Context) error {
	if cc, ok := s.client.(*redis.ClusterClient); ok {
		var (
			mu           sync.Mutex
			masters, bad int
			first        error
		)
		// ForEachMaster first reloads the slot map, asking the nodes in turn,
		// a silent one too: that gets clusterPingTimeout, then the map
		// already known serves. Each master's ping gets its own
		// clusterPingTimeout: a master that went silent must not use up the
		// caller's deadline, as the answer "partly down" needs the others'.
		reload, cancelReload := context.WithTimeout(ctx, clusterPingTimeout)
		defer cancelReload()
		err := cc.ForEachMaster(reload, func(_ context.Context, m *redis.Client) error {
			ctx, cancel := context.WithTimeout(ctx, clusterPingTimeout)
			defer cancel()
			err := m.Ping(ctx).Err()
			mu.Lock()
			defer mu.Unlock()
			masters++
			if err != nil {
				bad++
				if first == nil {
					first = fmt.Errorf("%s: %w", m.Options().Addr, err)
				}
			}
			return nil // ping them all: how many are down matters
		})
		switch {
		case err != nil: // no slot map: no master known
			return fmt.Errorf("redis session store: ping: %w", err)
		case bad == 0:
			return nil
		case bad < masters:
			return fmt.Errorf("redis session store: ping: %w (%d of %d): %w", ErrSomeMastersDown, bad, masters, first)
		}
		return fmt.Errorf("redis session store: ping: %w", first)
	}
	if err := s.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis session store: ping: %w", err)
	}
	return nil
}

// clusterPingTimeout bounds Ping's wait for the slot map, then for each
// master of a cluster: twice it stays below the readiness probe's 500 ms.
const clusterPingTimeout = 200 * time.Millisecond

// ErrSomeMastersDown is what Ping wraps when some masters of a Redis
// Cluster answer and others do not: the sessions whose keys live on the
// masters that answer are served; the others get the polite END.
var ErrSomeMastersDown = errors.New("some Redis Cluster masters are down")

// Close is a no-op: the store holds nothing of its own, and the caller that
// created the client closes it.
func (s *RedisStore) Close() error { return nil }
