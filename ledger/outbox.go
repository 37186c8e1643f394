package ledger

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// SMS templates the ledger queues. sms/ renders them in the member's
// language when it sends.
const (
	TmplDepositReceipt   = "receipt.deposit"   // params: amount, account, balance, ref
	TmplRepaymentReceipt = "receipt.repayment" // params: amount, loan, outstanding, ref
	TmplDepositCode      = "deposit.code"      // params: code, amount, account, expires
	TmplReversal         = "receipt.reversal"  // params: amount, ref, reason
	TmplPINChanged       = "pin.changed"       // params: none
	TmplPINLocked        = "pin.locked"        // params: none
)

// OutboxMessage is one SMS to send to a member or staff member.
type OutboxMessage struct {
	CooperativeID int64
	Key           string // idempotency key: the same key is queued once
	Phone         string // E.164
	Language      string // "id" or "en"
	Template      string
	Params        map[string]string
}

const enqueueSQL = `INSERT INTO outbox (cooperative_id, idem_key, phone, language, template, params, status, next_attempt_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?) ON CONFLICT (cooperative_id, idem_key) DO NOTHING`

// EnqueueSMS writes m to the outbox inside tx: the message exists if and
// only if the event that caused it was committed.
func EnqueueSMS(ctx context.Context, tx *sqlx.Tx, m OutboxMessage, now time.Time) error {
	if m.Phone == "" || m.Template == "" || m.Key == "" {
		return fmt.Errorf("outbox message needs a phone, a template and a key")
	}
	lang := m.Language
	if lang == "" {
		lang = "id"
	}
	params, err := json.Marshal(m.Params)
	if err != nil {
		return fmt.Errorf("encode sms params: %w", err)
	}
	now = now.UTC()
	if _, err := tx.ExecContext(ctx, tx.Rebind(enqueueSQL), m.CooperativeID, m.Key, m.Phone, lang, m.Template, string(params), now, now, now); err != nil {
		return fmt.Errorf("queue sms %s: %w", m.Template, err)
	}
	return nil
}
