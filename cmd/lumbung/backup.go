package main

// lumbung backup FILE: a consistent copy of the embedded database, taken
// while `lumbung serve` goes on writing. PostgreSQL is backed up with its
// own tools (pg_dump, or WAL archiving); README "Backups" says how.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const backupUsage = "lumbung backup FILE [--force] [--json] [--config FILE]"

// errBackupPostgres is the answer with PostgreSQL configured.
var errBackupPostgres = errors.New(`the database is PostgreSQL: back it up with PostgreSQL's own tools, e.g. pg_dump -Fc -f FILE "$LUMBUNG_DATABASE_URL", and restore with pg_restore (README "Backups"); lumbung backup copies the embedded database only`)

// backupResult is what a backup reports (one JSON object with --json).
type backupResult struct {
	File          string `json:"file"`
	Bytes         int64  `json:"bytes"`
	Journals      int64  `json:"journals"`
	SchemaVersion int64  `json:"schema_version"`
	TookMS        int64  `json:"took_ms"`
}

// cmdBackup: lumbung backup FILE.
func cmdBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, af := newAdminFlagSet("backup", backupUsage, stderr)
	force := fs.Bool("force", false, "replace FILE if it exists")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("give exactly one FILE to write the copy to (usage: %s)", backupUsage)
	}
	cfg, err := loadConfig(af.config)
	if err != nil {
		return err
	}
	if cfg.Postgres() {
		return errBackupPostgres
	}
	res, err := backupSQLite(ctx, cfg.SQLitePath(), pos[0], *force)
	if err != nil {
		return err
	}
	if af.json {
		return writeJSON(stdout, res)
	}
	fmt.Fprintf(stdout, "backup of %s written to %s: %d bytes, %d journals, schema version %d, in %d ms\n",
		cfg.SQLitePath(), res.File, res.Bytes, res.Journals, res.SchemaVersion, res.TookMS)
	return nil
}

// backupSQLite copies the SQLite database at src to dst with VACUUM INTO:
// one read transaction, so the copy is the database as of one moment
// (every journal whole, none half) while other connections and processes
// go on writing beside it (WAL mode: a reader does not block writers). It
// is written to a temporary file of mode 0600 beside dst, checked
// (integrity_check), synced, and only then put in place: dst never holds
// a partial copy, and an existing dst is replaced only with force.
func backupSQLite(ctx context.Context, src, dst string, force bool) (backupResult, error) {
	start := time.Now()
	var res backupResult
	if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("no embedded database at %s (is LUMBUNG_DATA_DIR right?)", src)
	} else if err != nil {
		return res, err
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return res, err
	}
	dst = abs
	if fi, err := os.Stat(dst); err == nil {
		if fi.IsDir() {
			return res, fmt.Errorf("%s is a directory: give the name of the file to write", dst)
		}
		if si, err := os.Stat(src); err == nil && os.SameFile(si, fi) {
			return res, fmt.Errorf("%s is the database itself: write the copy somewhere else", dst)
		}
		if !force {
			return res, fmt.Errorf("%s exists: choose another name, or add --force to replace it", dst)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, err
	}
	// VACUUM INTO accepts an empty file: creating it first gives it
	// mode 0600 (members' names, phones, balances and PIN hashes).
	tmpFile, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".partial-*")
	if err != nil {
		return res, fmt.Errorf("create the copy beside %s: %w", dst, err)
	}
	tmp := tmpFile.Name()
	tmpFile.Close()
	installed := false
	defer func() {
		if !installed {
			os.Remove(tmp)
		}
	}()

	db, err := openSQLiteFile(ctx, src, false)
	if err != nil {
		return res, err
	}
	_, err = db.ExecContext(ctx, `VACUUM INTO ?`, tmp)
	db.Close()
	if err != nil {
		return res, fmt.Errorf("copy %s: %w", src, err)
	}
	if res.Journals, res.SchemaVersion, err = checkSQLiteCopy(ctx, tmp); err != nil {
		return res, err
	}
	if err := syncFile(tmp); err != nil {
		return res, err
	}
	if err := install(tmp, dst, force); err != nil {
		return res, fmt.Errorf("put the copy in place at %s: %w", dst, err)
	}
	installed = true
	if err := syncFile(filepath.Dir(dst)); err != nil {
		return res, err
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return res, err
	}
	res.File, res.Bytes, res.TookMS = dst, fi.Size(), time.Since(start).Milliseconds()
	return res, nil
}

// install moves the finished copy tmp to dst. Without force a hard link
// puts it there only if dst does not exist, atomically; on a file system
// without hard links it checks first and renames.
func install(tmp, dst string, force bool) error {
	if force {
		return os.Rename(tmp, dst)
	}
	err := os.Link(tmp, dst)
	switch {
	case err == nil:
		os.Remove(tmp) // the copy is in place under both names; the temporary one goes
		return nil
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s appeared while the copy was made: choose another name, or add --force to replace it", dst)
	}
	if _, statErr := os.Lstat(dst); !errors.Is(statErr, fs.ErrNotExist) {
		return fmt.Errorf("%s appeared while the copy was made: choose another name, or add --force to replace it", dst)
	}
	return os.Rename(tmp, dst)
}

// openSQLiteFile opens an SQLite file with the driver alone (no pragma
// that would write): the source of a backup, or a copy to check.
func openSQLiteFile(ctx context.Context, path string, readOnly bool) (*sql.DB, error) {
	// As ledger.OpenSQLite: "%", "?" and "#" are URI syntax, escaped so a
	// directory named "…#01" opens the file that is there.
	dsn := "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?_pragma=busy_timeout(30000)"
	if readOnly {
		dsn += "&mode=ro"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return db, nil
}

// checkSQLiteCopy opens the copy read-only and checks it is a whole lumbung
// database: SQLite's integrity check passes and the books are readable.
func checkSQLiteCopy(ctx context.Context, path string) (journals, version int64, err error) {
	db, err := openSQLiteFile(ctx, path, true)
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	var verdict string
	if err := db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&verdict); err != nil {
		return 0, 0, fmt.Errorf("check the copy: %w", err)
	}
	if verdict != "ok" {
		return 0, 0, fmt.Errorf("check the copy: integrity check says %q", verdict)
	}
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM journals`).Scan(&journals); err != nil {
		return 0, 0, fmt.Errorf("check the copy: not a lumbung database: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version_id), 0) FROM goose_db_version WHERE is_applied`).Scan(&version); err != nil {
		return 0, 0, fmt.Errorf("check the copy: no migration record: %w", err)
	}
	return journals, version, nil
}

// syncFile flushes a file or a directory to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}
