package ledger

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Errors of the deposit paths; callers choose a screen with errors.Is.
var (
	ErrAmountTooLarge      = errors.New("amount above the cooperative's limit")
	ErrDepositCodeNotFound = errors.New("deposit code not found")
	ErrDepositCodeExpired  = errors.New("deposit code expired")
	ErrDepositCodeUsed     = errors.New("deposit code already used")
	// ErrMemberLeft: the member has left the cooperative; nothing new is
	// posted for them. It comes wrapped together with ErrNotFound (a
	// member who left is no longer a depositor).
	ErrMemberLeft = errors.New("member has left the cooperative")
)

// DepositCodeTTL is how long a member's deposit code can be confirmed.
const DepositCodeTTL = 72 * time.Hour

// depositCodeAttempts bounds the search for a code no pending code holds.
const depositCodeAttempts = 50

// CashDeposit is cash a teller or collector received for a member's savings.
type CashDeposit struct {
	CooperativeID int64
	StaffID       int64
	MemberID      int64
	Account       AccountKind // Wajib or Sukarela (Pokok allowed too)
	Amount        int64       // whole rupiah, > 0
	Key           string      // idempotency key of the operation
	Actor         string      // "staff:3"; defaults to the staff member
}

// Receipt is what a deposit tells the staff member and the member.
type Receipt struct {
	JournalID int64
	Amount    int64
	Account   AccountKind
	Balance   int64 // the member account's balance after the deposit
	Replayed  bool  // true when the key was seen before and nothing new was posted
}

// DepositCodeRequest is a member announcing a cash deposit (USSD menu 2).
type DepositCodeRequest struct {
	CooperativeID int64
	MemberID      int64
	Account       AccountKind
	Amount        int64
	Key           string // e.g. USSD (provider, session, step)
}

// DepositCode is a member's announced deposit, waiting for staff to take
// the cash and confirm it.
type DepositCode struct {
	ID         int64
	Code       string // 6 digits
	MemberID   int64
	MemberName string
	MemberNo   string
	Account    AccountKind
	Amount     int64
	ExpiresAt  time.Time
	Status     string // "pending", "confirmed" or "cancelled" (an expired code whose number was reused)
}

const journalKindDeposit = KindDeposit

func depositAccount(k AccountKind) error {
	switch k {
	case Pokok, Wajib, Sukarela:
		return nil
	}
	return fmt.Errorf("%w: cannot deposit into a %q account", ErrInvalidJournal, k)
}

func validKey(key string) error {
	if strings.TrimSpace(key) == "" || len(key) > 190 {
		return fmt.Errorf("%w: idempotency key must be 1-190 characters", ErrInvalidJournal)
	}
	return nil
}

