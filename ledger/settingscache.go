package ledger

import (
	"context"
	"sync"
	"time"
)

// TTLCache is a small map whose entries expire TTL after they were put:
// static lookups on the hot path (service codes, cooperative settings) are
// served from it. The caller passes the time, so tests control it.
type TTLCache[K comparable, V any] struct {
	ttl time.Duration
	mu  sync.RWMutex
	m   map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	v       V
	expires time.Time
}

// NewTTLCache returns an empty cache whose entries live ttl.
func NewTTLCache[K comparable, V any](ttl time.Duration) *TTLCache[K, V] {
	return &TTLCache[K, V]{ttl: ttl, m: map[K]ttlEntry[V]{}}
}

// Get returns the value put for k, unless it has expired at now.
func (c *TTLCache[K, V]) Get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.m[k]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put keeps v for k until now + TTL.
func (c *TTLCache[K, V]) Put(k K, v V, now time.Time) {
	c.mu.Lock()
	c.m[k] = ttlEntry[V]{v: v, expires: now.Add(c.ttl)}
	c.mu.Unlock()
}

// Clear forgets every entry.
func (c *TTLCache[K, V]) Clear() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

// SettingsTTL bounds how long SettingsCache serves a cooperative's settings
// from memory. No command changes them after the cooperative is created
// today; one that does calls ForgetSettings (and, across instances, the
// TTL bounds how stale another instance can be).
const SettingsTTL = 30 * time.Second

// SettingsCache is a Ledger whose per-screen static lookups — a
// cooperative's time zone, its USSD amount limit and its loan policy — are served from
// memory for SettingsTTL: the statement and amount screens then send no
// statement for them. Postings still check the limit in the database.
type SettingsCache struct {
	*Ledger
	loc    *TTLCache[int64, *time.Location]
	max    *TTLCache[int64, int64]
	policy *TTLCache[int64, loanPolicy]
}

// CacheSettings wraps l.
func CacheSettings(l *Ledger) *SettingsCache {
	return &SettingsCache{Ledger: l, loc: NewTTLCache[int64, *time.Location](SettingsTTL), max: NewTTLCache[int64, int64](SettingsTTL),
		policy: NewTTLCache[int64, loanPolicy](SettingsTTL)}
}

func cached[T any](now time.Time, c *TTLCache[int64, T], coopID int64, read func() (T, error)) (T, error) {
	if v, ok := c.Get(coopID, now); ok {
		return v, nil
	}
	v, err := read()
	if err == nil {
		c.Put(coopID, v, now)
	}
	return v, err
}

// Location is Ledger.Location, cached.
func (c *SettingsCache) Location(ctx context.Context, coopID int64) (*time.Location, error) {
	return cached(c.now(), c.loc, coopID, func() (*time.Location, error) { return c.Ledger.Location(ctx, coopID) })
}

// MaxUSSDAmount is Ledger.MaxUSSDAmount, cached.
func (c *SettingsCache) MaxUSSDAmount(ctx context.Context, coopID int64) (int64, error) {
	return cached(c.now(), c.max, coopID, func() (int64, error) { return c.Ledger.MaxUSSDAmount(ctx, coopID) })
}

// LoanInfo is Ledger.LoanInfo under the cached loan policy (late fee, time
// zone).
func (c *SettingsCache) LoanInfo(ctx context.Context, coopID, memberID int64) ([]LoanInfo, error) {
	p, err := c.loanPolicy(ctx, coopID)
	if err != nil {
		return nil, err
	}
	return c.Ledger.loanInfo(ctx, coopID, memberID, p)
}

// NextInstallment is Ledger.NextInstallment under the cached loan policy.
// Repay reads the policy again in its transaction: the money is allocated
// as the database says.
func (c *SettingsCache) NextInstallment(ctx context.Context, coopID, loanID int64) (int64, time.Time, error) {
	p, err := c.loanPolicy(ctx, coopID)
	if err != nil {
		return 0, time.Time{}, err
	}
	return c.Ledger.nextInstallment(ctx, coopID, loanID, p)
}

func (c *SettingsCache) loanPolicy(ctx context.Context, coopID int64) (loanPolicy, error) {
	return cached(c.now(), c.policy, coopID, func() (loanPolicy, error) { return readLoanPolicy(ctx, c.db, coopID) })
}

// ForgetSettings drops every cached setting (after a command changed one).
func (c *SettingsCache) ForgetSettings() {
	c.loc.Clear()
	c.max.Clear()
	c.policy.Clear()
}
