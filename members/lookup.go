package members

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// ErrAmbiguous: a shortened member number matches several members.
var ErrAmbiguous = errors.New("matches several members")

type memberRow struct {
	ID            int64  `db:"id"`
	CooperativeID int64  `db:"cooperative_id"`
	No            string `db:"member_no"`
	Name          string `db:"name"`
	Phone         string `db:"phone"`
	Language      string `db:"language"`
	Status        string `db:"status"`
}

func (r memberRow) member() Member {
	return Member{ID: r.ID, CooperativeID: r.CooperativeID, No: r.No, Name: r.Name, Phone: r.Phone, Language: r.Language, Status: MemberStatus(r.Status)}
}

const memberColumns = `SELECT id, cooperative_id, member_no, name, phone, language, status FROM members `

const memberByNoSQL = memberColumns + `WHERE cooperative_id = ? AND member_no = ?`

const activeMemberNosSQL = `SELECT id, member_no FROM members WHERE cooperative_id = ? AND status = 'active'`

const memberByIDSQL = memberColumns + `WHERE cooperative_id = ? AND id = ?`

// MemberByNo finds a member of one cooperative by the number staff type on
// a phone keypad: exactly as registered ("A-001"); else, among active
// members, ignoring case and punctuation ("a001"); else by its digits alone
// ("1", "001") when exactly one active member's number has those digits.
// No match is ErrNotFound, several are ErrAmbiguous. The member is returned
// whatever their status; callers refuse members who have left.
func (d *Directory) MemberByNo(ctx context.Context, coopID int64, no string) (Member, error) {
	no = strings.TrimSpace(no)
	if no == "" {
		return Member{}, fmt.Errorf("member number is empty: %w", ErrNotFound)
	}
	var row memberRow
	err := d.db.GetContext(ctx, &row, d.db.Rebind(memberByNoSQL), coopID, no)
	if err == nil {
		return row.member(), nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Member{}, fmt.Errorf("find member %q: %w", no, err)
	}
	var rows []struct {
		ID int64  `db:"id"`
		No string `db:"member_no"`
	}
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(activeMemberNosSQL), coopID); err != nil {
		return Member{}, fmt.Errorf("list member numbers: %w", err)
	}
	want := memberNoKey(no)
	// Digits alone only when digits were typed: "A1" must not find "B-001".
	wantDigits := ""
	if isDigitsOnly(want) {
		wantDigits = memberNoDigits(want)
	}
	var loose, byDigits []int64
	for _, r := range rows {
		if want != "" && memberNoKey(r.No) == want {
			loose = append(loose, r.ID)
		}
		if wantDigits != "" && memberNoDigits(r.No) == wantDigits {
			byDigits = append(byDigits, r.ID)
		}
	}
	ids := loose
	if len(ids) == 0 {
		ids = byDigits
	}
	switch len(ids) {
	case 0:
		return Member{}, fmt.Errorf("member %q in cooperative %d: %w", no, coopID, ErrNotFound)
	case 1:
	default:
		return Member{}, fmt.Errorf("member %q in cooperative %d: %w", no, coopID, ErrAmbiguous)
	}
	if err := d.db.GetContext(ctx, &row, d.db.Rebind(memberByIDSQL), coopID, ids[0]); err != nil {
		return Member{}, fmt.Errorf("read member %d: %w", ids[0], err)
	}
	return row.member(), nil
}

// MemberByID is a member of one cooperative by id (ErrNotFound for another
// cooperative's).
func (d *Directory) MemberByID(ctx context.Context, coopID, id int64) (Member, error) {
	var row memberRow
	err := d.db.GetContext(ctx, &row, d.db.Rebind(memberByIDSQL), coopID, id)
	if errors.Is(err, sql.ErrNoRows) {
		return Member{}, fmt.Errorf("member %d in cooperative %d: %w", id, coopID, ErrNotFound)
	}
	if err != nil {
		return Member{}, fmt.Errorf("read member %d: %w", id, err)
	}
	return row.member(), nil
}

// memberNoKey is a member number in upper case without punctuation or
// spaces: "a-001" and "A 001" are "A001".
func memberNoKey(no string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(no) {
		if r >= '0' && r <= '9' || r >= 'A' && r <= 'Z' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// memberNoDigits is the number in a member number, without leading zeros:
// "A-001" is "1". A number without digits has none ("").
func memberNoDigits(no string) string {
	var b strings.Builder
	for _, r := range no {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	s := strings.TrimLeft(b.String(), "0")
	if s == "" && b.Len() > 0 {
		return "0"
	}
	return s
}

func isDigitsOnly(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
