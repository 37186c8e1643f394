package members

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

var internalSecret = []byte(strings.Repeat("s", 32))

// cachedFixture is a CachedDirectory made live by hand: it serves from
// memory but hears no notices (what an instance whose notice is still on
// its way looks like), over a cooperative with one member with a PIN.
func cachedFixture(t *testing.T, db *ledger.DB, now func() time.Time) (c *CachedDirectory, other *Directory, h Holder) {
	t.Helper()
	ctx := context.Background()
	plain, err := NewDirectory(db, internalSecret, now)
	require.NoError(t, err)
	c = CacheCallers(plain)
	c.callers.setLive(true)
	other, err = NewDirectory(db, internalSecret, now)
	require.NoError(t, err)
	coop, err := other.CreateCooperative(ctx, "KSPC", "Kopdit Cache", []string{"*772#"})
	require.NoError(t, err)
	m, err := other.AddMember(ctx, coop.ID, NewMember{No: "C-1", Name: "Maria", Phone: "+6281300000001"})
	require.NoError(t, err)
	h = Holder{Kind: KindMember, ID: m.ID, CooperativeID: coop.ID}
	require.NoError(t, other.SetPIN(ctx, h, "246810"))
	return c, other, h
}

func (c *CachedDirectory) identifyOne(t *testing.T) (Identity, bool) {
	t.Helper()
	hits, _ := c.CallerCacheStats()
	ids, err := c.Identify(context.Background(), "*772#", "+6281300000001")
	require.NoError(t, err)
	require.Len(t, ids, 1)
	after, _ := c.CallerCacheStats()
	return ids[0], after > hits
}

// TestCachedDirectoryDropsItsOwnWritesAtOnce: the writes a USSD session
// makes through the cached directory (a wrong PIN, a lock, a language, a
// new PIN) are seen by the very next dial, without waiting for a notice.
func TestCachedDirectoryDropsItsOwnWritesAtOnce(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		c, _, h := cachedFixture(t, db, nil)
		_, hit := c.identifyOne(t)
		require.False(t, hit)
		_, hit = c.identifyOne(t)
		require.True(t, hit, "a second dial is served from memory")

		require.NoError(t, c.SetLanguage(ctx, h, "en"))
		id, hit := c.identifyOne(t)
		assert.False(t, hit)
		assert.Equal(t, "en", id.Language)

		for range MaxPINFailures {
			_, _, err := c.CheckPIN(ctx, h, "111111")
			require.Error(t, err)
		}
		id, hit = c.identifyOne(t)
		assert.False(t, hit)
		assert.False(t, id.PINLockedUntil.IsZero(), "the lock is shown at the next dial")

		require.NoError(t, c.SetPIN(ctx, h, "135790"))
		id, hit = c.identifyOne(t)
		assert.False(t, hit)
		assert.True(t, id.PINLockedUntil.IsZero())

		_, _, _, err := c.CheckPINBalances(ctx, h, "000000")
		require.ErrorIs(t, err, ErrWrongPIN)
		_, hit = c.identifyOne(t)
		assert.False(t, hit, "a wrong PIN with the balances drops the holder too")

		_, _, err = c.IssueActivationCode(ctx, h, ActivationCodeTTL)
		require.NoError(t, err)
		_, hit = c.identifyOne(t)
		assert.False(t, hit, "issuing a code may lock the old PIN (during a timed lock): looked up afresh")

		require.NoError(t, c.SetPINs(ctx, []Holder{h}, "975310"))
		id, hit = c.identifyOne(t)
		assert.False(t, hit)
		assert.False(t, id.PINLocked)

		// A second member on the family phone, added through this instance
		// (the admin API, the counter): both at the next dial.
		_, err = c.AddMember(ctx, h.CooperativeID, NewMember{No: "C-2", Name: "Anak", Phone: "081300000001"})
		require.NoError(t, err)
		ids, err := c.Identify(ctx, "*772#", "+6281300000001")
		require.NoError(t, err)
		assert.Len(t, ids, 2)
		_, err = c.AddStaff(ctx, h.CooperativeID, "Yosef", "+6281300000001", RoleTeller)
		require.NoError(t, err)
		ids, err = c.Identify(ctx, "*772#", "+6281300000001")
		require.NoError(t, err)
		assert.Len(t, ids, 3)
	})
}

