package ledger_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// loanRaceEnabled reports whether the test binary was built with -race.
var loanRaceEnabled = func() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}()

// loanWITA is the cooperatives' default time zone (Asia/Makassar, UTC+8).
var loanWITA = time.FixedZone("WITA", 8*3600)

// loanClock is a settable clock for the loan tests.
type loanClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *loanClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *loanClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// loanDate is a calendar date as the ledger returns it (midnight UTC).
func loanDate(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// loanMorning is 10:00 WITA on a date: a moment on that cooperative day.
func loanMorning(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 10, 0, 0, 0, loanWITA)
}

// loanBooks is one cooperative with a member, a teller and a clock.
type loanBooks struct {
	db          *ledger.DB
	l           *ledger.Ledger
	clock       *loanClock
	c           ledgertest.Coop
	m           ledgertest.Member
	staff       int64 // a teller
	till        int64
	memberPhone string
}

func newLoanBooks(t *testing.T, db *ledger.DB, code string) *loanBooks {
	t.Helper()
	b := &loanBooks{db: db, clock: &loanClock{t: loanMorning(2026, 1, 15)}, memberPhone: "+6281234567890"}
	b.l = ledger.New(db, b.clock.Now)
	b.c = ledgertest.NewCoop(t, db, code)
	b.m = ledgertest.NewMember(t, db, b.c, "A-001", b.memberPhone)
	b.staff, b.till = loanTeller(t, db, b.c)
	return b
}

// loanTeller inserts a teller of c with a till.
func loanTeller(t testing.TB, db *ledger.DB, c ledgertest.Coop) (staffID, till int64) {
	t.Helper()
	ctx := context.Background()
	err := db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &staffID, tx.Rebind(`INSERT INTO staff (cooperative_id, name, phone, role, created_at) VALUES (?, ?, ?, 'teller', ?) RETURNING id`),
			c.ID, "Teller", "+6281300000001", time.Now().UTC()); err != nil {
			return err
		}
		var err error
		till, err = ledger.CreateAccount(ctx, tx, c.ID, ledger.Till, ledger.Owner{StaffID: staffID}, time.Now())
		return err
	})
	require.NoError(t, err)
	return staffID, till
}

// tenMillion is the DOMAIN worked example: Rp10.000.000, 1%/month flat, 12 months.
func (b *loanBooks) tenMillion(t *testing.T, no string, m ledgertest.Member) ledger.Loan {
	t.Helper()
	return b.disburse(t, no, m, 10_000_000, 100, ledger.MethodFlat, 12)
}

func (b *loanBooks) disburse(t *testing.T, no string, m ledgertest.Member, principal, rateBP int64, method ledger.Method, term int) ledger.Loan {
	t.Helper()
	loan, err := b.l.DisburseLoan(context.Background(), ledger.NewLoan{
		CooperativeID: b.c.ID, MemberID: m.ID, LoanNo: no, Principal: principal, RateBP: rateBP, Method: method,
		TermMonths: term, DisbursedOn: loanDate(2026, 1, 15), Key: "disburse:" + no, Actor: "staff:1",
	})
	require.NoError(t, err)
	return loan
}

func (b *loanBooks) fund(t *testing.T, m ledgertest.Member, key string, amount int64) {
	t.Helper()
	_, err := b.l.Post(context.Background(), deposit(b.c, m, key, amount))
	require.NoError(t, err)
}

func (b *loanBooks) repay(t *testing.T, loanID, amount int64, key string) ledger.RepaymentResult {
	t.Helper()
	res, err := b.l.Repay(context.Background(), ledger.Repayment{CooperativeID: b.c.ID, LoanID: loanID, Amount: amount,
		StaffID: b.staff, Key: key, Actor: "staff:1"})
	require.NoError(t, err, "repay %d on loan %d", amount, loanID)
	return res
}

func (b *loanBooks) balance(t *testing.T, account int64) int64 {
	t.Helper()
	v, err := b.l.Balance(context.Background(), account)
	require.NoError(t, err)
	return v
}

func (b *loanBooks) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.db.Get(&n, b.db.Rebind(query), args...), query)
	return n
}

func (b *loanBooks) installments(t *testing.T, loanID int64) []ledger.InstallmentState {
	t.Helper()
	ins, err := b.l.LoanInstallments(context.Background(), b.c.ID, loanID)
	require.NoError(t, err)
	return ins
}

// snapshot is everything a refused repayment must leave as it was.
func (b *loanBooks) snapshot(t *testing.T, loanID int64) string {
	t.Helper()
	return fmt.Sprintf("journals=%d parts=%d outbox=%d sukarela=%d installments=%v",
		b.count(t, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, b.c.ID),
		b.count(t, `SELECT COUNT(*) FROM repayment_parts WHERE cooperative_id = ?`, b.c.ID),
		b.count(t, `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ?`, b.c.ID),
		b.balance(t, b.m.Accounts[ledger.Sukarela]), b.installments(t, loanID))
}

// check verifies the books of the cooperative: the trial balance, each
// loan account against its installments, and the paid columns of every
// installment against the repayment parts recorded for it.
func (b *loanBooks) check(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	problems, err := b.l.TrialBalance(ctx, b.c.ID)
	require.NoError(t, err)
	assert.Empty(t, problems)
	var loans []struct {
		ID      int64  `db:"id"`
		Status  string `db:"status"`
		Owed    int64  `db:"owed"`
		Account int64  `db:"account"`
	}
	require.NoError(t, b.db.Select(&loans, b.db.Rebind(`SELECT l.id, l.status,
		(SELECT SUM(principal_due - principal_paid) FROM installments i WHERE i.loan_id = l.id) AS owed,
		(SELECT id FROM accounts a WHERE a.loan_id = l.id) AS account
		FROM loans l WHERE l.cooperative_id = ?`), b.c.ID))
	for _, ln := range loans {
		assert.Equal(t, ln.Owed, b.balance(t, ln.Account), "loan %d: account balance = principal still owed", ln.ID)
		if ln.Status == ledger.LoanClosed {
			assert.Zero(t, ln.Owed, "loan %d is closed", ln.ID)
		}
	}
	var mismatched int
	require.NoError(t, b.db.Get(&mismatched, b.db.Rebind(`SELECT COUNT(*) FROM installments i
		LEFT JOIN (SELECT loan_id, installment_no, SUM(penalty) AS pe, SUM(fee) AS fe, SUM(interest) AS it, SUM(principal) AS pr
			FROM repayment_parts GROUP BY loan_id, installment_no) p ON p.loan_id = i.loan_id AND p.installment_no = i.no
		WHERE i.cooperative_id = ? AND (COALESCE(p.pe, 0) <> i.penalty_paid OR COALESCE(p.fe, 0) <> i.fee_paid
			OR COALESCE(p.it, 0) <> i.interest_paid OR COALESCE(p.pr, 0) <> i.principal_paid)`), b.c.ID))
	assert.Zero(t, mismatched, "installments whose paid columns differ from their repayment parts")
}

