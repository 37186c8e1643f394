package sms_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/sms"
)

// The reminder job over the real ledger: daytime only, in the
// cooperative's time zone, and once per installment however often it runs.
func TestRemindersJob(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 1, 15, 2, 0, 0, 0, time.UTC)} // 10:00 WITA
		books := ledger.New(db, c.Now)
		coop := ledgertest.NewCoop(t, db, "JOB")
		m := ledgertest.NewMember(t, db, coop, "A-001", mariaPhone)
		_, err := books.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: coop.ID, MemberID: m.ID, LoanNo: "PJ-9", Principal: 1_200_000,
			RateBP: 100, Method: ledger.MethodFlat, TermMonths: 12, DisbursedOn: time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC),
			Key: "disburse:PJ-9", Actor: "staff:1"})
		require.NoError(t, err)
		pokes := 0
		job := &sms.Reminders{Books: books, Now: c.Now, Queued: func() { pokes++ }}

		c.t = time.Date(2026, 2, 12, 13, 0, 0, 0, time.UTC) // 21:00 WITA on the 12th: too late in the day
		n, err := job.RunOnce(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
		c.t = time.Date(2026, 2, 12, 23, 30, 0, 0, time.UTC) // 07:30 WITA on the 13th: too early
		n, err = job.RunOnce(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
		c.t = time.Date(2026, 2, 13, 0, 30, 0, 0, time.UTC) // 08:30 WITA on the 13th
		for i := range 3 {
			n, err = job.RunOnce(ctx)
			require.NoError(t, err)
			assert.Equal(t, map[bool]int{true: 1, false: 0}[i == 0], n, "run %d", i+1)
		}
		assert.Equal(t, 1, pokes, "the sender is woken when there is something to send")
	})
}
