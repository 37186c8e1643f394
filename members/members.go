// Package members knows who is who: cooperatives and the USSD codes bound to
// them, members and staff with their phones, and PINs (hashing, lockout).
package members

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/lumbung-id/lumbung/ledger"
)

// Errors a caller can tell apart. ErrNotFound is the ledger's: one
// "not found" whichever store did not find it.
var (
	ErrNotFound  = ledger.ErrNotFound
	ErrDuplicate = errors.New("already exists")
	ErrInvalid   = errors.New("invalid")
)

// HolderKind says whether a PIN holder is a member or a staff member.
type HolderKind string

const (
	KindMember HolderKind = "member"
	KindStaff  HolderKind = "staff"
)

// Holder points at a member or a staff member of one cooperative.
type Holder struct {
	Kind          HolderKind
	ID            int64
	CooperativeID int64
}

// Cooperative is one koperasi.
type Cooperative struct {
	ID   int64  `db:"id"`
	Code string `db:"code"`
	Name string `db:"name"`
}

// Member is a member of a cooperative.
type Member struct {
	ID            int64
	CooperativeID int64
	No            string
	Name          string
	Phone         string // E.164
	Language      string // "id" or "en"
	Status        MemberStatus
}

// Role is what a staff member may do: tellers and collectors take cash,
// managers also reverse, register and disburse.
type Role string

// Staff roles.
const (
	RoleTeller    Role = "teller"
	RoleCollector Role = "collector"
	RoleManager   Role = "manager"
)

// Roles are every staff role.
var Roles = []Role{RoleTeller, RoleCollector, RoleManager}

// ParseRole reads a role as typed ("Teller", " manager "): ErrInvalid if
// it is none of Roles.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Roles, r) {
		return r, nil
	}
	return "", fmt.Errorf("role %q: must be teller, collector or manager: %w", s, ErrInvalid)
}

// MemberStatus is whether a member is still in the cooperative.
type MemberStatus string

const (
	StatusActive MemberStatus = "active"
	StatusLeft   MemberStatus = "left"
)

// Staff is a teller, collector or manager of a cooperative.
type Staff struct {
	ID            int64
	CooperativeID int64
	Name          string
	Phone         string
	Role          Role
}

// Identity is one way a phone is known in a cooperative: as a member or as
// staff. A phone may have several (a family phone, a teller who is also a
// member, a member of two cooperatives).
type Identity struct {
	Cooperative Cooperative
	Holder      Holder
	Name        string
	MemberNo    string // members only
	Role        Role   // staff only
	Language    string
	HasPIN      bool
	// PINLocked is the permanent lock (MaxPINLocks locks in a row): only a
	// new activation code lets them in. PINLockedUntil is when a timed
	// lock running now ends (zero if none runs: a timed lock that ran out
	// is no lock); meanwhile the PIN check answers ErrPINLocked.
	PINLocked      bool
	PINLockedUntil time.Time
}

// Directory reads and writes cooperatives, members, staff and PINs.
type Directory struct {
	db    *ledger.DB
	pins  *PINHasher
	now   func() time.Time
	codes *ledger.TTLCache[string, []Cooperative] // service code → its cooperatives (see cache.go)
}

// NewDirectory returns a Directory over db. secret keys the PIN hashes.
func NewDirectory(db *ledger.DB, secret []byte, now func() time.Time) (*Directory, error) {
	pins, err := NewPINHasher(secret)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Directory{db: db, pins: pins, now: now, codes: ledger.NewTTLCache[string, []Cooperative](CodeCacheTTL)}, nil
}