// The DOMAIN worked example, disbursed and repaid installment by
// installment, each on its due date, to closing.
func TestLoanWorkedExampleRepaidToClosing(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		loan := b.tenMillion(t, "P-001", b.m)

		require.Len(t, loan.Schedule, 12)
		assert.Equal(t, loanDate(2026, 2, 15), loan.Schedule[0].Due, "first due one month after the disbursement")
		assert.Equal(t, loanDate(2027, 1, 15), loan.Schedule[11].Due)
		assert.Equal(t, int64(933_333), loan.Schedule[0].Total())
		assert.Equal(t, int64(933_337), loan.Schedule[11].Total(), "the rounding remainder goes to the last installment")
		assert.Equal(t, int64(10_000_000), b.balance(t, loan.AccountID))
		assert.Equal(t, int64(-10_000_000), b.balance(t, b.c.Accounts[ledger.Vault]), "cash left the vault")

		t.Run("a retry of the disbursement returns the same loan", func(t *testing.T) {
			again := b.tenMillion(t, "P-001", b.m)
			assert.Equal(t, loan.ID, again.ID)
			assert.Equal(t, loan.JournalID, again.JournalID)
			assert.Equal(t, 1, b.count(t, `SELECT COUNT(*) FROM loans WHERE cooperative_id = ?`, b.c.ID))
			assert.Equal(t, 12, b.count(t, `SELECT COUNT(*) FROM installments WHERE loan_id = ?`, loan.ID))
			assert.Equal(t, int64(10_000_000), b.balance(t, loan.AccountID))
		})
		t.Run("the same key with other terms is refused", func(t *testing.T) {
			_, err := b.l.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "P-001",
				Principal: 9_000_000, RateBP: 100, Method: ledger.MethodFlat, TermMonths: 12, DisbursedOn: loanDate(2026, 1, 15), Key: "disburse:P-001"})
			assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict)
		})
		t.Run("a loan number is used once", func(t *testing.T) {
			_, err := b.l.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "P-001",
				Principal: 9_000_000, RateBP: 100, Method: ledger.MethodFlat, TermMonths: 12, DisbursedOn: loanDate(2026, 1, 15), Key: "other"})
			assert.ErrorIs(t, err, ledger.ErrLoanNumberTaken)
		})

		outstanding := int64(10_000_000)
		for k, in := range loan.Schedule {
			b.clock.Set(loanMorning(in.Due.Year(), in.Due.Month(), in.Due.Day()))
			amount, due, err := b.l.NextInstallment(ctx, b.c.ID, loan.ID)
			require.NoError(t, err)
			assert.Equal(t, in.Total(), amount)
			assert.Equal(t, in.Due, due)

			res := b.repay(t, loan.ID, amount, fmt.Sprintf("cash:%d", k+1))
			outstanding -= in.Principal
			assert.Equal(t, []ledger.Allocation{{InstallmentNo: in.No, Interest: 100_000, Principal: in.Principal}}, res.Parts)
			assert.Zero(t, res.PrincipalPrepaid)
			assert.Equal(t, outstanding, res.Outstanding)
			assert.Equal(t, k == 11, res.Closed)
			assert.False(t, res.Replayed)
		}

		assert.Zero(t, b.balance(t, loan.AccountID))
		assert.Equal(t, int64(1_200_000), b.balance(t, b.c.Accounts[ledger.InterestIncome]))
		assert.Zero(t, b.balance(t, b.c.Accounts[ledger.PenaltyIncome]))
		assert.Equal(t, int64(11_200_000), b.balance(t, b.till), "the teller holds every installment")
		got, err := b.l.Loan(ctx, b.c.ID, loan.ID)
		require.NoError(t, err)
		assert.Equal(t, ledger.LoanClosed, got.Status)
		for _, in := range b.installments(t, loan.ID) {
			assert.Equal(t, in.Principal, in.PrincipalPaid)
			assert.Equal(t, in.Interest, in.InterestPaid)
		}
		_, err = b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 1, StaffID: b.staff, Key: "late"})
		assert.ErrorIs(t, err, ledger.ErrLoanClosed)
		_, _, err = b.l.NextInstallment(ctx, b.c.ID, loan.ID)
		assert.ErrorIs(t, err, ledger.ErrLoanClosed)

		var sms []struct {
			Phone    string `db:"phone"`
			Template string `db:"template"`
			Params   string `db:"params"`
		}
		require.NoError(t, db.Select(&sms, db.Rebind(`SELECT phone, template, params FROM outbox WHERE cooperative_id = ? AND idem_key = ?`), b.c.ID, "sms:cash:12"))
		require.Len(t, sms, 1)
		assert.Equal(t, b.memberPhone, sms[0].Phone)
		assert.Equal(t, ledger.TmplRepaymentReceipt, sms[0].Template)
		assert.JSONEq(t, fmt.Sprintf(`{"amount":"933337","loan":"P-001","outstanding":"0","ref":"%d"}`,
			b.count(t, `SELECT id FROM journals WHERE cooperative_id = ? AND idem_key = ?`, b.c.ID, "cash:12")), sms[0].Params)
		assert.Equal(t, 12, b.count(t, `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND template = 'receipt.repayment'`, b.c.ID))
		b.check(t)
	})
}

