package ledger_test

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

func TestQueueReminders(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "REM")
		loan := b.tenMillion(t, "PJ-1", b.m) // Rp933.333 due on the 15th of each month from February
		require.Equal(t, loanDate(2026, 2, 15), loan.Schedule[0].Due)
		other := ledgertest.NewMember(t, db, b.c, "A-002", "+6281234567000")
		paid := b.tenMillion(t, "PJ-2", other)
		b.fund(t, other, "fund-2", 933_333)
		b.repay(t, paid.ID, 933_333, "repay-2") // PJ-2's first installment is paid ahead

		reminders := func() []string {
			var rows []string
			require.NoError(t, db.SelectContext(ctx, &rows, db.Rebind(`SELECT idem_key || ' ' || phone || ' ' || params FROM outbox
				WHERE cooperative_id = ? AND template LIKE 'reminder.%' ORDER BY id`), b.c.ID))
			return rows
		}

		n, err := b.l.QueueReminders(ctx, b.c.ID, loanDate(2026, 2, 11))
		require.NoError(t, err)
		assert.Zero(t, n, "four days ahead is too early")

		n, err = b.l.QueueReminders(ctx, b.c.ID, loanDate(2026, 2, 12))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		want := []string{`reminder.due:` + strconv.FormatInt(loan.ID, 10) + `:1 +6281234567890 {"amount":"933333","due":"2026-02-15","loan":"PJ-1"}`}
		assert.Equal(t, want, reminders(), "only the unpaid installment, once")

		// Every instance runs the job, every hour: still once.
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := b.l.QueueReminders(ctx, b.c.ID, loanDate(2026, 2, 13))
				assert.NoError(t, err)
			}()
		}
		wg.Wait()
		assert.Equal(t, want, reminders())

		// Partly paid: the overdue reminder names what is still owed, once.
		b.fund(t, b.m, "fund-1", 300_000)
		b.repay(t, loan.ID, 300_000, "repay-1")
		for range 2 {
			_, err = b.l.QueueReminders(ctx, b.c.ID, loanDate(2026, 2, 16))
			require.NoError(t, err)
		}
		want = append(want, `reminder.overdue:`+strconv.FormatInt(loan.ID, 10)+`:1 +6281234567890 {"amount":"633333","due":"2026-02-15","loan":"PJ-1"}`)
		assert.Equal(t, want, reminders())

		// Long-past arrears are the collector's: no flood of old reminders.
		n, err = b.l.QueueReminders(ctx, b.c.ID, loanDate(2026, 6, 1))
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}
