package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
)

// Staff web login (the counter pages, CONTRACT §5.1): phone and password,
// five wrong passwords in a row lock that staff member's web login for 15
// minutes whatever the client, and every refusal is the same
// ErrWrongPassword, so the answer never tells whether the phone exists.

// Web login lockout.
const (
	WebLoginMaxFailures = 5
	WebLoginLock        = 15 * time.Minute
	maxWebPasswordInput = 200 // bytes of a typed password compared at all
)

// ErrSamePassword: the new web password is the old one.
var ErrSamePassword = errors.New("the new password is the old one")

// WebStaff is a staff member as the counter pages know them.
type WebStaff struct {
	Staff
	Language string
	// MustChangePassword: the password is the one-time password `staff
	// add` printed; nothing but choosing a new one is allowed.
	MustChangePassword bool
	Cooperative        Cooperative
}

type webStaffRow struct {
	ID        int64          `db:"id"`
	Coop      int64          `db:"cooperative_id"`
	Name      string         `db:"name"`
	Phone     string         `db:"phone"`
	Role      string         `db:"role"`
	Language  string         `db:"language"`
	Hash      sql.NullString `db:"web_password_hash"`
	Failures  int            `db:"web_failures"`
	Until     sql.NullTime   `db:"web_locked_until"`
	Temporary bool           `db:"web_password_temporary"`
	CoopCode  string         `db:"coop_code"`
	CoopName  string         `db:"coop_name"`
}

func (r webStaffRow) staff() WebStaff {
	return WebStaff{
		Staff:              Staff{ID: r.ID, CooperativeID: r.Coop, Name: r.Name, Phone: r.Phone, Role: Role(r.Role)},
		Language:           r.Language,
		MustChangePassword: r.Temporary,
		Cooperative:        Cooperative{ID: r.Coop, Code: r.CoopCode, Name: r.CoopName},
	}
}

const webStaffColumns = `s.id, s.cooperative_id, s.name, s.phone, s.role, s.language, s.web_password_hash,
  s.web_failures, s.web_locked_until, s.web_password_temporary, c.code AS coop_code, c.name AS coop_name
FROM staff s JOIN cooperatives c ON c.id = s.cooperative_id`

// WebLogin is the active staff member with that phone (any accepted form)
// and web password, in whichever cooperative. A staff member whose web
// login is locked is not even compared; a wrong password counts towards
// the lock of every staff member the phone belongs to. Every refusal —
// unknown phone, no password yet, wrong password, locked — is
// ErrWrongPassword, after about the same time.
func (d *Directory) WebLogin(ctx context.Context, phone, password string) (WebStaff, error) {
	now := d.now().UTC()
	e164, err := NormalizeMSISDN(phone)
	if err != nil || len(password) > maxWebPasswordInput || password == "" {
		_ = bcrypt.CompareHashAndPassword(dummyWebPasswordHash, []byte(password))
		return WebStaff{}, ErrWrongPassword
	}
	var rows []webStaffRow
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT `+webStaffColumns+`
		WHERE s.phone = ? AND s.active AND s.web_password_hash IS NOT NULL ORDER BY s.id`), e164); err != nil {
		return WebStaff{}, fmt.Errorf("find staff: %w", err)
	}
	compared := false
	var wrong []webStaffRow
	for _, r := range rows {
		if r.Until.Valid && now.Before(r.Until.Time) {
			continue // locked: not compared
		}
		compared = true
		if bcrypt.CompareHashAndPassword([]byte(r.Hash.String), []byte(password)) == nil {
			if r.Failures != 0 || r.Until.Valid {
				if _, err := d.db.ExecContext(ctx, d.db.Rebind(`UPDATE staff SET web_failures = 0, web_locked_until = NULL WHERE id = ?`), r.ID); err != nil {
					return WebStaff{}, fmt.Errorf("reset web login failures: %w", err)
				}
			}
			return r.staff(), nil
		}
		wrong = append(wrong, r)
	}
	if !compared {
		_ = bcrypt.CompareHashAndPassword(dummyWebPasswordHash, []byte(password))
	}
	for _, r := range wrong {
		// One statement: concurrent wrong passwords each count, and the
		// one that reaches the limit sets the lock and starts again.
		if _, err := d.db.ExecContext(ctx, d.db.Rebind(`UPDATE staff SET
			web_locked_until = CASE WHEN web_failures + 1 >= ? THEN ? ELSE web_locked_until END,
			web_failures = CASE WHEN web_failures + 1 >= ? THEN 0 ELSE web_failures + 1 END
			WHERE id = ?`), WebLoginMaxFailures, now.Add(WebLoginLock), WebLoginMaxFailures, r.ID); err != nil {
			return WebStaff{}, fmt.Errorf("count web login failure: %w", err)
		}
	}
	return WebStaff{}, ErrWrongPassword
}

// WebStaffByID is an active staff member of the cooperative, for a
// logged-in session; ErrNotFound once they are no longer active.
func (d *Directory) WebStaffByID(ctx context.Context, coopID, staffID int64) (WebStaff, error) {
	var r webStaffRow
	err := d.db.GetContext(ctx, &r, d.db.Rebind(`SELECT `+webStaffColumns+` WHERE s.id = ? AND s.cooperative_id = ? AND s.active`), staffID, coopID)
	if errors.Is(err, sql.ErrNoRows) {
		return WebStaff{}, fmt.Errorf("staff %d: %w", staffID, ErrNotFound)
	}
	if err != nil {
		return WebStaff{}, fmt.Errorf("find staff: %w", err)
	}
	return r.staff(), nil
}

// ListStaff is every staff member of the cooperative (active or not),
// by name.
func (d *Directory) ListStaff(ctx context.Context, coopID int64) ([]WebStaff, []bool, error) {
	var rows []struct {
		webStaffRow
		Active bool `db:"active"`
	}
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT s.active, `+webStaffColumns+` WHERE s.cooperative_id = ? ORDER BY s.name, s.id`), coopID); err != nil {
		return nil, nil, fmt.Errorf("list staff: %w", err)
	}
	out := make([]WebStaff, len(rows))
	active := make([]bool, len(rows))
	for i, r := range rows {
		out[i] = r.staff()
		active[i] = r.Active
	}
	return out, active, nil
}