// A late installment pays denda first, then bunga, then pokok, the oldest
// installment first; the penalty is pro-rated by days late.
func TestRepayLateInstallmentAllocation(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		b.fund(t, b.m, "fund", 5_000_000)
		loan := b.tenMillion(t, "P-001", b.m)
		repay := func(amount int64, key string) ledger.RepaymentResult {
			t.Helper()
			res, err := b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loan.ID, Amount: amount, FromSukarela: true, Key: key, Actor: "member:1"})
			require.NoError(t, err)
			return res
		}

		// 2 March: installment 1 (15 February) is 15 days late, installment
		// 2 (15 March) not due. Denda: 2% a month of 933.333 for 15/30 of a
		// month = 9.333 (rounded down).
		b.clock.Set(loanMorning(2026, 3, 2))
		amount, due, err := b.l.NextInstallment(ctx, b.c.ID, loan.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(933_333+9_333), amount)
		assert.Equal(t, loanDate(2026, 2, 15), due)
		res := repay(500_000, "m1")
		assert.Equal(t, []ledger.Allocation{{InstallmentNo: 1, Penalty: 9_333, Interest: 100_000, Principal: 390_667}}, res.Parts)
		assert.Equal(t, int64(10_000_000-390_667), res.Outstanding)
		assert.Equal(t, int64(9_333), b.balance(t, b.c.Accounts[ledger.PenaltyIncome]))
		assert.Equal(t, int64(100_000), b.balance(t, b.c.Accounts[ledger.InterestIncome]))
		assert.Equal(t, int64(4_500_000), b.balance(t, b.m.Accounts[ledger.Sukarela]))

		infos, err := b.l.LoanInfo(ctx, b.c.ID, b.m.ID)
		require.NoError(t, err)
		require.Len(t, infos, 1)
		assert.Equal(t, ledger.LoanInfo{LoanID: loan.ID, LoanNo: "P-001", Principal: 10_000_000, Outstanding: 10_000_000 - 390_667,
			NextDue: loanDate(2026, 3, 15), NextAmount: 933_333,
			// The penalty on what is still unpaid (442.666 for 15 days,
			// 4.426) is less than the 9.333 already paid: nothing more.
			Arrears: 442_666, DaysLate: 15, Kolektibilitas: ledger.KolDPK, Status: ledger.LoanActive}, infos[0])

		// 1 April: installment 1 is 45 days late, installment 2 17 days.
		// Denda 1: 2% × 442.666 × 45/30 = 13.279, less the 9.333 paid = 3.946.
		// Denda 2: 2% × 933.333 × 17/30 = 10.577.
		b.clock.Set(loanMorning(2026, 4, 1))
		res = repay(1_000_000, "m2")
		assert.Equal(t, []ledger.Allocation{
			{InstallmentNo: 1, Penalty: 3_946, Principal: 442_666},
			{InstallmentNo: 2, Penalty: 10_577, Interest: 100_000, Principal: 1_000_000 - 3_946 - 442_666 - 10_577 - 100_000},
		}, res.Parts)
		assert.Zero(t, res.PrincipalPrepaid)
		ins := b.installments(t, loan.ID)
		assert.Equal(t, int64(9_333+3_946), ins[0].PenaltyPaid)
		assert.Equal(t, ins[0].Principal, ins[0].PrincipalPaid)
		assert.Equal(t, int64(442_811), ins[1].PrincipalPaid)
		assert.Equal(t, int64(9_333+3_946+10_577), b.balance(t, b.c.Accounts[ledger.PenaltyIncome]))

		t.Run("today is the cooperative's date, not UTC's", func(t *testing.T) {
			// 16:30 UTC on 14 April is 00:30 on 15 April in WITA: installment
			// 3 is due, not yet late; installment 2 is 31 days late.
			b.clock.Set(time.Date(2026, 4, 14, 16, 30, 0, 0, time.UTC))
			_, due, err := b.l.NextInstallment(ctx, b.c.ID, loan.ID)
			require.NoError(t, err)
			assert.Equal(t, loanDate(2026, 3, 15), due)
			infos, err := b.l.LoanInfo(ctx, b.c.ID, b.m.ID)
			require.NoError(t, err)
			assert.Equal(t, 31, infos[0].DaysLate)
			assert.Equal(t, loanDate(2026, 4, 15), infos[0].NextDue)
			assert.Equal(t, int64(933_333), infos[0].NextAmount)
		})
		b.check(t)
	})
}

