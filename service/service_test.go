package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

// world is two cooperatives on one database, with staff of every role and
// members, and the service over the real stores.
type world struct {
	db                         *ledger.DB
	books                      *ledger.Ledger
	dir                        *members.Directory
	svc                        *service.Service
	coop, other                members.Cooperative
	maria, yohanes, left, away members.Member // away is the other cooperative's
	teller, collector, manager members.Staff
	stranger                   members.Staff // a teller of the other cooperative
}

func newWorld(t *testing.T, db *ledger.DB) *world {
	t.Helper()
	ctx := context.Background()
	dir, err := members.NewDirectory(db, []byte("a test secret of at least 32 bytes!!"), nil)
	require.NoError(t, err)
	books := ledger.New(db, nil)
	w := &world{db: db, books: books, dir: dir,
		svc: service.New(service.Deps{Directory: dir, Books: books, Registry: dir, Finder: dir, Management: books})}
	w.coop, err = dir.CreateCooperative(ctx, "KSP1", "Koperasi Satu", []string{"*123#"})
	require.NoError(t, err)
	w.other, err = dir.CreateCooperative(ctx, "KSP2", "Koperasi Dua", []string{"*124#"})
	require.NoError(t, err)
	add := func(c members.Cooperative, no, name, phone string) members.Member {
		m, err := dir.AddMember(ctx, c.ID, members.NewMember{No: no, Name: name, Phone: phone})
		require.NoError(t, err)
		return m
	}
	w.maria = add(w.coop, "A-001", "Maria Goreti Bria", "081234567890")
	w.yohanes = add(w.coop, "A-002", "Yohanes Bere", "081234567891")
	w.left = add(w.coop, "A-003", "Petrus Nahak", "081234567892")
	w.away = add(w.other, "B-001", "Agustina Seran", "081234567893")
	_, err = db.ExecContext(ctx, db.Rebind(`UPDATE members SET status = 'left' WHERE id = ?`), w.left.ID)
	require.NoError(t, err)
	staff := func(c members.Cooperative, name, phone string, role members.Role) members.Staff {
		s, err := dir.AddStaff(ctx, c.ID, name, phone, role)
		require.NoError(t, err)
		return s
	}
	w.teller = staff(w.coop, "Yosef Teller", "081299990000", members.RoleTeller)
	w.collector = staff(w.coop, "Fransiska Kolektor", "081299990001", members.RoleCollector)
	w.manager = staff(w.coop, "Maria Manajer", "081299990002", members.RoleManager)
	w.stranger = staff(w.other, "Orang Lain", "081299990003", members.RoleTeller)
	return w
}

func (w *world) as(s members.Staff, ch service.Channel) service.Actor {
	return service.StaffActor(s.CooperativeID, s.ID, s.Role, ch)
}

func (w *world) member(m members.Member, ch service.Channel) service.Actor {
	return service.MemberActor(m.CooperativeID, m.ID, ch)
}

func (w *world) operator() service.Actor {
	return service.OperatorActor(w.coop.ID, 0, service.ChannelCLI)
}

func requireCode(t *testing.T, want service.Code, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, want, service.CodeOf(err), "error: %v", err)
}

