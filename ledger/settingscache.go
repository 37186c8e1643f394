package ledger

import (
	"context"
	"sync"
	"time"
)

// SettingsTTL bounds how long SettingsCache serves a cooperative's settings
// from memory. No command changes them after the cooperative is created
// today; one that does calls ForgetSettings (and, across instances, the
// TTL bounds how stale another instance can be).
const SettingsTTL = 30 * time.Second

// SettingsCache is a Ledger whose per-screen static lookups — a
// cooperative's time zone and its USSD amount limit — are served from
// memory for SettingsTTL: the statement and amount screens then send no
// statement for them. Postings still check the limit in the database.
type SettingsCache struct {
	*Ledger
	mu  sync.RWMutex
	loc map[int64]cachedSetting[*time.Location]
	max map[int64]cachedSetting[int64]
}

type cachedSetting[T any] struct {
	v       T
	expires time.Time
}

// CacheSettings wraps l.
func CacheSettings(l *Ledger) *SettingsCache {
	return &SettingsCache{Ledger: l, loc: map[int64]cachedSetting[*time.Location]{}, max: map[int64]cachedSetting[int64]{}}
}

func cached[T any](c *SettingsCache, m map[int64]cachedSetting[T], coopID int64, read func() (T, error)) (T, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := m[coopID]
	c.mu.RUnlock()
	if ok && now.Before(e.expires) {
		return e.v, nil
	}
	v, err := read()
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	m[coopID] = cachedSetting[T]{v: v, expires: now.Add(SettingsTTL)}
	c.mu.Unlock()
	return v, nil
}

// Location is Ledger.Location, cached.
func (c *SettingsCache) Location(ctx context.Context, coopID int64) (*time.Location, error) {
	return cached(c, c.loc, coopID, func() (*time.Location, error) { return c.Ledger.Location(ctx, coopID) })
}

// MaxUSSDAmount is Ledger.MaxUSSDAmount, cached.
func (c *SettingsCache) MaxUSSDAmount(ctx context.Context, coopID int64) (int64, error) {
	return cached(c, c.max, coopID, func() (int64, error) { return c.Ledger.MaxUSSDAmount(ctx, coopID) })
}

// ForgetSettings drops every cached setting (after a command changed one).
func (c *SettingsCache) ForgetSettings() {
	c.mu.Lock()
	clear(c.loc)
	clear(c.max)
	c.mu.Unlock()
}
