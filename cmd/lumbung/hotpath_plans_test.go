package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// maxRowsPerStatement bounds what any node of any hot-path statement's plan
// may read, in a cooperative of 100,000 members.
const maxRowsPerStatement = 50

// TestHotPathStatementsDoNotGrowWithTheCooperative plays every hot-path
// journey — balance, statement, loan info, a staff cash deposit, repayments
// from savings and in cash, and the SMS answers — in the demo cooperative
// grown to 100,000 members, with auto_explain sending the executed plan of
// every statement the service runs (reads and writes, nested ones too). No
// node of any of them may read more than a handful of rows, before the
// planner has statistics and after: a hop costs the same in a cooperative
// of 200 or 200,000.
func TestHotPathStatementsDoNotGrowWithTheCooperative(t *testing.T) {
	migrated, dsn := ledgertest.PostgresWithURL(t)
	db, plans := ledgertest.ExplainEveryStatement(t, dsn)
	rc, prefix := ussdtest.Redis(t)
	env := startApp(t, nil, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
	var coopID int64
	require.NoError(t, migrated.Get(&coopID, `SELECT cooperative_id FROM service_codes WHERE code = '*123#'`))
	ledgertest.SeedMembers(t, migrated, coopID, "+62899", 100_000)

	sms := 0
	sendSMS := func(t *testing.T, from, text string) {
		t.Helper()
		sms++
		resp, err := http.Get(env.srv.URL + "/sms/kannel?from=" + from + "&to=1234&text=" + url.QueryEscape(text) +
			fmt.Sprintf("&id=plan-%s-%d", t.Name(), sms))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", text, body)
	}
	ledgertest.PlanPhases(t, migrated, func(t *testing.T) {
		plans.Take()
		playHotPathJourneys(t, env)
		for _, text := range []string{"SALDO", "MUTASI", "PINJAMAN"} {
			sendSMS(t, "081234567890", text)
		}
		ran, unreadable := plans.Take()
		assert.Empty(t, unreadable, "notices that should have been plans")
		require.Greater(t, len(ran), 30, "auto_explain reported the journeys' statements")
		kinds := map[string]bool{}
		for _, p := range ran {
			for _, k := range []string{"INSERT INTO journals", "INSERT INTO entries", "UPDATE accounts", "INSERT INTO outbox", "FROM pins", "sms_inbound"} {
				if strings.Contains(p.Query, k) {
					kinds[k] = true
				}
			}
			assert.LessOrEqual(t, p.Rows, int64(maxRowsPerStatement), "%s reads %d rows: %s", p.Node, p.Rows, p.Query[:min(len(p.Query), 200)])
		}
		for _, k := range []string{"INSERT INTO journals", "INSERT INTO entries", "UPDATE accounts", "INSERT INTO outbox", "FROM pins", "sms_inbound"} {
			assert.True(t, kinds[k], "a statement with %q was checked", k)
		}
	})
}

// hotPathJourneys are the USSD journeys of the hot path: balance,
// statement, loan info, a repayment from sukarela, and a teller's cash
// deposit and cash repayment.
var hotPathJourneys = []struct {
	phone  string
	inputs []string
	want   string
}{
	{"081234567890", []string{"1", "246810"}, "Saldo"},
	{"081234567890", []string{"4", "246810"}, "Mutasi"},
	{"081234567891", []string{"2", "5", "802461"}, "PJ-0001"},
	{"081234567891", []string{"2", "3", "2", "10000", "802461"}, "berhasil"}, // from sukarela
	{"081299990000", []string{"1", "975310", "A-001", "2", "50000", "1"}, "tercatat"},
	{"081299990000", []string{"2", "975310", "A-003", "10000", "1"}, "tercatat"}, // cash at the counter
}

// playHotPathJourneys plays every hot-path journey on env, checking each
// ends where it should.
func playHotPathJourneys(t *testing.T, env *testEnv) {
	t.Helper()
	for _, j := range hotPathJourneys {
		s := journey(t, env.phone(j.phone), j.inputs...)
		require.Contains(t, last(s).Text, j.want, "%s %v", j.phone, j.inputs)
	}
}
