package ledger_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// TestBalancesPlanDoesNotGrowWithTheCooperative: "Cek Saldo", "Mutasi" and
// "Info Pinjaman" in a cooperative of 100,000 members (one movement each)
// read one member's rows through indexes (before migration 00006 the
// balances read every account of the cooperative).
func TestBalancesPlanDoesNotGrowWithTheCooperative(t *testing.T) {
	db := ledgertest.Postgres(t)
	big := ledgertest.SeedLargeCoop(t, db, "BIG", "*771#", "+62899", 100_000)
	id := big.MemberID(t, db, 150)
	ledgertest.PlanPhases(t, db, func(t *testing.T) {
		for _, s := range []struct {
			name  string
			query string
			args  []any
		}{
			{"balances", ledger.MemberBalancesSQL, []any{big.ID, id}},
			{"statement", ledger.StatementPgSQL, []any{big.ID, id, 0, int64(math.MaxInt64), 5}},
			{"loans", ledger.MemberLoansSQL, []any{big.ID, id}},
			{"installments", ledger.MemberInstallmentsSQL, []any{big.ID, big.ID, id}},
		} {
			rows, node := ledgertest.PlanRows(t, db, s.query, s.args...)
			assert.LessOrEqual(t, rows, int64(50), "%s in a cooperative of 100,000 members: %s reads %d rows", s.name, node, rows)
		}
	})

	lines, err := ledger.New(db, nil).Statement(t.Context(), big.ID, id, 5)
	require.NoError(t, err)
	assert.Len(t, lines, 2, "the seeded movement (wajib out, sukarela in) is the statement the plan was read for")
	var entries int
	require.NoError(t, db.Get(&entries, `SELECT COUNT(*) FROM entries WHERE cooperative_id = $1`, big.ID))
	assert.Equal(t, 200_000, entries, "the cooperative's entries the statement must not read")

	b, err := ledger.New(db, nil).MemberBalances(t.Context(), big.ID, id)
	require.NoError(t, err)
	assert.Equal(t, ledger.MemberBalances{Pokok: 100000, Wajib: 600000, Sukarela: 1250000}, b)
}