func TestReceiveDeposit(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		teller := w.as(w.teller, service.ChannelCounter)
		dep := service.Deposit{MemberID: w.maria.ID, Account: ledger.Sukarela, Amount: 250_000}

		rc, err := w.svc.ReceiveDeposit(ctx, teller, "counter:f1:cash_deposit", dep)
		require.NoError(t, err)
		assert.Equal(t, int64(250_000), rc.Balance)
		again, err := w.svc.ReceiveDeposit(ctx, teller, "counter:f1:cash_deposit", dep)
		require.NoError(t, err)
		assert.True(t, again.Replayed)
		assert.Equal(t, rc.JournalID, again.JournalID)
		b, err := w.books.MemberBalances(ctx, w.coop.ID, w.maria.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(250_000), b.Sukarela, "posted once")

		collector, err := w.svc.ReceiveDeposit(ctx, w.as(w.collector, service.ChannelUSSD), "ussd:s:n:cash_deposit",
			service.Deposit{MemberID: w.yohanes.ID, Account: ledger.Wajib, Amount: 10_000})
		require.NoError(t, err)
		assert.Equal(t, int64(10_000), collector.Balance, "a collector takes cash too")

		for _, c := range []struct {
			name string
			a    service.Actor
			key  string
			d    service.Deposit
			want service.Code
		}{
			{"a member cannot take cash", w.member(w.maria, service.ChannelUSSD), "k1", dep, service.CodeForbidden},
			{"the operator has no till", w.operator(), "k2", dep, service.CodeForbidden},
			{"a member who left", teller, "k3", service.Deposit{MemberID: w.left.ID, Account: ledger.Sukarela, Amount: 1_000}, service.CodeMemberLeft},
			{"another cooperative's member", teller, "k4", service.Deposit{MemberID: w.away.ID, Account: ledger.Sukarela, Amount: 1_000}, service.CodeNotFound},
			{"another cooperative's teller", w.as(w.stranger, service.ChannelCounter), "k5", dep, service.CodeNotFound},
			{"not a savings account", teller, "k6", service.Deposit{MemberID: w.maria.ID, Account: ledger.Vault, Amount: 1_000}, service.CodeInvalidRequest},
			{"nothing", teller, "k7", service.Deposit{MemberID: w.maria.ID, Account: ledger.Wajib}, service.CodeInvalidRequest},
			{"no key", teller, " ", dep, service.CodeInvalidRequest},
			{"above the USSD limit on USSD", w.as(w.teller, service.ChannelUSSD), "k8", service.Deposit{MemberID: w.maria.ID, Account: ledger.Wajib, Amount: 50_000_001}, service.CodeAboveLimit},
			{"the same key for another deposit", teller, "counter:f1:cash_deposit", service.Deposit{MemberID: w.maria.ID, Account: ledger.Sukarela, Amount: 250_001}, service.CodeIdempotencyKeyReused},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := w.svc.ReceiveDeposit(ctx, c.a, c.key, c.d)
				requireCode(t, c.want, err)
			})
		}
		_, err = w.svc.ReceiveDeposit(ctx, w.as(w.teller, service.ChannelUSSD), "k8", service.Deposit{MemberID: w.maria.ID, Account: ledger.Wajib, Amount: 50_000_001})
		assert.Equal(t, int64(50_000_000), service.MaxOf(err), "the refusal says the limit")
		_, err = w.svc.ReceiveDeposit(ctx, teller, "k9", service.Deposit{MemberID: w.maria.ID, Account: ledger.Wajib, Amount: 50_000_001})
		assert.NoError(t, err, "the USSD limit is USSD's: the counter takes more")

		b, err = w.books.MemberBalances(ctx, w.coop.ID, w.maria.ID)
		require.NoError(t, err)
		assert.Equal(t, ledger.MemberBalances{Wajib: 50_000_001, Sukarela: 250_000}, b, "no refusal posted anything")
	})
}

// TestReceiveDepositConcurrently: the same counter form posted from
// sixteen clicks at once posts once, and every click gets the same receipt.
func TestReceiveDepositConcurrently(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		teller := w.as(w.teller, service.ChannelCounter)
		dep := service.Deposit{MemberID: w.maria.ID, Account: ledger.Sukarela, Amount: 75_000}
		var wg sync.WaitGroup
		ids := make([]int64, 16)
		errs := make([]error, 16)
		for i := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rc, err := w.svc.ReceiveDeposit(ctx, teller, "counter:double-click:cash_deposit", dep)
				ids[i], errs[i] = rc.JournalID, err
			}()
		}
		wg.Wait()
		for i := range ids {
			require.NoError(t, errs[i])
			assert.Equal(t, ids[0], ids[i])
		}
		b, err := w.books.MemberBalances(ctx, w.coop.ID, w.maria.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(75_000), b.Sukarela)
	})
}

