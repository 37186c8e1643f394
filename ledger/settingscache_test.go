package ledger_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// countedPostgres is a test database whose statements are counted.
func countedPostgres(t *testing.T) (*ledger.DB, *atomic.Int64) {
	t.Helper()
	_, dsn := ledgertest.PostgresWithURL(t)
	sent := &atomic.Int64{}
	db, err := ledger.OpenPostgres(t.Context(), dsn, ledger.WithStatementHook(func(context.Context, string) { sent.Add(1) }))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db, sent
}

// TestSettingsCache: a cooperative's time zone and USSD limit are read once
// per SettingsTTL (counted by the statement hook), read again after the TTL
// or ForgetSettings, and the answers are those of the database.
func TestSettingsCache(t *testing.T) {
	db, sent := countedPostgres(t)
	coop := ledgertest.NewCoop(t, db, "KSP1")
	_, err := db.Exec(`UPDATE cooperatives SET timezone = 'Asia/Jayapura', max_ussd_amount = 750000 WHERE id = $1`, coop.ID)
	require.NoError(t, err)

	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	c := ledger.CacheSettings(ledger.New(db, func() time.Time { return now }))
	ctx := t.Context()
	reads := func() int64 {
		t.Helper()
		sent.Store(0)
		loc, err := c.Location(ctx, coop.ID)
		require.NoError(t, err)
		assert.Equal(t, "Asia/Jayapura", loc.String())
		limit, err := c.MaxUSSDAmount(ctx, coop.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(750000), limit)
		return sent.Load()
	}
	assert.Equal(t, int64(2), reads(), "the first reads go to the database")
	assert.Equal(t, int64(0), reads(), "within the TTL they are served from memory")
	now = now.Add(ledger.SettingsTTL)
	assert.Equal(t, int64(2), reads(), "after the TTL they are read again")
	c.ForgetSettings()
	assert.Equal(t, int64(2), reads(), "after ForgetSettings they are read again")

	_, err = c.Location(ctx, 999999)
	assert.ErrorIs(t, err, ledger.ErrNotFound)
	_, err = c.Location(ctx, 999999)
	assert.ErrorIs(t, err, ledger.ErrNotFound, "a miss is not cached as an answer")
}

// TestSettingsCacheLoanPolicy: "Info Pinjaman" and "Bayar angsuran" read the
// cooperative's loan policy (late fee, time zone) once per SettingsTTL and
// answer exactly as the uncached ledger; a changed late fee shows after
// ForgetSettings; Repay still reads it in its own transaction.
func TestSettingsCacheLoanPolicy(t *testing.T) {
	db, sent := countedPostgres(t)
	b := newLoanBooks(t, db, "KSP1")
	var err error
	loan := b.tenMillion(t, "P-1", b.m)
	b.clock.Set(loanMorning(2026, 5, 20)) // installments of February to May due, the first ones late
	c := ledger.CacheSettings(b.l)
	ctx := t.Context()

	type screens struct {
		info   []ledger.LoanInfo
		amount int64
		due    time.Time
	}
	read := func(books interface {
		LoanInfo(context.Context, int64, int64) ([]ledger.LoanInfo, error)
		NextInstallment(context.Context, int64, int64) (int64, time.Time, error)
	}) (screens, int64) {
		t.Helper()
		sent.Store(0)
		var s screens
		var err error
		s.info, err = books.LoanInfo(ctx, b.c.ID, b.m.ID)
		require.NoError(t, err)
		s.amount, s.due, err = books.NextInstallment(ctx, b.c.ID, loan.ID)
		require.NoError(t, err)
		return s, sent.Load()
	}
	want, direct := read(b.l)
	require.Len(t, want.info, 1)
	require.Positive(t, want.info[0].Arrears, "the loan is in arrears: the late fee counts")
	got, first := read(c)
	assert.Equal(t, want, got, "the cache answers as the ledger does")
	assert.Equal(t, direct-1, first, "the first screen reads the policy, the second has it from the cache")
	got, again := read(c)
	assert.Equal(t, want, got)
	assert.Equal(t, direct-2, again, "within the TTL neither screen reads the policy")

	_, err = db.Exec(`UPDATE cooperatives SET late_fee_bp_month = 0 WHERE id = $1`, b.c.ID)
	require.NoError(t, err)
	noFee, _ := read(b.l)
	require.NotEqual(t, want.amount, noFee.amount, "the late fee is part of what is due")
	c.ForgetSettings()
	got, _ = read(c)
	assert.Equal(t, noFee, got, "after ForgetSettings the new policy is read")

	_, err = db.Exec(`UPDATE cooperatives SET late_fee_bp_month = 200 WHERE id = $1`, b.c.ID)
	require.NoError(t, err)
	fee, _ := read(b.l)
	_, err = c.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loan.ID, Amount: fee.amount, StaffID: b.staff, Key: "repay-1"})
	require.NoError(t, err)
	_, due, err := b.l.NextInstallment(ctx, b.c.ID, loan.ID)
	require.NoError(t, err)
	assert.True(t, due.After(fee.due), "Repay allocated by the database's late fee, not the cached one: everything due with its fee is paid (next due %s)", due)
}
