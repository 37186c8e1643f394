package members

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/lumbung-id/lumbung/ledger"
)

// Activation errors.
var (
	ErrNoActivationCode    = errors.New("no activation code issued")
	ErrActivationWrong     = errors.New("wrong activation code")
	ErrActivationExpired   = errors.New("activation code expired or used up")
	ErrPINMismatch         = errors.New("the two pins differ")
	ErrPINChangeNotStarted = errors.New("no new pin was entered")
)

// ActivationCodeTTL is how long a fresh activation code is valid.
const ActivationCodeTTL = 72 * time.Hour

// MaxActivationTries wrong codes kill an activation code.
const MaxActivationTries = 3

// stagedPINTTL bounds how long a first-typed new PIN waits for its repeat.
const stagedPINTTL = 5 * time.Minute

// IssueActivationCode makes a fresh single-use 6-digit code for h (first
// use, or to reset a forgotten or locked PIN). Earlier unused codes of h
// stop working. The code is returned once and stored only as a keyed hash.
func (d *Directory) IssueActivationCode(ctx context.Context, h Holder, ttl time.Duration) (string, time.Time, error) {
	if ttl <= 0 {
		ttl = ActivationCodeTTL
	}
	var code string
	var expires time.Time
	err := d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		code, expires, err = d.issueActivationTx(ctx, tx, h, ttl, d.now().UTC())
		return err
	})
	if err != nil {
		return "", time.Time{}, err
	}
	return code, expires, nil
}

// issueActivationTx retires h's unused codes and stores a fresh one as a
// keyed hash, inside tx.
func (d *Directory) issueActivationTx(ctx context.Context, tx *sqlx.Tx, h Holder, ttl time.Duration, now time.Time) (string, time.Time, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", time.Time{}, err
	}
	code := fmt.Sprintf("%06d", n.Int64())
	expires := now.Add(ttl)
	var exists int
	if err := tx.GetContext(ctx, &exists, tx.Rebind(`SELECT COUNT(*) FROM `+holderTable(h.Kind)+` WHERE id = ? AND cooperative_id = ?`), h.ID, h.CooperativeID); err != nil {
		return "", time.Time{}, fmt.Errorf("find %s: %w", h.Kind, err)
	}
	if exists == 0 {
		return "", time.Time{}, fmt.Errorf("%s %d: %w", h.Kind, h.ID, ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE activation_codes SET used_at = ? WHERE holder_kind = ? AND holder_id = ? AND used_at IS NULL`),
		now, string(h.Kind), h.ID); err != nil {
		return "", time.Time{}, fmt.Errorf("retire old activation codes: %w", err)
	}
	if err := lockForActivationTx(ctx, tx, h, now); err != nil {
		return "", time.Time{}, err
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO activation_codes (cooperative_id, holder_kind, holder_id, code_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`),
		h.CooperativeID, string(h.Kind), h.ID, d.pins.Hash(h, "activation:"+code), expires, now)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("store activation code: %w", err)
	}
	return code, expires, nil
}

