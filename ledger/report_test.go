package ledger_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

func TestDayReport(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		clock := depNewClock(time.Date(2026, 10, 1, 9, 0, 0, 0, wita))
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1") // WITA, the default
		m1 := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		m2 := ledgertest.NewMember(t, db, c, "A-002", "+6281234567891")
		ana, anaTill := depStaff(t, db, c, "Ana", "teller")
		budi, budiTill := depStaff(t, db, c, "Budi", "teller")
		mgr, _ := depStaff(t, db, c, "Maria", "manager")
		idle, _ := depStaff(t, db, c, "Idle", "teller")
		other := ledgertest.NewCoop(t, db, "KSP2")
		stranger := ledgertest.NewMember(t, db, other, "A-001", "+6281234567890")
		otherTeller, _ := depStaff(t, db, other, "Teller", "teller")
		staffActor := func(id int64) string { return "staff:" + strconv.FormatInt(id, 10) }

		deposit := func(at time.Time, staff int64, m ledgertest.Member, account ledger.AccountKind, amount int64, key string) int64 {
			t.Helper()
			clock.Set(at)
			rc, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: staff, MemberID: m.ID, Account: account, Amount: amount, Key: key})
			require.NoError(t, err)
			return rc.JournalID
		}
		loan, err := l.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: c.ID, MemberID: m1.ID, LoanNo: "P-001", Principal: 1_200_000,
			RateBP: 100, Method: ledger.MethodFlat, TermMonths: 12, DisbursedOn: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
			Key: "disburse:P-001", Actor: staffActor(mgr)})
		require.NoError(t, err)

		// The day reported is 27 November 2026 in WITA (UTC+8).
		deposit(time.Date(2026, 11, 26, 23, 59, 59, 0, wita), ana, m1, ledger.Sukarela, 1_000, "yesterday")
		deposit(time.Date(2026, 11, 27, 0, 0, 0, 0, wita), ana, m1, ledger.Sukarela, 100_000, "ana-1") // still 26 Nov in UTC
		wajib := deposit(time.Date(2026, 11, 27, 9, 0, 0, 0, wita), ana, m2, ledger.Wajib, 50_000, "ana-2")
		deposit(time.Date(2026, 11, 27, 10, 0, 0, 0, wita), budi, m2, ledger.Sukarela, 20_000, "budi-1")
		clock.Set(time.Date(2026, 11, 27, 11, 0, 0, 0, wita))
		_, err = l.Repay(ctx, ledger.Repayment{CooperativeID: c.ID, LoanID: loan.ID, Amount: 112_000, StaffID: budi, Key: "budi-repay"})
		require.NoError(t, err)
		clock.Set(time.Date(2026, 11, 27, 12, 0, 0, 0, wita))
		_, err = l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "budi-payout", Kind: "withdrawal", Actor: staffActor(budi),
			Postings: []ledger.Posting{{From: m2.Accounts[ledger.Sukarela], To: budiTill, Amount: 5_000}}})
		require.NoError(t, err)
		// A member's own transfer on USSD: the cooperative's, nobody's at the counter.
		clock.Set(time.Date(2026, 11, 27, 13, 0, 0, 0, wita))
		_, err = l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "ussd-transfer", Kind: "transfer", Actor: "member:" + strconv.FormatInt(m1.ID, 10),
			Postings: []ledger.Posting{{From: m1.Accounts[ledger.Sukarela], To: c.Accounts[ledger.Clearing], Amount: 3_000}}})
		require.NoError(t, err)
		clock.Set(time.Date(2026, 11, 27, 14, 0, 0, 0, wita))
		_, err = l.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: c.ID, MemberID: m2.ID, LoanNo: "P-002", Principal: 2_000_000,
			RateBP: 100, Method: ledger.MethodFlat, TermMonths: 12, DisbursedOn: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
			Key: "disburse:P-002", Actor: staffActor(mgr)})
		require.NoError(t, err)
		// The manager reverses Ana's wajib deposit: the cash leaves her till.
		clock.Set(time.Date(2026, 11, 27, 15, 0, 0, 0, wita))
		_, err = l.Reverse(ctx, ledger.Reversal{CooperativeID: c.ID, JournalID: wajib, Actor: staffActor(mgr), Reason: "salah anggota"})
		require.NoError(t, err)
		deposit(time.Date(2026, 11, 27, 23, 59, 59, 999_000_000, wita), budi, m1, ledger.Sukarela, 400, "budi-late")
		deposit(time.Date(2026, 11, 28, 0, 0, 0, 0, wita), ana, m1, ledger.Sukarela, 7_000, "tomorrow")
		clock.Set(time.Date(2026, 11, 27, 16, 0, 0, 0, wita))
		_, err = l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: other.ID, StaffID: otherTeller, MemberID: stranger.ID,
			Account: ledger.Sukarela, Amount: 9_000, Key: "other-1"})
		require.NoError(t, err)

		// Reported whenever it is now, for a date however it was parsed.
		clock.Set(time.Date(2026, 12, 5, 8, 0, 0, 0, wita))
		for _, day := range []time.Time{
			time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), // time.Parse(time.DateOnly, "2026-11-27")
			time.Date(2026, 11, 27, 23, 30, 0, 0, wita),
		} {
			rep, err := l.DayReport(ctx, c.ID, day)
			require.NoError(t, err)
			assert.Equal(t, c.ID, rep.CooperativeID)
			assert.True(t, rep.From.Equal(time.Date(2026, 11, 27, 0, 0, 0, 0, wita)), "from %s", rep.From)
			assert.True(t, rep.To.Equal(time.Date(2026, 11, 28, 0, 0, 0, 0, wita)), "to %s", rep.To)
			require.Len(t, rep.Staff, 3, "Ana, Budi and the manager; not the idle teller (%d)", idle)
			assert.Equal(t, ledger.StaffDay{StaffID: ana, Name: "Ana", Role: "teller", Journals: 3,
				Kinds: []ledger.KindTotal{{Kind: "deposit", Count: 2, Amount: 150_000}, {Kind: "reversal", Count: 1, Amount: 50_000}},
				Cash:  ledger.CashDay{In: 150_000, Out: 50_000, Expected: 100_000, Closing: 101_000}}, rep.Staff[0])
			assert.Equal(t, ledger.StaffDay{StaffID: budi, Name: "Budi", Role: "teller", Journals: 4,
				Kinds: []ledger.KindTotal{{Kind: "deposit", Count: 2, Amount: 20_400}, {Kind: "repayment", Count: 1, Amount: 112_000},
					{Kind: "withdrawal", Count: 1, Amount: 5_000}},
				Cash: ledger.CashDay{In: 132_400, Out: 5_000, Expected: 127_400, Closing: 127_400}}, rep.Staff[1])
			assert.Equal(t, ledger.StaffDay{StaffID: mgr, Name: "Maria", Role: "manager", Journals: 2,
				Kinds: []ledger.KindTotal{{Kind: "disbursement", Count: 1, Amount: 2_000_000}, {Kind: "reversal", Count: 1, Amount: 50_000}}},
				rep.Staff[2], "what the manager posted; no cash of theirs moved")
			assert.Equal(t, []ledger.KindTotal{
				{Kind: "deposit", Count: 4, Amount: 170_400},
				{Kind: "disbursement", Count: 1, Amount: 2_000_000},
				{Kind: "repayment", Count: 1, Amount: 112_000},
				{Kind: "reversal", Count: 1, Amount: 50_000},
				{Kind: "transfer", Count: 1, Amount: 3_000},
				{Kind: "withdrawal", Count: 1, Amount: 5_000},
			}, rep.Kinds)
			assert.Equal(t, 9, rep.Journals)
			assert.Equal(t, ledger.CashDay{In: 282_400, Out: 55_000, Expected: 227_400, Closing: 228_400}, rep.Cash)
		}
		// The closing cash is what the tills hold once the next day is
		// taken off: Ana's 7,000 of 28 November is not in it.
		assert.Equal(t, int64(108_000), depBalance(t, l, anaTill))
		assert.Equal(t, int64(127_400), depBalance(t, l, budiTill))

		t.Run("the days before and after", func(t *testing.T) {
			rep, err := l.DayReport(ctx, c.ID, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.Len(t, rep.Staff, 1)
			assert.Equal(t, ledger.StaffDay{StaffID: ana, Name: "Ana", Role: "teller", Journals: 1,
				Kinds: []ledger.KindTotal{{Kind: "deposit", Count: 1, Amount: 1_000}},
				Cash:  ledger.CashDay{In: 1_000, Expected: 1_000, Closing: 1_000}}, rep.Staff[0])
			assert.Equal(t, 1, rep.Journals)

			rep, err = l.DayReport(ctx, c.ID, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.Len(t, rep.Staff, 1)
			assert.Equal(t, ana, rep.Staff[0].StaffID)
			assert.Equal(t, ledger.CashDay{In: 7_000, Expected: 7_000, Closing: 108_000}, rep.Staff[0].Cash)
			assert.Equal(t, []ledger.KindTotal{{Kind: "deposit", Count: 1, Amount: 7_000}}, rep.Kinds)

			rep, err = l.DayReport(ctx, c.ID, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			assert.Empty(t, rep.Staff)
			assert.Empty(t, rep.Kinds)
			assert.Zero(t, rep.Journals)
			assert.Equal(t, ledger.CashDay{Closing: 235_400}, rep.Cash, "nothing moved; the tills hold what they held")
		})
		t.Run("the cooperative's own time zone decides the day", func(t *testing.T) {
			_, err := db.Exec(db.Rebind(`UPDATE cooperatives SET timezone = 'Asia/Jakarta' WHERE id = ?`), c.ID)
			require.NoError(t, err)
			defer db.Exec(db.Rebind(`UPDATE cooperatives SET timezone = 'Asia/Makassar' WHERE id = ?`), c.ID)
			// 27 Nov in WIB (UTC+7) starts an hour later: Ana's deposit at
			// midnight WITA is 26 Nov, and the one at midnight of the 28th is in.
			rep, err := l.DayReport(ctx, c.ID, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.NotEmpty(t, rep.Staff)
			assert.Equal(t, ana, rep.Staff[0].StaffID)
			assert.Equal(t, ledger.CashDay{In: 57_000, Out: 50_000, Expected: 7_000, Closing: 108_000}, rep.Staff[0].Cash)
		})
		t.Run("another cooperative", func(t *testing.T) {
			rep, err := l.DayReport(ctx, other.ID, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
			require.NoError(t, err)
			require.Len(t, rep.Staff, 1)
			assert.Equal(t, otherTeller, rep.Staff[0].StaffID)
			assert.Equal(t, []ledger.KindTotal{{Kind: "deposit", Count: 1, Amount: 9_000}}, rep.Kinds)
			assert.Equal(t, ledger.CashDay{In: 9_000, Expected: 9_000, Closing: 9_000}, rep.Cash)
			_, err = l.DayReport(ctx, 999_999, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
			assert.ErrorIs(t, err, ledger.ErrNotFound)
		})
		depBooksBalance(t, l, c.ID, other.ID)
	})
}
