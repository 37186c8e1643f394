package ledgertest

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Placements of a table in a Citus cluster (ledger/CITUS.md).
const (
	Distributed = "distributed" // sharded by cooperative_id, co-located
	Reference   = "reference"   // a copy on every node
	Coordinator = "coordinator" // a plain table on the coordinator only
)

// CitusPlan is ledger/CITUS.md read by the tests that hold the schema and
// the hot path to it: where each table goes, and the keys and statements
// the document still lists as to be changed.
type CitusPlan struct {
	Placement      map[string]string // table → Distributed, Reference or Coordinator
	KeyGaps        []string          // "table: constraint", as the catalog shows it
	StatementGaps  []string          // the hot-path statements (their first words) that do not yet name the cooperative
	distributedSet map[string]bool
}

// IsDistributed reports whether the plan distributes table.
func (p CitusPlan) IsDistributed(table string) bool { return p.distributedSet[table] }

var (
	placementRow = regexp.MustCompile("^\\| `([a-z_]+)` \\| (distributed|reference|coordinator) \\|")
	gapRow       = regexp.MustCompile("^\\| `([a-z_]+)` \\| `([^`]+)` \\|")
	stmtGapRow   = regexp.MustCompile("^\\| `([^`]+)` \\|")
)

// citusPlanPath finds ledger/CITUS.md from the module root: the nearest
// directory above the test's working directory (its package) that holds
// go.mod.
func citusPlanPath() string {
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join("ledger", "CITUS.md")
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "ledger", "CITUS.md")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return filepath.Join("ledger", "CITUS.md")
		}
		dir = parent
	}
}

// ReadCitusPlan parses ledger/CITUS.md: the rows of its "Placement" table,
// of "Keys still to change" and of "Hot-path statements still to change".
func ReadCitusPlan(t testing.TB) CitusPlan {
	t.Helper()
	f, err := os.Open(citusPlanPath())
	if err != nil {
		t.Fatalf("read the distribution plan: %v", err)
	}
	defer f.Close()
	p := CitusPlan{Placement: map[string]string{}, distributedSet: map[string]bool{}}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = strings.TrimPrefix(line, "## ")
			continue
		}
		switch section {
		case "Placement":
			if m := placementRow.FindStringSubmatch(line); m != nil {
				if _, dup := p.Placement[m[1]]; dup {
					t.Fatalf("CITUS.md places %s twice", m[1])
				}
				p.Placement[m[1]] = m[2]
				if m[2] == Distributed {
					p.distributedSet[m[1]] = true
				}
			}
		case "Keys still to change":
			if m := gapRow.FindStringSubmatch(line); m != nil {
				p.KeyGaps = append(p.KeyGaps, m[1]+": "+m[2])
			}
		case "Hot-path statements still to change":
			if m := stmtGapRow.FindStringSubmatch(line); m != nil {
				p.StatementGaps = append(p.StatementGaps, m[1])
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read the distribution plan: %v", err)
	}
	if len(p.Placement) == 0 {
		t.Fatalf("CITUS.md has no Placement table")
	}
	return p
}
