package members_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

// eventually polls cond for up to 5 s: a change notice crosses PostgreSQL
// to the listening instance in about a millisecond, on a loaded machine in
// more.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// listenCallers runs c's listener until the test ends and waits until it
// hears notices (a second look-up is served from memory).
func listenCallers(t *testing.T, c *members.CachedDirectory, dsn, code, phone string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Listen(ctx, dsn, nil) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	eventually(t, "the caller cache is live", func() bool {
		hits, _ := c.CallerCacheStats()
		_, err := c.Identify(ctx, code, phone)
		require.NoError(t, err)
		after, _ := c.CallerCacheStats()
		return after > hits
	})
}

// TestCallerCacheFollowsEveryWriteOnPostgres: an instance that caches its
// callers' identities sees every write that changes one — from another
// instance's directory or from plain SQL behind lumbung's back — within
// moments (the triggers of migration 00013 NOTIFY), and between writes
// answers from memory.
func TestCallerCacheFollowsEveryWriteOnPostgres(t *testing.T) {
	db, dsn := ledgertest.PostgresWithURL(t)
	ctx := context.Background()
	plain, err := members.NewDirectory(db, testSecret, nil)
	require.NoError(t, err)
	serving := members.CacheCallers(plain)
	other, err := members.NewDirectory(db, testSecret, nil) // another instance, or an admin command
	require.NoError(t, err)

	coop, err := other.CreateCooperative(ctx, "KSPC", "Kopdit Cache", []string{"*772#"})
	require.NoError(t, err)
	const phone, phone2, staffPhone = "+6281300000001", "+6281300000002", "+6281300000003"
	m, err := other.AddMember(ctx, coop.ID, members.NewMember{No: "C-1", Name: "Maria", Phone: phone})
	require.NoError(t, err)
	mh := members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: coop.ID}
	require.NoError(t, other.SetPIN(ctx, mh, "246810"))
	listenCallers(t, serving, dsn, "*772#", phone)

	identify := func(p string) []members.Identity {
		ids, err := serving.Identify(ctx, "*772#", p)
		require.NoError(t, err)
		return ids
	}
	// cached is the identities of p once answered from memory (a notice of
	// an earlier write may still drop what a first look-up put).
	cached := func(p string) []members.Identity {
		t.Helper()
		var ids []members.Identity
		eventually(t, "answered from memory", func() bool {
			before, _ := serving.CallerCacheStats()
			ids = identify(p)
			after, _ := serving.CallerCacheStats()
			return after > before
		})
		return ids
	}
	require.Len(t, identify(phone), 1)
	assert.True(t, cached(phone)[0].HasPIN)

	for _, w := range []struct {
		name  string
		write func()
		seen  func(ids []members.Identity) bool
	}{
		{"language by plain SQL", func() {
			_, err := db.ExecContext(ctx, `UPDATE members SET language = 'en' WHERE id = $1`, m.ID)
			require.NoError(t, err)
		}, func(ids []members.Identity) bool { return len(ids) == 1 && ids[0].Language == "en" }},
		{"a permanent PIN lock by plain SQL", func() {
			_, err := db.ExecContext(ctx, `UPDATE pins SET locked_at = now() WHERE holder_kind = 'member' AND holder_id = $1`, m.ID)
			require.NoError(t, err)
		}, func(ids []members.Identity) bool { return len(ids) == 1 && ids[0].PINLocked }},
		{"a new PIN from another instance", func() { require.NoError(t, other.SetPIN(ctx, mh, "135790")) },
			func(ids []members.Identity) bool { return len(ids) == 1 && !ids[0].PINLocked && ids[0].HasPIN }},
		{"the PIN row deleted", func() {
			_, err := db.ExecContext(ctx, `DELETE FROM pins WHERE holder_kind = 'member' AND holder_id = $1`, m.ID)
			require.NoError(t, err)
		}, func(ids []members.Identity) bool { return len(ids) == 1 && !ids[0].HasPIN }},
		{"a second member on the family phone", func() {
			_, err := other.AddMember(ctx, coop.ID, members.NewMember{No: "C-2", Name: "Anak", Phone: phone})
			require.NoError(t, err)
		}, func(ids []members.Identity) bool { return len(ids) == 2 }},
		{"a member who left", func() {
			_, err := db.ExecContext(ctx, `UPDATE members SET status = 'left' WHERE member_no = 'C-2'`)
			require.NoError(t, err)
		}, func(ids []members.Identity) bool { return len(ids) == 1 && ids[0].MemberNo == "C-1" }},
		{"a renamed member", func() {
			_, err := db.ExecContext(ctx, `UPDATE members SET name = 'Maria G.' WHERE id = $1`, m.ID)
			require.NoError(t, err)
		}, func(ids []members.Identity) bool { return len(ids) == 1 && ids[0].Name == "Maria G." }},
	} {
		w.write()
		eventually(t, w.name, func() bool { return w.seen(identify(phone)) })
		assert.True(t, w.seen(cached(phone)), "%s: cached again afterwards", w.name)
	}

	// A phone that changes: the old number is no one now, the new one is her.
	_, err = db.ExecContext(ctx, `UPDATE members SET phone = $1 WHERE id = $2`, phone2, m.ID)
	require.NoError(t, err)
	eventually(t, "the old phone forgotten", func() bool { return len(identify(phone)) == 0 })
	require.Len(t, identify(phone2), 1)

	// Staff: added by another instance, cached, then deactivated.
	st, err := other.AddStaff(ctx, coop.ID, "Yosef", staffPhone, members.RoleTeller)
	require.NoError(t, err)
	eventually(t, "the new teller found", func() bool { return len(identify(staffPhone)) == 1 })
	assert.Equal(t, members.RoleTeller, cached(staffPhone)[0].Role)
	_, err = db.ExecContext(ctx, `UPDATE staff SET active = false WHERE id = $1`, st.ID)
	require.NoError(t, err)
	eventually(t, "the deactivated teller gone", func() bool { return len(identify(staffPhone)) == 0 })

	// Many writes in one statement (an import) clear everything at once.
	require.Len(t, identify(phone2), 1)
	cached(phone2)
	ledgertest.SeedMembers(t, db, coop.ID, "+62813999", 50)
	eventually(t, "an import clears the cache", func() bool {
		_, misses := serving.CallerCacheStats()
		identify(phone2)
		_, after := serving.CallerCacheStats()
		return after > misses
	})
}

