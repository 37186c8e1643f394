package ledger_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

func TestCooperativeLimits(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		other := ledgertest.NewCoop(t, db, "KSP2")

		limit, err := l.MaxUSSDAmount(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(50_000_000), limit, "the default: Rp50.000.000")
		loc, err := l.Location(ctx, c.ID)
		require.NoError(t, err)
		noon := time.Date(2026, 5, 15, 4, 0, 0, 0, time.UTC)
		assert.Equal(t, 12, noon.In(loc).Hour(), "WITA by default")

		_, err = db.ExecContext(ctx, db.Rebind(`UPDATE cooperatives SET max_ussd_amount = ?, timezone = ? WHERE id = ?`), 2_000_000, "Asia/Jayapura", other.ID)
		require.NoError(t, err)
		limit, err = l.MaxUSSDAmount(ctx, other.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(2_000_000), limit)
		loc, err = l.Location(ctx, other.ID)
		require.NoError(t, err)
		assert.Equal(t, 13, noon.In(loc).Hour())
		limit, err = l.MaxUSSDAmount(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(50_000_000), limit, "each cooperative its own")

		_, err = l.MaxUSSDAmount(ctx, 999_999)
		assert.ErrorIs(t, err, ledger.ErrNotFound)
		_, err = l.Location(ctx, 999_999)
		assert.ErrorIs(t, err, ledger.ErrNotFound)
	})
}
