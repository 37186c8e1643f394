package members

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
)

// CallerCacheTTL bounds how long an instance answers a first hop's caller
// look-up (Identify) from memory. Every write to members, staff or pins on
// PostgreSQL tells every instance at once (triggers of migration 00013
// NOTIFY the phone or the holder on channel lumbung_callers); the TTL covers
// the rest (a notice lost between a dropped listener connection and its
// reconnect, which also clears everything). Five minutes covers the redial
// of a member whose session the network dropped, and the next errand of the
// same visit; a cached identity only picks the first screen.
const CallerCacheTTL = 5 * time.Minute

// CallerCacheMax bounds the phones the cache holds (about 0.5 KB each).
const CallerCacheMax = 100_000

// callersChannel is the PostgreSQL NOTIFY channel of changes to callers'
// identities. A notice's payload names what changed: "phone:<e164>",
// "member:<id>" or "staff:<id>" (its PIN row); empty means anything.
const callersChannel = "lumbung_callers"

// CachedDirectory is a Directory whose Identify — the first hop's only
// database work — is served from memory for CallerCacheTTL, but only while
// it listens to the database's change notices (ListenCallers on PostgreSQL);
// otherwise (SQLite, a listener that is down) every Identify reads the
// database. A cached identity only picks the first screen: every PIN check,
// and so every money step, reads the PIN row fresh, and its own writes
// (language, PIN checks that count a failure, a new PIN) drop the holder at
// once, before the next dial.
type CachedDirectory struct {
	*Directory
	callers *callerCache
}

// CacheCallers wraps d.
func CacheCallers(d *Directory) *CachedDirectory {
	return &CachedDirectory{Directory: d, callers: newCallerCache(CallerCacheTTL, CallerCacheMax)}
}

// Identify is Directory.Identify, from the cache when it may.
func (c *CachedDirectory) Identify(ctx context.Context, serviceCode, msisdn string) ([]Identity, error) {
	coops, err := c.CooperativesForCode(ctx, serviceCode)
	if err != nil || len(coops) == 0 {
		return nil, err
	}
	now := c.now()
	if ids, ok := c.callers.get(msisdn, coops, now); ok {
		return ids, nil
	}
	gen, live := c.callers.generation()
	ids, err := c.Directory.Identify(ctx, serviceCode, msisdn)
	if err == nil && live && len(ids) > 0 {
		// An unknown phone is not kept: a member added a moment ago is found at once.
		c.callers.put(msisdn, coops, ids, gen, now)
	}
	return ids, err
}

// SetLanguage is Directory.SetLanguage; the holder's cached identities go.
func (c *CachedDirectory) SetLanguage(ctx context.Context, h Holder, lang string) error {
	defer c.callers.dropHolder(h)
	return c.Directory.SetLanguage(ctx, h, lang)
}

// CheckPIN is Directory.CheckPIN; a check that failed (a wrong PIN counted,
// a lock) drops the holder's cached identities.
func (c *CachedDirectory) CheckPIN(ctx context.Context, h Holder, pin string) (remaining int, justLocked bool, err error) {
	remaining, justLocked, err = c.Directory.CheckPIN(ctx, h, pin)
	if err != nil {
		c.callers.dropHolder(h)
	}
	return remaining, justLocked, err
}

// CheckPINBalances is Directory.CheckPINBalances, dropping like CheckPIN.
func (c *CachedDirectory) CheckPINBalances(ctx context.Context, h Holder, pin string) (b ledger.MemberBalances, remaining int, justLocked bool, err error) {
	b, remaining, justLocked, err = c.Directory.CheckPINBalances(ctx, h, pin)
	if err != nil {
		c.callers.dropHolder(h)
	}
	return b, remaining, justLocked, err
}

// VerifyActivationCode is Directory.VerifyActivationCode; the holder's
// cached identities go (a wrong code may lock).
func (c *CachedDirectory) VerifyActivationCode(ctx context.Context, h Holder, code string) (id int64, remaining int, err error) {
	defer c.callers.dropHolder(h)
	return c.Directory.VerifyActivationCode(ctx, h, code)
}

// ConfirmPIN is Directory.ConfirmPIN; the holder's cached identities go
// (they have a PIN now).
func (c *CachedDirectory) ConfirmPIN(ctx context.Context, h Holder, repeat string, activationID int64) error {
	defer c.callers.dropHolder(h)
	return c.Directory.ConfirmPIN(ctx, h, repeat, activationID)
}

// SetPIN is Directory.SetPIN; the holder's cached identities go.
func (c *CachedDirectory) SetPIN(ctx context.Context, h Holder, pin string) error {
	defer c.callers.dropHolder(h)
	return c.Directory.SetPIN(ctx, h, pin)
}

// CallerCacheStats counts the look-ups Identify answered from memory and
// those it read from the database.
func (c *CachedDirectory) CallerCacheStats() (hits, misses uint64) {
	return c.callers.hits.Load(), c.callers.misses.Load()
}

// InvalidateCache forgets every cached service code and caller.
func (c *CachedDirectory) InvalidateCache() {
	c.Directory.InvalidateCache()
	c.callers.clear()
}

// callerCache maps a phone to its identities in the cooperatives of one
// service code. Every drop bumps a generation; a look-up that began before
// a drop does not put what it read (it may predate the write).
type callerCache struct {
	ttl time.Duration
	max int

	mu      sync.RWMutex
	gen     uint64
	live    bool // the change notices are heard: entries may be put and served
	byPhone map[string]callerEntry

	hits, misses atomic.Uint64
}

type callerEntry struct {
	coops   []int64 // the cooperatives it was read for, in order
	ids     []Identity
	expires time.Time
}

