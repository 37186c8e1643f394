package ledger_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// apiReconciled runs Reconcile for the cooperative with code and wants no
// problem.
func apiReconciled(t *testing.T, l *ledger.Ledger, code string) {
	t.Helper()
	rep, err := l.Reconcile(context.Background(), code)
	require.NoError(t, err)
	assert.True(t, rep.OK, "reconcile %s: %v", code, rep.Problems)
}

func TestDepositTransfer(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		clock := depNewClock(time.Date(2026, 11, 27, 2, 0, 0, 0, time.UTC))
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		other := ledgertest.NewCoop(t, db, "KSP2")
		transfer := func(key string, kind ledger.AccountKind, amount int64, note string) ledger.TransferDeposit {
			return ledger.TransferDeposit{CooperativeID: c.ID, MemberID: m.ID, Account: kind, Amount: amount, Note: note, Key: key, Actor: "token:7"}
		}

		rc, err := l.DepositTransfer(ctx, transfer("tr-1", ledger.Sukarela, 250_000, "  BRI 0042 ref 9981  "))
		require.NoError(t, err)
		require.NotZero(t, rc.JournalID)
		assert.Equal(t, ledger.Receipt{JournalID: rc.JournalID, Amount: 250_000, Account: ledger.Sukarela, Balance: 250_000}, rc)
		assert.Equal(t, int64(250_000), depBalance(t, l, m.Accounts[ledger.Sukarela]))
		assert.Equal(t, int64(250_000), depBalance(t, l, c.Accounts[ledger.Clearing]), "the money is in the bank, waiting in clearing")

		sms := depOutbox(t, db, c.ID)
		require.Len(t, sms, 1, "the member's receipt is queued with the deposit")
		assert.Equal(t, "sms:tr-1", sms[0].Key)
		assert.Equal(t, "+6281234567890", sms[0].Phone)
		assert.Equal(t, ledger.TmplDepositReceipt, sms[0].Template)
		assert.Equal(t, map[string]string{"amount": "250000", "account": "sukarela", "balance": "250000",
			"ref": strconv.FormatInt(rc.JournalID, 10)}, sms[0].params(t))

		j, err := l.Journal(ctx, c.ID, rc.JournalID)
		require.NoError(t, err)
		assert.Equal(t, "deposit", j.Kind)
		assert.Equal(t, "Setoran transfer sukarela: BRI 0042 ref 9981", j.Memo, "the note is trimmed")
		assert.Equal(t, "token:7", j.Actor)
		assert.Equal(t, []ledger.EntryView{
			{AccountID: c.Accounts[ledger.Clearing], Kind: ledger.Clearing, Side: "debit", Amount: 250_000},
			{AccountID: m.Accounts[ledger.Sukarela], Kind: ledger.Sukarela, MemberID: m.ID, MemberNo: "A-001", Side: "credit", Amount: 250_000},
		}, j.Entries)

		t.Run("without a note", func(t *testing.T) {
			rc, err := l.DepositTransfer(ctx, transfer("tr-2", ledger.Wajib, 50_000, " "))
			require.NoError(t, err)
			j, err := l.Journal(ctx, c.ID, rc.JournalID)
			require.NoError(t, err)
			assert.Equal(t, "Setoran transfer wajib", j.Memo)
		})
		t.Run("a retry returns the original receipt and changes nothing", func(t *testing.T) {
			journals, outbox := depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID), len(depOutbox(t, db, c.ID))
			again, err := l.DepositTransfer(ctx, transfer("tr-1", ledger.Sukarela, 250_000, "BRI 0042 ref 9981"))
			require.NoError(t, err)
			want := rc
			want.Replayed = true
			assert.Equal(t, want, again)
			assert.Equal(t, journals, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID))
			assert.Len(t, depOutbox(t, db, c.ID), outbox)
			assert.Equal(t, int64(250_000), depBalance(t, l, m.Accounts[ledger.Sukarela]))
		})
		t.Run("concurrent retries post once", func(t *testing.T) {
			receipts := make([]ledger.Receipt, 20)
			var wg sync.WaitGroup
			for i := range receipts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := l.DepositTransfer(ctx, transfer("tr-burst", ledger.Pokok, 100_000, "pokok"))
					assert.NoError(t, err)
					receipts[i] = r
				}()
			}
			wg.Wait()
			fresh := 0
			for _, r := range receipts {
				assert.Equal(t, receipts[0].JournalID, r.JournalID)
				assert.Equal(t, int64(100_000), r.Balance)
				if !r.Replayed {
					fresh++
				}
			}
			assert.Equal(t, 1, fresh, "one call posts, the others replay")
			assert.Equal(t, int64(100_000), depBalance(t, l, m.Accounts[ledger.Pokok]))
			assert.Equal(t, 1, depCount(t, db, `SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND idem_key = ?`, c.ID, "sms:tr-burst"))
		})
		t.Run("the same key with another request is refused", func(t *testing.T) {
			for name, d := range map[string]ledger.TransferDeposit{
				"another amount":  transfer("tr-1", ledger.Sukarela, 250_001, "BRI 0042 ref 9981"),
				"another account": transfer("tr-1", ledger.Wajib, 250_000, "BRI 0042 ref 9981"),
				"another note":    transfer("tr-1", ledger.Sukarela, 250_000, "BRI 0043"),
			} {
				_, err := l.DepositTransfer(ctx, d)
				assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict, name)
			}
			teller, _ := depStaff(t, db, c, "Teller", "teller")
			_, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID, Account: ledger.Sukarela, Amount: 250_000, Key: "tr-1"})
			assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict, "cash under a transfer's key")
		})
		t.Run("invalid requests post nothing", func(t *testing.T) {
			before := depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID)
			noActor := transfer("bad-actor", ledger.Sukarela, 1_000, "")
			noActor.Actor = " "
			for name, d := range map[string]ledger.TransferDeposit{
				"zero amount":        transfer("bad-1", ledger.Sukarela, 0, ""),
				"negative amount":    transfer("bad-2", ledger.Sukarela, -5, ""),
				"a loan account":     transfer("bad-3", ledger.LoanPrincipal, 1_000, ""),
				"clearing itself":    transfer("bad-4", ledger.Clearing, 1_000, ""),
				"no key":             transfer(" ", ledger.Sukarela, 1_000, ""),
				"a key too long":     transfer(strings.Repeat("k", 191), ledger.Sukarela, 1_000, ""),
				"no actor":           noActor,
				"a note too long":    transfer("bad-5", ledger.Sukarela, 1_000, strings.Repeat("é", ledger.MaxTransferNote+1)),
				"a NUL in the note":  transfer("bad-6", ledger.Sukarela, 1_000, "ref\x00 9981"),
				"invalid UTF-8 note": transfer("bad-7", ledger.Sukarela, 1_000, "ref \xff"),
			} {
				_, err := l.DepositTransfer(ctx, d)
				assert.ErrorIs(t, err, ledger.ErrInvalidJournal, name)
			}
			assert.Equal(t, before, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, c.ID))
			rc, err := l.DepositTransfer(ctx, transfer("note-140", ledger.Sukarela, 1_000, strings.Repeat("é", ledger.MaxTransferNote)))
			require.NoError(t, err, "a note of exactly 140 characters")
			j, err := l.Journal(ctx, c.ID, rc.JournalID)
			require.NoError(t, err)
			assert.Equal(t, "Setoran transfer sukarela: "+strings.Repeat("é", ledger.MaxTransferNote), j.Memo)
		})
		t.Run("tenancy", func(t *testing.T) {
			d := transfer("x-1", ledger.Sukarela, 1_000, "")
			d.CooperativeID = other.ID
			_, err := l.DepositTransfer(ctx, d)
			assert.ErrorIs(t, err, ledger.ErrNotFound, "a member through another cooperative")
			d = transfer("x-2", ledger.Sukarela, 1_000, "")
			d.MemberID = 999_999
			_, err = l.DepositTransfer(ctx, d)
			assert.ErrorIs(t, err, ledger.ErrNotFound, "nobody")
			d.CooperativeID, d.MemberID = 999_999, m.ID
			_, err = l.DepositTransfer(ctx, d)
			assert.ErrorIs(t, err, ledger.ErrNotFound, "no cooperative")
			assert.Zero(t, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ?`, other.ID))
			assert.Zero(t, depBalance(t, l, other.Accounts[ledger.Clearing]))
		})
		t.Run("a member who left", func(t *testing.T) {
			_, err := db.Exec(db.Rebind(`UPDATE members SET status = 'left' WHERE id = ?`), m.ID)
			require.NoError(t, err)
			defer db.Exec(db.Rebind(`UPDATE members SET status = 'active' WHERE id = ?`), m.ID)
			_, err = l.DepositTransfer(ctx, transfer("after-leaving", ledger.Sukarela, 1_000, ""))
			assert.ErrorIs(t, err, ledger.ErrMemberLeft)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			assert.Zero(t, depCount(t, db, `SELECT COUNT(*) FROM journals WHERE cooperative_id = ? AND idem_key = 'after-leaving'`, c.ID))
			again, err := l.DepositTransfer(ctx, transfer("tr-1", ledger.Sukarela, 250_000, "BRI 0042 ref 9981"))
			require.NoError(t, err, "a retry of a deposit made before is still answered")
			assert.True(t, again.Replayed)
		})
		t.Run("statements and reconcile see it", func(t *testing.T) {
			lines, err := l.Statement(ctx, c.ID, m.ID, 50)
			require.NoError(t, err)
			require.NotEmpty(t, lines)
			assert.Equal(t, ledger.KindDeposit, lines[len(lines)-1].Kind)
			assert.Equal(t, rc.JournalID, lines[len(lines)-1].JournalID)
			depBooksBalance(t, l, c.ID, other.ID)
			apiReconciled(t, l, "KSP1")
			apiReconciled(t, l, "KSP2")
		})
	})
}

// A repayment by bank transfer: the money comes from clearing, is split
// as any repayment is, and the member gets the receipt.
func TestRepayFromClearing(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		_, err := b.l.Post(ctx, ledger.Journal{CooperativeID: b.c.ID, Key: "vault", Kind: "opening",
			Postings: []ledger.Posting{{From: b.c.Accounts[ledger.Vault], To: b.c.Accounts[ledger.OpeningEquity], Amount: 50_000_000}}})
		require.NoError(t, err)
		loan := b.tenMillion(t, "P-001", b.m)
		repay := func(key string, amount int64) (ledger.RepaymentResult, error) {
			return b.l.Repay(ctx, ledger.Repayment{CooperativeID: b.c.ID, LoanID: loan.ID, Amount: amount, FromClearing: true, Key: key, Actor: "token:7"})
		}

		// 1 March: installment 1 (due 15 Feb) is 14 days late, installment 2
		// (due 15 Mar) not yet due. Rp500.000 goes denda → bunga → pokok of
		// installment 1.
		b.clock.Set(loanMorning(2026, 3, 1))
		penalty := ledger.LateFee(933_333, 200, 14)
		require.Positive(t, penalty)
		res, err := repay("bank:7781", 500_000)
		require.NoError(t, err)
		assert.Equal(t, []ledger.Allocation{{InstallmentNo: 1, Penalty: penalty, Interest: 100_000, Principal: 400_000 - penalty}}, res.Parts)
		assert.Equal(t, 10_000_000-(400_000-penalty), res.Outstanding)
		assert.False(t, res.Closed)
		assert.Equal(t, int64(500_000), b.balance(t, b.c.Accounts[ledger.Clearing]), "the transfer came in through clearing")
		assert.Equal(t, int64(100_000), b.balance(t, b.c.Accounts[ledger.InterestIncome]))
		assert.Equal(t, penalty, b.balance(t, b.c.Accounts[ledger.PenaltyIncome]))
		assert.Zero(t, b.balance(t, b.till), "no cash moved")

		j, err := b.l.Journal(ctx, b.c.ID, res.JournalID)
		require.NoError(t, err)
		assert.Equal(t, "repayment", j.Kind)
		assert.Equal(t, "token:7", j.Actor)
		for _, e := range j.Entries {
			if e.Side == "debit" {
				assert.Equal(t, b.c.Accounts[ledger.Clearing], e.AccountID)
			}
		}

		var sms []depSMS
		for _, m := range depOutbox(t, db, b.c.ID) {
			if m.Template != ledger.TmplDisbursement { // the loan's own SMS when it was paid out
				sms = append(sms, m)
			}
		}
		require.Len(t, sms, 1)
		assert.Equal(t, "sms:bank:7781", sms[0].Key)
		assert.Equal(t, ledger.TmplRepaymentReceipt, sms[0].Template)
		assert.Equal(t, map[string]string{"amount": "500000", "loan": "P-001",
			"outstanding": strconv.FormatInt(res.Outstanding, 10), "ref": strconv.FormatInt(res.JournalID, 10)}, sms[0].params(t))

		t.Run("a retry returns the original result", func(t *testing.T) {
			installments := b.installments(t, loan.ID)
			b.clock.Set(loanMorning(2026, 3, 10))
			again, err := repay("bank:7781", 500_000)
			require.NoError(t, err)
			assert.True(t, again.Replayed)
			again.Replayed = false
			assert.Equal(t, res, again)
			assert.Equal(t, installments, b.installments(t, loan.ID))
			assert.Len(t, depOutbox(t, db, b.c.ID), 2, "the disbursement's SMS and the one receipt: the retry queued nothing")
			assert.Equal(t, int64(500_000), b.balance(t, b.c.Accounts[ledger.Clearing]))
		})
		t.Run("the same key from another source is refused", func(t *testing.T) {
			for name, r := range map[string]ledger.Repayment{
				"cash":     {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 500_000, StaffID: b.staff, Key: "bank:7781"},
				"sukarela": {CooperativeID: b.c.ID, LoanID: loan.ID, Amount: 500_000, FromSukarela: true, Key: "bank:7781"},
			} {
				_, err := b.l.Repay(ctx, r)
				assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict, name)
			}
			// And a cash repayment's key is not answered as from clearing.
			cash := b.repay(t, loan.ID, 10_000, "cash-1")
			_, err := repay("cash-1", 10_000)
			assert.ErrorIs(t, err, ledger.ErrIdempotencyConflict)
			assert.False(t, cash.Replayed)
		})
		t.Run("exactly one source", func(t *testing.T) {
			for name, r := range map[string]ledger.Repayment{
				"clearing and cash":     {FromClearing: true, StaffID: b.staff, Actor: "token:7"},
				"clearing and sukarela": {FromClearing: true, FromSukarela: true, Actor: "token:7"},
				"all three":             {FromClearing: true, FromSukarela: true, StaffID: b.staff, Actor: "token:7"},
				"none":                  {Actor: "token:7"},
				"clearing, no actor":    {FromClearing: true},
			} {
				r.CooperativeID, r.LoanID, r.Amount, r.Key = b.c.ID, loan.ID, 1_000, "bad:"+name
				_, err := b.l.Repay(ctx, r)
				assert.ErrorIs(t, err, ledger.ErrInvalidJournal, name)
			}
		})
		t.Run("another cooperative's loan", func(t *testing.T) {
			other := ledgertest.NewCoop(t, db, "KSP2")
			_, err := b.l.Repay(ctx, ledger.Repayment{CooperativeID: other.ID, LoanID: loan.ID, Amount: 1_000, FromClearing: true, Key: "x", Actor: "token:9"})
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			assert.Zero(t, b.balance(t, other.Accounts[ledger.Clearing]))
		})
		t.Run("to closing", func(t *testing.T) {
			everything, err := b.l.Payoff(ctx, b.c.ID, loan.ID)
			require.NoError(t, err)
			res, err := repay("bank:close", everything)
			require.NoError(t, err)
			assert.True(t, res.Closed)
			assert.Zero(t, res.Outstanding)
		})
		b.check(t)
		apiReconciled(t, b.l, "KSP1")
	})
}

// LoanByNo and LoanStatus answer for one loan what Loan and LoanInfo do.
func TestLoanByNoAndStatus(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		b := newLoanBooks(t, db, "KSP1")
		closed := b.disburse(t, "P-A", b.m, 1_000_000, 100, ledger.MethodFlat, 1)
		late := b.tenMillion(t, "P-C", b.m)
		current := b.tenMillion(t, "P-B", b.m)
		b.clock.Set(loanMorning(2026, 2, 15))
		b.repay(t, closed.ID, 1_010_000, "close")
		b.repay(t, current.ID, 933_333, "cur")
		// Another cooperative has a loan with the same number.
		b2 := newLoanBooks(t, db, "KSP2")
		theirs := b2.tenMillion(t, "P-C", b2.m)

		b.clock.Set(loanMorning(2026, 7, 1))
		infos, err := b.l.LoanInfo(ctx, b.c.ID, b.m.ID)
		require.NoError(t, err)
		require.Len(t, infos, 3)
		for _, info := range infos {
			got, err := b.l.LoanStatus(ctx, b.c.ID, info.LoanID)
			require.NoError(t, err)
			assert.Equal(t, info, got, "loan %s", info.LoanNo)
		}
		status, err := b.l.LoanStatus(ctx, b.c.ID, late.ID)
		require.NoError(t, err)
		assert.Equal(t, 136, status.DaysLate)
		assert.Equal(t, ledger.KolDiragukan, status.Kolektibilitas)
		assert.Equal(t, loanDate(2026, 7, 15), status.NextDue)

		for _, no := range []string{"P-C", " P-C "} {
			got, err := b.l.LoanByNo(ctx, b.c.ID, no)
			require.NoError(t, err)
			want, err := b.l.Loan(ctx, b.c.ID, late.ID)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		}
		got, err := b.l.LoanByNo(ctx, b2.c.ID, "P-C")
		require.NoError(t, err)
		assert.Equal(t, theirs.ID, got.ID, "each cooperative its own P-C")

		t.Run("unknown or another cooperative's", func(t *testing.T) {
			_, err := b.l.LoanByNo(ctx, b.c.ID, "P-Z")
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			_, err = b.l.LoanByNo(ctx, b2.c.ID, "P-B")
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			_, err = b.l.LoanStatus(ctx, b2.c.ID, late.ID)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			_, err = b.l.LoanStatus(ctx, b.c.ID, theirs.ID)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			_, err = b.l.LoanStatus(ctx, b.c.ID, 999_999)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			_, err = b.l.LoanStatus(ctx, 999_999, late.ID)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
		})
	})
}

func TestJournal(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		at := time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)
		clock := depNewClock(at)
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		other := ledgertest.NewCoop(t, db, "KSP2")
		teller, till := depStaff(t, db, c, "Teller", "teller")
		loanAccount := stmtLoan(t, db, c, m, "L-1", false) // a loan account without the member id

		_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "disb-1", Kind: "disbursement",
			Postings: []ledger.Posting{{From: loanAccount, To: c.Accounts[ledger.Vault], Amount: 2_000_000}}})
		require.NoError(t, err)
		rc, err := l.DepositCash(ctx, ledger.CashDeposit{CooperativeID: c.ID, StaffID: teller, MemberID: m.ID, Account: ledger.Sukarela, Amount: 300_000, Key: "cash-1"})
		require.NoError(t, err)
		repay, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "repay-1", Kind: "repayment", Memo: "angsuran 1", Actor: "member:1",
			Postings: []ledger.Posting{
				{From: m.Accounts[ledger.Sukarela], To: c.Accounts[ledger.InterestIncome], Amount: 20_000},
				{From: m.Accounts[ledger.Sukarela], To: loanAccount, Amount: 150_000},
			}})
		require.NoError(t, err)
		clock.Add(time.Hour)
		reversal, err := l.Reverse(ctx, ledger.Reversal{CooperativeID: c.ID, JournalID: repay, Actor: "staff:9", Reason: "salah input"})
		require.NoError(t, err)

		j, err := l.Journal(ctx, c.ID, rc.JournalID)
		require.NoError(t, err)
		assert.Equal(t, ledger.JournalView{ID: rc.JournalID, Kind: "deposit", Memo: "Setoran tunai sukarela",
			Actor: "staff:" + strconv.FormatInt(teller, 10), At: at, Entries: []ledger.EntryView{
				{AccountID: till, Kind: ledger.Till, StaffID: teller, Side: "debit", Amount: 300_000},
				{AccountID: m.Accounts[ledger.Sukarela], Kind: ledger.Sukarela, MemberID: m.ID, MemberNo: "A-001", Side: "credit", Amount: 300_000},
			}}, j)

		j, err = l.Journal(ctx, c.ID, repay)
		require.NoError(t, err)
		assert.Equal(t, reversal, j.ReversedByID)
		assert.Zero(t, j.ReversesID)
		var loanID int64
		require.NoError(t, db.Get(&loanID, db.Rebind(`SELECT loan_id FROM accounts WHERE id = ?`), loanAccount))
		assert.Equal(t, []ledger.EntryView{
			{AccountID: m.Accounts[ledger.Sukarela], Kind: ledger.Sukarela, MemberID: m.ID, MemberNo: "A-001", Side: "debit", Amount: 20_000},
			{AccountID: c.Accounts[ledger.InterestIncome], Kind: ledger.InterestIncome, Side: "credit", Amount: 20_000},
			{AccountID: m.Accounts[ledger.Sukarela], Kind: ledger.Sukarela, MemberID: m.ID, MemberNo: "A-001", Side: "debit", Amount: 150_000},
			{AccountID: loanAccount, Kind: ledger.LoanPrincipal, MemberID: m.ID, LoanID: loanID, MemberNo: "A-001", LoanNo: "L-1", Side: "credit", Amount: 150_000},
		}, j.Entries, "the loan's member is named from the loan")

		r, err := l.Journal(ctx, c.ID, reversal)
		require.NoError(t, err)
		assert.Equal(t, "reversal", r.Kind)
		assert.Equal(t, repay, r.ReversesID)
		assert.Zero(t, r.ReversedByID)
		assert.Equal(t, "staff:9", r.Actor)
		assert.Equal(t, "salah input", r.Reason)
		assert.Equal(t, at.Add(time.Hour), r.At)
		require.Len(t, r.Entries, 4)
		var debits, credits int64
		for _, e := range r.Entries {
			if e.Side == "debit" {
				debits += e.Amount
			} else {
				credits += e.Amount
			}
		}
		assert.Equal(t, int64(170_000), debits)
		assert.Equal(t, debits, credits)

		t.Run("another cooperative's journal or none", func(t *testing.T) {
			_, err := l.Journal(ctx, other.ID, rc.JournalID)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
			_, err = l.Journal(ctx, c.ID, 999_999)
			assert.ErrorIs(t, err, ledger.ErrNotFound)
		})
	})
}

func TestStatementPage(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		clock := depNewClock(time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC))
		l := ledger.New(db, clock.Now)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		neighbour := ledgertest.NewMember(t, db, c, "A-002", "+6281234567891")
		other := ledgertest.NewCoop(t, db, "KSP2")
		stranger := ledgertest.NewMember(t, db, other, "A-001", "+6281234567890")
		deposit := func(coopID, memberID int64, key string, amount int64) int64 {
			t.Helper()
			clock.Add(time.Minute)
			rc, err := l.DepositTransfer(ctx, ledger.TransferDeposit{CooperativeID: coopID, MemberID: memberID, Account: ledger.Sukarela,
				Amount: amount, Key: key, Actor: "token:1"})
			require.NoError(t, err)
			return rc.JournalID
		}
		var mine []int64 // oldest first
		for i := 1; i <= 25; i++ {
			mine = append(mine, deposit(c.ID, m.ID, fmt.Sprintf("m-%d", i), int64(i)))
			deposit(c.ID, neighbour.ID, fmt.Sprintf("n-%d", i), 7_000)
			deposit(other.ID, stranger.ID, fmt.Sprintf("m-%d", i), 9_000)
		}

		// pageThrough reads every page of limit lines and returns them all.
		pageThrough := func(t *testing.T, coopID, memberID int64, limit int) (all []ledger.StatementLine, sizes []int) {
			t.Helper()
			var before int64
			for range 100 {
				page, err := l.StatementPage(ctx, coopID, memberID, before, limit)
				require.NoError(t, err)
				sizes = append(sizes, len(page))
				if len(page) == 0 {
					return all, sizes
				}
				all = append(all, page...)
				before = page[len(page)-1].JournalID
			}
			t.Fatal("paging does not end")
			return nil, nil
		}

		all, sizes := pageThrough(t, c.ID, m.ID, 10)
		assert.Equal(t, []int{10, 10, 5, 0}, sizes)
		require.Len(t, all, 25)
		for i, line := range all {
			assert.Equal(t, mine[24-i], line.JournalID, "each movement once, newest first")
			assert.Equal(t, int64(25-i), line.Amount)
			assert.Equal(t, ledger.Sukarela, line.Account)
			assert.Equal(t, ledger.KindDeposit, line.Kind)
			assert.Equal(t, "Setoran transfer sukarela", line.Memo)
		}
		newest, err := l.Statement(ctx, c.ID, m.ID, 50)
		require.NoError(t, err)
		assert.Equal(t, newest, all, "the same lines as Statement")

		page, err := l.StatementPage(ctx, c.ID, m.ID, mine[3], 10)
		require.NoError(t, err)
		assert.Equal(t, newest[22:], page, "strictly before the cursor")
		page, err = l.StatementPage(ctx, c.ID, m.ID, 0, 0)
		require.NoError(t, err)
		assert.Empty(t, page)
		page, err = l.StatementPage(ctx, c.ID, m.ID, 0, 1_000)
		require.NoError(t, err)
		assert.Len(t, page, 25, "a limit above the most is capped, not refused")

		t.Run("tenancy", func(t *testing.T) {
			page, err := l.StatementPage(ctx, other.ID, m.ID, 0, 10)
			require.NoError(t, err)
			assert.Empty(t, page, "a member is not read through another cooperative")
			theirs, _ := pageThrough(t, other.ID, stranger.ID, 10)
			require.Len(t, theirs, 25)
			for _, line := range theirs {
				assert.Equal(t, int64(9_000), line.Amount)
				assert.NotContains(t, mine, line.JournalID)
			}
			neighbours, _ := pageThrough(t, c.ID, neighbour.ID, 7)
			require.Len(t, neighbours, 25)
			for _, line := range neighbours {
				assert.Equal(t, int64(7_000), line.Amount)
			}
		})

		t.Run("a page does not split a journal", func(t *testing.T) {
			// Five deposits, a repayment from sukarela (two lines: sukarela
			// and the loan), nine deposits: the repayment's lines are the
			// 10th and 11th, newest first.
			m2 := ledgertest.NewMember(t, db, c, "A-003", "+6281234567892")
			loan := stmtLoan(t, db, c, m2, "L-9", true)
			_, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "disb-9", Kind: "disbursement",
				Postings: []ledger.Posting{{From: loan, To: c.Accounts[ledger.Vault], Amount: 1_000_000}}})
			require.NoError(t, err)
			for i := range 5 {
				deposit(c.ID, m2.ID, fmt.Sprintf("a-%d", i), 100_000)
			}
			clock.Add(time.Minute)
			repay, err := l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "repay-9", Kind: "repayment",
				Postings: []ledger.Posting{
					{From: m2.Accounts[ledger.Sukarela], To: c.Accounts[ledger.InterestIncome], Amount: 10_000},
					{From: m2.Accounts[ledger.Sukarela], To: loan, Amount: 90_000},
				}})
			require.NoError(t, err)
			for i := range 9 {
				deposit(c.ID, m2.ID, fmt.Sprintf("b-%d", i), 1_000)
			}
			all, sizes := pageThrough(t, c.ID, m2.ID, 10)
			assert.Equal(t, []int{11, 6, 0}, sizes, "the first page ends with both lines of the repayment")
			require.Len(t, all, 17)
			assert.Equal(t, repay, all[9].JournalID)
			assert.Equal(t, repay, all[10].JournalID)
			assert.Equal(t, []ledger.AccountKind{ledger.Sukarela, ledger.LoanPrincipal}, []ledger.AccountKind{all[9].Account, all[10].Account})
			assert.Equal(t, []int64{-100_000, -90_000}, []int64{all[9].Amount, all[10].Amount})
			assert.Equal(t, ledger.KindDisbursement, all[16].Kind)
			newest, err := l.Statement(ctx, c.ID, m2.ID, 50)
			require.NoError(t, err)
			assert.Equal(t, newest, all)

			one, sizes := pageThrough(t, c.ID, m2.ID, 1)
			assert.Equal(t, all, one, "one line at a time, a journal at a time")
			assert.Equal(t, 2, sizes[9], "the repayment's page has both its lines")
			ids := make([]int64, 0, len(all))
			for _, line := range all {
				ids = append(ids, line.JournalID)
			}
			assert.True(t, slices.IsSortedFunc(ids, func(a, b int64) int { return int(b - a) }), "newest journal first")
		})
	})
}

// TestStatementPagePlan: StatementPage reads a member's entries through the
// index Statement uses (entries_account), in a cooperative of 100,000
// members (200,000 entries), with and without statistics: a handful of rows
// for a member with one movement, no more than Statement reads for a member
// with 500.
func TestStatementPagePlan(t *testing.T) {
	db, dsn := ledgertest.PostgresWithURL(t)
	big := ledgertest.SeedLargeCoop(t, db, "BIG", "*771#", "+62899", 100_000)
	quiet, busy := big.MemberID(t, db, 150), big.MemberID(t, db, 151)
	_, err := db.Exec(`INSERT INTO journals (cooperative_id, idem_key, request_hash, kind, memo, created_at)
		SELECT $1, 'busy-' || i, 'x', 'transfer', 'busy', now() FROM generate_series(1, 500) AS i`, big.ID)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO entries (cooperative_id, journal_id, account_id, side, amount)
		SELECT j.cooperative_id, j.id, a.id, CASE a.kind WHEN 'wajib' THEN 'D' ELSE 'C' END, 1
		FROM journals j JOIN accounts a ON a.cooperative_id = j.cooperative_id AND a.member_id = $2 AND a.kind IN ('wajib', 'sukarela')
		WHERE j.cooperative_id = $1 AND j.idem_key LIKE 'busy-%'`, big.ID, busy)
	require.NoError(t, err)
	explained, plans := ledgertest.ExplainEveryStatement(t, dsn)
	l := ledger.New(explained, nil)
	// statementPlan runs read and returns the plan of its statement on entries.
	statementPlan := func(t *testing.T, read func() ([]ledger.StatementLine, error), lines int) ledgertest.Plan {
		t.Helper()
		plans.Take()
		got, err := read()
		require.NoError(t, err)
		require.Len(t, got, lines)
		ran, unreadable := plans.Take()
		require.Empty(t, unreadable)
		var found []ledgertest.Plan
		for _, p := range ran {
			if strings.Contains(p.Query, "FROM entries e") {
				found = append(found, p)
			}
		}
		require.Len(t, found, 1, "one statement on entries: %v", ran)
		return found[0]
	}
	ledgertest.PlanPhases(t, db, func(t *testing.T) {
		ctx := context.Background()
		page := statementPlan(t, func() ([]ledger.StatementLine, error) { return l.StatementPage(ctx, big.ID, quiet, 0, 5) }, 2)
		assert.LessOrEqual(t, page.Rows, int64(50), "%s reads %d rows", page.Node, page.Rows)
		want := entryIndexes(t, db, ledger.StatementPgSQL, big.ID, quiet, 0, int64(math.MaxInt64), 5)
		got := entryIndexes(t, db, page.Query, big.ID, quiet, 0, int64(math.MaxInt64), 6)
		assert.Contains(t, want, "entries_account")
		assert.Equal(t, want, got, "the same index as Statement")

		page = statementPlan(t, func() ([]ledger.StatementLine, error) { return l.StatementPage(ctx, big.ID, busy, 0, 10) }, 10)
		stmt := statementPlan(t, func() ([]ledger.StatementLine, error) { return l.Statement(ctx, big.ID, busy, 10) }, 10)
		assert.LessOrEqual(t, page.Rows, max(stmt.Rows, 1_100), "a busy member's page: %s reads %d rows, Statement %s %d", page.Node, page.Rows, stmt.Node, stmt.Rows)
	})
}

// entryIndexes explains query on PostgreSQL and returns the indexes its
// plan reads the entries table through.
func entryIndexes(t *testing.T, db *ledger.DB, query string, args ...any) []string {
	t.Helper()
	var out string
	require.NoError(t, db.Get(&out, "EXPLAIN (FORMAT JSON) "+db.Rebind(query), args...))
	var plan any
	require.NoError(t, json.Unmarshal([]byte(out), &plan))
	var names []string
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case []any:
			for _, c := range n {
				walk(c)
			}
		case map[string]any:
			if n["Relation Name"] == "entries" {
				name, _ := n["Index Name"].(string)
				if n["Node Type"] == "Bitmap Heap Scan" { // the index is its Bitmap Index Scan's
					for _, c := range n["Plans"].([]any) {
						if c, ok := c.(map[string]any); ok && c["Index Name"] != nil {
							name = fmt.Sprint(c["Index Name"])
						}
					}
				}
				names = append(names, cmp.Or(name, fmt.Sprint(n["Node Type"])))
			}
			for _, c := range n {
				walk(c)
			}
		}
	}
	walk(plan)
	slices.Sort(names)
	return slices.Compact(names)
}
