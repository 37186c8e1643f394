package ledger_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// depClock is a settable clock shared by the goroutines of a test.
type depClock struct {
	mu sync.Mutex
	t  time.Time
}

func depNewClock(t time.Time) *depClock { return &depClock{t: t} }

func (c *depClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *depClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *depClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// depStaff inserts an active staff member of c with the cash account of
// their role (collector cash for a collector, a till otherwise).
func depStaff(t testing.TB, db *ledger.DB, c ledgertest.Coop, name, role string) (staffID, cashAccount int64) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	kind := ledger.Till
	if role == "collector" {
		kind = ledger.CollectorCash
	}
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &staffID, tx.Rebind(`INSERT INTO staff (cooperative_id, name, phone, role, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id`),
			c.ID, name, "+6281300000000", role, now.UTC()); err != nil {
			return err
		}
		var err error
		cashAccount, err = ledger.CreateAccount(ctx, tx, c.ID, kind, ledger.Owner{StaffID: staffID}, now)
		return err
	})
	require.NoError(t, err, "create staff %s", name)
	return staffID, cashAccount
}

type depSMS struct {
	Key      string `db:"idem_key"`
	Phone    string `db:"phone"`
	Language string `db:"language"`
	Template string `db:"template"`
	Params   string `db:"params"`
	Status   string `db:"status"`
}

// depOutbox returns the cooperative's queued SMS in order.
func depOutbox(t testing.TB, db *ledger.DB, coopID int64) []depSMS {
	t.Helper()
	var rows []depSMS
	require.NoError(t, db.Select(&rows, db.Rebind(`SELECT idem_key, phone, language, template, params, status FROM outbox WHERE cooperative_id = ? ORDER BY id`), coopID))
	return rows
}

func (s depSMS) params(t testing.TB) map[string]string {
	t.Helper()
	var p map[string]string
	require.NoError(t, json.Unmarshal([]byte(s.Params), &p))
	return p
}

func depCount(t testing.TB, db *ledger.DB, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.Get(&n, db.Rebind(query), args...), query)
	return n
}

func depBalance(t testing.TB, l *ledger.Ledger, account int64) int64 {
	t.Helper()
	b, err := l.Balance(context.Background(), account)
	require.NoError(t, err)
	return b
}

func depBooksBalance(t testing.TB, l *ledger.Ledger, coopIDs ...int64) {
	t.Helper()
	for _, id := range coopIDs {
		problems, err := l.TrialBalance(context.Background(), id)
		require.NoError(t, err)
		assert.Empty(t, problems, "trial balance of cooperative %d", id)
	}
}

var wita = time.FixedZone("WITA", 8*3600)