func TestReceiveRepayment(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		manager := w.as(w.manager, service.ChannelCounter)
		loan, err := w.svc.DisburseLoan(ctx, manager, "counter:l1:disburse", service.Loan{
			LoanNo: "PJ-1", MemberNo: "a-001", Principal: 1_200_000, RateBP: 100, Method: ledger.MethodFlat, TermMonths: 12})
		require.NoError(t, err)
		again, err := w.svc.DisburseLoan(ctx, manager, "counter:l1:disburse", service.Loan{
			LoanNo: "PJ-1", MemberNo: "a-001", Principal: 1_200_000, RateBP: 100, Method: ledger.MethodFlat, TermMonths: 12})
		require.NoError(t, err)
		assert.Equal(t, loan.ID, again.ID, "a retried disbursement answers the first loan")
		_, err = w.svc.ReceiveDeposit(ctx, w.as(w.teller, service.ChannelCounter), "d1", service.Deposit{MemberID: w.maria.ID, Account: ledger.Sukarela, Amount: 500_000})
		require.NoError(t, err)

		loans, err := w.svc.ActiveLoans(ctx, w.member(w.maria, service.ChannelUSSD), w.maria.ID)
		require.NoError(t, err)
		require.Len(t, loans, 1)
		offer, err := w.svc.OfferRepayment(ctx, w.member(w.maria, service.ChannelUSSD), loans[0])
		require.NoError(t, err)
		assert.Equal(t, int64(112_000), offer.Amount, "the first installment: 100.000 pokok + 12.000 bunga")

		mine := w.member(w.maria, service.ChannelUSSD)
		res, err := w.svc.ReceiveRepayment(ctx, mine, "ussd:s:n:repay", service.Repayment{LoanID: loan.ID, Amount: 112_000, FromSukarela: true})
		require.NoError(t, err)
		assert.Equal(t, int64(1_100_000), res.Outstanding)

		cash, err := w.svc.ReceiveRepayment(ctx, w.as(w.collector, service.ChannelUSSD), "ussd:c:n:cash_repay", service.Repayment{LoanID: loan.ID, Amount: 50_000})
		require.NoError(t, err)
		assert.NotZero(t, cash.JournalID)
		counter, err := w.svc.ReceiveRepayment(ctx, w.as(w.teller, service.ChannelCounter), "counter:r1:repay", service.Repayment{LoanID: loan.ID, Amount: 10_000, FromSukarela: true})
		require.NoError(t, err, "at the counter a teller may pay from the member's sukarela")
		assert.NotZero(t, counter.JournalID)

		for _, c := range []struct {
			name string
			a    service.Actor
			r    service.Repayment
			want service.Code
		}{
			{"another member's loan", w.member(w.yohanes, service.ChannelUSSD), service.Repayment{LoanID: loan.ID, Amount: 1_000, FromSukarela: true}, service.CodeNotFound},
			{"a member paying in cash", mine, service.Repayment{LoanID: loan.ID, Amount: 1_000}, service.CodeInvalidRequest},
			{"a collector moving savings in the field", w.as(w.collector, service.ChannelUSSD), service.Repayment{LoanID: loan.ID, Amount: 1_000, FromSukarela: true}, service.CodeForbidden},
			{"another cooperative's teller", w.as(w.stranger, service.ChannelCounter), service.Repayment{LoanID: loan.ID, Amount: 1_000}, service.CodeNotFound},
			{"more than the loan owes", w.as(w.teller, service.ChannelCounter), service.Repayment{LoanID: loan.ID, Amount: 5_000_000}, service.CodeOverpayment},
			{"more sukarela than there is", mine, service.Repayment{LoanID: loan.ID, Amount: 400_000, FromSukarela: true}, service.CodeInsufficientFunds},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := w.svc.ReceiveRepayment(ctx, c.a, "refused:"+c.name, c.r)
				requireCode(t, c.want, err)
			})
		}
		_, err = w.svc.ReceiveRepayment(ctx, w.as(w.teller, service.ChannelCounter), "over", service.Repayment{LoanID: loan.ID, Amount: 5_000_000})
		assert.Positive(t, service.MaxOf(err), "an overpayment says the most that may be paid")
	})
}