// DepositCash posts cash a staff member received: Dr the staff member's
// cash (till or collector cash), Cr the member's savings account, and
// queues the member's SMS receipt in the same transaction. The same key
// again returns the original receipt with Replayed set.
func (l *Ledger) DepositCash(ctx context.Context, d CashDeposit) (Receipt, error) {
	if d.Amount <= 0 {
		return Receipt{}, fmt.Errorf("%w: deposit amount %d is not positive", ErrInvalidJournal, d.Amount)
	}
	if err := depositAccount(d.Account); err != nil {
		return Receipt{}, err
	}
	if err := validKey(d.Key); err != nil {
		return Receipt{}, err
	}
	actor := d.Actor
	if actor == "" {
		actor = "staff:" + strconv.FormatInt(d.StaffID, 10)
	}
	var rc Receipt
	err := l.db.InTx(ctx, func(tx *sqlx.Tx) error {
		now := l.now()
		staff, err := staffCash(ctx, tx, d.CooperativeID, d.StaffID)
		if err != nil {
			return err
		}
		m, err := depositMember(ctx, tx, d.CooperativeID, d.MemberID, d.Account)
		if err != nil {
			return err
		}
		// A retry is answered even if the staff member or the member has
		// since become inactive; a new deposit is not.
		var refuse error
		if !staff.Active {
			refuse = fmt.Errorf("staff %d is not active: %w", d.StaffID, ErrNotFound)
		} else if m.Status != "active" {
			refuse = fmt.Errorf("member %d: %w: %w", d.MemberID, ErrMemberLeft, ErrNotFound)
		}
		j := Journal{
			CooperativeID: d.CooperativeID,
			Key:           d.Key,
			Kind:          journalKindDeposit,
			Memo:          "Setoran tunai " + string(d.Account),
			Actor:         actor,
			Postings:      []Posting{{From: staff.AccountID, To: m.AccountID, Amount: d.Amount}},
		}
		rc, err = postDeposit(ctx, tx, j, refuse, m, d.Account, "sms:"+d.Key, now)
		return err
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("cash deposit %q for member %d: %w", d.Key, d.MemberID, err)
	}
	return rc, nil
}

// postDeposit posts j (one posting into the member's account m) and queues
// the receipt SMS under smsKey, unless j's key was posted before: then it
// returns the original receipt and writes nothing. refuse, if not nil, is
// returned instead of posting anything new.
func postDeposit(ctx context.Context, tx *sqlx.Tx, j Journal, refuse error, m memberAccount, kind AccountKind, smsKey string, now time.Time) (Receipt, error) {
	amount := j.Postings[0].Amount
	var prev struct {
		ID   int64  `db:"id"`
		Hash string `db:"request_hash"`
	}
	err := tx.GetContext(ctx, &prev, tx.Rebind(existingJournalSQL), j.CooperativeID, j.Key)
	switch {
	case err == nil:
		if prev.Hash != j.requestHash() {
			return Receipt{}, fmt.Errorf("journal %q: %w", j.Key, ErrIdempotencyConflict)
		}
		return replayedReceipt(ctx, tx, j.CooperativeID, prev.ID, m.AccountID, amount, kind)
	case !errors.Is(err, sql.ErrNoRows):
		return Receipt{}, fmt.Errorf("read journal %q: %w", j.Key, err)
	}
	if refuse != nil {
		return Receipt{}, refuse
	}
	id, err := PostTx(ctx, tx, j, now)
	if err != nil {
		return Receipt{}, err
	}
	// On PostgreSQL a concurrent call with the same key may have committed
	// between our look-up and PostTx, which then returned its journal. Its
	// SMS was committed with it, so the SMS row tells the two apart.
	var queued int
	if err := tx.GetContext(ctx, &queued, tx.Rebind(`SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND idem_key = ?`), j.CooperativeID, smsKey); err != nil {
		return Receipt{}, fmt.Errorf("look for the receipt sms: %w", err)
	}
	if queued > 0 {
		return replayedReceipt(ctx, tx, j.CooperativeID, id, m.AccountID, amount, kind)
	}
	var balance int64
	if err := tx.GetContext(ctx, &balance, tx.Rebind(`SELECT balance FROM accounts WHERE cooperative_id = ? AND id = ?`), j.CooperativeID, m.AccountID); err != nil {
		return Receipt{}, fmt.Errorf("read balance: %w", err)
	}
	rc := Receipt{JournalID: id, Amount: amount, Account: kind, Balance: balance}
	err = EnqueueSMS(ctx, tx, OutboxMessage{
		CooperativeID: j.CooperativeID,
		Key:           smsKey,
		Phone:         m.Phone,
		Language:      m.Language,
		Template:      TmplDepositReceipt,
		Params: map[string]string{
			"amount":  strconv.FormatInt(amount, 10),
			"account": string(kind),
			"balance": strconv.FormatInt(balance, 10),
			"ref":     strconv.FormatInt(id, 10),
		},
	}, now)
	if err != nil {
		return Receipt{}, err
	}
	return rc, nil
}

// balanceAfterJournalSQL replays a bounded account up to a journal's last
// entry on it. Entries on one bounded account are inserted while its row
// lock is held, so entry ids follow the order the balance changed in.
const balanceAfterJournalSQL = `SELECT COALESCE(SUM(CASE WHEN (e.side = 'D') = (a.normal = 'debit') THEN e.amount ELSE -e.amount END), 0)
FROM entries e JOIN accounts a ON a.cooperative_id = e.cooperative_id AND a.id = e.account_id
WHERE e.cooperative_id = ? AND e.account_id = ?
AND e.id <= (SELECT MAX(x.id) FROM entries x WHERE x.cooperative_id = ? AND x.journal_id = ? AND x.account_id = ?)`

func replayedReceipt(ctx context.Context, tx *sqlx.Tx, coopID, journalID, accountID, amount int64, kind AccountKind) (Receipt, error) {
	var balance int64
	if err := tx.GetContext(ctx, &balance, tx.Rebind(balanceAfterJournalSQL), coopID, accountID, coopID, journalID, accountID); err != nil {
		return Receipt{}, fmt.Errorf("balance after journal %d: %w", journalID, err)
	}
	return Receipt{JournalID: journalID, Amount: amount, Account: kind, Balance: balance, Replayed: true}, nil
}

type staffCashRow struct {
	AccountID int64  `db:"account_id"`
	Kind      string `db:"kind"`
	Role      string `db:"role"`
	Active    bool   `db:"active"`
}

const staffCashSQL = `SELECT a.id AS account_id, a.kind, s.role, s.active
FROM staff s JOIN accounts a ON a.cooperative_id = s.cooperative_id AND a.staff_id = s.id
WHERE s.cooperative_id = ? AND s.id = ? AND a.kind IN ('till', 'collector_cash') ORDER BY a.id`

// staffCash finds a staff member's cash account in the cooperative: the
// collector's cash for a collector, else the till (whichever exists).
func staffCash(ctx context.Context, tx *sqlx.Tx, coopID, staffID int64) (staffCashRow, error) {
	var rows []staffCashRow
	if err := tx.SelectContext(ctx, &rows, tx.Rebind(staffCashSQL), coopID, staffID); err != nil {
		return staffCashRow{}, fmt.Errorf("find cash account of staff %d: %w", staffID, err)
	}
	if len(rows) == 0 {
		return staffCashRow{}, fmt.Errorf("cash account of staff %d in cooperative %d: %w", staffID, coopID, ErrNotFound)
	}
	for _, r := range rows {
		if (r.Role == "collector") == (r.Kind == string(CollectorCash)) {
			return r, nil
		}
	}
	return rows[0], nil
}

type memberAccount struct {
	AccountID int64  `db:"account_id"`
	Kind      string `db:"kind"`
	Name      string `db:"name"`
	No        string `db:"member_no"`
	Phone     string `db:"phone"`
	Language  string `db:"language"`
	Status    string `db:"status"`
}

const depositMemberSQL = `SELECT a.id AS account_id, a.kind, m.name, m.member_no, m.phone, m.language, m.status
FROM members m JOIN accounts a ON a.cooperative_id = m.cooperative_id AND a.member_id = m.id
WHERE m.cooperative_id = ? AND m.id = ? AND a.kind = ? AND a.loan_id IS NULL`

// depositMember finds a member of the cooperative and their savings account
// of kind, with the phone and language for the SMS.
func depositMember(ctx context.Context, tx *sqlx.Tx, coopID, memberID int64, kind AccountKind) (memberAccount, error) {
	var m memberAccount
	err := tx.GetContext(ctx, &m, tx.Rebind(depositMemberSQL), coopID, memberID, string(kind))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("%s account of member %d in cooperative %d: %w", kind, memberID, coopID, ErrNotFound)
	}
	if err != nil {
		return m, fmt.Errorf("find member %d: %w", memberID, err)
	}
	return m, nil
}

