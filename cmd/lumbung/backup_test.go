package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

// runBackup runs `lumbung backup args…` and returns its exit code, stdout
// and stderr.
func runBackup(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"backup"}, args...), nil, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// depositWriters posts deposits (clearing → a member's sukarela) from
// several goroutines until stop is called, like tellers while `lumbung serve`
// runs; stop returns how many were posted.
func depositWriters(t *testing.T, db *ledger.DB, writers int) (posted *atomic.Int64, stop func() int64) {
	t.Helper()
	ctx := context.Background()
	var clearing int64
	require.NoError(t, db.GetContext(ctx, &clearing, db.Rebind(`SELECT a.id FROM accounts a JOIN cooperatives c ON c.id = a.cooperative_id
		WHERE c.code = ? AND a.kind = 'clearing'`), demoCoopCode))
	var savings []int64
	require.NoError(t, db.SelectContext(ctx, &savings, `SELECT id FROM accounts WHERE kind = 'sukarela' ORDER BY id`))
	require.NotEmpty(t, savings)
	var coopID int64
	require.NoError(t, db.GetContext(ctx, &coopID, db.Rebind(`SELECT id FROM cooperatives WHERE code = ?`), demoCoopCode))
	books := ledger.New(db, nil)
	posted = &atomic.Int64{}
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	run := fmt.Sprint(time.Now().UnixNano())
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				_, err := books.Post(ctx, ledger.Journal{CooperativeID: coopID, Key: fmt.Sprintf("backup-%s-%d-%d", run, w, i),
					Kind: ledger.KindDeposit, Memo: "setoran", Actor: "test",
					Postings: []ledger.Posting{{From: clearing, To: savings[(w+i)%len(savings)], Amount: int64(1000 + i)}}})
				if err != nil {
					errs <- err
					return
				}
				posted.Add(1)
			}
		}()
	}
	return posted, func() int64 {
		close(done)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err, "a posting beside the backup")
		}
		return posted.Load()
	}
}

// waitPosted waits until the writers have posted at least n journals.
func waitPosted(t *testing.T, posted *atomic.Int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for posted.Load() < n {
		require.True(t, time.Now().Before(deadline), "writers posted only %d journals", posted.Load())
		time.Sleep(5 * time.Millisecond)
	}
}

type entryRow struct {
	JournalID int64  `db:"journal_id"`
	AccountID int64  `db:"account_id"`
	Side      string `db:"side"`
	Amount    int64  `db:"amount"`
}

// cachedBalances is every account's balance as the ledger keeps it (the row
// plus its shards).
func cachedBalances(t *testing.T, db *ledger.DB) map[int64]int64 {
	t.Helper()
	var rows []struct {
		ID      int64 `db:"id"`
		Balance int64 `db:"balance"`
	}
	require.NoError(t, db.Select(&rows, `SELECT a.id, a.balance + COALESCE((SELECT SUM(s.balance) FROM account_shards s WHERE s.account_id = a.id), 0) AS balance FROM accounts a`))
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Balance
	}
	return out
}

// balancesOfJournals replays the source's entries of the given journals
// only: what every account's balance must be in a copy that holds exactly
// those journals. It also checks that the copy holds each of them whole.
func balancesOfJournals(t *testing.T, source, copied *ledger.DB) map[int64]int64 {
	t.Helper()
	var normals []struct {
		ID     int64  `db:"id"`
		Normal string `db:"normal"`
	}
	require.NoError(t, source.Select(&normals, `SELECT id, normal FROM accounts`))
	var srcEntries, copyEntries []entryRow
	require.NoError(t, source.Select(&srcEntries, `SELECT journal_id, account_id, side, amount FROM entries ORDER BY id`))
	require.NoError(t, copied.Select(&copyEntries, `SELECT journal_id, account_id, side, amount FROM entries ORDER BY id`))
	var ids []int64
	require.NoError(t, copied.Select(&ids, `SELECT id FROM journals`))
	inCopy := make(map[int64]bool, len(ids))
	for _, id := range ids {
		inCopy[id] = true
	}
	var want []entryRow
	out := make(map[int64]int64, len(normals))
	credit := map[int64]bool{}
	for _, a := range normals {
		out[a.ID] = 0
		credit[a.ID] = a.Normal == "credit"
	}
	for _, e := range srcEntries {
		if !inCopy[e.JournalID] {
			continue
		}
		want = append(want, e)
		if (e.Side == "C") == credit[e.AccountID] {
			out[e.AccountID] += e.Amount
		} else {
			out[e.AccountID] -= e.Amount
		}
	}
	require.Equal(t, want, copyEntries, "the copy holds the entries of its journals, all of them and nothing else")
	return out
}