func TestManagersActions(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		rc, err := w.svc.ReceiveDeposit(ctx, w.as(w.teller, service.ChannelCounter), "d1", service.Deposit{MemberID: w.maria.ID, Account: ledger.Sukarela, Amount: 20_000})
		require.NoError(t, err)

		t.Run("reverse", func(t *testing.T) {
			_, err := w.svc.ReverseJournal(ctx, w.as(w.teller, service.ChannelCounter), rc.JournalID, "salah ketik")
			requireCode(t, service.CodeForbidden, err)
			_, err = w.svc.ReverseJournal(ctx, w.as(w.manager, service.ChannelCounter), rc.JournalID, "  ")
			requireCode(t, service.CodeInvalidRequest, err)
			_, err = w.svc.ReverseJournal(ctx, service.OperatorActor(w.other.ID, 0, service.ChannelCLI), rc.JournalID, "salah ketik")
			requireCode(t, service.CodeNotFound, err)
			rev, err := w.svc.ReverseJournal(ctx, w.as(w.manager, service.ChannelCounter), rc.JournalID, "salah ketik")
			require.NoError(t, err)
			_, err = w.svc.ReverseJournal(ctx, w.operator(), rc.JournalID, "lagi")
			requireCode(t, service.CodeAlreadyReversed, err)
			_, err = w.svc.ReverseJournal(ctx, w.operator(), rev, "batal pembatalan")
			requireCode(t, service.CodeAlreadyReversed, err) // a reversal of a reversal is refused as one
			b, err := w.books.MemberBalances(ctx, w.coop.ID, w.maria.ID)
			require.NoError(t, err)
			assert.Zero(t, b.Sukarela)

			_, err = w.svc.DayReport(ctx, w.as(w.teller, service.ChannelCounter), time.Time{})
			requireCode(t, service.CodeForbidden, err)
			rep, err := w.svc.DayReport(ctx, w.as(w.manager, service.ChannelCounter), time.Time{})
			require.NoError(t, err)
			assert.Equal(t, 2, rep.Journals, "today's deposit and its reversal")
			require.NotEmpty(t, rep.Staff)
			assert.Equal(t, w.teller.ID, rep.Staff[0].StaffID)
			assert.Zero(t, rep.Staff[0].Cash.Expected, "the reversed deposit's cash is not expected in the drawer")
		})
		t.Run("register a member", func(t *testing.T) {
			nm := members.NewMember{No: "A-100", Name: "Kornelis Tefa", Phone: "0812 3456 7000"}
			_, err := w.svc.RegisterMember(ctx, w.as(w.teller, service.ChannelCounter), nm)
			requireCode(t, service.CodeForbidden, err)
			m, err := w.svc.RegisterMember(ctx, w.as(w.manager, service.ChannelCounter), nm)
			require.NoError(t, err)
			assert.Equal(t, "+6281234567000", m.Phone)
			_, err = w.svc.RegisterMember(ctx, w.operator(), nm)
			requireCode(t, service.CodeAlreadyExists, err)
			var se *service.Error
			_, err = w.svc.RegisterMember(ctx, w.operator(), members.NewMember{No: "A-101", Name: "X", Phone: "12"})
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "phone", se.Field)
			_, err = w.svc.RegisterMember(ctx, w.operator(), members.NewMember{No: "A-101", Name: " "})
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "name", se.Field)
		})
		t.Run("disburse", func(t *testing.T) {
			l := service.Loan{LoanNo: "PJ-9", MemberNo: "A-003", Principal: 100_000, RateBP: 100, Method: ledger.MethodFlat, TermMonths: 2}
			_, err := w.svc.DisburseLoan(ctx, w.as(w.manager, service.ChannelCounter), "l9", l)
			requireCode(t, service.CodeMemberLeft, err)
			l.MemberNo = "B-001"
			_, err = w.svc.DisburseLoan(ctx, w.as(w.manager, service.ChannelCounter), "l9", l)
			requireCode(t, service.CodeNotFound, err)
			l.MemberNo, l.Method = "A-002", "balloon"
			_, err = w.svc.DisburseLoan(ctx, w.as(w.manager, service.ChannelCounter), "l9", l)
			requireCode(t, service.CodeInvalidRequest, err)
			l.Method = ledger.MethodFlat
			_, err = w.svc.DisburseLoan(ctx, w.as(w.collector, service.ChannelUSSD), "l9", l)
			requireCode(t, service.CodeForbidden, err)
		})
		t.Run("add staff", func(t *testing.T) {
			cred, err := w.svc.AddStaff(ctx, w.operator(), service.NewStaff{Name: "Teller Baru", Phone: "081299990099", Role: "Teller"})
			require.NoError(t, err)
			assert.Equal(t, members.RoleTeller, cred.Staff.Role)
			assert.Len(t, cred.ActivationCode, 6)
			assert.Len(t, cred.WebPassword, 19)
			_, err = w.svc.AddStaff(ctx, w.as(w.manager, service.ChannelCounter), service.NewStaff{Name: "Lagi", Phone: "+6281299990099", Role: members.RoleCollector})
			requireCode(t, service.CodeAlreadyExists, err)
			_, err = w.svc.AddStaff(ctx, w.operator(), service.NewStaff{Name: "Bos", Phone: "081299990098", Role: "boss"})
			requireCode(t, service.CodeInvalidRequest, err)
			_, err = w.svc.AddStaff(ctx, w.as(w.teller, service.ChannelCounter), service.NewStaff{Name: "Bos", Phone: "081299990098", Role: members.RoleManager})
			requireCode(t, service.CodeForbidden, err) // a teller cannot make a manager
		})
	})
}

