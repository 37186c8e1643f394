package ledger_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
)

// TestSQLiteFileIsTheOwnersAlone: the embedded database holds members'
// names, phones, balances and PIN hashes, so its file and its WAL are 0600
// whatever the umask, and a file left 0644 by an older version is
// tightened when it is opened.
func TestSQLiteFileIsTheOwnersAlone(t *testing.T) {
	mode := func(p string) os.FileMode {
		t.Helper()
		fi, err := os.Stat(p)
		require.NoError(t, err)
		return fi.Mode().Perm()
	}
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "lumbung.db")
	db, err := ledger.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(t.Context(), nil))
	assert.Equal(t, os.FileMode(0o600), mode(path))
	assert.Equal(t, os.FileMode(0o600), mode(path+"-wal"), "the WAL holds the same rows")
	assert.Equal(t, os.FileMode(0o700), mode(dir))
	require.NoError(t, db.Close())

	require.NoError(t, os.Chmod(path, 0o644))
	db, err = ledger.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	var n int
	require.NoError(t, db.Get(&n, `SELECT COUNT(*) FROM cooperatives`), "the data is still there")
	assert.Equal(t, os.FileMode(0o600), mode(path), "a 0644 file is tightened on open")
}

// TestSQLitePathWithURICharacters: a "#", "?" or "%" in the path names
// that file, not a shorter one (a test's subdirectory "…#01" once opened
// a file shared with other tests).
func TestSQLitePathWithURICharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#01", "b?x=1", "c%20d")
	path := filepath.Join(dir, "lumbung.db")
	db, err := ledger.OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Migrate(t.Context(), nil))
	_, err = os.Stat(path)
	require.NoError(t, err, "the database is the file at the path given")
	entries, err := os.ReadDir(filepath.Dir(filepath.Dir(filepath.Dir(dir))))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "nothing created beside the path's first directory")
}
