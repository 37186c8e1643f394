package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// statementLog keeps, once each, the whole text of every statement the
// connections send while it is on (ledger.WithStatementHook, the hook the
// per-hop budget tests count with).
type statementLog struct {
	on   atomic.Bool
	mu   sync.Mutex
	seen map[string]bool
	sent []string
}

func (l *statementLog) hook(_ context.Context, q string) {
	if !l.on.Load() || q == "BEGIN" {
		return
	}
	q = strings.Join(strings.Fields(strings.TrimPrefix(q, ledger.Prepared)), " ")
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.seen[q] {
		l.seen[q] = true
		l.sent = append(l.sent, q)
	}
}

// tableNames finds the tables a statement reads or writes.
var tableNames = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE)\s+([a-z_]+)`)

// TestHotPathStatementsNameTheCooperative plays the hot-path journeys —
// balance, statement, loan info, a repayment from savings, a teller's cash
// deposit and cash repayment, the SMS answers SALDO, MUTASI and PINJAMAN —
// from cold caches, and holds every statement they send to
// ledger/CITUS.md: one that touches a distributed table names
// cooperative_id, so that Citus routes it to the one worker holding that
// cooperative instead of every shard. Statements on reference and
// coordinator tables only are fine. The statements that do not yet are
// exactly CITUS.md's "Hot-path statements still to change".
func TestHotPathStatementsNameTheCooperative(t *testing.T) {
	plan := ledgertest.ReadCitusPlan(t)
	_, dsn := ledgertest.PostgresWithURL(t)
	log := &statementLog{seen: map[string]bool{}}
	db, err := ledger.OpenPostgres(t.Context(), dsn, ledger.WithStatementHook(log.hook))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	rc, prefix := ussdtest.Redis(t)
	env := startApp(t, nil, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
	env.app.dir.InvalidateCache() // the hops load the service codes: those statements count too
	log.on.Store(true)

	for _, j := range []struct {
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
	} {
		s := journey(t, env.phone(j.phone), j.inputs...)
		require.Contains(t, last(s).Text, j.want, "%s %v", j.phone, j.inputs)
	}
	for i, text := range []string{"SALDO", "MUTASI", "PINJAMAN"} {
		resp, err := http.Get(env.srv.URL + "/sms/kannel?from=081234567890&to=1234&text=" + url.QueryEscape(text) + fmt.Sprintf("&id=citus-%d", i))
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, "%s: %s", text, body)
	}
	log.on.Store(false)

	log.mu.Lock()
	sent := slices.Clone(log.sent)
	log.mu.Unlock()
	require.Greater(t, len(sent), 20, "the journeys' statements were seen")
	var gaps []string
	distributed := 0
	for _, q := range sent {
		touches := false
		for _, m := range tableNames.FindAllStringSubmatch(q, -1) {
			tbl := strings.ToLower(m[1])
			if _, known := plan.Placement[tbl]; !known {
				continue // a CTE's name, a function
			}
			touches = touches || plan.IsDistributed(tbl)
		}
		if !touches {
			continue
		}
		distributed++
		if !strings.Contains(q, "cooperative_id") {
			gaps = append(gaps, q[:min(len(q), 60)])
		}
	}
	t.Logf("%d statements, %d on distributed tables, %d without cooperative_id", len(sent), distributed, len(gaps))
	assert.Greater(t, distributed, 15, "statements on distributed tables were checked")
	slices.Sort(gaps)
	documented := slices.Clone(plan.StatementGaps)
	slices.Sort(documented)
	assert.Equal(t, documented, gaps, "the hot-path statements on distributed tables that do not name cooperative_id are exactly CITUS.md's list\nfound:\n  %s",
		strings.Join(gaps, "\n  "))
}
