package ledger_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// stmtLoan inserts a loan of m and its principal account. withMember says
// whether the account also carries the member id.
func stmtLoan(t testing.TB, db *ledger.DB, c ledgertest.Coop, m ledgertest.Member, no string, withMember bool) int64 {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	var account int64
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		var loanID int64
		if err := tx.GetContext(ctx, &loanID, tx.Rebind(`INSERT INTO loans (cooperative_id, member_id, loan_no, principal, rate_bp_month, method, term_months, disbursed_on, scheduled_principal, created_at)
VALUES (?, ?, ?, 2000000, 100, 'flat', 12, ?, 2000000, ?) RETURNING id`), c.ID, m.ID, no, now.UTC(), now.UTC()); err != nil {
			return err
		}
		owner := ledger.Owner{LoanID: loanID}
		if withMember {
			owner.MemberID = m.ID
		}
		var err error
		account, err = ledger.CreateAccount(ctx, tx, c.ID, ledger.LoanPrincipal, owner, now)
		return err
	})
	require.NoError(t, err)
	return account
}

type stmtWant struct {
	Kind    string
	Account ledger.AccountKind
	Amount  int64
}

func stmtShape(lines []ledger.StatementLine) []stmtWant {
	out := make([]stmtWant, len(lines))
	for i, l := range lines {
		out[i] = stmtWant{string(l.Kind), l.Account, l.Amount}
	}
	return out
}