// TestBackupEmbeddedWhileWriting copies the embedded database while four
// writers post deposits into it, restores the copy into a fresh data dir,
// runs `lumbung reconcile` on it and compares its balances with the
// source's books as of the copy's journals; then a copy taken at rest
// equals the source.
func TestBackupEmbeddedWhileWriting(t *testing.T) {
	ctx := context.Background()
	seededDataDir(t) // the demo books in LUMBUNG_DATA_DIR
	src := filepath.Join(os.Getenv("LUMBUNG_DATA_DIR"), "lumbung.db")
	// The writers have a handle of their own on the file, as `lumbung serve`
	// would in another process.
	live, err := ledger.OpenSQLite(ctx, src)
	require.NoError(t, err)
	t.Cleanup(func() { live.Close() })
	var before int64
	require.NoError(t, live.Get(&before, `SELECT COUNT(*) FROM journals`))

	posted, stop := depositWriters(t, live, 4)
	waitPosted(t, posted, 50)
	outDir := t.TempDir()
	file := filepath.Join(outDir, "lumbung-backup.db")
	atStart := posted.Load()
	code, stdout, stderr := runBackup(t, file, "--json")
	atEnd := posted.Load()
	waitPosted(t, posted, atEnd+20) // the writers go on after it
	total := stop()
	require.Equal(t, 0, code, stderr)
	t.Logf("posted %d journals during the backup, %d in all", atEnd-atStart, total)

	var res backupResult
	dec := json.NewDecoder(strings.NewReader(stdout))
	require.NoError(t, dec.Decode(&res), stdout)
	var extra json.RawMessage
	assert.ErrorIs(t, dec.Decode(&extra), io.EOF, "exactly one JSON object on stdout")
	assert.Equal(t, file, res.File)
	assert.Positive(t, res.SchemaVersion)
	assert.GreaterOrEqual(t, res.Journals, before+atStart, "the copy holds what was posted before it began")
	assert.LessOrEqual(t, res.Journals, before+atEnd, "and nothing posted after it ended")
	fi, err := os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the copy holds PIN hashes and phones: owner only")
	assert.Equal(t, res.Bytes, fi.Size())
	leftovers, _ := filepath.Glob(filepath.Join(outDir, ".*partial*"))
	assert.Empty(t, leftovers, "no temporary file left behind")

	// Restore: the copy becomes the database of a fresh data dir.
	restored := restoreEmbedded(t, file)
	code, rep, stderr := reconcileJSON(t)
	require.Equal(t, 0, code, stderr)
	assert.True(t, rep.OK, "%v", rep.Problems)
	assert.Equal(t, int(res.Journals), rep.Journals)
	assert.Equal(t, balancesOfJournals(t, live, restored), cachedBalances(t, restored),
		"every balance in the copy is the source's as of the copy's journals")

	// At rest, a second copy is the source; replacing a file needs --force.
	code, _, stderr = runBackupIn(t, filepath.Dir(src), file)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "exists: choose another name, or add --force to replace it")
	code, _, stderr = runBackupIn(t, filepath.Dir(src), file, "--force")
	require.Equal(t, 0, code, stderr)
	fi, err = os.Stat(file)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	restored = restoreEmbedded(t, file)
	code, rep, stderr = reconcileJSON(t)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, int(before+total), rep.Journals)
	assert.Equal(t, cachedBalances(t, live), cachedBalances(t, restored), "a copy at rest has every balance of the source")
}

// runBackupIn runs `lumbung backup` with LUMBUNG_DATA_DIR set to dataDir.
func runBackupIn(t *testing.T, dataDir string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("LUMBUNG_DATA_DIR", dataDir)
	return runBackup(t, args...)
}