// TestCallerCacheIsOffOnSQLite: an embedded instance hears no change notices,
// so it caches no caller: every first hop reads the database, and a change
// made behind lumbung's back is seen at once.
func TestCallerCacheIsOffOnSQLite(t *testing.T) {
	db := ledgertest.SQLite(t)
	ctx := context.Background()
	plain, err := members.NewDirectory(db, testSecret, nil)
	require.NoError(t, err)
	c := members.CacheCallers(plain)
	require.NoError(t, c.Listen(ctx, "", nil), "returns at once on SQLite")
	coop, err := c.CreateCooperative(ctx, "KSPC", "Kopdit Cache", []string{"*772#"})
	require.NoError(t, err)
	_, err = c.AddMember(ctx, coop.ID, members.NewMember{No: "C-1", Name: "Maria", Phone: "+6281300000001"})
	require.NoError(t, err)
	for _, lang := range []string{"en", "id", "en"} {
		_, err = db.ExecContext(ctx, `UPDATE members SET language = ?`, lang)
		require.NoError(t, err)
		ids, err := c.Identify(ctx, "*772#", "+6281300000001")
		require.NoError(t, err)
		require.Len(t, ids, 1)
		assert.Equal(t, lang, ids[0].Language)
	}
	hits, _ := c.CallerCacheStats()
	assert.Zero(t, hits)
}