// What is left once everything due is paid reduces the principal of the
// next installments; more than everything is refused with nothing written.
func TestRepayOverpayment(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		b.fund(t, b.m, "fund", 20_000_000)
		loan := b.tenMillion(t, "P-001", b.m)
		other := b.tenMillion(t, "P-002", b.m)
		fromSukarela := func(loanID, amount int64, key string) (ledger.RepaymentResult, error) {
			return b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loanID, Amount: amount, FromSukarela: true, Key: key})
		}

		t.Run("more than is due pays the next installment, interest first, then its principal", func(t *testing.T) {
			b.clock.Set(loanMorning(2026, 2, 15))
			res, err := fromSukarela(loan.ID, 933_333+500_000, "o1")
			require.NoError(t, err)
			assert.Equal(t, []ledger.Allocation{
				{InstallmentNo: 1, Interest: 100_000, Principal: 833_333},
				{InstallmentNo: 2, Interest: 100_000, Principal: 400_000},
			}, res.Parts)
			assert.Zero(t, res.PrincipalPrepaid)
			assert.Equal(t, int64(10_000_000-833_333-400_000), res.Outstanding)
			ins := b.installments(t, loan.ID)
			assert.Equal(t, int64(400_000), ins[1].PrincipalPaid)
			assert.Equal(t, int64(100_000), ins[1].InterestPaid)
			assert.Zero(t, ins[2].PrincipalPaid)

			b.clock.Set(loanMorning(2026, 3, 15))
			amount, _, err := b.l.NextInstallment(ctx, b.c.ID, loan.ID)
			require.NoError(t, err)
			assert.Equal(t, int64(433_333), amount, "installment 2 owes the rest of its principal")
		})

		t.Run("a payment a few days early pays the next installment", func(t *testing.T) {
			// At 23:30 WITA on 14 February installment 1 is not due yet;
			// paying it early pays its interest and principal, as it would
			// on the day (Fineract's rule), not principal only.
			b.clock.Set(time.Date(2026, 2, 14, 15, 30, 0, 0, time.UTC))
			res, err := fromSukarela(other.ID, 933_333, "early")
			require.NoError(t, err)
			assert.Equal(t, []ledger.Allocation{{InstallmentNo: 1, Interest: 100_000, Principal: 833_333}}, res.Parts)
			assert.Zero(t, res.PrincipalPrepaid)
		})

		t.Run("beyond the next installment, money reduces the principal of the ones after", func(t *testing.T) {
			b.clock.Set(time.Date(2026, 2, 14, 15, 30, 0, 0, time.UTC))
			// other's installment 1 is paid; installment 2 is the next one.
			res, err := fromSukarela(other.ID, 933_333+300_000, "ahead")
			require.NoError(t, err)
			assert.Equal(t, []ledger.Allocation{
				{InstallmentNo: 2, Interest: 100_000, Principal: 833_333},
				{InstallmentNo: 3, Principal: 300_000},
			}, res.Parts)
			assert.Equal(t, int64(300_000), res.PrincipalPrepaid)
			ins := b.installments(t, other.ID)
			assert.Zero(t, ins[2].InterestPaid, "no interest is taken ahead of time")
		})

		t.Run("more than everything owed is refused and nothing is written", func(t *testing.T) {
			b.clock.Set(loanMorning(2026, 3, 15))
			// Owed today: installment 2's 433.333; installment 3 (the next)
			// with its interest; then all future principal.
			most := int64(433_333 + 100_000 + 10_000_000 - 833_333 - 833_333)
			payoff, err := b.l.Payoff(ctx, b.c.ID, loan.ID)
			require.NoError(t, err)
			assert.Equal(t, most, payoff)
			before := b.snapshot(t, loan.ID)
			_, err = fromSukarela(loan.ID, most+1, "too-much")
			require.ErrorIs(t, err, ledger.ErrOverpayment)
			var limit *ledger.RepayLimitError
			require.ErrorAs(t, err, &limit)
			assert.Equal(t, most, limit.Max)
			assert.Equal(t, before, b.snapshot(t, loan.ID))

			res, err := fromSukarela(loan.ID, most, "settle")
			require.NoError(t, err)
			assert.True(t, res.Closed)
			assert.Zero(t, res.Outstanding)
			assert.Zero(t, b.balance(t, loan.AccountID))
			got, err := b.l.Loan(ctx, b.c.ID, loan.ID)
			require.NoError(t, err)
			assert.Equal(t, ledger.LoanClosed, got.Status)
			// Interest of installments after the next one is not owed once
			// the principal is repaid. (Both loans of this test paid theirs.)
			assert.Equal(t, int64(3*100_000+2*100_000), b.balance(t, b.c.Accounts[ledger.InterestIncome]))
		})
		b.check(t)
	})
}

func TestRepayFromSukarelaInsufficient(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		b.fund(t, b.m, "fund", 100_000)
		loan := b.tenMillion(t, "P-001", b.m)
		b.clock.Set(loanMorning(2026, 2, 15))
		before := b.snapshot(t, loan.ID)
		_, err := b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 933_333, FromSukarela: true, Key: "short"})
		assert.ErrorIs(t, err, ledger.ErrInsufficientFunds)
		assert.Equal(t, before, b.snapshot(t, loan.ID))
		assert.Equal(t, int64(100_000), b.balance(t, b.m.Accounts[ledger.Sukarela]))
		assert.Equal(t, int64(10_000_000), b.balance(t, loan.AccountID))

		t.Run("invalid requests", func(t *testing.T) {
			for name, r := range map[string]ledger.Repayment{
				"zero amount":  {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 0, FromSukarela: true, Key: "x"},
				"no source":    {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 5, Key: "x"},
				"two sources":  {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 5, FromSukarela: true, StaffID: b.staff, Key: "x"},
				"no key":       {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 5, FromSukarela: true},
				"no such loan": {CooperativeID: b.c.ID, LoanID: loan.ID + 1000, Amount: 5, FromSukarela: true, Key: "x"},
			} {
				_, err := b.l.Repay(ctx, r)
				assert.Error(t, err, name)
			}
			assert.Equal(t, before, b.snapshot(t, loan.ID))
		})
	})
}

func TestRepayIdempotent(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		loan := b.tenMillion(t, "P-001", b.m)
		other := b.tenMillion(t, "P-002", b.m)
		b.clock.Set(loanMorning(2026, 2, 15))

		first := b.repay(t, loan.ID, 1_000_000, "k1")
		installments := b.installments(t, loan.ID)
		b.clock.Set(loanMorning(2026, 3, 20)) // a retry days later still answers as then
		again := b.repay(t, loan.ID, 1_000_000, "k1")
		assert.True(t, again.Replayed)
		again.Replayed = false
		assert.Equal(t, first, again)
		assert.Equal(t, installments, b.installments(t, loan.ID), "a retry changes no installment")
		assert.Equal(t, 1, b.count(t, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ? AND kind = 'repayment'`, b.c.ID))
		assert.Equal(t, 1, b.count(t, `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND template = 'receipt.repayment'`, b.c.ID))

		for name, r := range map[string]ledger.Repayment{
			"another amount": {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 999_999, StaffID: b.staff, Key: "k1"},
			"another loan":   {CooperativeID: b.c.ID, LoanID: other.ID, Amount: 1_000_000, StaffID: b.staff, Key: "k1"},
			"another source": {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 1_000_000, FromSukarela: true, Key: "k1"},
			"another kind":   {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 1_000_000, StaffID: b.staff, Key: "disburse:P-001"},
		} {
			_, err := b.l.Repay(ctx, r)
			assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict, name)
		}

		t.Run("the retry of a closing repayment is answered, not refused", func(t *testing.T) {
			b.clock.Set(loanMorning(2026, 3, 15))
			everything, err := b.l.Payoff(ctx, b.c.ID, other.ID)
			require.NoError(t, err)
			closing := b.repay(t, other.ID, everything, "close")
			require.True(t, closing.Closed)
			replay := b.repay(t, other.ID, everything, "close")
			assert.True(t, replay.Replayed)
			assert.True(t, replay.Closed)
			assert.Equal(t, closing.JournalID, replay.JournalID)
			assert.Equal(t, closing.Parts, replay.Parts)
			assert.Equal(t, closing.PrincipalPrepaid, replay.PrincipalPrepaid)
		})

		t.Run("50 concurrent calls with one key post once", func(t *testing.T) {
			b.clock.Set(loanMorning(2026, 4, 15))
			results := make([]ledger.RepaymentResult, 50)
			errs := make([]error, 50)
			var wg sync.WaitGroup
			for i := range results {
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 700_000, StaffID: b.staff, Key: "burst"})
				}()
			}
			wg.Wait()
			fresh := 0
			for i := range results {
				require.NoError(t, errs[i])
				assert.Equal(t, results[0].JournalID, results[i].JournalID)
				assert.Equal(t, results[0].Parts, results[i].Parts)
				assert.Equal(t, results[0].Outstanding, results[i].Outstanding)
				if !results[i].Replayed {
					fresh++
				}
			}
			assert.Equal(t, 1, fresh)
			assert.Equal(t, 1, b.count(t, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ? AND idem_key = 'burst'`, b.c.ID))
			assert.Equal(t, 1, b.count(t, `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND idem_key = 'sms:burst'`, b.c.ID))
		})
		b.check(t)
	})
}

