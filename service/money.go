package service

import (
	"context"
	"errors"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
)

// The money a member or staff member moves: cash deposits, deposit codes,
// repayments, and what a staff member holds at the end of the day.

// Deposit is cash a staff member takes for a member's savings.
type Deposit struct {
	MemberID int64
	Account  ledger.AccountKind // pokok, wajib or sukarela
	Amount   int64              // whole rupiah
}

// ReceiveDeposit posts cash a staff member received into a member's
// savings (and queues the member's SMS receipt). The same key again
// answers the first receipt and posts nothing.
func (s *Service) ReceiveDeposit(ctx context.Context, a Actor, key string, d Deposit) (ledger.Receipt, error) {
	if err := mustStaff(a); err != nil {
		return ledger.Receipt{}, err
	}
	if err := checkKey(key); err != nil {
		return ledger.Receipt{}, err
	}
	switch d.Account {
	case ledger.Pokok, ledger.Wajib, ledger.Sukarela:
	default:
		return ledger.Receipt{}, invalid("account", "cannot deposit into %q", d.Account)
	}
	if err := s.limit(ctx, a, d.Amount); err != nil {
		return ledger.Receipt{}, err
	}
	return s.books.DepositCash(ctx, ledger.CashDeposit{
		CooperativeID: a.CooperativeID, StaffID: a.ID, MemberID: d.MemberID,
		Account: d.Account, Amount: d.Amount, Key: key, Actor: a.String(),
	})
}

// RequestDepositCode is a member announcing a cash deposit: a 6-digit code
// a teller or collector confirms when the cash is handed over.
func (s *Service) RequestDepositCode(ctx context.Context, a Actor, key string, account ledger.AccountKind, amount int64) (ledger.DepositCode, error) {
	if err := mustMember(a); err != nil {
		return ledger.DepositCode{}, err
	}
	if err := checkKey(key); err != nil {
		return ledger.DepositCode{}, err
	}
	if account != ledger.Wajib && account != ledger.Sukarela {
		return ledger.DepositCode{}, invalid("account", "a deposit code is for wajib or sukarela, not %q", account)
	}
	if err := s.limit(ctx, a, amount); err != nil {
		return ledger.DepositCode{}, err
	}
	dc, err := s.books.CreateDepositCode(ctx, ledger.DepositCodeRequest{
		CooperativeID: a.CooperativeID, MemberID: a.ID, Account: account, Amount: amount, Key: key,
	})
	if errors.Is(err, ledger.ErrAmountTooLarge) { // the limit was lowered meanwhile
		max, lerr := s.books.MaxUSSDAmount(ctx, a.CooperativeID)
		if lerr != nil {
			return ledger.DepositCode{}, lerr
		}
		return ledger.DepositCode{}, &Error{Code: CodeAboveLimit, Max: max, Err: err}
	}
	return dc, err
}

// LookupDepositCode shows staff what a member's deposit code is for
// (member, account, amount) before they take the cash.
func (s *Service) LookupDepositCode(ctx context.Context, a Actor, code string) (ledger.DepositCode, error) {
	if err := mustStaff(a); err != nil {
		return ledger.DepositCode{}, err
	}
	if !digits(code, 6) {
		return ledger.DepositCode{}, invalid("code", "a deposit code is 6 digits")
	}
	return s.books.LookupDepositCode(ctx, a.CooperativeID, code)
}

// ConfirmedCode is a confirmed deposit code: the receipt of what was
// posted, and whether it differs from what the staff member was shown
// (the number was reissued between look-up and confirmation).
type ConfirmedCode struct {
	ledger.Receipt
	Changed bool
}

// ConfirmDepositCode posts the cash of a member's deposit code, exactly
// once. shown is what the staff member saw at look-up (zero: not shown);
// the result says when what was posted differs from it.
func (s *Service) ConfirmDepositCode(ctx context.Context, a Actor, code string, shown ledger.DepositCode) (ConfirmedCode, error) {
	if err := mustStaff(a); err != nil {
		return ConfirmedCode{}, err
	}
	if !digits(code, 6) {
		return ConfirmedCode{}, invalid("code", "a deposit code is 6 digits")
	}
	rc, err := s.books.ConfirmDepositCode(ctx, a.CooperativeID, a.ID, code, a.String())
	if err != nil {
		return ConfirmedCode{}, err
	}
	changed := shown.Amount != 0 && (rc.Amount != shown.Amount || rc.Account != shown.Account)
	return ConfirmedCode{Receipt: rc, Changed: changed}, nil
}