type depositCodeRow struct {
	ID         int64     `db:"id"`
	Code       string    `db:"code"`
	MemberID   int64     `db:"member_id"`
	MemberName string    `db:"name"`
	MemberNo   string    `db:"member_no"`
	AccountID  int64     `db:"account_id"`
	Kind       string    `db:"kind"`
	Amount     int64     `db:"amount"`
	ExpiresAt  time.Time `db:"expires_at"`
	Status     string    `db:"status"`
}

func (r depositCodeRow) code() DepositCode {
	return DepositCode{ID: r.ID, Code: r.Code, MemberID: r.MemberID, MemberName: r.MemberName, MemberNo: r.MemberNo,
		Account: AccountKind(r.Kind), Amount: r.Amount, ExpiresAt: r.ExpiresAt.UTC(), Status: r.Status}
}

const depositCodeColumns = `SELECT d.id, d.code, d.member_id, m.name, m.member_no, d.account_id, a.kind, d.amount, d.expires_at, d.status
FROM deposit_codes d
JOIN members m ON m.cooperative_id = d.cooperative_id AND m.id = d.member_id
JOIN accounts a ON a.cooperative_id = d.cooperative_id AND a.id = d.account_id `

const depositCodeByKeySQL = depositCodeColumns + `WHERE d.cooperative_id = ? AND d.idem_key = ?`