func TestStatement(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		clock := depNewClock(time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC))
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		neighbour := ledgertest.NewMember(t, db, c, "A-002", "+6281234567890")
		other := ledgertest.NewCoop(t, db, "KSP2")
		stranger := ledgertest.NewMember(t, db, other, "A-001", "+6281234567890")
		teller, _ := depStaff(t, db, c, "Teller", "teller")
		otherTeller, _ := depStaff(t, db, other, "Teller", "teller")
		loan := stmtLoan(t, db, c, m, "L-1", true)
		loanWithoutMember := stmtLoan(t, db, c, m, "L-2", false)

		var mine []int64
		post := func(j ledger.Journal) int64 {
			t.Helper()
			clock.Add(time.Minute)
			id, err := l.Post(ctx, j)
			require.NoError(t, err)
			return id
		}
		noise := func(i int) {
			t.Helper()
			clock.Add(time.Minute)
			_, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: neighbour.ID, Account: ledger.Sukarela, Amount: 7_000, Key: fmt.Sprintf("n%d", i)})
			require.NoError(t, err)
			_, err = l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: other.ID, StaffID: otherTeller, MemberID: stranger.ID, Account: ledger.Sukarela, Amount: 9_000, Key: fmt.Sprintf("n%d", i)})
			require.NoError(t, err)
		}

		mine = append(mine, post(ledger.Journal{CooperativeID: c.ID, Key: "open", Kind: "opening", Memo: "saldo awal",
			Postings: []ledger.Posting{{From: c.Accounts[ledger.OpeningEquity], To: m.Accounts[ledger.Sukarela], Amount: 1_000_000}}}))
		noise(1)
		clock.Add(time.Minute)
		rc, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID, Account: ledger.Wajib, Amount: 50_000, Key: "wajib-nov"})
		require.NoError(t, err)
		mine = append(mine, rc.JournalID)
		mine = append(mine, post(ledger.Journal{CooperativeID: c.ID, Key: "disb-1", Kind: "disbursement",
			Postings: []ledger.Posting{{From: loan, To: c.Accounts[ledger.Vault], Amount: 2_000_000}}}))
		noise(2)
		mine = append(mine, post(ledger.Journal{CooperativeID: c.ID, Key: "disb-2", Kind: "disbursement",
			Postings: []ledger.Posting{{From: loanWithoutMember, To: c.Accounts[ledger.Vault], Amount: 500_000}}}))
		// One repayment from sukarela, split into principal and interest:
		// one line per account, the sukarela line netted.
		mine = append(mine, post(ledger.Journal{CooperativeID: c.ID, Key: "repay-1", Kind: "repayment", Memo: "angsuran 1",
			Postings: []ledger.Posting{
				{From: m.Accounts[ledger.Sukarela], To: c.Accounts[ledger.InterestIncome], Amount: 20_000},
				{From: m.Accounts[ledger.Sukarela], To: loan, Amount: 150_000},
			}}))
		withdrawal := post(ledger.Journal{CooperativeID: c.ID, Key: "wd-1", Kind: "withdrawal",
			Postings: []ledger.Posting{{From: m.Accounts[ledger.Sukarela], To: c.Accounts[ledger.Clearing], Amount: 30_000}}})
		mine = append(mine, withdrawal)
		noise(3)
		clock.Add(time.Minute)
		reversal, err := l.Reverse(ctx, ledger.Reversal{CooperativeID: c.ID, JournalID: withdrawal, Actor: "staff:1", Reason: "salah input"})
		require.NoError(t, err)
		mine = append(mine, reversal)

		lines, err := l.Statement(ctx, c.ID, m.ID, 50)
		require.NoError(t, err)
		assert.Equal(t, []stmtWant{
			{"reversal", ledger.Sukarela, 30_000},
			{"withdrawal", ledger.Sukarela, -30_000},
			{"repayment", ledger.Sukarela, -170_000},
			{"repayment", ledger.LoanPrincipal, -150_000},
			{"disbursement", ledger.LoanPrincipal, 500_000},
			{"disbursement", ledger.LoanPrincipal, 2_000_000},
			{"deposit", ledger.Wajib, 50_000},
			{"opening", ledger.Sukarela, 1_000_000},
		}, stmtShape(lines))
		require.Len(t, lines, 8)
		assert.Equal(t, reversal, lines[0].JournalID)
		assert.Equal(t, lines[2].JournalID, lines[3].JournalID, "one journal, two accounts")
		assert.Equal(t, "angsuran 1", lines[2].Memo)
		assert.Equal(t, "saldo awal", lines[7].Memo)
		assert.Equal(t, time.Date(2026, 11, 1, 1, 1, 0, 0, time.UTC), lines[7].At)
		for i := 1; i < len(lines); i++ {
			assert.False(t, lines[i].At.After(lines[i-1].At), "newest first")
		}
		for _, line := range lines {
			assert.Contains(t, mine, line.JournalID, "only the member's own journals")
		}

		t.Run("the last n", func(t *testing.T) {
			lines, err := l.Statement(ctx, c.ID, m.ID, 3)
			require.NoError(t, err)
			assert.Equal(t, []stmtWant{
				{"reversal", ledger.Sukarela, 30_000},
				{"withdrawal", ledger.Sukarela, -30_000},
				{"repayment", ledger.Sukarela, -170_000},
			}, stmtShape(lines))
			lines, err = l.Statement(ctx, c.ID, m.ID, 0)
			require.NoError(t, err)
			assert.Empty(t, lines)
		})
		t.Run("tenancy", func(t *testing.T) {
			lines, err := l.Statement(ctx, other.ID, m.ID, 50)
			require.NoError(t, err)
			assert.Empty(t, lines, "a member is not read through another cooperative")
			lines, err = l.Statement(ctx, other.ID, stranger.ID, 50)
			require.NoError(t, err)
			assert.Len(t, lines, 3)
			for _, line := range lines {
				assert.Equal(t, int64(9_000), line.Amount)
				assert.NotContains(t, mine, line.JournalID)
			}
			lines, err = l.Statement(ctx, c.ID, neighbour.ID, 50)
			require.NoError(t, err)
			assert.Len(t, lines, 3)
			for _, line := range lines {
				assert.Equal(t, int64(7_000), line.Amount)
			}
		})
		t.Run("at most 50 lines", func(t *testing.T) {
			for i := range 60 {
				post(ledger.Journal{CooperativeID: c.ID, Key: fmt.Sprintf("bulk-%d", i), Kind: "opening",
					Postings: []ledger.Posting{{From: c.Accounts[ledger.OpeningEquity], To: m.Accounts[ledger.Sukarela], Amount: int64(i + 1)}}})
			}
			lines, err := l.Statement(ctx, c.ID, m.ID, 1000)
			require.NoError(t, err)
			require.Len(t, lines, ledger.StatementMax)
			assert.Equal(t, 50, ledger.StatementMax)
			assert.Equal(t, int64(60), lines[0].Amount, "newest first")
			assert.Equal(t, int64(11), lines[49].Amount)
		})
		depBooksBalance(t, l, c.ID, other.ID)
	})
}