// CreateCooperative adds a cooperative, its accounts and its service codes.
func (d *Directory) CreateCooperative(ctx context.Context, code, name string, serviceCodes []string) (Cooperative, error) {
	code = strings.TrimSpace(code)
	name = strings.TrimSpace(name)
	if code == "" || name == "" {
		return Cooperative{}, fmt.Errorf("cooperative code and name are required: %w", ErrInvalid)
	}
	norm := make([]string, 0, len(serviceCodes))
	for _, sc := range serviceCodes {
		n, err := NormalizeServiceCode(sc)
		if err != nil {
			return Cooperative{}, fmt.Errorf("service code %q: %w", sc, err)
		}
		norm = append(norm, n)
	}
	now := d.now().UTC()
	c := Cooperative{Code: code, Name: name}
	err := d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &c.ID, tx.Rebind(`INSERT INTO cooperatives (code, name, created_at) VALUES (?, ?, ?) RETURNING id`), code, name, now)
		if ledger.IsUniqueViolation(err) {
			return fmt.Errorf("cooperative %s: %w", code, ErrDuplicate)
		}
		if err != nil {
			return fmt.Errorf("insert cooperative: %w", err)
		}
		for _, k := range ledger.CoopAccountKinds {
			if _, err := ledger.CreateAccount(ctx, tx, c.ID, k, ledger.Owner{}, now); err != nil {
				return err
			}
		}
		for _, sc := range norm {
			_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO service_codes (code, cooperative_id) VALUES (?, ?)`), sc, c.ID)
			if err != nil && !ledger.IsUniqueViolation(err) {
				return fmt.Errorf("bind service code %s: %w", sc, err)
			}
		}
		// Other instances drop their cached service codes (see Listen).
		return notifyDirectoryChanged(ctx, tx)
	})
	if err == nil {
		d.InvalidateCache()
	}
	return c, err
}

// NewMember is what it takes to register a member.
type NewMember struct {
	No, Name, Phone, Language string
	JoinedOn                  time.Time // zero if unknown
}

// AddMember registers a member with pokok, wajib and sukarela accounts.
func (d *Directory) AddMember(ctx context.Context, coopID int64, nm NewMember) (Member, error) {
	var m Member
	err := d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		m, err = AddMemberTx(ctx, tx, coopID, nm, d.now())
		return err
	})
	return m, err
}

// AddMemberTx registers a member inside tx (for imports that post opening
// balances in the same transaction).
func AddMemberTx(ctx context.Context, tx *sqlx.Tx, coopID int64, nm NewMember, now time.Time) (Member, error) {
	phone, err := NormalizeMSISDN(nm.Phone)
	if err != nil {
		return Member{}, fmt.Errorf("member %s phone: %w", nm.No, err)
	}
	lang := nm.Language
	if lang == "" {
		lang = "id"
	}
	if lang != "id" && lang != "en" {
		return Member{}, fmt.Errorf("member %s language %q: %w", nm.No, lang, ErrInvalid)
	}
	if strings.TrimSpace(nm.No) == "" || strings.TrimSpace(nm.Name) == "" {
		return Member{}, fmt.Errorf("member number and name are required: %w", ErrInvalid)
	}
	m := Member{CooperativeID: coopID, No: strings.TrimSpace(nm.No), Name: strings.TrimSpace(nm.Name), Phone: phone, Language: lang, Status: "active"}
	var joined sql.NullTime
	if !nm.JoinedOn.IsZero() {
		joined = sql.NullTime{Time: nm.JoinedOn.UTC(), Valid: true}
	}
	err = tx.GetContext(ctx, &m.ID, tx.Rebind(`INSERT INTO members (cooperative_id, member_no, name, name_key, phone, language, joined_on, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`), coopID, m.No, m.Name, nameKey(m.Name), m.Phone, m.Language, joined, now.UTC())
	if ledger.IsUniqueViolation(err) {
		return Member{}, fmt.Errorf("member %s: %w", m.No, ErrDuplicate)
	}
	if err != nil {
		return Member{}, fmt.Errorf("insert member %s: %w", m.No, err)
	}
	for _, k := range ledger.MemberAccountKinds {
		if _, err := ledger.CreateAccount(ctx, tx, coopID, k, ledger.Owner{MemberID: m.ID}, now); err != nil {
			return Member{}, err
		}
	}
	return m, nil
}

// AddStaff registers a staff member; tellers get a till, collectors a
// cash-in-hand account.
func (d *Directory) AddStaff(ctx context.Context, coopID int64, name, phone string, role Role) (Staff, error) {
	s, err := newStaff(coopID, name, phone, role)
	if err != nil {
		return Staff{}, err
	}
	err = d.db.InTx(ctx, func(tx *sqlx.Tx) error { return addStaffTx(ctx, tx, &s, d.now().UTC()) })
	return s, err
}

// newStaff checks what it takes to register a staff member.
func newStaff(coopID int64, name, phone string, role Role) (Staff, error) {
	e164, err := NormalizeMSISDN(phone)
	if err != nil {
		return Staff{}, fmt.Errorf("staff phone: %w", err)
	}
	if !slices.Contains(Roles, role) {
		return Staff{}, fmt.Errorf("role %q (want teller, collector or manager): %w", role, ErrInvalid)
	}
	if strings.TrimSpace(name) == "" {
		return Staff{}, fmt.Errorf("staff name is required: %w", ErrInvalid)
	}
	return Staff{CooperativeID: coopID, Name: strings.TrimSpace(name), Phone: e164, Role: role}, nil
}

// addStaffTx inserts s (setting s.ID) with its cash account: a till for
// tellers and managers, cash-in-hand for collectors.
func addStaffTx(ctx context.Context, tx *sqlx.Tx, s *Staff, now time.Time) error {
	if err := tx.GetContext(ctx, &s.ID, tx.Rebind(`INSERT INTO staff (cooperative_id, name, phone, role, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		s.CooperativeID, s.Name, s.Phone, s.Role, now); err != nil {
		return fmt.Errorf("insert staff: %w", err)
	}
	cash := ledger.Till
	if s.Role == RoleCollector {
		cash = ledger.CollectorCash
	}
	_, err := ledger.CreateAccount(ctx, tx, s.CooperativeID, cash, ledger.Owner{StaffID: s.ID}, now)
	return err
}

const coopsForCodeSQL = ledger.Prepared + `SELECT c.id, c.code, c.name FROM service_codes sc
JOIN cooperatives c ON c.id = sc.cooperative_id WHERE sc.code = ? ORDER BY c.name, c.id`

// CooperativesForCode lists the cooperatives a service code is bound to.
// Every first hop asks, so answers are cached for CodeCacheTTL (an unknown
// code is not cached: a cooperative bound a moment ago is found at once).
func (d *Directory) CooperativesForCode(ctx context.Context, serviceCode string) ([]Cooperative, error) {
	if cs, ok := d.codes.Get(serviceCode, d.now()); ok {
		return slices.Clone(cs), nil
	}
	cs, err := d.cooperativesForCode(ctx, serviceCode)
	if err == nil && len(cs) > 0 {
		d.codes.Put(serviceCode, slices.Clone(cs), d.now())
	}
	return cs, err
}

func (d *Directory) cooperativesForCode(ctx context.Context, serviceCode string) ([]Cooperative, error) {
	var cs []Cooperative
	if err := d.db.SelectContext(ctx, &cs, d.db.Rebind(coopsForCodeSQL), serviceCode); err != nil {
		return nil, fmt.Errorf("cooperatives for %s: %w", serviceCode, err)
	}
	return cs, nil
}

// identifySQL finds a phone's members and staff in n cooperatives (the
// service code's, from the cache: the statement joins no service codes or
// cooperatives, and reads two index entries per cooperative and table).
func identifySQL(n int) string {
	in := "?" + strings.Repeat(", ?", n-1)
	return ledger.Prepared + `SELECT m.cooperative_id AS coop_id, 'member' AS kind, m.id AS holder_id, m.name, m.member_no, '' AS role, m.language,
  CASE WHEN p.pin_hash IS NULL THEN 0 ELSE 1 END AS has_pin,
  CASE WHEN p.locked_at IS NULL THEN 0 ELSE 1 END AS pin_locked,
  COALESCE(p.failures, 0) AS pin_failures, p.locked_until
FROM members m
LEFT JOIN pins p ON p.holder_kind = 'member' AND p.holder_id = m.id AND p.cooperative_id = m.cooperative_id
WHERE m.cooperative_id IN (` + in + `) AND m.phone = ? AND m.status = 'active'
UNION ALL
SELECT s.cooperative_id, 'staff', s.id, s.name, '', s.role, s.language,
  CASE WHEN p.pin_hash IS NULL THEN 0 ELSE 1 END,
  CASE WHEN p.locked_at IS NULL THEN 0 ELSE 1 END,
  COALESCE(p.failures, 0), p.locked_until
FROM staff s
LEFT JOIN pins p ON p.holder_kind = 'staff' AND p.holder_id = s.id AND p.cooperative_id = s.cooperative_id
WHERE s.cooperative_id IN (` + in + `) AND s.phone = ? AND s.active`
}

// identifyArgs are identifySQL's arguments for coops and msisdn.
func identifyArgs(coops []Cooperative, msisdn string) []any {
	args := make([]any, 0, 2*len(coops)+2)
	for range 2 {
		for _, c := range coops {
			args = append(args, c.ID)
		}
		args = append(args, msisdn)
	}
	return args
}

// Identify lists every identity of msisdn in the cooperatives bound to
// serviceCode (both already normalised), in the order of the cooperatives
// (name, id), members before staff, then by member number and id.
func (d *Directory) Identify(ctx context.Context, serviceCode, msisdn string) ([]Identity, error) {
	coops, err := d.CooperativesForCode(ctx, serviceCode)
	if err != nil || len(coops) == 0 {
		return nil, err
	}
	var rows []struct {
		CoopID   int64        `db:"coop_id"`
		Kind     string       `db:"kind"`
		HolderID int64        `db:"holder_id"`
		Name     string       `db:"name"`
		MemberNo string       `db:"member_no"`
		Role     string       `db:"role"`
		Language string       `db:"language"`
		HasPIN   int          `db:"has_pin"`
		Locked   int          `db:"pin_locked"`
		Failures int          `db:"pin_failures"`
		Until    sql.NullTime `db:"locked_until"`
	}
	if err := d.db.SelectContext(ctx, &rows, d.db.Rebind(identifySQL(len(coops))), identifyArgs(coops, msisdn)...); err != nil {
		return nil, fmt.Errorf("identify caller: %w", err)
	}
	order := make(map[int64]int, len(coops))
	for i, c := range coops {
		order[c.ID] = i
	}
	now := d.now()
	ids := make([]Identity, len(rows))
	for i, r := range rows {
		ids[i] = Identity{
			Cooperative: coops[order[r.CoopID]],
			Holder:      Holder{Kind: HolderKind(r.Kind), ID: r.HolderID, CooperativeID: r.CoopID},
			Name:        r.Name, MemberNo: r.MemberNo, Role: Role(r.Role), Language: r.Language, HasPIN: r.HasPIN == 1,
		}
		ids[i].PINLocked, ids[i].PINLockedUntil = pinLock(r.Failures, sql.NullTime{Valid: r.Locked == 1}, r.Until, now)
	}
	slices.SortStableFunc(ids, func(a, b Identity) int {
		return cmp.Or(
			cmp.Compare(order[a.Cooperative.ID], order[b.Cooperative.ID]),
			cmp.Compare(a.Holder.Kind, b.Holder.Kind), // "member" < "staff"
			cmp.Compare(a.MemberNo, b.MemberNo),
			cmp.Compare(a.Holder.ID, b.Holder.ID),
		)
	})
	return ids, nil
}

func holderTable(k HolderKind) string {
	if k == KindStaff {
		return "staff"
	}
	return "members"
}

// SetLanguage stores the language a member or staff member chose.
func (d *Directory) SetLanguage(ctx context.Context, h Holder, lang string) error {
	if lang != "id" && lang != "en" {
		return fmt.Errorf("language %q: %w", lang, ErrInvalid)
	}
	res, err := d.db.ExecContext(ctx, d.db.Rebind(`UPDATE `+holderTable(h.Kind)+` SET language = ? WHERE id = ? AND cooperative_id = ?`), lang, h.ID, h.CooperativeID)
	if err != nil {
		return fmt.Errorf("set language: %w", err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("%s %d: %w", h.Kind, h.ID, ErrNotFound)
	}
	return nil
}

// SetPIN stores a new PIN for h (clearing failures and any lock).
func (d *Directory) SetPIN(ctx context.Context, h Holder, pin string) error {
	if err := ValidatePIN(pin); err != nil {
		return err
	}
	_, err := d.db.ExecContext(ctx, d.db.Rebind(onPINKey(d.db.Dialect, setPINSQL)), h.CooperativeID, string(h.Kind), h.ID, d.pins.Hash(h, pin), d.now().UTC())
	if err != nil {
		return fmt.Errorf("set pin: %w", err)
	}
	return nil
}

const setPINSQL = `INSERT INTO pins (cooperative_id, holder_kind, holder_id, pin_hash, failures, locked_at, locked_until, updated_at)
VALUES (?, ?, ?, ?, 0, NULL, NULL, ?)
ON CONFLICT (holder_kind, holder_id) DO UPDATE SET pin_hash = excluded.pin_hash, failures = 0, locked_at = NULL, locked_until = NULL, updated_at = excluded.updated_at`

// onPINKey names in q's ON CONFLICT the key that pins and pin_changes have
// in dialect. On PostgreSQL it is (holder_kind, holder_id, cooperative_id)
// since migration 00016, a key a cluster distributed by cooperative_id can
// enforce (ledger/CITUS.md); the embedded SQLite file is never distributed
// and keeps (holder_kind, holder_id), which the statements are written
// with. An upsert's target must be exactly a unique key of its table.
func onPINKey(dialect ledger.Dialect, q string) string {
	if dialect != ledger.Postgres {
		return q
	}
	return strings.Replace(q, "ON CONFLICT (holder_kind, holder_id)", "ON CONFLICT (holder_kind, holder_id, cooperative_id)", 1)
}

// CheckPIN verifies pin for h. A wrong PIN returns ErrWrongPIN and how many
// tries remain before the next lock; the third wrong PIN in a row (across
// sessions) locks it for a while, or for good after MaxPINLocks locks in a
// row (see PINLockSteps), queues the alert SMS and returns a
// *PINLockedError (errors.Is ErrPINLocked) with justLocked set. While a
// lock is in force every check answers ErrPINLocked without comparing or
// counting the PIN. A right PIN resets the count and the escalation.
func (d *Directory) CheckPIN(ctx context.Context, h Holder, pin string) (remaining int, justLocked bool, err error) {
	// The right PIN — nearly every check — is one prepared read and no
	// transaction: nothing is written unless failures are to be reset.
	var row pinRow
	e := d.db.GetContext(ctx, &row, d.db.Rebind(readPINSQL), string(h.Kind), h.ID, h.CooperativeID)
	if errors.Is(e, sql.ErrNoRows) {
		return 0, false, ErrNoPIN
	}
	if e != nil {
		return 0, false, fmt.Errorf("read pin: %w", e)
	}
	return d.judgePIN(ctx, h, pin, row)
}

// pinRow is a holder's stored PIN.
type pinRow struct {
	Hash     string       `db:"pin_hash"`
	Failures int          `db:"failures"`
	Locked   sql.NullTime `db:"locked_at"`
	Until    sql.NullTime `db:"locked_until"`
}

// lockErr is the row's lock at now as an error: nil if it is not locked.
func (r pinRow) lockErr(now time.Time) error {
	permanent, until := pinLock(r.Failures, r.Locked, r.Until, now)
	if !permanent && until.IsZero() {
		return nil
	}
	return &PINLockedError{Until: until}
}

const pinBalancesSQL = ledger.Prepared + `SELECT p.pin_hash, p.failures, p.locked_at, p.locked_until,
  COALESCE(a.kind, '') AS kind, COALESCE(SUM(a.balance), 0) AS total
FROM pins p
LEFT JOIN accounts a ON a.cooperative_id = p.cooperative_id AND a.member_id = p.holder_id
WHERE p.holder_kind = 'member' AND p.holder_id = ? AND p.cooperative_id = ?
GROUP BY p.pin_hash, p.failures, p.locked_at, p.locked_until, a.kind`

// CheckPINBalances is CheckPIN for a member who asked for their balances:
// the stored PIN and the balances come in one statement, so a right PIN
// and the "Cek Saldo" screen cost one round trip instead of two. The
// balances are returned only when the PIN is right.
func (d *Directory) CheckPINBalances(ctx context.Context, h Holder, pin string) (b ledger.MemberBalances, remaining int, justLocked bool, err error) {
	if h.Kind != KindMember {
		return b, 0, false, fmt.Errorf("balances of a %s: %w", h.Kind, ErrInvalid)
	}
	var rows []struct {
		pinRow
		Kind  string `db:"kind"`
		Total int64  `db:"total"`
	}
	if e := d.db.SelectContext(ctx, &rows, d.db.Rebind(pinBalancesSQL), h.ID, h.CooperativeID); e != nil {
		return b, 0, false, fmt.Errorf("read pin and balances: %w", e)
	}
	if len(rows) == 0 {
		return b, 0, false, ErrNoPIN
	}
	if remaining, justLocked, err = d.judgePIN(ctx, h, pin, rows[0].pinRow); err != nil {
		return ledger.MemberBalances{}, remaining, justLocked, err
	}
	for _, r := range rows {
		b.Add(ledger.AccountKind(r.Kind), r.Total)
	}
	return b, 0, false, nil
}

// judgePIN decides a PIN check against the stored row: a lock in force
// answers ErrPINLocked before the PIN is even compared; a right PIN resets
// the failures, a wrong one counts (and on every MaxPINFailures-th locks
// and alerts).
func (d *Directory) judgePIN(ctx context.Context, h Holder, pin string, row pinRow) (remaining int, justLocked bool, err error) {
	if err := row.lockErr(d.now()); err != nil {
		return 0, false, err
	}
	right := ValidatePINShape(pin) && d.pins.Verify(h, pin, row.Hash)
	if right && row.Failures == 0 {
		return 0, false, nil // the hot path: no transaction, no write
	}
	// A right PIN after failures, or a wrong one: under the holder's row
	// lock (FOR UPDATE on PostgreSQL; SQLite's transactions take the write
	// lock at BEGIN), read the row again and decide on what it says now,
	// so concurrent checks neither skip nor double-count a failure. The
	// count, the lock and its alert commit together; the verdict travels
	// in outcome so that a wrong PIN is not rolled back with its error.
	var outcome error
	err = d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		now := d.now().UTC()
		q := lockPINSQL
		if d.db.Dialect == ledger.Postgres {
			q += " FOR UPDATE"
		}
		var cur pinRow
		e := tx.GetContext(ctx, &cur, tx.Rebind(q), string(h.Kind), h.ID, h.CooperativeID)
		if errors.Is(e, sql.ErrNoRows) {
			outcome = ErrNoPIN
			return nil
		}
		if e != nil {
			return fmt.Errorf("lock pin: %w", e)
		}
		if e := cur.lockErr(now); e != nil { // locked meanwhile by a concurrent attempt
			outcome = e
			return nil
		}
		if cur.Hash != row.Hash { // changed meanwhile: judge against the new one
			right = ValidatePINShape(pin) && d.pins.Verify(h, pin, cur.Hash)
		}
		if right {
			if _, e := tx.ExecContext(ctx, tx.Rebind(resetPINFailuresSQL), string(h.Kind), h.ID, h.CooperativeID); e != nil {
				return fmt.Errorf("reset pin failures: %w", e)
			}
			return nil
		}
		failures := cur.Failures + 1
		lock, step := nextPINLock(failures)
		var lockedAt, lockedUntil sql.NullTime
		switch {
		case lock && step == 0:
			lockedAt = sql.NullTime{Time: now, Valid: true}
		case lock:
			lockedUntil = sql.NullTime{Time: now.Add(step), Valid: true}
		}
		if _, e := tx.ExecContext(ctx, tx.Rebind(countPINFailureSQL), failures, lockedAt, lockedUntil, string(h.Kind), h.ID, h.CooperativeID); e != nil {
			return fmt.Errorf("count pin failure: %w", e)
		}
		if !lock {
			remaining = MaxPINFailures - failures%MaxPINFailures
			outcome = ErrWrongPIN
			return nil
		}
		justLocked = true
		outcome = &PINLockedError{Until: lockedUntil.Time}
		return alertLockedTx(ctx, tx, h, lockedUntil.Time, now)
	})
	if err != nil {
		return 0, false, err
	}
	return remaining, justLocked, outcome
}

