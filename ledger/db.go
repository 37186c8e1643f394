// Package ledger keeps the cooperative's double-entry books: accounts,
// journals and their entries, balances and the rules that guard them. It runs
// the same code on PostgreSQL (production) and on an embedded SQLite file
// (a laptop, a demo, a single small cooperative).
package ledger

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"           // PostgreSQL driver
	"github.com/pressly/goose/v3" // versioned migrations
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // embedded SQLite driver, no cgo
)

// Dialect names the SQL database behind a DB.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

//go:embed migrations
var migrations embed.FS

// DB is the database handle shared by ledger and members. Queries are
// written once with `?` placeholders and rebound for the dialect.
type DB struct {
	*sqlx.DB
	Dialect Dialect
}

// StatementHook is told of every statement sent to PostgreSQL (its text,
// or "BEGIN" for a transaction), before it is sent: what the per-hop
// statement budget tests count. It must be cheap and safe for concurrent use.
type StatementHook func(ctx context.Context, query string)

// PostgresOption tunes OpenPostgres.
type PostgresOption func(*preparingConnector)

// WithStatementHook calls h for every statement the connections send.
func WithStatementHook(h StatementHook) PostgresOption {
	return func(c *preparingConnector) { c.hook = h }
}

// WithNoticeHandler passes every notice the server sends (RAISE NOTICE,
// auto_explain at log_level notice) to h: what the plan tests read.
func WithNoticeHandler(h func(*pq.Error)) PostgresOption {
	return func(c *preparingConnector) { c.Connector = pq.ConnectorWithNoticeHandler(c.Connector, h) }
}

// OpenPostgres connects to a PostgreSQL database given as a postgres:// URL.
func OpenPostgres(ctx context.Context, dsn string, opts ...PostgresOption) (*DB, error) {
	connector, err := pq.NewConnector(withBinaryParameters(dsn))
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	pc := preparingConnector{Connector: connector}
	for _, o := range opts {
		o(&pc)
	}
	x := sqlx.NewDb(sql.OpenDB(pc), "postgres")
	x.SetMaxOpenConns(40)
	x.SetMaxIdleConns(40)
	x.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{DB: x, Dialect: Postgres}
	if err := db.PingContext(ctx); err != nil {
		x.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	return db, nil
}

// withBinaryParameters turns on lib/pq's binary_parameters unless the DSN
// sets it. Without it lib/pq sends every statement that has arguments in
// two round trips (parse and describe, then bind and execute); with it, in
// one. Its other effect, []byte arguments sent in binary format, does not
// matter here: no column is bytea or jsonb and no argument is a []byte.
func withBinaryParameters(dsn string) string {
	if strings.Contains(dsn, "binary_parameters") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("binary_parameters", "yes")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " binary_parameters=yes" // key=value form
}

// sqliteURIPath escapes the characters a SQLite URI filename reads as
// syntax: a "#" or "?" in a directory name (a test's "…#01") would cut the
// path short and open another file.
func sqliteURIPath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// OpenSQLite opens (creating if needed) the embedded database file at path.
// Times are stored as integer microseconds so they compare numerically, and
// every transaction begins IMMEDIATE so writers queue instead of failing.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(30000)", "journal_mode(WAL)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	q.Set("_time_integer_format", "unix_micro")
	q.Set("_inttotime", "1")
	x, err := sqlx.Open("sqlite", "file:"+sqliteURIPath(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	x.SetMaxOpenConns(8)
	db := &DB{DB: x, Dialect: SQLite}
	if err := db.PingContext(ctx); err != nil {
		x.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return db, nil
}

// ownerOnly creates the SQLite file at path readable by its owner alone
// (0600), or takes group and other access away from one that exists: it
// holds members' names, phones, balances and PIN hashes. SQLite gives its
// -wal and -shm files the main file's permissions.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat sqlite %s: %w", path, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(fi.Mode().Perm() &^ 0o077); err != nil {
			return fmt.Errorf("restrict sqlite %s to its owner: %w", path, err)
		}
		for _, side := range []string{"-wal", "-shm"} {
			if err := os.Chmod(path+side, fi.Mode().Perm()&^0o077); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("restrict sqlite %s%s to its owner: %w", path, side, err)
			}
		}
	}
	return nil
}

// Migrate applies every embedded migration not yet applied. On PostgreSQL a
// session advisory lock keeps several starting instances from racing.
func (db *DB) Migrate(ctx context.Context, log *slog.Logger) error {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.Dialect))
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.DB.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", db.Dialect, err)
	}
	for _, r := range results {
		if log != nil {
			log.Info("migration applied", "version", r.Source.Version, "file", filepath.Base(r.Source.Path))
		}
	}
	return nil
}

// writeStartsKey carries the function of WhenWriteStarts.
type writeStartsKey struct{}

// WhenWriteStarts returns ctx carrying fn: a posting under ctx calls fn once
// the database has answered (its transaction's BEGIN is back) and before it
// writes anything, and an error from fn abandons the posting (rolled back,
// the error returned). The USSD handler uses it to wait for a posting's
// outcome only once the database has shown it is there: a hop facing a
// database that went silent is answered at its backend budget, with
// nothing posted, instead of at its whole deadline.
func WhenWriteStarts(ctx context.Context, fn func() error) context.Context {
	return context.WithValue(ctx, writeStartsKey{}, fn)
}

// writeStarts calls ctx's WhenWriteStarts function, if any.
func writeStarts(ctx context.Context) error {
	if fn, ok := ctx.Value(writeStartsKey{}).(func() error); ok {
		return fn()
	}
	return nil
}

// beginWrite opens a transaction that will write, telling ctx's
// WhenWriteStarts function once the database has opened it.
func (db *DB) beginWrite(ctx context.Context) (*sqlx.Tx, error) {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if err := writeStarts(ctx); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return tx, nil
}

// InTx runs fn in one transaction, committing if fn returns nil.
func (db *DB) InTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.beginWrite(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Analyze refreshes the planner's statistics of tables after a bulk load
// (an import of thousands of members): until autovacuum gets round to it the
// planner believes they are empty and may pick plans that read the whole
// cooperative. Tables are names from the schema, never outside input.
func (db *DB) Analyze(ctx context.Context, tables ...string) error {
	for _, t := range tables {
		if _, err := db.ExecContext(ctx, "ANALYZE "+t); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

// IsEmpty reports whether no cooperative exists yet (a fresh install).
func (db *DB) IsEmpty(ctx context.Context) (bool, error) {
	var n int
	if err := db.GetContext(ctx, &n, `SELECT COUNT(*) FROM cooperatives`); err != nil {
		return false, fmt.Errorf("count cooperatives: %w", err)
	}
	return n == 0, nil
}

// IsUniqueViolation reports whether err is a unique-constraint violation in
// either dialect. It inspects driver error codes, not message text.
func IsUniqueViolation(err error) bool {
	type pqCode interface{ SQLState() string }
	var pe pqCode
	if errors.As(err, &pe) {
		return pe.SQLState() == "23505"
	}
	type sqliteCode interface{ Code() int }
	var se sqliteCode
	if errors.As(err, &se) {
		// SQLITE_CONSTRAINT_UNIQUE (2067) and SQLITE_CONSTRAINT_PRIMARYKEY (1555).
		return se.Code() == 2067 || se.Code() == 1555
	}
	return false
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