func TestMembersAndCodes(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		teller := w.as(w.teller, service.ChannelCounter)

		t.Run("activation codes", func(t *testing.T) {
			code, m, expires, err := w.svc.IssueActivationCode(ctx, teller, "a-001")
			require.NoError(t, err)
			assert.Len(t, code, 6)
			assert.Equal(t, w.maria.ID, m.ID)
			assert.WithinDuration(t, time.Now().Add(members.ActivationCodeTTL), expires, time.Minute)
			_, _, _, err = w.svc.IssueActivationCode(ctx, w.operator(), "A-003")
			requireCode(t, service.CodeMemberLeft, err)
			_, _, _, err = w.svc.IssueActivationCode(ctx, w.operator(), "B-001")
			requireCode(t, service.CodeNotFound, err)
			_, _, _, err = w.svc.IssueActivationCode(ctx, w.member(w.maria, service.ChannelUSSD), "A-001")
			requireCode(t, service.CodeForbidden, err)
		})
		t.Run("find", func(t *testing.T) {
			found, next, err := w.svc.FindMembers(ctx, teller, "maria", "", 10)
			require.NoError(t, err)
			require.Len(t, found, 1)
			assert.Equal(t, w.maria.ID, found[0].ID)
			assert.Empty(t, next)
			found, _, err = w.svc.FindMembers(ctx, teller, "Agustina", "", 10)
			require.NoError(t, err)
			assert.Empty(t, found, "another cooperative's member is not found")
			found, _, err = w.svc.FindMembers(ctx, w.operator(), "+62 812-3456-7891", "", 10)
			require.NoError(t, err)
			require.Len(t, found, 1)
			assert.Equal(t, w.yohanes.ID, found[0].ID)
			_, _, err = w.svc.FindMembers(ctx, w.member(w.maria, service.ChannelSMS), "maria", "", 10)
			requireCode(t, service.CodeForbidden, err)
			_, _, err = w.svc.FindMembers(ctx, teller, "maria", "", 101)
			requireCode(t, service.CodeInvalidRequest, err)
			_, _, err = w.svc.FindMembers(ctx, teller, "maria", "not a cursor\x00", 10)
			requireCode(t, service.CodeInvalidRequest, err)
		})
		t.Run("view", func(t *testing.T) {
			_, err := w.svc.ReceiveDeposit(ctx, teller, "d1", service.Deposit{MemberID: w.yohanes.ID, Account: ledger.Wajib, Amount: 30_000})
			require.NoError(t, err)
			m, v, err := w.svc.ViewMember(ctx, teller, "A-002", 20)
			require.NoError(t, err)
			assert.Equal(t, w.yohanes.ID, m.ID)
			assert.Equal(t, int64(30_000), v.Balances.Wajib)
			require.Len(t, v.Movements, 1)
			_, _, err = w.svc.ViewMember(ctx, teller, "B-001", 20)
			requireCode(t, service.CodeNotFound, err)
			_, _, err = w.svc.ViewMember(ctx, w.member(w.maria, service.ChannelSMS), "A-002", 20)
			requireCode(t, service.CodeForbidden, err)
			mine, err := w.svc.ViewMyself(ctx, w.member(w.yohanes, service.ChannelSMS), 5)
			require.NoError(t, err)
			assert.Equal(t, v, mine)
			_, err = w.svc.Balances(ctx, w.member(w.maria, service.ChannelSMS), w.yohanes.ID)
			requireCode(t, service.CodeNotFound, err)
			lines, err := w.svc.Statement(ctx, w.member(w.yohanes, service.ChannelSMS), w.yohanes.ID, 5)
			require.NoError(t, err)
			require.Len(t, lines, 1)
			assert.True(t, lines[0].Labeled)
			assert.Equal(t, "Asia/Makassar", lines[0].At.Location().String(), "the cooperative's local time (WITA)")
		})
		t.Run("deposit codes", func(t *testing.T) {
			maria := w.member(w.maria, service.ChannelUSSD)
			dc, err := w.svc.RequestDepositCode(ctx, maria, "ussd:m:n:deposit_code", ledger.Sukarela, 40_000)
			require.NoError(t, err)
			_, err = w.svc.RequestDepositCode(ctx, maria, "ussd:m:n2:deposit_code", ledger.Pokok, 40_000)
			requireCode(t, service.CodeInvalidRequest, err)
			_, err = w.svc.RequestDepositCode(ctx, maria, "ussd:m:n3:deposit_code", ledger.Sukarela, 60_000_000)
			requireCode(t, service.CodeAboveLimit, err)
			shown, err := w.svc.LookupDepositCode(ctx, teller, dc.Code)
			require.NoError(t, err)
			assert.Equal(t, int64(40_000), shown.Amount)
			_, err = w.svc.LookupDepositCode(ctx, w.as(w.stranger, service.ChannelCounter), dc.Code)
			requireCode(t, service.CodeNotFound, err)
			got, err := w.svc.ConfirmDepositCode(ctx, teller, dc.Code, shown)
			require.NoError(t, err)
			assert.False(t, got.Changed)
			_, err = w.svc.ConfirmDepositCode(ctx, teller, dc.Code, shown)
			requireCode(t, service.CodeCodeUsed, err)
			_, err = w.svc.ConfirmDepositCode(ctx, teller, "12345", shown)
			requireCode(t, service.CodeInvalidRequest, err)
			n, total, err := w.svc.MyCash(ctx, teller)
			require.NoError(t, err)
			assert.Equal(t, 2, n)
			assert.Equal(t, int64(70_000), total)
			_, _, err = w.svc.MyCash(ctx, maria)
			requireCode(t, service.CodeForbidden, err)
		})
	})
}

