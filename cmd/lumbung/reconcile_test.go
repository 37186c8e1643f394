package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// reconcileJSON runs `lumbung reconcile --json …` and decodes the one JSON
// object it must print.
func reconcileJSON(t *testing.T, args ...string) (int, ledger.ReconcileReport, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"reconcile", "--json"}, args...), nil, &stdout, &stderr)
	var rep ledger.ReconcileReport
	if stdout.Len() == 0 {
		return code, rep, stderr.String()
	}
	dec := json.NewDecoder(&stdout)
	require.NoError(t, dec.Decode(&rep), stdout.String())
	var extra json.RawMessage
	assert.ErrorIs(t, dec.Decode(&extra), io.EOF, "exactly one JSON object on stdout")
	assert.NotContains(t, stdout.String(), `"problems":null`)
	return code, rep, stderr.String()
}

// seededDataDir points LUMBUNG_DATA_DIR at a fresh directory whose
// embedded database holds the demo cooperative.
func seededDataDir(t *testing.T) *ledger.DB {
	t.Helper()
	dir := t.TempDir()
	t.Setenv("LUMBUNG_DATA_DIR", dir)
	ctx := context.Background()
	db, err := ledger.OpenSQLite(ctx, filepath.Join(dir, "lumbung.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Migrate(ctx, nil))
	people, err := members.NewDirectory(db, []byte(strings.Repeat("r", 32)), nil)
	require.NoError(t, err)
	require.NoError(t, seedDemo(ctx, people, ledger.New(db, nil), time.Now()))
	return db
}

func TestReconcileCommand(t *testing.T) {
	t.Run("fresh data dir: migrated, empty, consistent", func(t *testing.T) {
		t.Setenv("LUMBUNG_DATA_DIR", t.TempDir())
		code, rep, stderr := reconcileJSON(t)
		assert.Equal(t, 0, code, stderr)
		assert.Equal(t, ledger.ReconcileReport{OK: true, Problems: []ledger.Problem{}}, rep)
	})

	t.Run("demo books reconcile, then a corrupted balance does not", func(t *testing.T) {
		db := seededDataDir(t)
		var accounts, journals int
		require.NoError(t, db.Get(&accounts, `SELECT COUNT(*) FROM accounts`))
		require.NoError(t, db.Get(&journals, `SELECT COUNT(*) FROM journals`))
		require.NotZero(t, journals, "the demo has opening balances")

		code, rep, stderr := reconcileJSON(t)
		require.Equal(t, 0, code, stderr)
		assert.True(t, rep.OK)
		assert.Equal(t, journals, rep.Journals)
		assert.Equal(t, accounts, rep.Accounts)
		assert.Empty(t, rep.Problems)

		code, rep, _ = reconcileJSON(t, "--coop", "DEMO")
		assert.Equal(t, 0, code)
		assert.True(t, rep.OK)

		_, err := db.Exec(`UPDATE accounts SET balance = balance + 1 WHERE kind = 'sukarela'
			AND id = (SELECT MIN(id) FROM accounts WHERE kind = 'sukarela')`)
		require.NoError(t, err)

		code, rep, stderr = reconcileJSON(t)
		assert.Equal(t, 1, code)
		assert.False(t, rep.OK)
		require.Len(t, rep.Problems, 1)
		assert.Equal(t, "DEMO", rep.Problems[0].Cooperative)
		assert.Equal(t, ledger.InvCachedBalance, rep.Problems[0].Invariant)
		assert.Contains(t, stderr, "do not reconcile")

		var stdout, errb bytes.Buffer
		code = run(context.Background(), []string{"reconcile", "--coop", "DEMO"}, nil, &stdout, &errb)
		assert.Equal(t, 1, code)
		assert.Contains(t, stdout.String(), "DEMO cached_balance: sukarela account ")
		assert.Contains(t, stdout.String(), fmt.Sprintf("reconcile cooperative DEMO: %d journals, %d accounts checked: ", journals, accounts))
		assert.Contains(t, stdout.String(), ": 1 problem(s)\n")
	})

	t.Run("human output of clean books ends with a summary", func(t *testing.T) {
		seededDataDir(t)
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"reconcile"}, nil, &stdout, &stderr)
		assert.Equal(t, 0, code, stderr.String())
		assert.Regexp(t, `^reconcile all cooperatives: \d+ journals, \d+ accounts checked: OK\n$`, stdout.String())
	})

	t.Run("unknown cooperative", func(t *testing.T) {
		seededDataDir(t)
		code, _, stderr := reconcileJSON(t, "--coop", "NOPE")
		assert.Equal(t, 1, code)
		assert.Contains(t, stderr, `no cooperative with code "NOPE"`)
	})

	t.Run("bad arguments", func(t *testing.T) {
		t.Setenv("LUMBUNG_DATA_DIR", t.TempDir())
		var stdout, stderr bytes.Buffer
		assert.Equal(t, 1, run(context.Background(), []string{"reconcile", "extra"}, nil, &stdout, &stderr))
		assert.Contains(t, stderr.String(), `unexpected argument "extra"`)
		assert.Empty(t, stdout.String())
	})
}
