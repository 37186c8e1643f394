package ledgertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/lumbung-id/lumbung/ledger"
)

// LargeCoop is a cooperative seeded in bulk for plan tests: Members members
// with phones PhonePrefix + 8-digit index, three savings accounts and a PIN
// row each.
type LargeCoop struct {
	ID          int64
	ServiceCode string
	PhonePrefix string
	Members     int
}

// MemberID is the id of member i (1-based) of c.
func (c LargeCoop) MemberID(t testing.TB, db *ledger.DB, i int) int64 {
	t.Helper()
	var id int64
	if err := db.GetContext(context.Background(), &id, `SELECT id FROM members WHERE cooperative_id = $1 AND member_no = $2`, c.ID, fmt.Sprintf("%08d", i)); err != nil {
		t.Fatalf("member %d of cooperative %d: %v", i, c.ID, err)
	}
	return id
}

// SeedLargeCoop creates, on PostgreSQL, a cooperative of n members with
// set-based inserts (seconds for 100,000). It does not ANALYZE: a plan test
// checks the plans first as the planner sees a cooperative just loaded
// (no statistics yet), then after Analyze, as autovacuum leaves it.
func SeedLargeCoop(t testing.TB, db *ledger.DB, code, serviceCode, phonePrefix string, n int) LargeCoop {
	t.Helper()
	if db.Dialect != ledger.Postgres {
		t.Fatal("SeedLargeCoop is for PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := LargeCoop{ServiceCode: serviceCode, PhonePrefix: phonePrefix, Members: n}
	err := db.GetContext(ctx, &c.ID, `INSERT INTO cooperatives (code, name, created_at) VALUES ($1, $2, $3) RETURNING id`, code, "Koperasi "+code, time.Now().UTC())
	if err == nil {
		_, err = db.ExecContext(ctx, `INSERT INTO service_codes (code, cooperative_id) VALUES ($1, $2)`, serviceCode, c.ID)
	}
	if err != nil {
		t.Fatalf("create cooperative %s: %v", code, err)
	}
	SeedMembers(t, db, c.ID, phonePrefix, n)
	return c
}

// SeedMembers adds, on PostgreSQL, n members to cooperative coopID in bulk
// (member numbers and phones phonePrefix + the 8-digit index 1…n), each with
// three savings accounts, a PIN row that matches no PIN and one movement.
func SeedMembers(t testing.TB, db *ledger.DB, coopID int64, phonePrefix string, n int) {
	t.Helper()
	if db.Dialect != ledger.Postgres {
		t.Fatal("SeedMembers is for PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	now := time.Now().UTC()
	var err error
	for _, q := range []string{
		`INSERT INTO members (cooperative_id, member_no, name, name_key, phone, created_at)
		 SELECT $1, lpad(i::text, 8, '0'), 'Anggota ' || i, 'anggota ' || i, $2 || lpad(i::text, 8, '0'), $3 FROM generate_series(1, $4) AS i`,
		`INSERT INTO accounts (cooperative_id, kind, member_id, normal, bounded, balance, created_at)
		 SELECT m.cooperative_id, k.kind, m.id, 'credit', TRUE, k.amount, $3 FROM members m
		 CROSS JOIN (VALUES ('pokok', 100000), ('wajib', 600000), ('sukarela', 1250000)) AS k(kind, amount)
		 WHERE m.cooperative_id = $1 AND m.phone LIKE $2 || '%' AND $4 > 0`,
		`INSERT INTO pins (cooperative_id, holder_kind, holder_id, pin_hash, updated_at)
		 SELECT m.cooperative_id, 'member', m.id, 'not-a-real-hash', $3 FROM members m WHERE m.cooperative_id = $1 AND m.phone LIKE $2 || '%' AND $4 > 0`,
		// One movement per member (wajib to sukarela), so that a statement
		// has a cooperative's worth of entries to find its member's in.
		// (Balances are left as seeded: these rows are for plans, not books.)
		`INSERT INTO journals (cooperative_id, idem_key, request_hash, kind, memo, created_at)
		 SELECT m.cooperative_id, 'seed-' || m.id, 'seed', 'transfer', 'seed', $3 FROM members m
		 WHERE m.cooperative_id = $1 AND m.phone LIKE $2 || '%' AND $4 > 0`,
		`INSERT INTO entries (cooperative_id, journal_id, account_id, side, amount)
		 SELECT j.cooperative_id, j.id, a.id, CASE a.kind WHEN 'wajib' THEN 'D' ELSE 'C' END, 1000
		 FROM journals j JOIN accounts a ON a.cooperative_id = j.cooperative_id AND j.idem_key = 'seed-' || a.member_id
		 WHERE j.cooperative_id = $1 AND a.kind IN ('wajib', 'sukarela') AND $2 <> '' AND $3::timestamptz IS NOT NULL AND $4 > 0`,
	} {
		if err != nil {
			break
		}
		_, err = db.ExecContext(ctx, q, coopID, phonePrefix, now, n)
	}
	if err != nil {
		t.Fatalf("seed %d members in cooperative %d: %v", n, coopID, err)
	}
}

// PlanPhases runs check twice: with the statistics the seeding left (none:
// a cooperative just imported, before autovacuum) and after ANALYZE.
func PlanPhases(t *testing.T, db *ledger.DB, check func(t *testing.T)) {
	t.Helper()
	t.Run("no statistics", check)
	if err := db.Analyze(context.Background(), "cooperatives", "service_codes", "members", "staff", "pins", "accounts",
		"journals", "entries", "loans", "installments", "deposit_codes", "outbox", "sms_inbound"); err != nil {
		t.Fatal(err)
	}
	t.Run("analyzed", check)
}

// PlanRows runs EXPLAIN (ANALYZE, FORMAT JSON) of query on PostgreSQL and
// returns the most rows any one node of the plan read (rows it returned
// over all its loops plus rows it removed by filters) and that node's type.
// A hot-path statement served by the right index reads a handful, whatever
// the size of the cooperative; one that scans reads them all.
func PlanRows(t testing.TB, db *ledger.DB, query string, args ...any) (rows int64, node string) {
	t.Helper()
	var out string
	if err := db.GetContext(context.Background(), &out, "EXPLAIN (ANALYZE, FORMAT JSON) "+db.Rebind(query), args...); err != nil {
		t.Fatalf("explain %q: %v", query, err)
	}
	var plans []struct {
		Plan planNode `json:"Plan"`
	}
	if err := json.Unmarshal([]byte(out), &plans); err != nil || len(plans) == 0 {
		t.Fatalf("explain %q: unreadable plan %q: %v", query, out, err)
	}
	rows, node = mostRead(plans[0].Plan)
	return rows, node
}

// mostRead finds the node of a plan that read the most rows (returned,
// times loops, plus those removed by filters) and how many.
func mostRead(p planNode) (rows int64, node string) {
	var walk func(n planNode)
	walk = func(n planNode) {
		read := int64(n.ActualRows*max(n.ActualLoops, 1)) + int64(n.RemovedByFilter+n.RemovedByRecheck+n.RemovedByJoinFilter)
		if read > rows || node == "" {
			rows, node = read, n.NodeType
			if n.Relation != "" {
				node += " on " + n.Relation
			}
		}
		for _, c := range n.Plans {
			walk(c)
		}
	}
	walk(p)
	return rows, node
}

// Plan is one statement as it ran: its text and the node of its plan that
// read the most rows.
type Plan struct {
	Query string
	Rows  int64
	Node  string
}

// Plans collects the plan of every statement run on a handle opened by
// ExplainEveryStatement.
type Plans struct {
	mu  sync.Mutex
	ran []Plan
	bad []string // notices that were not a readable plan
}

// ExplainEveryStatement opens another handle on the test database of dsn
// (PostgresWithURL's) whose connections load auto_explain and send the
// executed plan of every statement they run, nested ones included, as a
// notice: what a test of whole journeys reads to check that no statement
// of theirs reads more than a handful of rows, without naming each one.
func ExplainEveryStatement(t testing.TB, dsn string) (*ledger.DB, *Plans) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", redact(dsn), err)
	}
	q := u.Query()
	for k, v := range map[string]string{
		"session_preload_libraries":          "auto_explain",
		"auto_explain.log_min_duration":      "0",
		"auto_explain.log_analyze":           "on",
		"auto_explain.log_timing":            "off",
		"auto_explain.log_nested_statements": "on",
		"auto_explain.log_format":            "json",
		"auto_explain.log_level":             "notice",
	} {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	p := &Plans{}
	db, err := ledger.OpenPostgres(context.Background(), u.String(), ledger.WithNoticeHandler(p.notice))
	if err != nil {
		t.Fatalf("open %s with auto_explain: %v", redact(dsn), err)
	}
	t.Cleanup(func() { db.Close() })
	return db, p
}

func (p *Plans) notice(e *pq.Error) {
	i := strings.Index(e.Message, "plan:")
	if i < 0 {
		return // not auto_explain's
	}
	var out struct {
		Query string   `json:"Query Text"`
		Plan  planNode `json:"Plan"`
	}
	err := json.Unmarshal([]byte(e.Message[i+len("plan:"):]), &out)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		p.bad = append(p.bad, e.Message)
		return
	}
	rows, node := mostRead(out.Plan)
	p.ran = append(p.ran, Plan{Query: strings.Join(strings.Fields(out.Query), " "), Rows: rows, Node: node})
}

// Take returns the plans collected since the last Take, and any notice
// that looked like a plan but could not be read.
func (p *Plans) Take() (ran []Plan, unreadable []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ran, unreadable = p.ran, p.bad
	p.ran, p.bad = nil, nil
	return ran, unreadable
}

type planNode struct {
	NodeType            string     `json:"Node Type"`
	Relation            string     `json:"Relation Name"`
	ActualRows          float64    `json:"Actual Rows"`
	ActualLoops         float64    `json:"Actual Loops"`
	RemovedByFilter     float64    `json:"Rows Removed by Filter"`
	RemovedByRecheck    float64    `json:"Rows Removed by Index Recheck"`
	RemovedByJoinFilter float64    `json:"Rows Removed by Join Filter"`
	Plans               []planNode `json:"Plans"`
}