// TestStaleCallerCacheNeverLetsALockedPINThrough: with a cached identity
// that still shows the PIN open (its lock came from another instance, and
// the notice has not arrived), the PIN check reads the PIN row and refuses:
// no balance is shown, no money step can follow.
func TestStaleCallerCacheNeverLetsALockedPINThrough(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		c, other, h := cachedFixture(t, db, nil)
		c.identifyOne(t)
		for range MaxPINFailures { // on the other instance
			_, _, _ = other.CheckPIN(ctx, h, "111111")
		}
		id, hit := c.identifyOne(t)
		require.True(t, hit)
		require.True(t, id.PINLockedUntil.IsZero(), "stale on purpose: no notice reached this instance")
		_, _, err := c.CheckPIN(ctx, h, "246810")
		assert.ErrorIs(t, err, ErrPINLocked)
		b, _, _, err := c.CheckPINBalances(ctx, h, "246810")
		assert.ErrorIs(t, err, ErrPINLocked)
		assert.Zero(t, b)
	})
}

// TestCachedTimedLockRunsOut: a timed lock shown by a cached identity is
// not shown once it has run out, though nothing was written.
func TestCachedTimedLockRunsOut(t *testing.T) {
	db := ledgertest.SQLite(t)
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, _, h := cachedFixture(t, db, clock)
	for range MaxPINFailures {
		_, _, _ = c.CheckPIN(ctx, h, "111111")
	}
	id, _ := c.identifyOne(t)
	until := id.PINLockedUntil
	require.False(t, until.IsZero())
	mu.Lock()
	now = until.Add(-CallerCacheTTL / 2) // read afresh (the first entry expired), the lock still on
	mu.Unlock()
	id, _ = c.identifyOne(t)
	require.Equal(t, until, id.PINLockedUntil)
	mu.Lock()
	now = until.Add(time.Second)
	mu.Unlock()
	id, hit := c.identifyOne(t)
	require.True(t, hit)
	assert.True(t, id.PINLockedUntil.IsZero())
	assert.False(t, id.PINLocked)
	mu.Lock()
	now = now.Add(CallerCacheTTL)
	mu.Unlock()
	_, hit = c.identifyOne(t)
	assert.False(t, hit, "expired after the TTL")
}

func TestCallerCacheBoundsAndGenerations(t *testing.T) {
	now := time.Now()
	c := newCallerCache(time.Minute, 8)
	coops := []Cooperative{{ID: 1, Name: "A"}}
	one := func(id int64) []Identity {
		return []Identity{{Cooperative: coops[0], Holder: Holder{Kind: KindMember, ID: id, CooperativeID: 1}}}
	}
	gen, live := c.generation()
	require.False(t, live)
	c.put("+62811", coops, one(1), gen, now)
	_, ok := c.get("+62811", coops, now)
	require.False(t, ok, "nothing is kept before the notices are heard")

	c.setLive(true)
	for i := range 20 {
		gen, _ = c.generation()
		c.put("+6281"+strconv.Itoa(i), coops, one(int64(i)), gen, now)
	}
	assert.LessOrEqual(t, len(c.byPhone), 8)
	ids, ok := c.get("+628119", coops, now)
	require.True(t, ok, "the last put is kept")
	assert.Equal(t, int64(19), ids[0].Holder.ID)

	_, ok = c.get("+628119", []Cooperative{{ID: 1}, {ID: 2}}, now)
	assert.False(t, ok, "a service code bound to other cooperatives since")

	// A look-up that began before a drop does not keep what it read.
	gen, _ = c.generation()
	c.dropPhone("+6281999")
	c.put("+6281777", coops, one(777), gen, now)
	_, ok = c.get("+6281777", coops, now)
	assert.False(t, ok)

	c.notice("member:19")
	_, ok = c.get("+628119", coops, now)
	assert.False(t, ok, "a PIN notice drops the holder's phone")
	gen, _ = c.generation()
	c.put("+628119", coops, one(19), gen, now)
	c.notice("phone:+628119")
	_, ok = c.get("+628119", coops, now)
	assert.False(t, ok)
	gen, _ = c.generation()
	c.put("+628119", coops, one(19), gen, now)
	c.notice("")
	assert.Empty(t, c.byPhone)
	gen, _ = c.generation()
	c.put("+628119", coops, one(19), gen, now)
	c.notice("nonsense:x")
	assert.Empty(t, c.byPhone, "a notice not understood clears everything")
	c.setLive(false)
	gen, _ = c.generation()
	c.put("+628119", coops, one(19), gen, now)
	assert.Empty(t, c.byPhone)
}
