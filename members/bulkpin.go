package members

import (
	"context"
	"fmt"
	"slices"

	"github.com/jmoiron/sqlx"
)

// bulkPINRows is how many PINs one INSERT of SetPINs carries.
const bulkPINRows = 1000

// SetPINs gives every holder in hs the same PIN, as SetPIN would (hashed
// and salted per holder, failures and any lock cleared), with multi-row
// INSERTs in one transaction. It is for seeding a throwaway load-test
// cooperative with a known PIN (`lumbung loadtest --seed-members`), where
// one statement per member would take minutes; members log in with these
// PINs exactly as with one set by SetPIN.
func (d *Directory) SetPINs(ctx context.Context, hs []Holder, pin string) error {
	if err := ValidatePIN(pin); err != nil {
		return err
	}
	now := d.now().UTC()
	err := d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		for chunk := range slices.Chunk(hs, bulkPINRows) {
			args := make([]any, 0, 5*len(chunk))
			for _, h := range chunk {
				args = append(args, h.CooperativeID, string(h.Kind), h.ID, d.pins.Hash(h, pin), now)
			}
			row := "(?, ?, ?, ?, 0, NULL, ?)"
			values := row
			for range len(chunk) - 1 {
				values += ", " + row
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(onPINKey(d.db.Dialect, `INSERT INTO pins (cooperative_id, holder_kind, holder_id, pin_hash, failures, locked_at, updated_at)
VALUES `+values+`
ON CONFLICT (holder_kind, holder_id) DO UPDATE SET pin_hash = excluded.pin_hash, failures = 0, locked_at = NULL, updated_at = excluded.updated_at`)), args...); err != nil {
				return fmt.Errorf("set pins: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return d.db.Analyze(ctx, "pins") // a bulk load: see ImportMembers
}
