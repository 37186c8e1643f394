// Package ledgertest opens throwaway databases for tests: a fresh schema in
// the test PostgreSQL server and a fresh embedded SQLite file, both migrated.
package ledgertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/lumbung-id/lumbung/ledger"
)

// DefaultPostgresURL is used when LUMBUNG_TEST_DATABASE_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/lumbung_test?sslmode=disable"

// BackendsRequired reports whether a missing PostgreSQL or Redis must fail
// the test run instead of skipping (CI=true or LUMBUNG_TEST_REQUIRE_BACKENDS=1).
func BackendsRequired() bool {
	return os.Getenv("CI") == "true" || os.Getenv("LUMBUNG_TEST_REQUIRE_BACKENDS") == "1"
}

// PostgresURL is the server the tests use.
func PostgresURL() string {
	if u := os.Getenv("LUMBUNG_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultPostgresURL
}

func unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if BackendsRequired() {
		t.Fatalf("%s is required for this test run but unreachable: %v", what, err)
	}
	t.Skipf("%s unreachable (%v); set LUMBUNG_TEST_REQUIRE_BACKENDS=1 to make this a failure", what, err)
}

// Postgres returns a migrated database in a schema of its own, dropped when
// the test ends.
func Postgres(t testing.TB) *ledger.DB {
	t.Helper()
	db, _ := PostgresWithURL(t)
	return db
}

// PostgresWithURL is Postgres that also returns the database's URL (with
// its search_path), for a test that starts another process on it.
func PostgresWithURL(t testing.TB) (*ledger.DB, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := PostgresURL()
	admin, err := sqlx.Open("postgres", base)
	if err == nil {
		err = admin.PingContext(ctx)
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "3D000" { // database does not exist yet
		admin.Close()
		admin, err = createDatabase(ctx, base)
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		unavailable(t, "PostgreSQL at "+redact(base), err)
	}
	schema := "t_" + randomHex(8)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Logf("drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := ledger.OpenPostgres(ctx, u.String())
	if err != nil {
		t.Fatalf("open test schema: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db, u.String()
}

func createDatabase(ctx context.Context, base string) (*sqlx.DB, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	name := u.Path[1:]
	u.Path = "/postgres"
	root, err := sqlx.Open("postgres", u.String())
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if _, err := root.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		var pqErr *pq.Error
		// Created meanwhile by another test package: 42P04 when it had
		// committed, 23505 on pg_database when both were creating it.
		if !errors.As(err, &pqErr) || (pqErr.Code != "42P04" && pqErr.Code != "23505") {
			return nil, err
		}
	}
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		return nil, err
	}
	return admin, admin.PingContext(ctx)
}

// SQLite returns a migrated embedded database in the test's temp dir.
func SQLite(t testing.TB) *ledger.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := ledger.OpenSQLite(ctx, filepath.Join(t.TempDir(), "lumbung.db"))
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return db
}

// EachDB runs fn as a subtest on PostgreSQL and on SQLite: one suite, both
// dialects.
func EachDB(t *testing.T, fn func(t *testing.T, db *ledger.DB)) {
	t.Helper()
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}
