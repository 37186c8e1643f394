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

func TestRequeueFailed(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		c := &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		coop := ledgertest.NewCoop(t, db, "RQ1")
		other := ledgertest.NewCoop(t, db, "RQ2")
		for _, k := range []string{"a", "b"} {
			queue(t, db, coop.ID, ledger.OutboxMessage{CooperativeID: coop.ID, Key: k, Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		}
		queue(t, db, other.ID, ledger.OutboxMessage{CooperativeID: other.ID, Key: "c", Phone: mariaPhone, Template: ledger.TmplPINChanged}, c.Now())
		// The gateway password was wrong: everything failed.
		g := &gateway{errs: []error{sms.ClassifyHTTP(403, "Authorization failed for sendsms"), sms.ClassifyHTTP(403, "x"), sms.ClassifyHTTP(403, "x")}}
		_, err := newSender(db, g, c).SendDue(ctx)
		require.NoError(t, err)
		count := func(status string) int {
			var n int
			require.NoError(t, db.GetContext(ctx, &n, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE status = ?`), status))
			return n
		}
		require.Equal(t, 3, count("failed"))

		c.Add(time.Hour) // the operator fixes the password
		n, err := sms.Requeue(ctx, db, coop.ID, c.Now().Add(-24*time.Hour), c.Now())
		require.NoError(t, err)
		assert.Equal(t, 2, n, "only that cooperative's")
		n, err = sms.Requeue(ctx, db, coop.ID, c.Now().Add(-24*time.Hour), c.Now())
		require.NoError(t, err)
		assert.Zero(t, n, "requeueing twice queues nothing more")
		n, err = sms.Requeue(ctx, db, 0, c.Now().Add(-24*time.Hour), c.Now())
		require.NoError(t, err)
		assert.Equal(t, 1, n, "all cooperatives: the other one's")

		_, err = newSender(db, g, c).SendDue(ctx)
		require.NoError(t, err)
		assert.Equal(t, 3, count("submitted"), "sent this time")
		assert.Equal(t, 3, count("failed"), "the failures stay on record")
		assert.Len(t, g.counts(), 3)
	})
}