func newCallerCache(ttl time.Duration, max int) *callerCache {
	return &callerCache{ttl: ttl, max: max, byPhone: map[string]callerEntry{}}
}

// generation is the generation to pass to put, and whether entries may be
// put at all.
func (c *callerCache) generation() (uint64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.gen, c.live
}

// get returns msisdn's identities in coops (the service code's cooperatives
// now), with the cooperatives as they are now and a timed PIN lock that ran
// out since no longer shown.
func (c *callerCache) get(msisdn string, coops []Cooperative, now time.Time) ([]Identity, bool) {
	c.mu.RLock()
	e, ok := c.byPhone[msisdn]
	live := c.live
	c.mu.RUnlock()
	if !ok || !live || !now.Before(e.expires) || len(e.coops) != len(coops) {
		c.misses.Add(1)
		return nil, false
	}
	for i, id := range e.coops {
		if coops[i].ID != id {
			c.misses.Add(1)
			return nil, false
		}
	}
	c.hits.Add(1)
	ids := slices.Clone(e.ids)
	for i := range ids {
		for _, co := range coops {
			if co.ID == ids[i].Cooperative.ID {
				ids[i].Cooperative = co
			}
		}
		if !ids[i].PINLockedUntil.IsZero() && !now.Before(ids[i].PINLockedUntil) {
			ids[i].PINLockedUntil = time.Time{}
		}
	}
	return ids, true
}

// put keeps ids for msisdn unless something was dropped since gen.
func (c *callerCache) put(msisdn string, coops []Cooperative, ids []Identity, gen uint64, now time.Time) {
	ce := callerEntry{coops: make([]int64, len(coops)), ids: slices.Clone(ids), expires: now.Add(c.ttl)}
	for i, co := range coops {
		ce.coops[i] = co.ID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || !c.live {
		return
	}
	if _, ok := c.byPhone[msisdn]; !ok && len(c.byPhone) >= c.max {
		// Full: forget the expired entries, or else an eighth of them
		// (map order is random enough for a cache).
		drop := max(1, c.max/8)
		for k, old := range c.byPhone {
			if !now.Before(old.expires) {
				delete(c.byPhone, k)
			}
		}
		for k := range c.byPhone {
			if len(c.byPhone) <= c.max-drop {
				break
			}
			delete(c.byPhone, k)
		}
	}
	c.byPhone[msisdn] = ce
}

func (c *callerCache) dropPhone(msisdn string) {
	c.mu.Lock()
	c.gen++
	delete(c.byPhone, msisdn)
	c.mu.Unlock()
}

// dropHolder forgets every phone with an identity of h. It walks the whole
// cache: it runs on writes (a wrong PIN, a new language), not on reads.
func (c *callerCache) dropHolder(h Holder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.byPhone {
		for _, id := range e.ids {
			if id.Holder.Kind == h.Kind && id.Holder.ID == h.ID {
				delete(c.byPhone, k)
				break
			}
		}
	}
}

func (c *callerCache) clear() {
	c.mu.Lock()
	c.gen++
	clear(c.byPhone)
	c.mu.Unlock()
}

// setLive says whether the change notices are heard; either way the cache
// starts afresh (notices may have been missed).
func (c *callerCache) setLive(live bool) {
	c.mu.Lock()
	c.gen++
	c.live = live
	clear(c.byPhone)
	c.mu.Unlock()
}

// notice applies one change notice of callersChannel.
func (c *callerCache) notice(payload string) {
	kind, val, _ := strings.Cut(payload, ":")
	switch kind {
	case "phone":
		c.dropPhone(val)
		return
	case string(KindMember), string(KindStaff):
		if id, err := strconv.ParseInt(val, 10, 64); err == nil {
			c.dropHolder(Holder{Kind: HolderKind(kind), ID: id})
			return
		}
	}
	c.clear() // anything, or a notice not understood
}

// IssueActivationCode is Directory.IssueActivationCode; the holder's cached
// identities go (issuing a code locks the old PIN).
func (c *CachedDirectory) IssueActivationCode(ctx context.Context, h Holder, ttl time.Duration) (string, time.Time, error) {
	defer c.callers.dropHolder(h)
	return c.Directory.IssueActivationCode(ctx, h, ttl)
}

// SetPINs is Directory.SetPINs; every cached caller goes (a bulk write).
func (c *CachedDirectory) SetPINs(ctx context.Context, hs []Holder, pin string) error {
	defer c.callers.clear()
	return c.Directory.SetPINs(ctx, hs, pin)
}

// AddMember is Directory.AddMember; the new member's phone is looked up
// afresh (a family phone gains an identity).
func (c *CachedDirectory) AddMember(ctx context.Context, coopID int64, nm NewMember) (Member, error) {
	m, err := c.Directory.AddMember(ctx, coopID, nm)
	if err == nil {
		c.callers.dropPhone(m.Phone)
	}
	return m, err
}

// AddStaff is Directory.AddStaff; the new staff member's phone is looked
// up afresh.
func (c *CachedDirectory) AddStaff(ctx context.Context, coopID int64, name, phone string, role Role) (Staff, error) {
	s, err := c.Directory.AddStaff(ctx, coopID, name, phone, role)
	if err == nil {
		c.callers.dropPhone(s.Phone)
	}
	return s, err
}

// AddStaffWithCredentials is Directory.AddStaffWithCredentials, dropping
// like AddStaff.
func (c *CachedDirectory) AddStaffWithCredentials(ctx context.Context, coopID int64, name, phone string, role Role, password string) (Staff, string, time.Time, error) {
	s, pw, exp, err := c.Directory.AddStaffWithCredentials(ctx, coopID, name, phone, role, password)
	if err == nil {
		c.callers.dropPhone(s.Phone)
	}
	return s, pw, exp, err
}
