package ledger_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// TestBalancesPlanDoesNotGrowWithTheCooperative: "Cek Saldo" in a
// cooperative of 100,000 members reads one member's accounts through an
// index (before migration 00006 it read every account of the cooperative).
func TestBalancesPlanDoesNotGrowWithTheCooperative(t *testing.T) {
	db := ledgertest.Postgres(t)
	big := ledgertest.SeedLargeCoop(t, db, "BIG", "*771#", "+62899", 100_000)
	id := big.MemberID(t, db, 150)
	ledgertest.PlanPhases(t, db, func(t *testing.T) {
		rows, node := ledgertest.PlanRows(t, db, ledger.MemberBalancesSQL, big.ID, id)
		assert.LessOrEqual(t, rows, int64(50), "balances in a cooperative of 100,000 members: %s reads %d rows", node, rows)
	})

	b, err := ledger.New(db, nil).MemberBalances(t.Context(), big.ID, id)
	require.NoError(t, err)
	assert.Equal(t, ledger.MemberBalances{Pokok: 100000, Wajib: 600000, Sukarela: 1250000}, b)
}
