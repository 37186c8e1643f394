package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"golang.org/x/crypto/bcrypt"
)

// ErrWrongPassword: no active staff member of the cooperative has that
// phone and web password. It does not say which of the two was wrong.
var ErrWrongPassword = errors.New("wrong phone or password")

// MinWebPasswordLength is the shortest web password SetWebPassword takes.
const MinWebPasswordLength = 12

// webPasswordCost is the bcrypt cost of stored web passwords.
const webPasswordCost = bcrypt.DefaultCost

// dummyWebPasswordHash is compared against when no staff member matches,
// so an unknown phone takes as long as a wrong password.
var dummyWebPasswordHash, _ = bcrypt.GenerateFromPassword([]byte("lumbung-no-such-staff"), webPasswordCost)

// CooperativeByCode finds a cooperative by its code ("KSP1"), ignoring
// surrounding white space. No match is ErrNotFound.
func (d *Directory) CooperativeByCode(ctx context.Context, code string) (Cooperative, error) {
	code = strings.TrimSpace(code)
	var c Cooperative
	err := d.db.GetContext(ctx, &c, d.db.Rebind(`SELECT id, code, name FROM cooperatives WHERE code = ?`), code)
	if errors.Is(err, sql.ErrNoRows) {
		return Cooperative{}, fmt.Errorf("cooperative %q: %w", code, ErrNotFound)
	}
	if err != nil {
		return Cooperative{}, fmt.Errorf("find cooperative %q: %w", code, err)
	}
	return c, nil
}

// ServiceCodes lists the USSD service codes bound to a cooperative, in
// their normal form, sorted.
func (d *Directory) ServiceCodes(ctx context.Context, coopID int64) ([]string, error) {
	codes := []string{}
	if err := d.db.SelectContext(ctx, &codes, d.db.Rebind(`SELECT code FROM service_codes WHERE cooperative_id = ? ORDER BY code`), coopID); err != nil {
		return nil, fmt.Errorf("service codes of cooperative %d: %w", coopID, err)
	}
	return codes, nil
}

// SetWebPassword stores a bcrypt hash of password as the staff member's
// web (counter) password. The password must have at least
// MinWebPasswordLength characters and at most 72 bytes (bcrypt's limit).
const setWebPasswordSQL = `UPDATE staff SET web_password_hash = ? WHERE id = ? AND cooperative_id = ?`

// AddStaffWithCredentials registers a staff member, issues their one-time
// activation code and sets their web password in ONE transaction: either
// the staff member exists with both, or nothing was written.
func (d *Directory) AddStaffWithCredentials(ctx context.Context, coopID int64, name, phone string, role Role, password string) (Staff, string, time.Time, error) {
	s, err := newStaff(coopID, name, phone, role)
	if err != nil {
		return Staff{}, "", time.Time{}, err
	}
	if utf8.RuneCountInString(password) < MinWebPasswordLength || len(password) > 72 {
		return Staff{}, "", time.Time{}, fmt.Errorf("web password must have %d to 72 characters: %w", MinWebPasswordLength, ErrInvalid)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), webPasswordCost)
	if err != nil {
		return Staff{}, "", time.Time{}, fmt.Errorf("hash web password: %w", err)
	}
	var code string
	var expires time.Time
	now := d.now().UTC()
	err = d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := addStaffTx(ctx, tx, &s, now); err != nil {
			return err
		}
		var err error
		code, expires, err = d.issueActivationTx(ctx, tx, Holder{Kind: KindStaff, ID: s.ID, CooperativeID: coopID}, ActivationCodeTTL, now)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(setWebPasswordSQL), string(hash), s.ID, coopID)
		return err
	})
	if err != nil {
		return Staff{}, "", time.Time{}, err
	}
	return s, code, expires, nil
}

func (d *Directory) SetWebPassword(ctx context.Context, staffID, coopID int64, password string) error {
	if utf8.RuneCountInString(password) < MinWebPasswordLength {
		return fmt.Errorf("web password must have at least %d characters: %w", MinWebPasswordLength, ErrInvalid)
	}
	if len(password) > 72 {
		return fmt.Errorf("web password must be at most 72 bytes: %w", ErrInvalid)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), webPasswordCost)
	if err != nil {
		return fmt.Errorf("hash web password: %w", err)
	}
	res, err := d.db.ExecContext(ctx, d.db.Rebind(setWebPasswordSQL), string(hash), staffID, coopID)
	if err != nil {
		return fmt.Errorf("set web password: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("staff %d in cooperative %d: %w", staffID, coopID, ErrNotFound)
	}
	return nil
}

// CheckWebPassword returns the active staff member of the cooperative with
// that phone (any accepted form) and web password. Anything else — unknown
// phone, no password set, wrong password, inactive staff — is
// ErrWrongPassword.
func (d *Directory) CheckWebPassword(ctx context.Context, coopID int64, phone, password string) (Staff, error) {
	e164, err := NormalizeMSISDN(phone)
	if err != nil {
		_ = bcrypt.CompareHashAndPassword(dummyWebPasswordHash, []byte(password))
		return Staff{}, ErrWrongPassword
	}
	var rows []struct {
		ID    int64          `db:"id"`
		Coop  int64          `db:"cooperative_id"`
		Name  string         `db:"name"`
		Phone string         `db:"phone"`
		Role  string         `db:"role"`
		Hash  sql.NullString `db:"web_password_hash"`
	}
	err = d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT id, cooperative_id, name, phone, role, web_password_hash FROM staff
		WHERE cooperative_id = ? AND phone = ? AND active AND web_password_hash IS NOT NULL ORDER BY id`), coopID, e164)
	if err != nil {
		return Staff{}, fmt.Errorf("find staff: %w", err)
	}
	if len(rows) == 0 {
		_ = bcrypt.CompareHashAndPassword(dummyWebPasswordHash, []byte(password))
		return Staff{}, ErrWrongPassword
	}
	for _, r := range rows {
		if bcrypt.CompareHashAndPassword([]byte(r.Hash.String), []byte(password)) == nil {
			return Staff{ID: r.ID, CooperativeID: r.Coop, Name: r.Name, Phone: r.Phone, Role: Role(r.Role)}, nil
		}
	}
	return Staff{}, ErrWrongPassword
}

// StaffByPhone lists the active staff of a cooperative with that phone
// (any accepted form), oldest first.
func (d *Directory) StaffByPhone(ctx context.Context, coopID int64, phone string) ([]Staff, error) {
	e164, err := NormalizeMSISDN(phone)
	if err != nil {
		return nil, fmt.Errorf("staff phone: %w", err)
	}
	var rows []struct {
		ID    int64  `db:"id"`
		Coop  int64  `db:"cooperative_id"`
		Name  string `db:"name"`
		Phone string `db:"phone"`
		Role  string `db:"role"`
	}
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(`SELECT id, cooperative_id, name, phone, role FROM staff
		WHERE cooperative_id = ? AND phone = ? AND active ORDER BY id`), coopID, e164); err != nil {
		return nil, fmt.Errorf("find staff: %w", err)
	}
	staff := make([]Staff, len(rows))
	for i, r := range rows {
		staff[i] = Staff{ID: r.ID, CooperativeID: r.Coop, Name: r.Name, Phone: r.Phone, Role: Role(r.Role)}
	}
	return staff, nil
}