func TestDepositCash(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		clock := depNewClock(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC))
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		teller, till := depStaff(t, db, c, "Teller", "teller")

		rc, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID,
			Account: ledger.Sukarela, Amount: 250_000, Key: "cash-1", Actor: "staff:teller"})
		require.NoError(t, err)
		require.NotZero(t, rc.JournalID)
		assert.Equal(t, ledger.Receipt{JournalID: rc.JournalID, Amount: 250_000, Account: ledger.Sukarela, Balance: 250_000}, rc)
		assert.Equal(t, int64(250_000), depBalance(t, l, m.Accounts[ledger.Sukarela]))
		assert.Equal(t, int64(250_000), depBalance(t, l, till), "the teller's till holds the cash")

		sms := depOutbox(t, db, c.ID)
		require.Len(t, sms, 1, "exactly one SMS per deposit")
		assert.Equal(t, "sms:cash-1", sms[0].Key)
		assert.Equal(t, "+6281234567890", sms[0].Phone)
		assert.Equal(t, "id", sms[0].Language)
		assert.Equal(t, ledger.TmplDepositReceipt, sms[0].Template)
		assert.Equal(t, "queued", sms[0].Status)
		assert.Equal(t, map[string]string{"amount": "250000", "account": "sukarela", "balance": "250000",
			"ref": strconv.FormatInt(rc.JournalID, 10)}, sms[0].params(t))

		var j struct {
			Kind  string `db:"kind"`
			Actor string `db:"actor"`
		}
		require.NoError(t, db.Get(&j, db.Rebind(`SELECT kind, actor FROM journals WHERE id = ?`), rc.JournalID))
		assert.Equal(t, "deposit", j.Kind)
		assert.Equal(t, "staff:teller", j.Actor)

		t.Run("a retry returns the original receipt and changes nothing", func(t *testing.T) {
			_, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID,
				Account: ledger.Sukarela, Amount: 100_000, Key: "cash-2"})
			require.NoError(t, err)
			again, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID,
				Account: ledger.Sukarela, Amount: 250_000, Key: "cash-1"})
			require.NoError(t, err)
			want := rc
			want.Replayed = true
			assert.Equal(t, want, again, "the balance is the one after the original deposit")
			assert.Equal(t, int64(350_000), depBalance(t, l, m.Accounts[ledger.Sukarela]))
			assert.Equal(t, 2, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID))
			assert.Len(t, depOutbox(t, db, c.ID), 2)
		})
		t.Run("the same key with another request is refused", func(t *testing.T) {
			_, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID,
				Account: ledger.Sukarela, Amount: 999, Key: "cash-1"})
			assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict)
		})
		t.Run("concurrent retries post once", func(t *testing.T) {
			var wg sync.WaitGroup
			receipts := make([]ledger.Receipt, 20)
			for i := range receipts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID,
						Account: ledger.Wajib, Amount: 10_000, Key: "cash-burst"})
					assert.NoError(t, err)
					receipts[i] = r
				}()
			}
			wg.Wait()
			fresh := 0
			for _, r := range receipts {
				assert.Equal(t, receipts[0].JournalID, r.JournalID)
				assert.Equal(t, int64(10_000), r.Balance)
				if !r.Replayed {
					fresh++
				}
			}
			assert.Equal(t, 1, fresh, "one call posts, the others replay")
			assert.Equal(t, int64(10_000), depBalance(t, l, m.Accounts[ledger.Wajib]))
			assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND idem_key = ?`, c.ID, "sms:cash-burst"))
		})
		t.Run("a collector's deposit lands in collector cash, in the member's language", func(t *testing.T) {
			collector, cash := depStaff(t, db, c, "Kolektor", "collector")
			en := ledgertest.NewMember(t, db, c, "A-002", "+6281111111111")
			_, err := db.Exec(db.Rebind(`UPDATE members SET language = 'en' WHERE id = ?`), en.ID)
			require.NoError(t, err)
			r, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: collector, MemberID: en.ID,
				Account: ledger.Wajib, Amount: 75_000, Key: "col-1"})
			require.NoError(t, err)
			assert.Equal(t, int64(75_000), r.Balance)
			assert.Equal(t, int64(75_000), depBalance(t, l, cash))
			sms := depOutbox(t, db, c.ID)
			last := sms[len(sms)-1]
			assert.Equal(t, "sms:col-1", last.Key)
			assert.Equal(t, "+6281111111111", last.Phone)
			assert.Equal(t, "en", last.Language)
		})
		t.Run("refused: staff of another cooperative, inactive staff, member elsewhere, bad input", func(t *testing.T) {
			other := ledgertest.NewCoop(t, db, "KSP2")
			stranger, strangerTill := depStaff(t, db, other, "Orang Lain", "teller")
			inactive, _ := depStaff(t, db, c, "Mantan", "teller")
			_, err := db.Exec(db.Rebind(`UPDATE staff SET active = ? WHERE id = ?`), false, inactive)
			require.NoError(t, err)
			journals := depCount(t, db, `SELECT COUNT(*) FROM journals`)
			messages := depCount(t, db, `SELECT COUNT(*) FROM outbox`)
			for name, tc := range map[string]struct {
				d    ledger.CashDeposit
				want error
			}{
				"staff of another cooperative":  {ledger.CashDeposit{CooperativeID: c.ID, StaffID: stranger, MemberID: m.ID, Account: ledger.Sukarela, Amount: 5_000, Key: "x1"}, ledger.ErrNotFound},
				"member of another cooperative": {ledger.CashDeposit{CooperativeID: other.ID, StaffID: stranger, MemberID: m.ID, Account: ledger.Sukarela, Amount: 5_000, Key: "x2"}, ledger.ErrNotFound},
				"inactive staff":                {ledger.CashDeposit{CooperativeID: c.ID, StaffID: inactive, MemberID: m.ID, Account: ledger.Sukarela, Amount: 5_000, Key: "x3"}, ledger.ErrNotFound},
				"unknown staff":                 {ledger.CashDeposit{CooperativeID: c.ID, StaffID: 999_999, MemberID: m.ID, Account: ledger.Sukarela, Amount: 5_000, Key: "x4"}, ledger.ErrNotFound},
				"zero amount":                   {ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID, Account: ledger.Sukarela, Amount: 0, Key: "x5"}, ledger.ErrInvalidJournal},
				"negative amount":               {ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID, Account: ledger.Sukarela, Amount: -5_000, Key: "x6"}, ledger.ErrInvalidJournal},
				"not a savings account":         {ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID, Account: ledger.Till, Amount: 5_000, Key: "x7"}, ledger.ErrInvalidJournal},
				"no key":                        {ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID, Account: ledger.Sukarela, Amount: 5_000}, ledger.ErrInvalidJournal},
			} {
				_, err := l.DepositCash(ctx, tc.d)
				assert.ErrorIs(t, err, tc.want, name)
			}
			assert.Equal(t, journals, depCount(t, db, `SELECT COUNT(*) FROM journals`), "nothing posted")
			assert.Equal(t, messages, depCount(t, db, `SELECT COUNT(*) FROM outbox`), "nothing queued")
			assert.Zero(t, depBalance(t, l, strangerTill))
			depBooksBalance(t, l, other.ID)
		})
		t.Run("a retry is answered after the staff member or the member became inactive", func(t *testing.T) {
			leaving, _ := depStaff(t, db, c, "Pindah", "teller")
			member := ledgertest.NewMember(t, db, c, "A-003", "+6281222222222")
			d := ledger.CashDeposit{CooperativeID: c.ID, StaffID: leaving, MemberID: member.ID, Account: ledger.Sukarela, Amount: 20_000, Key: "before-leaving"}
			first, err := l.DepositCash(ctx, d)
			require.NoError(t, err)
			_, err = db.Exec(db.Rebind(`UPDATE staff SET active = ? WHERE id = ?`), false, leaving)
			require.NoError(t, err)
			_, err = db.Exec(db.Rebind(`UPDATE members SET status = 'left' WHERE id = ?`), member.ID)
			require.NoError(t, err)
			again, err := l.DepositCash(ctx, d)
			require.NoError(t, err)
			assert.True(t, again.Replayed)
			assert.Equal(t, first.JournalID, again.JournalID)
			_, err = l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: member.ID, Account: ledger.Sukarela, Amount: 20_000, Key: "after-leaving"})
			assert.ErrorIs(t, err, ledger.ErrNotFound, "no new deposit for a member who left")
			assert.Equal(t, int64(20_000), depBalance(t, l, member.Accounts[ledger.Sukarela]))
		})
		t.Run("pokok may be paid in", func(t *testing.T) {
			r, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID,
				Account: ledger.Pokok, Amount: 100_000, Key: "pokok-1"})
			require.NoError(t, err)
			assert.Equal(t, int64(100_000), r.Balance)
		})
		depBooksBalance(t, l, c.ID)
	})
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

func TestDepositCodeLifecycle(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		start := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC) // 10:00 WITA
		clock := depNewClock(start)
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		teller, till := depStaff(t, db, c, "Teller", "teller")
		other := ledgertest.NewCoop(t, db, "KSP2")
		stranger, _ := depStaff(t, db, other, "Orang Lain", "teller")

		dc, err := l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID,
			Account: ledger.Wajib, Amount: 150_000, Key: "ussd:at:s1:3"})
		require.NoError(t, err)
		assert.Regexp(t, sixDigits, dc.Code)
		assert.Equal(t, ledger.DepositCode{ID: dc.ID, Code: dc.Code, MemberID: m.ID, MemberName: "Anggota A-001", MemberNo: "A-001",
			Account: ledger.Wajib, Amount: 150_000, ExpiresAt: start.Add(ledger.DepositCodeTTL), Status: "pending"}, dc)
		assert.Equal(t, 72*time.Hour, ledger.DepositCodeTTL)
		assert.Zero(t, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID), "no money moves at creation")
		sms := depOutbox(t, db, c.ID)
		require.Len(t, sms, 1)
		assert.Equal(t, ledger.TmplDepositCode, sms[0].Template)
		assert.Equal(t, "+6281234567890", sms[0].Phone)
		assert.Equal(t, map[string]string{"code": dc.Code, "amount": "150000", "account": "wajib",
			"expires": "2026-11-30T10:00:00+08:00"}, sms[0].params(t), "expiry in the cooperative's local time")

		got, err := l.LookupDepositCode(ctx, c.ID, dc.Code)
		require.NoError(t, err)
		assert.Equal(t, dc, got)
		got, err = l.LookupDepositCode(ctx, c.ID, " "+dc.Code+" ")
		require.NoError(t, err, "surrounding spaces are ignored")
		assert.Equal(t, dc.ID, got.ID)

		t.Run("unknown, malformed and other cooperatives' codes are not found", func(t *testing.T) {
			wrong := fmt.Sprintf("%06d", (mustAtoi(t, dc.Code)+1)%1_000_000)
			for _, code := range []string{wrong, "12345", "1234567", "abcdef", ""} {
				_, err := l.LookupDepositCode(ctx, c.ID, code)
				assert.ErrorIs(t, err, ledger.ErrDepositCodeNotFound, code)
				_, err = l.ConfirmDepositCode(ctx, c.ID, teller, code, "")
				assert.ErrorIs(t, err, ledger.ErrDepositCodeNotFound, code)
			}
			_, err := l.LookupDepositCode(ctx, other.ID, dc.Code)
			assert.ErrorIs(t, err, ledger.ErrDepositCodeNotFound)
			_, err = l.ConfirmDepositCode(ctx, other.ID, stranger, dc.Code, "")
			assert.ErrorIs(t, err, ledger.ErrDepositCodeNotFound)
			_, err = l.ConfirmDepositCode(ctx, c.ID, stranger, dc.Code, "")
			assert.ErrorIs(t, err, ledger.ErrNotFound, "staff of another cooperative")
			got, err := l.LookupDepositCode(ctx, c.ID, dc.Code)
			require.NoError(t, err)
			assert.Equal(t, "pending", got.Status, "refused confirmations leave the code pending")
		})

		clock.Add(time.Hour)
		rc, err := l.ConfirmDepositCode(ctx, c.ID, teller, dc.Code, "staff:teller")
		require.NoError(t, err)
		assert.Equal(t, ledger.Receipt{JournalID: rc.JournalID, Amount: 150_000, Account: ledger.Wajib, Balance: 150_000}, rc)
		assert.Equal(t, int64(150_000), depBalance(t, l, m.Accounts[ledger.Wajib]))
		assert.Equal(t, int64(150_000), depBalance(t, l, till))
		var row struct {
			Status      string    `db:"status"`
			ConfirmedBy int64     `db:"confirmed_by"`
			JournalID   int64     `db:"journal_id"`
			ConfirmedAt time.Time `db:"confirmed_at"`
		}
		require.NoError(t, db.Get(&row, db.Rebind(`SELECT status, confirmed_by, journal_id, confirmed_at FROM deposit_codes WHERE id = ?`), dc.ID))
		assert.Equal(t, "confirmed", row.Status)
		assert.Equal(t, teller, row.ConfirmedBy)
		assert.Equal(t, rc.JournalID, row.JournalID)
		assert.True(t, row.ConfirmedAt.Equal(start.Add(time.Hour)))
		var key string
		require.NoError(t, db.Get(&key, db.Rebind(`SELECT idem_key FROM journals WHERE id = ?`), rc.JournalID))
		assert.Equal(t, "depcode:"+strconv.FormatInt(dc.ID, 10), key)

		sms = depOutbox(t, db, c.ID)
		require.Len(t, sms, 2)
		assert.Equal(t, "sms:depcode:"+strconv.FormatInt(dc.ID, 10), sms[1].Key)
		assert.Equal(t, ledger.TmplDepositReceipt, sms[1].Template)
		assert.Equal(t, "+6281234567890", sms[1].Phone)
		assert.Equal(t, map[string]string{"amount": "150000", "account": "wajib", "balance": "150000",
			"ref": strconv.FormatInt(rc.JournalID, 10)}, sms[1].params(t))

		t.Run("a used code is refused and nothing more is posted", func(t *testing.T) {
			_, err := l.LookupDepositCode(ctx, c.ID, dc.Code)
			assert.ErrorIs(t, err, ledger.ErrDepositCodeUsed)
			_, err = l.ConfirmDepositCode(ctx, c.ID, teller, dc.Code, "")
			assert.ErrorIs(t, err, ledger.ErrDepositCodeUsed)
			assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID))
			assert.Equal(t, int64(150_000), depBalance(t, l, m.Accounts[ledger.Wajib]))
			assert.Len(t, depOutbox(t, db, c.ID), 2)
		})
		t.Run("the same key returns the same code, even after it was used", func(t *testing.T) {
			again, err := l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID,
				Account: ledger.Wajib, Amount: 150_000, Key: "ussd:at:s1:3"})
			require.NoError(t, err)
			assert.Equal(t, dc.ID, again.ID)
			assert.Equal(t, dc.Code, again.Code)
			assert.Equal(t, "confirmed", again.Status)
			_, err = l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID,
				Account: ledger.Wajib, Amount: 1, Key: "ussd:at:s1:3"})
			assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict)
		})
		depBooksBalance(t, l, c.ID, other.ID)
	})
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	require.NoError(t, err)
	return n
}

func TestDepositCodeConcurrentConfirm(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		teller, till := depStaff(t, db, c, "Teller", "teller")
		collector, cash := depStaff(t, db, c, "Kolektor", "collector")
		dc, err := l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID,
			Account: ledger.Sukarela, Amount: 500_000, Key: "k1"})
		require.NoError(t, err)

		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, used := 0, 0
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				staff := teller
				if i%2 == 1 {
					staff = collector
				}
				_, err := l.ConfirmDepositCode(ctx, c.ID, staff, dc.Code, "")
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ledger.ErrDepositCodeUsed):
					used++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, 1, ok, "exactly one confirmation succeeds")
		assert.Equal(t, 19, used)
		assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID))
		assert.Equal(t, int64(500_000), depBalance(t, l, m.Accounts[ledger.Sukarela]))
		assert.Equal(t, int64(500_000), depBalance(t, l, till)+depBalance(t, l, cash))
		assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND template = ?`, c.ID, ledger.TmplDepositReceipt))
		depBooksBalance(t, l, c.ID)
	})
}