// Repayment is money paid on a loan: from the member's sukarela savings,
// or in cash to the acting staff member.
type Repayment struct {
	LoanID       int64
	Amount       int64
	FromSukarela bool
}

// ReceiveRepayment posts a repayment: a member pays from their own
// sukarela; staff take cash, or at the counter (the member in front of
// them) pay from the member's sukarela. The ledger splits it denda → fees → bunga → pokok.
func (s *Service) ReceiveRepayment(ctx context.Context, a Actor, key string, r Repayment) (ledger.RepaymentResult, error) {
	if err := checkKey(key); err != nil {
		return ledger.RepaymentResult{}, err
	}
	req := ledger.Repayment{CooperativeID: a.CooperativeID, LoanID: r.LoanID, Amount: r.Amount, FromSukarela: r.FromSukarela, Key: key, Actor: a.String()}
	switch a.Kind {
	case ActorMember:
		if err := mustMember(a); err != nil {
			return ledger.RepaymentResult{}, err
		}
		if !r.FromSukarela {
			return ledger.RepaymentResult{}, invalid("source", "a member pays from sukarela; cash goes through staff")
		}
		req.MemberID = a.ID // the ledger refuses another member's loan, in the posting's transaction
	default:
		if err := mustStaff(a); err != nil {
			return ledger.RepaymentResult{}, err
		}
		switch {
		case !r.FromSukarela:
			req.StaffID = a.ID
		case a.Channel != ChannelCounter:
			// Moving a member's savings needs the member at the counter,
			// in front of the teller: not a field collector's phone.
			return ledger.RepaymentResult{}, refuse(CodeForbidden, "%s paid from sukarela over %s", a, a.Channel)
		}
	}
	if err := s.limit(ctx, a, r.Amount); err != nil {
		return ledger.RepaymentResult{}, err
	}
	return s.books.Repay(ctx, req)
}

// ActiveLoans are a member's loans still owing, by loan number: what a
// repayment may be for.
func (s *Service) ActiveLoans(ctx context.Context, a Actor, memberID int64) ([]ledger.LoanInfo, error) {
	if err := s.mayView(a, memberID); err != nil {
		return nil, err
	}
	all, err := s.books.LoanInfo(ctx, a.CooperativeID, memberID)
	if err != nil {
		return nil, err
	}
	var out []ledger.LoanInfo
	for _, l := range all {
		if l.Status == ledger.LoanActive {
			out = append(out, l)
		}
	}
	return out, nil
}

// LoanOffer is what a repayment of a loan is offered: the next
// installment, or the arrears with denda when it is late.
type LoanOffer struct {
	Loan    ledger.LoanInfo
	Amount  int64     // 0: nothing due now (the loan may still be prepaid)
	Due     time.Time // zero when nothing is scheduled
	Overdue bool      // Amount is the arrears
}

// OfferRepayment is what a repayment of loan l (one of ActiveLoans) would
// be offered; ErrLoanClosed (loan_closed) if it was paid off meanwhile.
func (s *Service) OfferRepayment(ctx context.Context, a Actor, l ledger.LoanInfo) (LoanOffer, error) {
	amount, due, err := s.books.NextInstallment(ctx, a.CooperativeID, l.LoanID)
	if err != nil {
		return LoanOffer{}, err
	}
	return LoanOffer{Loan: l, Amount: amount, Due: due, Overdue: l.Arrears > 0}, nil
}

// MyCash is what a staff member took in today: how many postings, and the
// total.
func (s *Service) MyCash(ctx context.Context, a Actor) (count int, total int64, err error) {
	if err := mustStaff(a); err != nil {
		return 0, 0, err
	}
	return s.books.StaffCashToday(ctx, a.CooperativeID, a.ID)
}

// MaxAmount is the most the actor's channel may move at once (0: no limit
// of the channel's own).
func (s *Service) MaxAmount(ctx context.Context, a Actor) (int64, error) {
	if a.Channel != ChannelUSSD {
		return 0, nil
	}
	return s.books.MaxUSSDAmount(ctx, a.CooperativeID)
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