// restoreEmbedded copies a backup into a fresh data dir as its lumbung.db
// (README "Backups"), points LUMBUNG_DATA_DIR at it and opens it.
func restoreEmbedded(t *testing.T, backup string) *ledger.DB {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(backup)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lumbung.db"), b, 0o600))
	t.Setenv("LUMBUNG_DATA_DIR", dir)
	db, err := ledger.OpenSQLite(context.Background(), filepath.Join(dir, "lumbung.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestBackupRefusals(t *testing.T) {
	seededDataDir(t)
	dataDir := os.Getenv("LUMBUNG_DATA_DIR")
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no file", nil, nil, "give exactly one FILE"},
		{"two files", nil, []string{"a.db", "b.db"}, "give exactly one FILE"},
		{"a directory", nil, []string{t.TempDir()}, "is a directory: give the name of the file to write"},
		{"the database itself", nil, []string{filepath.Join(dataDir, "lumbung.db"), "--force"}, "is the database itself"},
		{"a directory that does not exist", nil, []string{filepath.Join(t.TempDir(), "no", "such", "x.db")}, "create the copy beside"},
		{"no embedded database", map[string]string{"LUMBUNG_DATA_DIR": t.TempDir()}, []string{filepath.Join(t.TempDir(), "x.db")}, "no embedded database at "},
		{"PostgreSQL", map[string]string{"LUMBUNG_DATABASE_URL": "postgres://lumbung@db.internal/lumbung", "LUMBUNG_SECRET": strings.Repeat("s", 32)},
			[]string{filepath.Join(t.TempDir(), "x.db")}, `back it up with PostgreSQL's own tools, e.g. pg_dump -Fc -f FILE "$LUMBUNG_DATABASE_URL"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := runBackup(t, c.args...)
			assert.Equal(t, 1, code)
			assert.Empty(t, stdout)
			assert.Contains(t, stderr, c.want)
			assert.Equal(t, 1, strings.Count(stderr, "\n"), "one line: %q", stderr)
		})
	}
}

// pgDatabase creates a database of its own on the test server (dropped at
// the end) and returns its URL.
func pgDatabase(t *testing.T, admin *sqlx.DB, base, suffix string) string {
	t.Helper()
	u, err := url.Parse(base)
	require.NoError(t, err)
	name := fmt.Sprintf("%s_%s_%d", strings.TrimPrefix(u.Path, "/"), suffix, time.Now().UnixNano()%1e9)
	_, err = admin.Exec("CREATE DATABASE " + pq.QuoteIdentifier(name))
	require.NoError(t, err)
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + pq.QuoteIdentifier(name) + " WITH (FORCE)"); err != nil {
			t.Logf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

// pgTool finds pg_dump or pg_restore: missing is a skip, or a failure when
// the backends are required.
func pgTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if ledgertest.BackendsRequired() {
			t.Fatalf("%s is required for this test run: %v", name, err)
		}
		t.Skipf("%s not installed: %v", name, err)
	}
	return p
}

// TestPostgresDumpRestoreReconcile is README "Backups" for PostgreSQL, run:
// pg_dump -Fc of a database with the demo books while four writers post
// deposits, pg_restore into a fresh database, `lumbung reconcile` on the
// restored one, and its balances compared with the source's as of the
// dump's journals. The restored database needs no migration and keeps the
// append-only triggers.
func TestPostgresDumpRestoreReconcile(t *testing.T) {
	ctx := context.Background()
	pgDump, pgRestore := pgTool(t, "pg_dump"), pgTool(t, "pg_restore")
	ledgertest.Postgres(t) // the server is there (creates the test database if missing)
	base := ledgertest.PostgresURL()
	admin, err := sqlx.Open("postgres", base)
	require.NoError(t, err)
	t.Cleanup(func() { admin.Close() })
	srcURL, dstURL := pgDatabase(t, admin, base, "bk_src"), pgDatabase(t, admin, base, "bk_dst")

	src, err := ledger.OpenPostgres(ctx, srcURL)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	require.NoError(t, src.Migrate(ctx, nil))
	people, err := members.NewDirectory(src, []byte(strings.Repeat("r", 32)), nil)
	require.NoError(t, err)
	require.NoError(t, seedDemo(ctx, people, ledger.New(src, nil), time.Now()))

	posted, stop := depositWriters(t, src, 4)
	waitPosted(t, posted, 50)
	dump := filepath.Join(t.TempDir(), "lumbung.dump")
	atStart := posted.Load()
	out, err := exec.CommandContext(ctx, pgDump, "-Fc", "-f", dump, srcURL).CombinedOutput()
	require.NoError(t, err, "pg_dump: %s", out)
	atEnd := posted.Load()
	total := stop()
	t.Logf("posted %d journals during pg_dump, %d in all", atEnd-atStart, total)

	out, err = exec.CommandContext(ctx, pgRestore, "--no-owner", "--exit-on-error", "-d", dstURL, dump).CombinedOutput()
	require.NoError(t, err, "pg_restore: %s", out)

	t.Setenv("LUMBUNG_DATABASE_URL", dstURL)
	t.Setenv("LUMBUNG_SECRET", strings.Repeat("r", 32))
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run(ctx, []string{"migrate"}, nil, &stdout, &stderr), stderr.String())
	assert.NotContains(t, stderr.String(), "migration applied", "the dump carries the migration record: nothing to apply")
	code, rep, errText := reconcileJSON(t)
	require.Equal(t, 0, code, errText)
	assert.True(t, rep.OK, "%v", rep.Problems)

	restored, err := ledger.OpenPostgres(ctx, dstURL)
	require.NoError(t, err)
	t.Cleanup(func() { restored.Close() })
	var journals int64
	require.NoError(t, restored.Get(&journals, `SELECT COUNT(*) FROM journals`))
	assert.Equal(t, int(journals), rep.Journals)
	var seeded int64
	require.NoError(t, src.Get(&seeded, `SELECT COUNT(*) FROM journals WHERE idem_key NOT LIKE 'backup-%'`))
	assert.GreaterOrEqual(t, journals, seeded+atStart, "the dump holds what was posted before it began")
	assert.LessOrEqual(t, journals, seeded+atEnd, "and nothing posted after it ended")
	assert.Equal(t, balancesOfJournals(t, src, restored), cachedBalances(t, restored),
		"every balance restored is the source's as of the dump's journals")
	_, err = restored.Exec(`UPDATE journals SET memo = 'x' WHERE id = (SELECT MIN(id) FROM journals)`)
	assert.ErrorContains(t, err, "append-only", "the restored books are still append-only")

	// The embedded backup command says what to do instead.
	code, _, errLine := runBackup(t, filepath.Join(t.TempDir(), "x.db"))
	assert.Equal(t, 1, code)
	assert.Contains(t, errLine, "pg_dump -Fc")
}

// A data dir and a target whose names hold URI syntax ("#", "?", "%").
func TestBackupPathsWithURISyntax(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data#01?x%20")
	t.Setenv("LUMBUNG_DATA_DIR", dataDir)
	db, err := ledger.OpenSQLite(ctx, filepath.Join(dataDir, "lumbung.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Migrate(ctx, nil))
	people, err := members.NewDirectory(db, []byte(strings.Repeat("r", 32)), nil)
	require.NoError(t, err)
	require.NoError(t, seedDemo(ctx, people, ledger.New(db, nil), time.Now()))
	var journals int64
	require.NoError(t, db.Get(&journals, `SELECT COUNT(*) FROM journals`))
	require.Positive(t, journals)

	outDir := filepath.Join(t.TempDir(), "out#2")
	require.NoError(t, os.Mkdir(outDir, 0o700))
	file := filepath.Join(outDir, "copy?.db")
	code, stdout, stderr := runBackup(t, file, "--json")
	require.Equal(t, 0, code, stderr)
	var res backupResult
	require.NoError(t, json.Unmarshal([]byte(stdout), &res))
	assert.Equal(t, journals, res.Journals, "the copy is of the database in that directory")
	restoreEmbedded(t, file)
	code, rep, stderr := reconcileJSON(t)
	require.Equal(t, 0, code, stderr)
	assert.Equal(t, int(journals), rep.Journals)
}