// ChangeWebPassword replaces a staff member's web password after checking
// the current one (ErrWrongPassword); the new one has 12 to 72 characters
// (ErrInvalid) and is not the old one (ErrSamePassword). It is no longer
// temporary.
func (d *Directory) ChangeWebPassword(ctx context.Context, coopID, staffID int64, current, next string) error {
	if utf8.RuneCountInString(next) < MinWebPasswordLength || len(next) > 72 {
		return fmt.Errorf("web password must have %d to 72 characters: %w", MinWebPasswordLength, ErrInvalid)
	}
	var hash sql.NullString
	err := d.db.GetContext(ctx, &hash, d.db.Rebind(`SELECT web_password_hash FROM staff WHERE id = ? AND cooperative_id = ? AND active`), staffID, coopID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !hash.Valid) {
		return ErrWrongPassword
	}
	if err != nil {
		return fmt.Errorf("read web password: %w", err)
	}
	if len(current) > maxWebPasswordInput || bcrypt.CompareHashAndPassword([]byte(hash.String), []byte(current)) != nil {
		return ErrWrongPassword
	}
	if current == next {
		return ErrSamePassword
	}
	newHash, err := bcrypt.GenerateFromPassword([]byte(next), webPasswordCost)
	if err != nil {
		return fmt.Errorf("hash web password: %w", err)
	}
	// The old hash in the WHERE: a concurrent change wins once.
	res, err := d.db.ExecContext(ctx, d.db.Rebind(`UPDATE staff SET web_password_hash = ?, web_password_temporary = ?, web_failures = 0, web_locked_until = NULL
		WHERE id = ? AND cooperative_id = ? AND web_password_hash = ?`), string(newHash), false, staffID, coopID, hash.String)
	if err != nil {
		return fmt.Errorf("set web password: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return ErrWrongPassword
	}
	return nil
}

// PINState is whether a member or staff member has a PIN, and whether it
// is locked now.
type PINState string

const (
	PINNone   PINState = "none"
	PINSet    PINState = "set"
	PINLocked PINState = "locked"
)

// PINStateOf is h's PIN state now (a timed lock that ran out is set).
func (d *Directory) PINStateOf(ctx context.Context, h Holder) (PINState, time.Time, error) {
	var row pinRow
	err := d.db.GetContext(ctx, &row, d.db.Rebind(`SELECT pin_hash, failures, locked_at, locked_until FROM pins
		WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ?`), string(h.Kind), h.ID, h.CooperativeID)
	if errors.Is(err, sql.ErrNoRows) {
		return PINNone, time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read pin: %w", err)
	}
	permanent, until := pinLock(row.Failures, row.Locked, row.Until, d.now())
	if permanent || !until.IsZero() {
		return PINLocked, until, nil
	}
	return PINSet, time.Time{}, nil
}
