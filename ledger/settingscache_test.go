package ledger_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// TestSettingsCache: a cooperative's time zone and USSD limit are read once
// per SettingsTTL (counted by the statement hook), read again after the TTL
// or ForgetSettings, and the answers are those of the database.
func TestSettingsCache(t *testing.T) {
	_, dsn := ledgertest.PostgresWithURL(t)
	var sent atomic.Int64
	db, err := ledger.OpenPostgres(t.Context(), dsn, ledger.WithStatementHook(func(context.Context, string) { sent.Add(1) }))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	coop := ledgertest.NewCoop(t, db, "KSP1")
	_, err = db.Exec(`UPDATE cooperatives SET timezone = 'Asia/Jayapura', max_ussd_amount = 750000 WHERE id = $1`, coop.ID)
	require.NoError(t, err)

	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c := ledger.CacheSettings(ledger.New(db, func() time.Time { return now }))
	ctx := t.Context()
	reads := func() int64 {
		t.Helper()
		sent.Store(0)
		loc, err := c.Location(ctx, coop.ID)
		require.NoError(t, err)
		assert.Equal(t, "Asia/Jayapura", loc.String())
		limit, err := c.MaxUSSDAmount(ctx, coop.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(750000), limit)
		return sent.Load()
	}
	assert.Equal(t, int64(2), reads(), "the first reads go to the database")
	assert.Equal(t, int64(0), reads(), "within the TTL they are served from memory")
	now = now.Add(ledger.SettingsTTL)
	assert.Equal(t, int64(2), reads(), "after the TTL they are read again")
	c.ForgetSettings()
	assert.Equal(t, int64(2), reads(), "after ForgetSettings they are read again")

	_, err = c.Location(ctx, 999999)
	assert.ErrorIs(t, err, ledger.ErrNotFound)
	_, err = c.Location(ctx, 999999)
	assert.ErrorIs(t, err, ledger.ErrNotFound, "a miss is not cached as an answer")
}