func TestDepositCodeExpired(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		start := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
		clock := depNewClock(start)
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		teller, till := depStaff(t, db, c, "Teller", "teller")
		late, err := l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID, Account: ledger.Sukarela, Amount: 40_000, Key: "late"})
		require.NoError(t, err)
		onTime, err := l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID, Account: ledger.Sukarela, Amount: 60_000, Key: "on-time"})
		require.NoError(t, err)

		clock.Set(start.Add(ledger.DepositCodeTTL - time.Second))
		_, err = l.ConfirmDepositCode(ctx, c.ID, teller, onTime.Code, "")
		require.NoError(t, err, "one second before expiry the code still works")

		for _, after := range []time.Duration{0, time.Second, 30 * 24 * time.Hour} {
			clock.Set(start.Add(ledger.DepositCodeTTL + after))
			_, err = l.LookupDepositCode(ctx, c.ID, late.Code)
			assert.ErrorIs(t, err, ledger.ErrDepositCodeExpired)
			_, err = l.ConfirmDepositCode(ctx, c.ID, teller, late.Code, "")
			assert.ErrorIs(t, err, ledger.ErrDepositCodeExpired)
			assert.NotErrorIs(t, err, ledger.ErrDepositCodeNotFound)
			assert.NotErrorIs(t, err, ledger.ErrDepositCodeUsed)
		}
		assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID), "the expired code posted nothing")
		assert.Equal(t, int64(60_000), depBalance(t, l, m.Accounts[ledger.Sukarela]))
		assert.Equal(t, int64(60_000), depBalance(t, l, till))
		assert.Equal(t, "pending", depStatus(t, db, late.ID))
		depBooksBalance(t, l, c.ID)
	})
}

