package members_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

// maxPlanRows bounds what any node of a hot-path statement's plan may read.
const maxPlanRows = 50

// TestHotPathPlansDoNotGrowWithTheCooperative seeds a cooperative of
// 100,000 members beside a small one on PostgreSQL and checks, with EXPLAIN
// ANALYZE (before and after the planner has statistics), that the first hop's and the PIN hop's statements (the balance check's included) read a handful
// of rows in either: their cost does not grow with the cooperative.
func TestHotPathPlansDoNotGrowWithTheCooperative(t *testing.T) {
	db := ledgertest.Postgres(t)
	big := ledgertest.SeedLargeCoop(t, db, "BIG", "*771#", "+62899", 100_000)
	small := ledgertest.SeedLargeCoop(t, db, "SMALL", "*772#", "+62898", 200)
	ledgertest.PlanPhases(t, db, func(t *testing.T) {
		for _, c := range []ledgertest.LargeCoop{big, small} {
			phone := c.PhonePrefix + "00000150"
			id := c.MemberID(t, db, 150)
			identify, identifyArgs := members.IdentifySQL(c.ID, phone)
			for _, s := range []struct {
				name  string
				query string
				args  []any
			}{
				{"service code", members.CoopsForCodeSQL, []any{c.ServiceCode}},
				{"identify", identify, identifyArgs},
				{"pin check", members.ReadPINSQL, []any{"member", id, c.ID}},
				{"pin check and balances", members.PINBalancesSQL, []any{id, c.ID}},
			} {
				rows, node := ledgertest.PlanRows(t, db, s.query, s.args...)
				assert.LessOrEqual(t, rows, int64(maxPlanRows), "%s in a cooperative of %d members: %s reads %d rows", s.name, c.Members, node, rows)
			}
		}
	})
}