func TestStaffCashToday(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		clock := depNewClock(time.Time{})
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		teller, till := depStaff(t, db, c, "Teller", "teller")
		collector, _ := depStaff(t, db, c, "Kolektor", "collector")
		other := ledgertest.NewCoop(t, db, "KSP2")
		otherTeller, _ := depStaff(t, db, other, "Teller", "teller")

		// Today is 27 November 2026 in WITA (UTC+8): 26 Nov 16:00 UTC up to
		// 27 Nov 16:00 UTC.
		deposit := func(at time.Time, staff int64, amount int64, key string) {
			t.Helper()
			clock.Set(at)
			_, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: staff, MemberID: m.ID, Account: ledger.Sukarela, Amount: amount, Key: key})
			require.NoError(t, err)
		}
		deposit(time.Date(2026, 11, 26, 23, 59, 59, 0, wita), teller, 1, "yesterday-late")
		deposit(time.Date(2026, 11, 27, 0, 0, 0, 0, wita), teller, 10, "today-midnight") // still 26 Nov in UTC
		deposit(time.Date(2026, 11, 27, 11, 0, 0, 0, wita), teller, 100, "today-noon")
		deposit(time.Date(2026, 11, 27, 11, 5, 0, 0, wita), collector, 5_000, "collector-noon")
		deposit(time.Date(2026, 11, 27, 23, 59, 59, 0, wita), teller, 1_000, "today-late")
		deposit(time.Date(2026, 11, 28, 0, 0, 0, 0, wita), teller, 10_000, "tomorrow")
		// Cash paid out of the till today is not cash received.
		clock.Set(time.Date(2026, 11, 27, 12, 0, 0, 0, wita))
		_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "payout", Kind: "withdrawal",
			Postings: []ledger.Posting{{From: m.Accounts[ledger.Sukarela], To: till, Amount: 50}}})
		require.NoError(t, err)

		for _, now := range []time.Time{
			time.Date(2026, 11, 27, 0, 0, 0, 0, wita),
			time.Date(2026, 11, 27, 0, 30, 0, 0, wita), // 26 Nov in UTC
			time.Date(2026, 11, 27, 16, 0, 0, 0, wita),
			time.Date(2026, 11, 27, 23, 59, 59, 999_999_999, wita),
		} {
			clock.Set(now)
			n, total, err := l.StaffCashToday(ctx, c.ID, teller)
			require.NoError(t, err)
			assert.Equal(t, 3, n, "at %s", now)
			assert.Equal(t, int64(1_110), total, "at %s", now)
			n, total, err = l.StaffCashToday(ctx, c.ID, collector)
			require.NoError(t, err)
			assert.Equal(t, 1, n)
			assert.Equal(t, int64(5_000), total)
		}

		clock.Set(time.Date(2026, 11, 28, 8, 0, 0, 0, wita))
		n, total, err := l.StaffCashToday(ctx, c.ID, teller)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		assert.Equal(t, int64(10_000), total)

		t.Run("the cooperative's own time zone decides the day", func(t *testing.T) {
			_, err := db.Exec(db.Rebind(`UPDATE cooperatives SET timezone = 'Asia/Jakarta' WHERE id = ?`), c.ID)
			require.NoError(t, err)
			defer db.Exec(db.Rebind(`UPDATE cooperatives SET timezone = 'Asia/Makassar' WHERE id = ?`), c.ID)
			// 27 Nov in WIB (UTC+7) is 26 Nov 17:00 UTC up to 27 Nov 17:00 UTC.
			clock.Set(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
			n, total, err := l.StaffCashToday(ctx, c.ID, teller)
			require.NoError(t, err)
			assert.Equal(t, 3, n)
			assert.Equal(t, int64(11_100), total)
		})
		t.Run("staff of another cooperative or nobody", func(t *testing.T) {
			_, _, err := l.StaffCashToday(ctx, c.ID, otherTeller)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			_, _, err = l.StaffCashToday(ctx, c.ID, 999_999)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			n, total, err := l.StaffCashToday(ctx, other.ID, otherTeller)
			require.NoError(t, err)
			assert.Zero(t, n)
			assert.Zero(t, total)
		})
		depBooksBalance(t, l, c.ID, other.ID)
	})
}
