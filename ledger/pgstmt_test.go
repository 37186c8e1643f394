package ledger_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// Statements marked ledger.Prepared are prepared once per PostgreSQL
// connection and survive the transaction that first ran them, also one
// that rolled back or failed.
func TestPreparedStatements(t *testing.T) {
	db := ledgertest.Postgres(t)
	ctx := context.Background()
	conn, err := db.Connx(ctx) // one connection, to look at its session
	require.NoError(t, err)
	defer conn.Close()
	c := ledgertest.NewCoop(t, db, "KSP1")

	count := `SELECT COUNT(*) FROM pg_prepared_statements WHERE statement LIKE '/* prepared */%'`
	prepared := func() int {
		var n int
		require.NoError(t, conn.GetContext(ctx, &n, count))
		return n
	}
	codeOf := ledger.Prepared + `SELECT code FROM cooperatives WHERE id = $1`

	tx, err := conn.BeginTxx(ctx, nil)
	require.NoError(t, err)
	var code string
	require.NoError(t, tx.GetContext(ctx, &code, codeOf, c.ID))
	assert.Equal(t, "KSP1", code)
	require.NoError(t, tx.Rollback())
	assert.Equal(t, 1, prepared(), "prepared in a transaction that rolled back, kept for the session")

	// A statement that fails aborts its transaction, not the statement.
	insert := ledger.Prepared + `INSERT INTO cooperatives (code, name, created_at) VALUES ($1, 'x', now())`
	tx, err = conn.BeginTxx(ctx, nil)
	require.NoError(t, err)
	_, err = tx.ExecContext(ctx, insert, "KSP1")
	assert.True(t, ledger.IsUniqueViolation(err), "%v", err)
	require.NoError(t, tx.Rollback())
	_, err = conn.ExecContext(ctx, insert, "KSP2")
	require.NoError(t, err)
	require.NoError(t, conn.GetContext(ctx, &code, codeOf, c.ID))
	assert.Equal(t, 2, prepared())

	// Unmarked statements and marked ones without arguments stay unnamed.
	require.NoError(t, conn.GetContext(ctx, &code, `SELECT code FROM cooperatives WHERE id = $1`, c.ID))
	require.NoError(t, conn.GetContext(ctx, &code, ledger.Prepared+`SELECT code FROM cooperatives ORDER BY id LIMIT 1`))
	assert.Equal(t, 2, prepared())
	args := make([]any, 101)
	for i := range args {
		args[i] = i
	}
	var n int
	require.NoError(t, conn.GetContext(ctx, &n, db.Rebind(ledger.Prepared+`SELECT COUNT(*) FROM cooperatives WHERE id IN (`+
		strings.TrimSuffix(strings.Repeat("?, ", 101), ", ")+`)`), args...))
	assert.Equal(t, 2, prepared(), "a statement of more than 100 arguments is not kept")

	// The cache per connection is bounded; past it statements still run.
	for i := range 100 {
		var n int
		require.NoError(t, conn.GetContext(ctx, &n, fmt.Sprintf(ledger.Prepared+`SELECT %d + $1::int`, i), 1))
		assert.Equal(t, i+1, n)
	}
	assert.Equal(t, 64, prepared())
}
