package ussd

import "time"

// SetClock makes the limiter count in the windows of now (tests only).
func (r *RedisRateLimiter) SetClock(now func() time.Time) { r.now = now }

// SetClock makes the limiter count in the windows of now (tests only).
func (m *MemoryRateLimiter) SetClock(now func() time.Time) { m.now = now }