// lockForActivationTx makes a timed PIN lock running at now permanent,
// so that the code staff just issued for it works at once: a member whose
// PIN is locked for a while is sent to activation on their next dial
// instead of waiting for the lock to run out. A PIN that is not locked
// keeps working.
func lockForActivationTx(ctx context.Context, tx *sqlx.Tx, h Holder, now time.Time) error {
	var row pinRow
	err := tx.GetContext(ctx, &row, tx.Rebind(lockPINSQL), string(h.Kind), h.ID, h.CooperativeID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read pin: %w", err)
	}
	if permanent, until := pinLock(row.Failures, row.Locked, row.Until, now); permanent || until.IsZero() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE pins SET locked_at = ?, locked_until = NULL WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ?`), now, string(h.Kind), h.ID, h.CooperativeID); err != nil {
		return fmt.Errorf("lock pin for activation: %w", err)
	}
	return nil
}

// VerifyActivationCode checks code against h's live activation code and
// returns its id (what the session may remember instead of the code). A
// wrong code counts a try (the third kills the code) and returns
// ErrActivationWrong with the tries left.
func (d *Directory) VerifyActivationCode(ctx context.Context, h Holder, code string) (id int64, remaining int, err error) {
	var outcome error
	err = d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var row struct {
			ID      int64     `db:"id"`
			Hash    string    `db:"code_hash"`
			Tries   int       `db:"tries"`
			Expires time.Time `db:"expires_at"`
		}
		e := tx.GetContext(ctx, &row, tx.Rebind(`SELECT id, code_hash, tries, expires_at FROM activation_codes
			WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ? AND used_at IS NULL ORDER BY id DESC LIMIT 1`),
			string(h.Kind), h.ID, h.CooperativeID)
		if errors.Is(e, sql.ErrNoRows) {
			outcome = ErrNoActivationCode
			return nil
		}
		if e != nil {
			return fmt.Errorf("read activation code: %w", e)
		}
		if row.Tries >= MaxActivationTries || !d.now().Before(row.Expires) {
			outcome = ErrActivationExpired
			return nil
		}
		if len(code) == 6 && d.pins.Verify(h, "activation:"+code, row.Hash) {
			id = row.ID
			return nil
		}
		var tries int
		e = tx.GetContext(ctx, &tries, tx.Rebind(`UPDATE activation_codes SET tries = tries + 1 WHERE id = ? AND tries < ? RETURNING tries`), row.ID, MaxActivationTries)
		if errors.Is(e, sql.ErrNoRows) {
			outcome = ErrActivationExpired
			return nil
		}
		if e != nil {
			return fmt.Errorf("count activation try: %w", e)
		}
		if tries >= MaxActivationTries {
			outcome = ErrActivationExpired
			return nil
		}
		remaining = MaxActivationTries - tries
		outcome = ErrActivationWrong
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	return id, remaining, outcome
}

// StagePIN checks a new PIN's form and keeps its hash until the member
// types it again (ConfirmPIN). The session never holds it.
func (d *Directory) StagePIN(ctx context.Context, h Holder, pin string) error {
	if err := ValidatePIN(pin); err != nil {
		return err
	}
	now := d.now().UTC()
	_, err := d.db.ExecContext(ctx, d.db.Rebind(onPINKey(d.db.Dialect, `INSERT INTO pin_changes (cooperative_id, holder_kind, holder_id, pending_hash, expires_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (holder_kind, holder_id) DO UPDATE SET pending_hash = excluded.pending_hash, expires_at = excluded.expires_at`)),
		h.CooperativeID, string(h.Kind), h.ID, d.pins.Hash(h, "staged:"+pin), now.Add(stagedPINTTL))
	if err != nil {
		return fmt.Errorf("stage pin: %w", err)
	}
	return nil
}

// ConfirmPIN compares repeat with the staged PIN and, if they match, makes
// it h's PIN (clearing failures and any lock). With activationID set (first
// use or reset) it also uses up that activation code, in the same
// transaction, so a code activates at most once. A mismatch drops the
// staged PIN: the member starts the new PIN again.
func (d *Directory) ConfirmPIN(ctx context.Context, h Holder, repeat string, activationID int64) error {
	now := d.now().UTC()
	var outcome error
	err := d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var staged struct {
			Hash    string    `db:"pending_hash"`
			Expires time.Time `db:"expires_at"`
		}
		e := tx.GetContext(ctx, &staged, tx.Rebind(`SELECT pending_hash, expires_at FROM pin_changes WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ?`),
			string(h.Kind), h.ID, h.CooperativeID)
		if errors.Is(e, sql.ErrNoRows) {
			outcome = ErrPINChangeNotStarted
			return nil
		}
		if e != nil {
			return fmt.Errorf("read staged pin: %w", e)
		}
		if _, e := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM pin_changes WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ?`), string(h.Kind), h.ID, h.CooperativeID); e != nil {
			return fmt.Errorf("drop staged pin: %w", e)
		}
		if !now.Before(staged.Expires) {
			outcome = ErrPINChangeNotStarted
			return nil
		}
		if !d.pins.Verify(h, "staged:"+repeat, staged.Hash) {
			outcome = ErrPINMismatch
			return nil
		}
		if activationID != 0 {
			res, e := tx.ExecContext(ctx, tx.Rebind(`UPDATE activation_codes SET used_at = ? WHERE id = ? AND holder_kind = ? AND holder_id = ?
				AND used_at IS NULL AND tries < ? AND expires_at > ?`), now, activationID, string(h.Kind), h.ID, MaxActivationTries, now)
			if e != nil {
				return fmt.Errorf("use activation code: %w", e)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				outcome = ErrActivationExpired
				return nil
			}
		}
		_, e = tx.ExecContext(ctx, tx.Rebind(onPINKey(d.db.Dialect, setPINSQL)), h.CooperativeID, string(h.Kind), h.ID, d.pins.Hash(h, repeat), now)
		if e != nil {
			return fmt.Errorf("set pin: %w", e)
		}
		return alertTx(ctx, tx, h, ledger.TmplPINChanged, now)
	})
	if err != nil {
		return err
	}
	return outcome
}