func depStatus(t testing.TB, db *ledger.DB, id int64) string {
	t.Helper()
	var s string
	require.NoError(t, db.Get(&s, db.Rebind(`SELECT status FROM deposit_codes WHERE id = ?`), id))
	return s
}

func TestDepositCodeLimits(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		other := ledgertest.NewCoop(t, db, "KSP2")
		_, err := db.Exec(db.Rebind(`UPDATE cooperatives SET max_ussd_amount = ? WHERE id = ?`), 1_000_000, c.ID)
		require.NoError(t, err)

		req := func(amount int64, kind ledger.AccountKind, key string) ledger.DepositCodeRequest {
			return ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID, Account: kind, Amount: amount, Key: key}
		}
		_, err = l.CreateDepositCode(ctx, req(1_000_001, ledger.Sukarela, "big"))
		assert.ErrorIs(t, err, ledger.ErrAmountTooLarge)
		_, err = l.CreateDepositCode(ctx, req(0, ledger.Sukarela, "zero"))
		assert.ErrorIs(t, err, ledger.ErrInvalidJournal)
		_, err = l.CreateDepositCode(ctx, req(-1, ledger.Sukarela, "neg"))
		assert.ErrorIs(t, err, ledger.ErrInvalidJournal)
		_, err = l.CreateDepositCode(ctx, req(1_000, ledger.LoanPrincipal, "loan"))
		assert.ErrorIs(t, err, ledger.ErrInvalidJournal)
		_, err = l.CreateDepositCode(ctx, req(1_000, ledger.Sukarela, ""))
		assert.ErrorIs(t, err, ledger.ErrInvalidJournal)
		_, err = l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: other.ID, MemberID: m.ID, Account: ledger.Sukarela, Amount: 1_000, Key: "elsewhere"})
		assert.ErrorIs(t, err, ledger.ErrNotFound, "a member of another cooperative")
		_, err = db.Exec(db.Rebind(`UPDATE members SET status = 'left' WHERE id = ?`), m.ID)
		require.NoError(t, err)
		_, err = l.CreateDepositCode(ctx, req(1_000, ledger.Sukarela, "left"))
		assert.ErrorIs(t, err, ledger.ErrNotFound, "a member who left")
		assert.Zero(t, depCount(t, db, `SELECT COUNT(*) FROM deposit_codes`))
		assert.Zero(t, depCount(t, db, `SELECT COUNT(*) FROM outbox`))

		_, err = db.Exec(db.Rebind(`UPDATE members SET status = 'active' WHERE id = ?`), m.ID)
		require.NoError(t, err)
		dc, err := l.CreateDepositCode(ctx, req(1_000_000, ledger.Sukarela, "max"))
		require.NoError(t, err, "the limit itself is allowed")
		assert.Equal(t, int64(1_000_000), dc.Amount)
		depBooksBalance(t, l, c.ID)
	})
}