// depositCodeByNumberSQL prefers the pending code with that number; else
// the most recent one, to say why it no longer works.
const depositCodeByNumberSQL = depositCodeColumns + `WHERE d.cooperative_id = ? AND d.code = ?
ORDER BY CASE WHEN d.status = 'pending' THEN 0 ELSE 1 END, d.id DESC LIMIT 1`

const coopPolicySQL = `SELECT max_ussd_amount, timezone FROM cooperatives WHERE id = ?`

const insertDepositCodeSQL = `INSERT INTO deposit_codes (cooperative_id, member_id, account_id, amount, code, status, expires_at, idem_key, created_at)
VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`

// releaseExpiredCodeSQL frees a code number held by an expired pending code
// so that numbers do not run out over the years.
const releaseExpiredCodeSQL = `UPDATE deposit_codes SET status = 'cancelled'
WHERE cooperative_id = ? AND code = ? AND status = 'pending' AND expires_at <= ?`

// CreateDepositCode gives a member a 6-digit code for a cash deposit they
// will hand to a teller or collector. No money moves. The code is unique
// among the cooperative's pending codes and expires after DepositCodeTTL;
// the member gets it by SMS too. The same key again returns the same code.
func (l *Ledger) CreateDepositCode(ctx context.Context, r DepositCodeRequest) (DepositCode, error) {
	if r.Amount <= 0 {
		return DepositCode{}, fmt.Errorf("%w: deposit amount %d is not positive", ErrInvalidJournal, r.Amount)
	}
	if err := depositAccount(r.Account); err != nil {
		return DepositCode{}, err
	}
	if err := validKey(r.Key); err != nil {
		return DepositCode{}, err
	}
	var dc DepositCode
	err := l.db.InTx(ctx, func(tx *sqlx.Tx) error {
		now := l.now().UTC().Truncate(time.Microsecond)
		if existing, ok, err := depositCodeByKey(ctx, tx, r); ok || err != nil {
			dc = existing
			return err
		}
		var policy struct {
			Max      int64  `db:"max_ussd_amount"`
			Timezone string `db:"timezone"`
		}
		err := tx.GetContext(ctx, &policy, tx.Rebind(coopPolicySQL), r.CooperativeID)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("cooperative %d: %w", r.CooperativeID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("read cooperative %d: %w", r.CooperativeID, err)
		}
		if r.Amount > policy.Max {
			return fmt.Errorf("%s above %s: %w", FormatRupiah(r.Amount), FormatRupiah(policy.Max), ErrAmountTooLarge)
		}
		loc, err := coopLocation(policy.Timezone)
		if err != nil {
			return err
		}
		m, err := depositMember(ctx, tx, r.CooperativeID, r.MemberID, r.Account)
		if err != nil {
			return err
		}
		if m.Status != "active" {
			return fmt.Errorf("member %d: %w: %w", r.MemberID, ErrMemberLeft, ErrNotFound)
		}
		expires := now.Add(DepositCodeTTL)
		code := ""
		for range depositCodeAttempts {
			if code == "" {
				if code, err = randomDepositCode(); err != nil {
					return err
				}
			}
			var id int64
			err = tx.GetContext(ctx, &id, tx.Rebind(insertDepositCodeSQL),
				r.CooperativeID, r.MemberID, m.AccountID, r.Amount, code, expires, r.Key, now)
			if err == nil {
				dc = DepositCode{ID: id, Code: code, MemberID: r.MemberID, MemberName: m.Name, MemberNo: m.No,
					Account: r.Account, Amount: r.Amount, ExpiresAt: expires, Status: "pending"}
				return EnqueueSMS(ctx, tx, OutboxMessage{
					CooperativeID: r.CooperativeID,
					Key:           "sms:depcode:" + strconv.FormatInt(id, 10) + ":issued",
					Phone:         m.Phone,
					Language:      m.Language,
					Template:      TmplDepositCode,
					Params: map[string]string{
						"code":    code,
						"amount":  strconv.FormatInt(r.Amount, 10),
						"account": string(r.Account),
						"expires": expires.In(loc).Format(time.RFC3339),
					},
				}, now)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("insert deposit code: %w", err)
			}
			// A conflict: either the same key was committed meanwhile (a
			// concurrent retry), or the number is held by a pending code.
			if existing, ok, err := depositCodeByKey(ctx, tx, r); ok || err != nil {
				dc = existing
				return err
			}
			// An expired pending code gives its number up and we take it at
			// once: a transaction never holds a released row while it waits
			// for another number, so concurrent creations cannot deadlock.
			res, err := tx.ExecContext(ctx, tx.Rebind(releaseExpiredCodeSQL), r.CooperativeID, code, now)
			if err != nil {
				return fmt.Errorf("release expired deposit code: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				code = ""
			}
		}
		return fmt.Errorf("no free deposit code after %d attempts", depositCodeAttempts)
	})
	if err != nil {
		return DepositCode{}, fmt.Errorf("deposit code %q for member %d: %w", r.Key, r.MemberID, err)
	}
	return dc, nil
}

// depositCodeByKey returns the code created earlier under r's key, if any;
// a different request under the same key is a conflict.
func depositCodeByKey(ctx context.Context, tx *sqlx.Tx, r DepositCodeRequest) (DepositCode, bool, error) {
	var row depositCodeRow
	err := tx.GetContext(ctx, &row, tx.Rebind(depositCodeByKeySQL), r.CooperativeID, r.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return DepositCode{}, false, nil
	}
	if err != nil {
		return DepositCode{}, false, fmt.Errorf("read deposit code %q: %w", r.Key, err)
	}
	if row.MemberID != r.MemberID || AccountKind(row.Kind) != r.Account || row.Amount != r.Amount {
		return DepositCode{}, false, fmt.Errorf("deposit code %q: %w", r.Key, ErrIdempotencyConflict)
	}
	return row.code(), true, nil
}

func randomDepositCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", fmt.Errorf("random deposit code: %w", err)
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

// normalDepositCode returns code as 6 digits, or false.
func normalDepositCode(code string) (string, bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return "", false
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return code, true
}

// LookupDepositCode shows staff what a code is for before they confirm it.
// A code that cannot be confirmed fails with ErrDepositCodeNotFound,
// ErrDepositCodeExpired or ErrDepositCodeUsed.
func (l *Ledger) LookupDepositCode(ctx context.Context, coopID int64, code string) (DepositCode, error) {
	dc, err := pendingDepositCode(ctx, l.db, coopID, code, l.now())
	if err != nil {
		return DepositCode{}, fmt.Errorf("look up deposit code: %w", err)
	}
	return dc, nil
}

// depositQueryer reads inside a transaction (*sqlx.Tx) or outside (*DB).
type depositQueryer interface {
	GetContext(ctx context.Context, dest any, query string, args ...any) error
	Rebind(query string) string
}

// pendingDepositCode returns the code if it can be confirmed at now, else
// the reason it cannot.
func pendingDepositCode(ctx context.Context, q depositQueryer, coopID int64, code string, now time.Time) (DepositCode, error) {
	code, ok := normalDepositCode(code)
	if !ok {
		return DepositCode{}, ErrDepositCodeNotFound
	}
	var row depositCodeRow
	err := q.GetContext(ctx, &row, q.Rebind(depositCodeByNumberSQL), coopID, code)
	if errors.Is(err, sql.ErrNoRows) {
		return DepositCode{}, ErrDepositCodeNotFound
	}
	if err != nil {
		return DepositCode{}, fmt.Errorf("read deposit code: %w", err)
	}
	switch {
	case row.Status == "confirmed":
		return DepositCode{}, ErrDepositCodeUsed
	case !row.ExpiresAt.After(now):
		return DepositCode{}, ErrDepositCodeExpired
	case row.Status != "pending":
		return DepositCode{}, ErrDepositCodeNotFound
	}
	return row.code(), nil
}

const confirmDepositCodeSQL = `UPDATE deposit_codes SET status = 'confirmed', confirmed_by = ?, confirmed_at = ?
WHERE cooperative_id = ? AND code = ? AND status = 'pending' AND expires_at > ?
RETURNING id, member_id, account_id, amount`

const depositCodeJournalSQL = `UPDATE deposit_codes SET journal_id = ? WHERE cooperative_id = ? AND id = ?`

const depositCodeMemberSQL = `SELECT a.id AS account_id, a.kind, m.name, m.member_no, m.phone, m.language, m.status
FROM members m JOIN accounts a ON a.cooperative_id = m.cooperative_id AND a.member_id = m.id
WHERE m.cooperative_id = ? AND m.id = ? AND a.id = ?`

// ConfirmDepositCode is staff taking the cash for a member's code: exactly
// once, the code turns confirmed and Dr the staff member's cash, Cr the
// member's account is posted, with the member's SMS receipt. A code that
// was used, has expired or does not exist is refused and nothing moves.
func (l *Ledger) ConfirmDepositCode(ctx context.Context, coopID, staffID int64, code string, actor string) (Receipt, error) {
	if actor == "" {
		actor = "staff:" + strconv.FormatInt(staffID, 10)
	}
	var rc Receipt
	err := l.db.InTx(ctx, func(tx *sqlx.Tx) error {
		now := l.now()
		staff, err := staffCash(ctx, tx, coopID, staffID)
		if err != nil {
			return err
		}
		if !staff.Active {
			return fmt.Errorf("staff %d is not active: %w", staffID, ErrNotFound)
		}
		number, ok := normalDepositCode(code)
		if !ok {
			return ErrDepositCodeNotFound
		}
		var dc struct {
			ID        int64 `db:"id"`
			MemberID  int64 `db:"member_id"`
			AccountID int64 `db:"account_id"`
			Amount    int64 `db:"amount"`
		}
		err = tx.GetContext(ctx, &dc, tx.Rebind(confirmDepositCodeSQL), staffID, now.UTC(), coopID, number, now.UTC())
		if errors.Is(err, sql.ErrNoRows) {
			// Not confirmable: say why (used, expired or unknown).
			if _, err := pendingDepositCode(ctx, tx, coopID, number, now); err != nil {
				return err
			}
			return ErrDepositCodeNotFound
		}
		if err != nil {
			return fmt.Errorf("claim deposit code: %w", err)
		}
		var m memberAccount
		if err := tx.GetContext(ctx, &m, tx.Rebind(depositCodeMemberSQL), coopID, dc.MemberID, dc.AccountID); err != nil {
			return fmt.Errorf("read member %d of deposit code %d: %w", dc.MemberID, dc.ID, err)
		}
		kind := AccountKind(m.Kind)
		ref := "depcode:" + strconv.FormatInt(dc.ID, 10)
		j := Journal{
			CooperativeID: coopID,
			Key:           ref,
			Kind:          journalKindDeposit,
			Memo:          "Setoran kode " + number + " " + m.Kind,
			Actor:         actor,
			Postings:      []Posting{{From: staff.AccountID, To: dc.AccountID, Amount: dc.Amount}},
		}
		rc, err = postDeposit(ctx, tx, j, nil, m, kind, "sms:"+ref, now)
		if err != nil {
			return err
		}
		if rc.Replayed {
			// The code was pending, yet its journal exists: never post twice.
			return fmt.Errorf("deposit code %d already has journal %d: %w", dc.ID, rc.JournalID, ErrDepositCodeUsed)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(depositCodeJournalSQL), rc.JournalID, coopID, dc.ID); err != nil {
			return fmt.Errorf("link deposit code %d to journal %d: %w", dc.ID, rc.JournalID, err)
		}
		return nil
	})
	if err != nil {
		return Receipt{}, fmt.Errorf("confirm deposit code by staff %d: %w", staffID, err)
	}
	return rc, nil
}