const readPINSQL = ledger.Prepared + `SELECT pin_hash, failures, locked_at, locked_until FROM pins WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ?`

// lockPINSQL reads the PIN again inside the transaction that judges it;
// on PostgreSQL " FOR UPDATE" is added.
const lockPINSQL = `SELECT pin_hash, failures, locked_at, locked_until FROM pins WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ?`

const resetPINFailuresSQL = `UPDATE pins SET failures = 0, locked_until = NULL WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ?`

// countPINFailureSQL stores a wrong PIN: the new count and, when it locks,
// locked_at (the permanent lock) or locked_until (a timed one); both NULL
// otherwise (an old timed lock that ran out is cleared).
const countPINFailureSQL = `UPDATE pins SET failures = ?, locked_at = ?, locked_until = ? WHERE holder_kind = ? AND holder_id = ? AND cooperative_id = ?`

// ValidatePINShape reports whether s could be a PIN at all (6 digits).
func ValidatePINShape(s string) bool {
	err := ValidatePIN(s)
	return err == nil || errors.Is(err, ErrWeakPIN)
}

// alertTx queues an SMS to the holder about their PIN, in the transaction
// that changed it.
func alertTx(ctx context.Context, tx *sqlx.Tx, h Holder, template string, now time.Time) error {
	return queueAlertTx(ctx, tx, h, template, time.Time{}, now)
}