func TestDepositCodeSameKey(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		req := ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID, Account: ledger.Sukarela, Amount: 20_000, Key: "ussd:at:s9:4"}

		codes := make([]ledger.DepositCode, 20)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				dc, err := l.CreateDepositCode(ctx, req)
				assert.NoError(t, err)
				codes[i] = dc
			}()
		}
		wg.Wait()
		require.NotZero(t, codes[0].ID)
		for _, dc := range codes {
			assert.Equal(t, codes[0], dc)
		}
		assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM deposit_codes WHERE cooperative_id = ?`, c.ID))
		assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ?`, c.ID), "one SMS with the code")

		again, err := l.CreateDepositCode(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, codes[0], again)

		other, err := l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID, Account: ledger.Sukarela, Amount: 20_000, Key: "ussd:at:s9:5"})
		require.NoError(t, err)
		assert.NotEqual(t, codes[0].Code, other.Code, "another key gets another code")
		depBooksBalance(t, l, c.ID)
	})
}

// Codes are unique among a cooperative's pending codes. Many numbers are
// taken up front, half of them by codes that have expired, so creations
// collide and retry; an expired code gives its number up.
//
// On PostgreSQL a fifth of all numbers is taken, so about 40 of the 200
// creations collide. The embedded SQLite driver is pure Go and slow under
// -race, so there 1% is taken: collisions are likely but not certain, and
// the assertions that must hold whatever happens are the same.
func TestDepositCodeUniqueAmongPending(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		now := time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC)
		l := ledger.New(db, func() time.Time { return now })
		c := ledgertest.NewCoop(t, db, "KSP1")
		seed := ledgertest.NewMember(t, db, c, "SEED", "+6281200000000")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		other := ledgertest.NewCoop(t, db, "KSP2")
		om := ledgertest.NewMember(t, db, other, "A-001", "+6281234567890")

		// Every step-th number is taken: n ≡ 0 (mod 2·step) by an expired
		// pending code, n ≡ step (mod 2·step) by a live one.
		step := 100
		seedSQL := `WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + ? FROM s WHERE n + ? < 1000000)
INSERT INTO deposit_codes (cooperative_id, member_id, account_id, amount, code, status, expires_at, idem_key, created_at)
SELECT ?, ?, ?, 1000, printf('%06d', n), 'pending', CASE WHEN n % (2 * ?) = 0 THEN ? ELSE ? END, 'seed:' || n, ? FROM s`
		if db.Dialect == ledger.Postgres {
			step = 5
			seedSQL = `INSERT INTO deposit_codes (cooperative_id, member_id, account_id, amount, code, status, expires_at, idem_key, created_at)
SELECT ?, ?, ?, 1000, lpad(n::text, 6, '0'), 'pending', CASE WHEN n % (2 * ?::int) = 0 THEN ?::timestamptz ELSE ?::timestamptz END, 'seed:' || n, ?
FROM generate_series(0, 999999, ?::int) AS n`
		}
		args := []any{c.ID, seed.ID, seed.Accounts[ledger.Sukarela], step, now.Add(-time.Hour), now.Add(time.Hour), now.Add(-73 * time.Hour)}
		if db.Dialect == ledger.Postgres {
			args = append(args, step)
		} else {
			args = append([]any{step, step}, args...)
		}
		seeded := 1_000_000 / step
		_, err := db.ExecContext(ctx, db.Rebind(seedSQL), args...)
		require.NoError(t, err)
		require.Equal(t, seeded, depCount(t, db, `SELECT COUNT(*) FROM deposit_codes WHERE cooperative_id = ? AND status = 'pending'`, c.ID))

		// The other cooperative's numbers are its own: it may hold any.
		_, err = l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: other.ID, MemberID: om.ID, Account: ledger.Sukarela, Amount: 1_000, Key: "o1"})
		require.NoError(t, err)

		const workers, each = 8, 25
		var wg sync.WaitGroup
		var mu sync.Mutex
		var created []ledger.DepositCode
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					dc, err := l.CreateDepositCode(ctx, ledger.DepositCodeRequest{CooperativeID: c.ID, MemberID: m.ID,
						Account: ledger.Sukarela, Amount: 1_000, Key: fmt.Sprintf("k%d-%d", w, i)})
					if !assert.NoError(t, err) {
						return
					}
					mu.Lock()
					created = append(created, dc)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.Len(t, created, workers*each)

		assert.Zero(t, depCount(t, db, `SELECT COUNT(*) FROM (SELECT code FROM deposit_codes WHERE cooperative_id = ? AND status = 'pending'
			GROUP BY code HAVING COUNT(*) > 1) dup`, c.ID), "no two pending codes share a number")
		seen := map[string]bool{}
		reused := 0
		for _, dc := range created {
			assert.False(t, seen[dc.Code], "code %s handed out twice", dc.Code)
			seen[dc.Code] = true
			n := mustAtoi(t, dc.Code)
			assert.NotEqual(t, step, n%(2*step), "code %s is held by a live pending code", dc.Code)
			if n%(2*step) == 0 {
				reused++
				assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM deposit_codes WHERE cooperative_id = ? AND code = ? AND status = 'cancelled'`, c.ID, dc.Code),
					"the expired code %s gave its number up", dc.Code)
			}
			got, err := l.LookupDepositCode(ctx, c.ID, dc.Code)
			require.NoError(t, err)
			assert.Equal(t, dc.ID, got.ID)
		}
		t.Logf("%d of %d new codes took the number of an expired code", reused, len(created))
		if db.Dialect == ledger.Postgres {
			assert.Positive(t, reused, "some numbers of expired codes were reused")
		}
		assert.Equal(t, seeded-reused+workers*each, depCount(t, db, `SELECT COUNT(*) FROM deposit_codes WHERE cooperative_id = ? AND status = 'pending'`, c.ID))

		_, err = l.LookupDepositCode(ctx, c.ID, fmt.Sprintf("%06d", step))
		assert.NoError(t, err, "a live seeded code")
		for n := 0; n < 1_000_000; n += 2 * step {
			if code := fmt.Sprintf("%06d", n); !seen[code] {
				_, err = l.LookupDepositCode(ctx, c.ID, code)
				assert.ErrorIs(t, err, ledger.ErrDepositCodeExpired, "an expired seeded code")
				break
			}
		}
		assert.Zero(t, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID))
		depBooksBalance(t, l, c.ID, other.ID)
	})
}

// TestWhenWriteStarts: a posting tells the context's function once the
// database has opened its transaction, before it writes; an error from the
// function abandons the posting with nothing written.
func TestWhenWriteStarts(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		l := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		teller, _ := depStaff(t, db, c, "Teller", "teller")
		deposit := func(ctx context.Context, key string) error {
			_, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID,
				Account: ledger.Sukarela, Amount: 10_000, Key: key, Actor: "staff:teller"})
			return err
		}
		calls := 0
		ok := ledger.WhenWriteStarts(context.Background(), func() error { calls++; return nil })
		require.NoError(t, deposit(ok, "w-1"))
		assert.Equal(t, 1, calls, "told once, when the transaction was open")

		refused := errors.New("the hop was already answered")
		no := ledger.WhenWriteStarts(context.Background(), func() error { return refused })
		assert.ErrorIs(t, deposit(no, "w-2"), refused)
		assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID), "nothing posted")
		assert.Len(t, depOutbox(t, db, c.ID), 1, "no SMS queued")
		_, err := l.Repay(no, ledger.Repayment{CooperativeID: c.ID, Key: "r-1"})
		assert.ErrorIs(t, err, refused, "a repayment is abandoned the same way")
	})
}
