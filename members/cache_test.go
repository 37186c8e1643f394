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

func coopCodes(cs []members.Cooperative) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Code
	}
	return out
}

// TestServiceCodeCacheFollowsAdminCommands: two instances over one
// PostgreSQL database. The serving one caches what a service code is bound
// to; an admin command on the other binds a second cooperative to that code
// and the serving instance sees it at once (NOTIFY), not after the TTL. An
// unknown code is never cached: a cooperative bound a moment ago answers
// its first dial.
func TestServiceCodeCacheFollowsAdminCommands(t *testing.T) {
	db, dsn := ledgertest.PostgresWithURL(t)
	serving, err := members.NewDirectory(db, testSecret, nil)
	require.NoError(t, err)
	admin, err := members.NewDirectory(db, testSecret, nil)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	listened := make(chan error, 1)
	go func() { listened <- serving.Listen(ctx, dsn, nil) }()
	t.Cleanup(func() { cancel(); <-listened })

	time.Sleep(200 * time.Millisecond) // the listener is up
	got, err := serving.CooperativesForCode(ctx, "*771#")
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = admin.CreateCooperative(ctx, "KSP-A", "Koperasi A", []string{"*771#"})
	require.NoError(t, err)
	time.Sleep(300 * time.Millisecond) // its notice has reached the serving instance
	got, err = serving.CooperativesForCode(ctx, "*771#")
	require.NoError(t, err)
	assert.Equal(t, []string{"KSP-A"}, coopCodes(got), "an unknown code was cached")

	// Cached now: a second read is served from memory, even with the row gone
	// behind the directory's back (what a stale cache looks like).
	_, err = db.ExecContext(ctx, `UPDATE cooperatives SET name = 'Diubah' WHERE code = 'KSP-A'`)
	require.NoError(t, err)
	got, err = serving.CooperativesForCode(ctx, "*771#")
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "Koperasi A", got[0].Name, "the second read went to the database")

	_, err = admin.CreateCooperative(ctx, "KSP-B", "Koperasi B", []string{"*771#"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := serving.CooperativesForCode(ctx, "*771#")
		return err == nil && len(got) == 2
	}, 5*time.Second, 20*time.Millisecond, "the serving instance kept its cache after another instance's admin command")
}