// TestErrorVocabulary: every code has a status and a sentence in both
// languages; the lower layers' errors map to the codes CONTRACT §5.2
// names, wrapped or not.
func TestErrorVocabulary(t *testing.T) {
	seen := map[service.Code]bool{}
	for _, c := range service.Codes() {
		assert.False(t, seen[c], "code %s twice", c)
		seen[c] = true
		assert.NotZero(t, service.Status(c), c)
		assert.NotEmpty(t, service.Message(c, "id"), c)
		assert.NotEmpty(t, service.Message(c, "en"), c)
		assert.NotEqual(t, service.Message(c, "id"), service.Message(c, "en"), c)
	}
	for code, status := range map[service.Code]int{ // CONTRACT §5.2
		service.CodeInvalidRequest: 400, service.CodeUnauthenticated: 401, service.CodeForbidden: 403, service.CodeNotFound: 404,
		service.CodeAlreadyReversed: 409, service.CodeIdempotencyInProgress: 409, service.CodeTooLarge: 413,
		service.CodeInsufficientFunds: 422, service.CodeEquityLocked: 422, service.CodeOverpayment: 422,
		service.CodeMemberLeft: 422, service.CodeIdempotencyKeyReused: 422, service.CodeRateLimited: 429, service.CodeInternal: 500,
	} {
		assert.Equal(t, status, service.Status(code), code)
	}
	wrap := func(err error) error { return fmt.Errorf("post deposit for member 7: %w", err) }
	for err, want := range map[error]service.Code{
		ledger.ErrInsufficientFunds:      service.CodeInsufficientFunds,
		ledger.ErrEquityLocked:           service.CodeEquityLocked,
		&ledger.RepayLimitError{Max: 10}: service.CodeOverpayment,
		ledger.ErrOverpayment:            service.CodeOverpayment,
		fmt.Errorf("x: %w: %w", ledger.ErrMemberLeft, ledger.ErrNotFound): service.CodeMemberLeft,
		ledger.ErrAlreadyReversed:      service.CodeAlreadyReversed,
		ledger.ErrNotFound:             service.CodeNotFound,
		members.ErrNotFound:            service.CodeNotFound,
		ledger.ErrIdempotencyConflict:  service.CodeIdempotencyKeyReused,
		ledger.ErrDepositCodeUsed:      service.CodeCodeUsed,
		members.ErrWrongPIN:            service.CodePINWrong,
		members.ErrInvalidMSISDN:       service.CodeInvalidRequest,
		fmt.Errorf("database on fire"): service.CodeInternal,
	} {
		assert.Equal(t, want, service.CodeOf(err), "%v", err)
		assert.Equal(t, want, service.CodeOf(wrap(err)), "wrapped %v", err)
	}
	assert.Equal(t, service.Code(""), service.CodeOf(nil))
	assert.Equal(t, int64(10), service.MaxOf(wrap(&ledger.RepayLimitError{Max: 10})))
	assert.Equal(t, service.Message(service.CodeInternal, "id"), service.Message("no_such_code", "id"), "an unknown code reads as internal")
}