// 1,000 repayments in one cooperative at once (100 members, one loan
// each, ten repayments per loan from sukarela, 16 workers) finish without
// deadlock, and the totals are those of the schedules. (200 on SQLite
// under the race detector.)
func TestRepayConcurrentHotAccounts(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		const perLoan, workers = 10, 16
		members := 100
		if db.Dialect == ledger.SQLite && loanRaceEnabled {
			members = 20 // the race detector slows the pure-Go SQLite ~15-fold
		}
		b := newLoanBooks(t, db, "KSP1")
		// No denda here: the totals then follow the schedule alone.
		_, err := db.Exec(db.Rebind(`UPDATE cooperatives SET late_fee_bp_month = 0 WHERE id = ?`), b.c.ID)
		require.NoError(t, err)

		// Rp1.200.000 at 1% flat over 12 months: 100.000 + 12.000 a month.
		loans := make([]ledger.Loan, members)
		sukarela := make([]int64, members)
		for i := range loans {
			m := ledgertest.NewMember(t, db, b.c, fmt.Sprintf("M-%03d", i), fmt.Sprintf("+62812000%05d", i))
			b.fund(t, m, fmt.Sprintf("fund:%d", i), perLoan*112_000)
			loans[i] = b.disburse(t, fmt.Sprintf("P-%03d", i), m, 1_200_000, 100, ledger.MethodFlat, 12)
			sukarela[i] = m.Accounts[ledger.Sukarela]
		}
		b.clock.Set(loanMorning(2026, 11, 15)) // installments 1-10 are due

		type job struct {
			loan int
			key  string
		}
		jobs := make([]job, 0, len(loans)*perLoan)
		for i := range loans {
			for k := range perLoan {
				jobs = append(jobs, job{i, fmt.Sprintf("hot:%d:%d", i, k)})
			}
		}
		rand.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
		queue := make(chan job)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var failures []error
		start := time.Now()
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range queue {
					_, err := b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loans[j.loan].ID,
						Amount: 112_000, FromSukarela: true, Key: j.key})
					if err != nil {
						mu.Lock()
						failures = append(failures, err)
						mu.Unlock()
					}
				}
			}()
		}
		for _, j := range jobs {
			queue <- j
		}
		close(queue)
		wg.Wait()
		elapsed := time.Since(start)
		t.Logf("%d repayments by %d workers on %s: %v (%.0f/s)", len(jobs), workers, db.Dialect, elapsed, float64(len(jobs))/elapsed.Seconds())
		require.Empty(t, failures)

		assert.Equal(t, int64(members*perLoan*12_000), b.balance(t, b.c.Accounts[ledger.InterestIncome]))
		assert.Equal(t, members*perLoan, b.count(t, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ? AND kind = 'repayment'`, b.c.ID))
		for i, ln := range loans {
			assert.Equal(t, int64(200_000), b.balance(t, ln.AccountID), "loan %d", i)
			assert.Zero(t, b.balance(t, sukarela[i]), "member %d", i)
		}
		assert.Equal(t, members*perLoan, b.count(t, `SELECT COUNT(*) FROM installments
			WHERE cooperative_id = ? AND principal_paid = principal_due AND interest_paid = interest_due AND no <= 10`, b.c.ID))
		assert.Zero(t, b.count(t, `SELECT COUNT(*) FROM installments WHERE cooperative_id = ? AND no > 10 AND principal_paid + interest_paid > 0`, b.c.ID))
		b.check(t)
	})
}

func TestRepayReversal(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		b.fund(t, b.m, "fund", 20_000_000)
		loan := b.tenMillion(t, "P-001", b.m)
		fromSukarela := func(loanID, amount int64, key string) ledger.RepaymentResult {
			t.Helper()
			res, err := b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loanID, Amount: amount, FromSukarela: true, Key: key})
			require.NoError(t, err)
			return res
		}
		untouched := b.installments(t, loan.ID)

		b.clock.Set(loanMorning(2026, 2, 20)) // five days late: denda 2% × 933.333 × 5/30 = 3.111
		first := fromSukarela(loan.ID, 936_444, "r1")
		require.Equal(t, []ledger.Allocation{{InstallmentNo: 1, Penalty: 3_111, Interest: 100_000, Principal: 833_333}}, first.Parts)
		b.clock.Set(loanMorning(2026, 3, 15))
		fromSukarela(loan.ID, 933_333, "r2")
		afterSecond := b.installments(t, loan.ID)

		_, err := b.l.Reverse(ctx, ledger.Reversal{CooperativeID: b.c.ID, JournalID: first.JournalID, Actor: "staff:1", Reason: "posted to the wrong member"})
		require.NoError(t, err)
		ins := b.installments(t, loan.ID)
		assert.Equal(t, untouched[0], ins[0], "installment 1 is unpaid again")
		assert.Equal(t, afterSecond[1:], ins[1:], "the other repayment stands")
		assert.Equal(t, int64(10_000_000-833_333), b.balance(t, loan.AccountID))
		assert.Equal(t, int64(100_000), b.balance(t, b.c.Accounts[ledger.InterestIncome]))
		assert.Zero(t, b.balance(t, b.c.Accounts[ledger.PenaltyIncome]))
		assert.Equal(t, int64(20_000_000-933_333), b.balance(t, b.m.Accounts[ledger.Sukarela]))

		_, err = b.l.Reverse(ctx, ledger.Reversal{CooperativeID: b.c.ID, JournalID: first.JournalID, Actor: "staff:1", Reason: "again"})
		assert.ErrorIs(t, err, ledger.ErrAlreadyReversed)
		assert.Equal(t, ins, b.installments(t, loan.ID))

		t.Run("reversing the closing repayment reopens the loan", func(t *testing.T) {
			everything, err := b.l.Payoff(ctx, b.c.ID, loan.ID)
			require.NoError(t, err)
			closing := fromSukarela(loan.ID, everything, "r3")
			require.True(t, closing.Closed)
			_, err = b.l.Reverse(ctx, ledger.Reversal{CooperativeID: b.c.ID, JournalID: closing.JournalID, Actor: "staff:1", Reason: "cheque bounced"})
			require.NoError(t, err)
			got, err := b.l.Loan(ctx, b.c.ID, loan.ID)
			require.NoError(t, err)
			assert.Equal(t, ledger.LoanActive, got.Status)
			assert.Equal(t, ins, b.installments(t, loan.ID))
			infos, err := b.l.LoanInfo(ctx, b.c.ID, b.m.ID)
			require.NoError(t, err)
			assert.Equal(t, int64(10_000_000-833_333), infos[0].Outstanding)
			again := fromSukarela(loan.ID, everything, "r4")
			assert.True(t, again.Closed)
		})

		t.Run("two reversals at once undo the repayment once", func(t *testing.T) {
			other := b.tenMillion(t, "P-002", b.m)
			res := fromSukarela(other.ID, 933_333, "r5")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i := range errs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, errs[i] = b.l.Reverse(ctx, ledger.Reversal{CooperativeID: b.c.ID, JournalID: res.JournalID, Actor: "staff:1", Reason: "twice"})
				}()
			}
			wg.Wait()
			ok := 0
			for _, err := range errs {
				if err == nil {
					ok++
				} else {
					assert.ErrorIs(t, err, ledger.ErrAlreadyReversed)
				}
			}
			assert.Equal(t, 1, ok)
			for _, in := range b.installments(t, other.ID) {
				assert.Zero(t, in.PrincipalPaid+in.InterestPaid+in.PenaltyPaid)
			}
			assert.Equal(t, int64(10_000_000), b.balance(t, other.AccountID))
		})
		b.check(t)
	})
}

func TestImportRunningLoan(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		imp := ledger.ImportLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "OLD-17", Principal: 12_000_000, Outstanding: 7_000_001,
			InstallmentsPaid: 5, Method: ledger.MethodFlat, RateBP: 150, TermMonths: 12, DisbursedOn: loanDate(2025, 1, 31), Key: "sheet1:row17"}
		importTx := func(il ledger.ImportLoan) (ledger.Loan, bool, error) {
			var loan ledger.Loan
			var created bool
			err := db.InTx(ctx, func(tx *sqlx.Tx) error {
				var err error
				loan, created, err = ledger.ImportRunningLoanTx(ctx, tx, il, time.Now())
				return err
			})
			return loan, created, err
		}

		loan, created, err := importTx(imp)
		require.NoError(t, err)
		assert.True(t, created)
		require.Len(t, loan.Schedule, 7)
		var sum int64
		for k, in := range loan.Schedule {
			assert.Equal(t, 6+k, in.No, "numbered after the paid installments")
			assert.Equal(t, int64(180_000), in.Interest, "flat interest stays on the original principal")
			sum += in.Principal
		}
		assert.Equal(t, int64(7_000_001), sum)
		// The series of a loan disbursed on 31 January keeps month ends.
		assert.Equal(t, []time.Time{loanDate(2025, 7, 31), loanDate(2025, 8, 31), loanDate(2025, 9, 30), loanDate(2025, 10, 31),
			loanDate(2025, 11, 30), loanDate(2025, 12, 31), loanDate(2026, 1, 31)},
			[]time.Time{loan.Schedule[0].Due, loan.Schedule[1].Due, loan.Schedule[2].Due, loan.Schedule[3].Due,
				loan.Schedule[4].Due, loan.Schedule[5].Due, loan.Schedule[6].Due})
		assert.Equal(t, int64(7_000_001), b.balance(t, loan.AccountID))
		assert.Equal(t, int64(7_000_001), b.balance(t, b.c.Accounts[ledger.OpeningEquity]))
		assert.Equal(t, int64(7_000_001), loan.ScheduledPrincipal)

		again, created, err := importTx(imp)
		require.NoError(t, err)
		assert.False(t, created)
		assert.Equal(t, loan.ID, again.ID)
		assert.Equal(t, loan.Schedule, again.Schedule)
		assert.Equal(t, 1, b.count(t, `SELECT COUNT(*) FROM loans WHERE cooperative_id = ?`, b.c.ID))
		assert.Equal(t, 7, b.count(t, `SELECT COUNT(*) FROM installments WHERE cooperative_id = ?`, b.c.ID))
		assert.Equal(t, int64(7_000_001), b.balance(t, loan.AccountID))

		changed := imp
		changed.Outstanding = 6_000_000
		_, _, err = importTx(changed)
		assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict)
		bad := imp
		bad.Key, bad.LoanNo, bad.InstallmentsPaid = "sheet1:row18", "OLD-18", 13
		_, _, err = importTx(bad)
		assert.ErrorIs(t, err, ledger.ErrInvalidLoanTerms)

		t.Run("an imported loan repays to zero", func(t *testing.T) {
			for _, in := range loan.Schedule {
				b.clock.Set(loanMorning(in.Due.Year(), in.Due.Month(), in.Due.Day()))
				amount, _, err := b.l.NextInstallment(ctx, b.c.ID, loan.ID)
				require.NoError(t, err)
				assert.Equal(t, in.Total(), amount)
				b.repay(t, loan.ID, amount, fmt.Sprintf("imp:%d", in.No))
			}
			assert.Zero(t, b.balance(t, loan.AccountID))
			assert.Equal(t, int64(7*180_000), b.balance(t, b.c.Accounts[ledger.InterestIncome]))
		})

		t.Run("menurun and anuitas imports repay exactly the outstanding", func(t *testing.T) {
			for i, method := range []ledger.Method{ledger.MethodMenurun, ledger.MethodAnuitas} {
				il := imp
				il.Key, il.LoanNo, il.Method, il.Outstanding, il.InstallmentsPaid = fmt.Sprintf("m%d", i), fmt.Sprintf("OLD-M%d", i), method, 4_321_987, 7
				loan, created, err := importTx(il)
				require.NoError(t, err)
				assert.True(t, created)
				require.Len(t, loan.Schedule, 5)
				var sum int64
				for _, in := range loan.Schedule {
					sum += in.Principal
				}
				assert.Equal(t, int64(4_321_987), sum, method)
				assert.Equal(t, int64(64_830), loan.Schedule[0].Interest, "%s: interest on the outstanding (1.5%% of 4.321.987)", method)
			}
		})
		b.check(t)
	})
}

// Menurun and anuitas loans repaid installment by installment end at
// exactly zero, with the interest their schedules say.
func TestLoanMethodsRepayToZero(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		var wantInterest int64
		for _, method := range []ledger.Method{ledger.MethodMenurun, ledger.MethodAnuitas} {
			loan := b.disburse(t, "P-"+string(method), b.m, 5_000_003, 175, method, 10)
			for _, in := range loan.Schedule {
				wantInterest += in.Interest
				b.clock.Set(loanMorning(in.Due.Year(), in.Due.Month(), in.Due.Day()))
				amount, due, err := b.l.NextInstallment(ctx, b.c.ID, loan.ID)
				require.NoError(t, err)
				require.Equal(t, in.Total(), amount)
				require.Equal(t, in.Due, due)
				res := b.repay(t, loan.ID, amount, fmt.Sprintf("%s:%d", method, in.No))
				assert.Equal(t, in.No == 10, res.Closed)
			}
			assert.Zero(t, b.balance(t, loan.AccountID), method)
			if method == ledger.MethodAnuitas {
				assert.Equal(t, loan.Schedule[0].Total(), loan.Schedule[5].Total(), "anuitas installments are equal")
			} else {
				assert.Greater(t, loan.Schedule[0].Total(), loan.Schedule[9].Total(), "menurun installments shrink")
			}
		}
		assert.Equal(t, wantInterest, b.balance(t, b.c.Accounts[ledger.InterestIncome]))
		b.check(t)
	})
}

// What a member sees: active loans first, by number.
func TestLoanInfo(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		closed := b.disburse(t, "P-A", b.m, 1_000_000, 100, ledger.MethodFlat, 1)
		late := b.tenMillion(t, "P-C", b.m)
		current := b.tenMillion(t, "P-B", b.m)
		b.clock.Set(loanMorning(2026, 2, 15))
		b.repay(t, closed.ID, 1_010_000, "close")
		b.repay(t, current.ID, 933_333, "cur")

		b.clock.Set(loanMorning(2026, 7, 1)) // P-C's installment 1 is 136 days late
		infos, err := b.l.LoanInfo(ctx, b.c.ID, b.m.ID)
		require.NoError(t, err)
		require.Len(t, infos, 3)
		assert.Equal(t, []string{"P-B", "P-C", "P-A"}, []string{infos[0].LoanNo, infos[1].LoanNo, infos[2].LoanNo})
		assert.Equal(t, ledger.LoanInfo{LoanID: closed.ID, LoanNo: "P-A", Principal: 1_000_000, Kolektibilitas: ledger.KolLancar, Status: ledger.LoanClosed}, infos[2])
		assert.Equal(t, 136, infos[1].DaysLate)
		assert.Equal(t, ledger.KolDiragukan, infos[1].Kolektibilitas)
		assert.Equal(t, int64(10_000_000), infos[1].Outstanding)
		assert.Equal(t, loanDate(2026, 7, 15), infos[1].NextDue)
		assert.Equal(t, 108, infos[0].DaysLate, "P-B paid installment 1 only")
		assert.Equal(t, ledger.KolKurangLancar, infos[0].Kolektibilitas)
		var overdue int64
		for _, in := range late.Schedule[:5] { // due 15 Feb – 15 Jun
			days := int(loanDate(2026, 7, 1).Sub(in.Due).Hours() / 24)
			overdue += in.Total() + ledger.LateFee(in.Total(), 200, days)
		}
		assert.Equal(t, overdue, infos[1].Arrears)

		mb, err := b.l.MemberBalances(ctx, b.c.ID, b.m.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(20_000_000-833_333), mb.LoanOutstanding)
	})
}

// A loan is reachable only through its own cooperative.
func TestLoanTenancy(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		loan := b.tenMillion(t, "P-001", b.m)
		other := ledgertest.NewCoop(t, db, "KSP2")
		_, otherStaffTill := loanTeller(t, db, other)
		b.clock.Set(loanMorning(2026, 2, 15))

		_, err := b.l.Repay(ctx, ledger.Repayment{CooperativeID: other.ID, LoanID: loan.ID, Amount: 933_333, FromSukarela: true, Key: "x"})
		assert.ErrorIs(t, err, ledger.ErrNotFound)
		_, _, err = b.l.NextInstallment(ctx, other.ID, loan.ID)
		assert.ErrorIs(t, err, ledger.ErrNotFound)
		_, err = b.l.LoanInstallments(ctx, other.ID, loan.ID)
		assert.ErrorIs(t, err, ledger.ErrNotFound)
		_, err = b.l.Loan(ctx, other.ID, loan.ID)
		assert.ErrorIs(t, err, ledger.ErrNotFound)
		infos, err := b.l.LoanInfo(ctx, other.ID, b.m.ID)
		require.NoError(t, err)
		assert.Empty(t, infos)

		_, err = b.l.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: other.ID, MemberID: b.m.ID, LoanNo: "X-1", Principal: 1_000_000,
			RateBP: 100, Method: ledger.MethodFlat, TermMonths: 6, DisbursedOn: loanDate(2026, 1, 15), Key: "x1"})
		assert.ErrorIs(t, err, ledger.ErrNotFound, "a member of another cooperative")
		_, err = b.l.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "X-2", Principal: 1_000_000,
			RateBP: 100, Method: ledger.MethodFlat, TermMonths: 6, DisbursedOn: loanDate(2026, 1, 15), SourceAccount: otherStaffTill, Key: "x2"})
		assert.ErrorIs(t, err, ledger.ErrNotFound, "cash of another cooperative")
		_, err = b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 933_333, StaffID: 999_999, Key: "x3"})
		assert.ErrorIs(t, err, ledger.ErrNotFound, "a staff member of no cooperative")

		assert.Zero(t, b.count(t, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, other.ID))
		assert.Equal(t, 1, b.count(t, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, b.c.ID))
	})
}

// A loan paid out of a till needs the cash in it; a retry of a
// disbursement that raced another with the same key returns that loan.
func TestDisburseLoan(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		nl := ledger.NewLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "T-1", Principal: 2_000_000, RateBP: 150,
			Method: ledger.MethodAnuitas, TermMonths: 6, DisbursedOn: time.Date(2026, 1, 31, 9, 0, 0, 0, loanWITA),
			SourceAccount: b.till, Key: "till-1", Actor: "staff:1"}
		_, err := b.l.DisburseLoan(ctx, nl)
		assert.ErrorIs(t, err, ledger.ErrInsufficientFunds)
		assert.Zero(t, b.count(t, `SELECT COUNT(*) FROM loans WHERE cooperative_id = ?`, b.c.ID), "nothing is left behind")

		_, err = b.l.Post(ctx, ledger.Journal{CooperativeID: b.c.ID, Key: "float", Kind: "transfer",
			Postings: []ledger.Posting{{From: b.till, To: b.c.Accounts[ledger.Vault], Amount: 2_000_000}}})
		require.NoError(t, err)
		loans := make([]ledger.Loan, 10)
		errs := make([]error, 10)
		var wg sync.WaitGroup
		for i := range loans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				loans[i], errs[i] = b.l.DisburseLoan(ctx, nl)
			}()
		}
		wg.Wait()
		for i := range loans {
			require.NoError(t, errs[i])
			assert.Equal(t, loans[0].ID, loans[i].ID)
		}
		assert.Zero(t, b.balance(t, b.till))
		assert.Equal(t, loanDate(2026, 1, 31), loans[0].DisbursedOn)
		assert.Equal(t, []time.Time{loanDate(2026, 2, 28), loanDate(2026, 3, 31), loanDate(2026, 4, 30)},
			[]time.Time{loans[0].Schedule[0].Due, loans[0].Schedule[1].Due, loans[0].Schedule[2].Due}, "month ends are kept")

		_, err = b.l.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "T-2", Principal: 1,
			RateBP: 100, Method: ledger.MethodFlat, TermMonths: 1, DisbursedOn: loanDate(2026, 1, 31),
			SourceAccount: b.m.Accounts[ledger.Sukarela], Key: "bad-source"})
		assert.ErrorIs(t, err, ledger.ErrInvalidJournal, "a loan is not paid out of savings")
		_, err = b.l.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "T-3", Principal: 1_000_000,
			RateBP: 100, Method: ledger.MethodFlat, TermMonths: 3, DisbursedOn: loanDate(2026, 1, 31), FirstDue: loanDate(2026, 1, 31), Key: "bad-due"})
		assert.ErrorIs(t, err, ledger.ErrInvalidLoanTerms)
		b.check(t)
	})
}

// A disbursement cannot be reversed: the loan and its schedule would stay.
func TestDisbursementIsNotReversible(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		loan := b.tenMillion(t, "P-001", b.m)
		_, err := b.l.Reverse(ctx, ledger.Reversal{CooperativeID: b.c.ID, JournalID: loan.JournalID, Actor: "staff:1", Reason: "typo"})
		assert.ErrorIs(t, err, ledger.ErrNotReversible)
		assert.Equal(t, int64(10_000_000), b.balance(t, loan.AccountID))
	})
}

// A loan past its term with money still owed (every installment "paid" by
// count, not by amount) imports as one installment due at maturity, late.
func TestImportLoanPastItsTerm(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		b.clock.Set(loanMorning(2026, 3, 15))
		var loan ledger.Loan
		require.NoError(t, db.InTx(ctx, func(tx *sqlx.Tx) error {
			var err error
			loan, _, err = ledger.ImportRunningLoanTx(ctx, tx, ledger.ImportLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "OLD-9",
				Principal: 6_000_000, Outstanding: 500_000, InstallmentsPaid: 12, Method: ledger.MethodFlat, RateBP: 100, TermMonths: 12,
				DisbursedOn: loanDate(2025, 1, 15), Key: "old-9"}, time.Now())
			return err
		}))
		require.Len(t, loan.Schedule, 1)
		assert.Equal(t, ledger.Installment{No: 12, Due: loanDate(2026, 1, 15), Principal: 500_000}, loan.Schedule[0])
		infos, err := b.l.LoanInfo(ctx, b.c.ID, b.m.ID)
		require.NoError(t, err)
		require.Len(t, infos, 1)
		assert.Equal(t, 59, infos[0].DaysLate, "late since maturity")
		assert.Greater(t, infos[0].Arrears, int64(500_000), "arrears include denda")

		_, err = db.Exec(db.Rebind(`SELECT 1`))
		require.NoError(t, err)
		bad := ledger.ImportLoan{CooperativeID: b.c.ID, MemberID: b.m.ID, LoanNo: "OLD-10", Principal: 6_000_000, Outstanding: 500_000,
			InstallmentsPaid: 13, Method: ledger.MethodFlat, RateBP: 100, TermMonths: 12, DisbursedOn: loanDate(2025, 1, 15), Key: "old-10"}
		err = db.InTx(ctx, func(tx *sqlx.Tx) error {
			_, _, err := ledger.ImportRunningLoanTx(ctx, tx, bad, time.Now())
			return err
		})
		assert.ErrorIs(t, err, ledger.ErrInvalidLoanTerms, "more installments paid than the term has")
		report, err := b.l.Reconcile(ctx, "")
		require.NoError(t, err)
		for _, p := range report.Problems {
			assert.NotEqual(t, "loan_schedule", p.Invariant, p.String())
			assert.NotEqual(t, "loan_outstanding", p.Invariant, p.String())
		}
	})
}
