package sms

import (
	"context"
	"fmt"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
)

// requeueSQL copies failed messages into new queued ones. The failed rows
// stay failed (statuses only move forward, and the failure stays on
// record); the copy's key names the original, so requeueing twice queues
// each message once. Replies to unregistered numbers are not worth sending
// late and stay out.
const requeueSQL = `INSERT INTO outbox (cooperative_id, idem_key, phone, language, template, params, status, next_attempt_at, created_at, updated_at)
SELECT cooperative_id, 'requeue:' || id, phone, language, template, params, 'queued', ?, ?, ?
FROM outbox
WHERE status = 'failed' AND cooperative_id IS NOT NULL AND updated_at >= ? AND (? = 0 OR cooperative_id = ?)
ON CONFLICT (cooperative_id, idem_key) DO NOTHING`

// Requeue sends again the messages that failed since since (of one
// cooperative, or of all when coopID is 0) — for the operator who has
// fixed what made them fail (a wrong gateway password, an expired
// account). It returns how many it queued.
func Requeue(ctx context.Context, db *ledger.DB, coopID int64, since, now time.Time) (int, error) {
	res, err := db.ExecContext(ctx, db.Rebind(requeueSQL), now.UTC(), now.UTC(), now.UTC(), since.UTC(), coopID, coopID)
	if err != nil {
		return 0, fmt.Errorf("requeue failed sms: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("requeue failed sms: %w", err)
	}
	return int(n), nil
}
