package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// SMS templates the ledger queues. sms/ renders them in the member's
// language when it sends.
const (
	TmplDepositReceipt   = "receipt.deposit"      // params: amount, account, balance, ref
	TmplRepaymentReceipt = "receipt.repayment"    // params: amount, loan, outstanding, ref
	TmplDepositCode      = "deposit.code"         // params: code, amount, account, expires
	TmplReversal         = "receipt.reversal"     // params: amount, ref, reason
	TmplDisbursement     = "receipt.disbursement" // params: loan, amount, installment, due (YYYY-MM-DD), ref
	TmplPINChanged       = "pin.changed"          // params: none
	TmplPINLocked        = "pin.locked"           // params: until (RFC 3339) for a timed lock; none for the permanent one
)

// OutboxMessage is one SMS to send to a member or staff member.
type OutboxMessage struct {
	CooperativeID int64  // 0: the message belongs to no cooperative
	Key           string // idempotency key: the same key is queued once
	Phone         string // E.164
	Language      string // "id" or "en"
	Template      string
	Params        map[string]string
}

const enqueueSQL = `INSERT INTO outbox (cooperative_id, idem_key, phone, language, template, params, status, next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (cooperative_id, idem_key) DO NOTHING`

// EnqueueSMS writes m to the outbox inside tx: the message exists if and
// only if the event that caused it was committed. A key already queued is
// left as it is.
func EnqueueSMS(ctx context.Context, tx *sqlx.Tx, m OutboxMessage, now time.Time) error {
	_, err := enqueueSMS(ctx, tx, m, now)
	return err
}

// EnqueueSMSOnce is EnqueueSMS that also says whether the message was
// queued now (true) or its key was queued before (false).
func EnqueueSMSOnce(ctx context.Context, tx *sqlx.Tx, m OutboxMessage, now time.Time) (bool, error) {
	n, err := enqueueSMS(ctx, tx, m, now)
	return n == 1, err
}

// RepliesTable holds the messages that belong to no cooperative (a reply
// to a phone nobody registered, the apology for a failed answer): not the
// outbox, which holds one cooperative's messages only and is distributed
// by it on a Citus cluster, while these stay on its coordinator
// (ledger/CITUS.md, migration 00020). The sender works both alike.
const RepliesTable = "sms_replies"

// RepliesFirstID is the first id of RepliesTable: a delivery report names
// our message by its id alone, and the outbox's ids stay far below it (a
// reply moved from the outbox by migration 00020 kept its id, which the
// outbox never hands out again).
const RepliesFirstID int64 = 1 << 52

// TableOf is the table that holds the message with our id.
func TableOf(id int64) string {
	if id >= RepliesFirstID {
		return RepliesTable
	}
	return "outbox"
}

// enqueueUnscopedSQL queues a message that belongs to no cooperative; its
// key is unique among those.
const enqueueUnscopedSQL = `INSERT INTO sms_replies (idem_key, phone, language, template, params, status, next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (idem_key) DO NOTHING`

func enqueueSMS(ctx context.Context, tx *sqlx.Tx, m OutboxMessage, now time.Time) (int, error) {
	if m.Phone == "" || m.Template == "" || m.Key == "" {
		return 0, fmt.Errorf("outbox message needs a phone, a template and a key")
	}
	lang := m.Language
	if lang == "" {
		lang = "id"
	}
	params, err := json.Marshal(m.Params)
	if err != nil {
		return 0, fmt.Errorf("encode sms params: %w", err)
	}
	if m.Params == nil {
		params = []byte("{}")
	}
	now = now.UTC()
	var res sql.Result
	if m.CooperativeID == 0 {
		res, err = tx.ExecContext(ctx, tx.Rebind(enqueueUnscopedSQL), m.Key, m.Phone, lang, m.Template, string(params), now, now, now)
	} else {
		res, err = tx.ExecContext(ctx, tx.Rebind(enqueueSQL), m.CooperativeID, m.Key, m.Phone, lang, m.Template, string(params), now, now, now)
	}
	if err != nil {
		return 0, fmt.Errorf("queue sms %s: %w", m.Template, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("queue sms %s: %w", m.Template, err)
	}
	return int(n), nil
}
