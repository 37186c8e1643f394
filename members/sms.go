package members

import (
	"context"
	"database/sql"
	"fmt"
)

// SMSMember is a member found by phone alone, for an SMS command: unlike a
// USSD dial, an SMS names no service code, so every cooperative counts.
type SMSMember struct {
	Identity
	PINRequired bool // the cooperative requires the PIN in SMS commands
}

const smsMembersSQL = `SELECT c.id AS coop_id, c.code AS coop_code, c.name AS coop_name, c.sms_pin_required,
  m.id AS holder_id, m.name, m.member_no, m.language,
  CASE WHEN p.pin_hash IS NULL THEN 0 ELSE 1 END AS has_pin,
  CASE WHEN p.locked_at IS NULL THEN 0 ELSE 1 END AS pin_locked,
  COALESCE(p.failures, 0) AS pin_failures, p.locked_until
FROM members m
JOIN cooperatives c ON c.id = m.cooperative_id
LEFT JOIN pins p ON p.holder_kind = 'member' AND p.holder_id = m.id AND p.cooperative_id = m.cooperative_id
WHERE m.phone = ? AND m.status = 'active'
ORDER BY c.name, c.id, m.member_no, m.id`

// MembersByPhone lists the active members, in every cooperative, whose
// phone is msisdn (E.164). Several on one phone is a family phone.
func (d *Directory) MembersByPhone(ctx context.Context, msisdn string) ([]SMSMember, error) {
	var rows []struct {
		CoopID   int64        `db:"coop_id"`
		CoopCode string       `db:"coop_code"`
		CoopName string       `db:"coop_name"`
		PINReq   bool         `db:"sms_pin_required"`
		HolderID int64        `db:"holder_id"`
		Name     string       `db:"name"`
		MemberNo string       `db:"member_no"`
		Language string       `db:"language"`
		HasPIN   int          `db:"has_pin"`
		Locked   int          `db:"pin_locked"`
		Failures int          `db:"pin_failures"`
		Until    sql.NullTime `db:"locked_until"`
	}
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(smsMembersSQL), msisdn); err != nil {
		return nil, fmt.Errorf("members by phone: %w", err)
	}
	now := d.now()
	out := make([]SMSMember, len(rows))
	for i, r := range rows {
		out[i] = SMSMember{PINRequired: r.PINReq, Identity: Identity{
			Cooperative: Cooperative{ID: r.CoopID, Code: r.CoopCode, Name: r.CoopName},
			Holder:      Holder{Kind: KindMember, ID: r.HolderID, CooperativeID: r.CoopID},
			Name:        r.Name, MemberNo: r.MemberNo, Language: r.Language, HasPIN: r.HasPIN == 1,
		}}
		out[i].PINLocked, out[i].PINLockedUntil = pinLock(r.Failures, sql.NullTime{Valid: r.Locked == 1}, r.Until, now)
	}
	return out, nil
}

// SetSMSPINRequired sets whether the cooperative's members must add their
// PIN to SMS commands ("SALDO 123456").
func (d *Directory) SetSMSPINRequired(ctx context.Context, coopID int64, required bool) error {
	res, err := d.db.ExecContext(ctx, d.db.Rebind(`UPDATE cooperatives SET sms_pin_required = ? WHERE id = ?`), required, coopID)
	if err != nil {
		return fmt.Errorf("set sms pin policy: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("cooperative %d: %w", coopID, ErrNotFound)
	}
	return nil
}

// SameMemberNo reports whether typed names the member number no, as staff
// lookups compare them ("a-001" and "A-001" are one number).
func SameMemberNo(typed, no string) bool {
	return typed != "" && memberNoKey(typed) == memberNoKey(no)
}