// alertLockedTx queues the pin.locked SMS for a lock set in tx: with
// "until" (RFC 3339, in the cooperative's time zone) for a timed lock,
// without for the permanent one. Only the transaction that sets a lock
// calls it, under the row lock, so each lock alerts once.
func alertLockedTx(ctx context.Context, tx *sqlx.Tx, h Holder, until, now time.Time) error {
	return queueAlertTx(ctx, tx, h, ledger.TmplPINLocked, until, now)
}

func queueAlertTx(ctx context.Context, tx *sqlx.Tx, h Holder, template string, until, now time.Time) error {
	var who struct {
		Phone    string `db:"phone"`
		Language string `db:"language"`
		Timezone string `db:"timezone"`
	}
	if err := tx.GetContext(ctx, &who, tx.Rebind(`SELECT h.phone, h.language, c.timezone FROM `+holderTable(h.Kind)+` h
		JOIN cooperatives c ON c.id = h.cooperative_id WHERE h.id = ? AND h.cooperative_id = ?`), h.ID, h.CooperativeID); err != nil {
		return fmt.Errorf("read %s phone: %w", h.Kind, err)
	}
	var params map[string]string
	if !until.IsZero() {
		params = map[string]string{"until": until.In(alertLocation(who.Timezone)).Format(time.RFC3339)}
	}
	return ledger.EnqueueSMS(ctx, tx, ledger.OutboxMessage{
		CooperativeID: h.CooperativeID,
		Key:           fmt.Sprintf("sms:%s:%s:%d:%d", template, h.Kind, h.ID, now.UnixMicro()),
		Phone:         who.Phone, Language: who.Language, Template: template, Params: params,
	}, now)
}

// alertLocation is a cooperative's time zone for the times in its SMS;
// WITA when the name is empty or unknown here.
func alertLocation(tz string) *time.Location {
	if tz == "" {
		tz = "Asia/Makassar"
	}
	if loc, err := time.LoadLocation(tz); err == nil {
		return loc
	}
	return time.FixedZone("WITA", 8*3600)
}
