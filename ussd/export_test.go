package ussd

import "time"

// SetClock makes the limiter count in the windows of now (tests only).
func (r *RedisRateLimiter) SetClock(now func() time.Time) { r.now = now }

// SetClock makes the limiter count in the windows of now (tests only).
func (m *MemoryRateLimiter) SetClock(now func() time.Time) { m.now = now }

// SeedBodies are the adapters' parse cases (tests only): form bodies for
// Africa's Talking, JSON for Hubtel, query strings for Freeflow.
func SeedBodies() (at, hubtel, freeflow []string) {
	for _, c := range atCases {
		if c.method == "" && c.contentType == "" {
			at = append(at, c.body)
		}
	}
	for _, c := range hubtelCases {
		if c.method == "" && c.contentType == "" {
			hubtel = append(hubtel, c.body)
		}
	}
	for _, c := range freeflowCases {
		if c.method == "" {
			freeflow = append(freeflow, c.query)
		}
	}
	return at, hubtel, freeflow
}
