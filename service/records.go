package service

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// What the operator's integrations read and post through the admin API
// (and the counter pages read): loans by number, journals, statement
// pages, and money that arrived by bank transfer.

// Records is what those need from the ledger (ledger.Ledger).
type Records interface {
	LoanByNo(ctx context.Context, coopID int64, loanNo string) (ledger.Loan, error)
	LoanStatus(ctx context.Context, coopID, loanID int64) (ledger.LoanInfo, error)
	LoanInstallments(ctx context.Context, coopID, loanID int64) ([]ledger.InstallmentState, error)
	Journal(ctx context.Context, coopID, journalID int64) (ledger.JournalView, error)
	StatementPage(ctx context.Context, coopID, memberID, beforeJournalID int64, limit int) ([]ledger.StatementLine, error)
	DepositTransfer(ctx context.Context, d ledger.TransferDeposit) (ledger.Receipt, error)
	Repay(ctx context.Context, r ledger.Repayment) (ledger.RepaymentResult, error)
}

var errNoRecords = errors.New("no ledger records wired")

// mayRead: staff of any role and the operator read their cooperative's
// records.
func mayRead(a Actor) error { return mayFind(a) }

// LoanView is a loan with where it stands and its schedule.
type LoanView struct {
	Loan     ledger.Loan
	MemberNo string
	Status   ledger.LoanInfo
	Schedule []ledger.InstallmentState
}

// ViewLoan is the loan numbered loanNo of the actor's cooperative.
func (s *Service) ViewLoan(ctx context.Context, a Actor, loanNo string) (LoanView, error) {
	if err := mayRead(a); err != nil {
		return LoanView{}, err
	}
	if s.recs == nil {
		return LoanView{}, errNoRecords
	}
	if strings.TrimSpace(loanNo) == "" {
		return LoanView{}, invalid("loan_no", "no loan number")
	}
	l, err := s.recs.LoanByNo(ctx, a.CooperativeID, strings.TrimSpace(loanNo))
	if err != nil {
		return LoanView{}, err
	}
	v := LoanView{Loan: l}
	if v.Status, err = s.recs.LoanStatus(ctx, a.CooperativeID, l.ID); err != nil {
		return LoanView{}, err
	}
	if v.Schedule, err = s.recs.LoanInstallments(ctx, a.CooperativeID, l.ID); err != nil {
		return LoanView{}, err
	}
	if m, err := s.memberByID(ctx, a, l.MemberID); err == nil {
		v.MemberNo = m.No
	}
	return v, nil
}

// memberByID is a member of the actor's cooperative by id.
func (s *Service) memberByID(ctx context.Context, a Actor, id int64) (members.Member, error) {
	if s.find == nil {
		return members.Member{}, errors.New("member by id: no finder wired")
	}
	return s.find.MemberByID(ctx, a.CooperativeID, id)
}

// Journal is one journal of the actor's cooperative with its entries.
func (s *Service) Journal(ctx context.Context, a Actor, id int64) (ledger.JournalView, error) {
	if err := mayRead(a); err != nil {
		return ledger.JournalView{}, err
	}
	if s.recs == nil {
		return ledger.JournalView{}, errNoRecords
	}
	return s.recs.Journal(ctx, a.CooperativeID, id)
}

// StatementPage is a page of the movements of the member numbered no,
// newest first, before the journal before (0: from the newest). next is the
// cursor of the page after (0 on the last page).
func (s *Service) StatementPage(ctx context.Context, a Actor, no string, before int64, limit int) (lines []ledger.StatementLine, next int64, err error) {
	if s.recs == nil {
		return nil, 0, errNoRecords
	}
	m, err := s.FindMemberByNo(ctx, a, no)
	if err != nil {
		return nil, 0, err
	}
	if limit < 1 || limit > 100 {
		return nil, 0, invalid("limit", "limit %d: 1 to 100", limit)
	}
	// The ledger never splits a journal across pages (a page may hold a
	// few more lines than limit); a page shorter than limit is the last.
	lines, err = s.recs.StatementPage(ctx, a.CooperativeID, m.ID, before, limit)
	if err != nil {
		return nil, 0, err
	}
	if len(lines) >= limit {
		next = lines[len(lines)-1].JournalID
	}
	return lines, next, nil
}

// Transfer is money for a member's savings that arrived by bank transfer.
type Transfer struct {
	Account ledger.AccountKind
	Amount  int64
	Note    string
}

// ReceiveTransfer posts a bank transfer into the savings of the member
// numbered no (Dr clearing, Cr the member's account; the member's SMS
// receipt queued with it) and answers the member's balances after it. The
// operator (an API token) and managers post transfers.
func (s *Service) ReceiveTransfer(ctx context.Context, a Actor, key, no string, t Transfer) (ledger.Receipt, ledger.MemberBalances, error) {
	if err := mustManage(a); err != nil {
		return ledger.Receipt{}, ledger.MemberBalances{}, err
	}
	if s.recs == nil {
		return ledger.Receipt{}, ledger.MemberBalances{}, errNoRecords
	}
	if err := checkKey(key); err != nil {
		return ledger.Receipt{}, ledger.MemberBalances{}, err
	}
	switch t.Account {
	case ledger.Pokok, ledger.Wajib, ledger.Sukarela:
	default:
		return ledger.Receipt{}, ledger.MemberBalances{}, invalid("account", "must be pokok, wajib or sukarela, not %q", t.Account)
	}
	if t.Amount <= 0 {
		return ledger.Receipt{}, ledger.MemberBalances{}, invalid("amount", "must be a positive whole number of rupiah")
	}
	if utf8.RuneCountInString(t.Note) > ledger.MaxTransferNote || !utf8.ValidString(t.Note) || strings.ContainsRune(t.Note, 0) {
		return ledger.Receipt{}, ledger.MemberBalances{}, invalid("note", "at most 140 characters of text")
	}
	m, err := s.ActiveMemberByNo(ctx, a, no)
	if err != nil {
		return ledger.Receipt{}, ledger.MemberBalances{}, err
	}
	rc, err := s.recs.DepositTransfer(ctx, ledger.TransferDeposit{CooperativeID: a.CooperativeID, MemberID: m.ID,
		Account: t.Account, Amount: t.Amount, Note: strings.TrimSpace(t.Note), Key: key, Actor: a.String()})
	if err != nil {
		return ledger.Receipt{}, ledger.MemberBalances{}, err
	}
	b, err := s.books.MemberBalances(ctx, a.CooperativeID, m.ID)
	return rc, b, err
}

// Source is where a repayment's money comes from.
type Source int

const (
	SourceSukarela Source = iota + 1 // the member's sukarela savings
	SourceTransfer                   // a bank transfer into the cooperative's clearing account
)

// RepayLoan posts a repayment of the loan numbered loanNo: from the
// member's sukarela, or a bank transfer (the API's "cash"). The operator
// and managers post these.
func (s *Service) RepayLoan(ctx context.Context, a Actor, key, loanNo string, amount int64, src Source) (ledger.RepaymentResult, error) {
	if err := mustManage(a); err != nil {
		return ledger.RepaymentResult{}, err
	}
	if s.recs == nil {
		return ledger.RepaymentResult{}, errNoRecords
	}
	if err := checkKey(key); err != nil {
		return ledger.RepaymentResult{}, err
	}
	if amount <= 0 {
		return ledger.RepaymentResult{}, invalid("amount", "must be a positive whole number of rupiah")
	}
	if strings.TrimSpace(loanNo) == "" {
		return ledger.RepaymentResult{}, invalid("loan_no", "no loan number")
	}
	l, err := s.recs.LoanByNo(ctx, a.CooperativeID, strings.TrimSpace(loanNo))
	if err != nil {
		return ledger.RepaymentResult{}, err
	}
	r := ledger.Repayment{CooperativeID: a.CooperativeID, LoanID: l.ID, Amount: amount, Key: key, Actor: a.String()}
	switch src {
	case SourceSukarela:
		r.FromSukarela = true
	case SourceTransfer:
		r.FromClearing = true
	default:
		return ledger.RepaymentResult{}, invalid("source", "unknown source")
	}
	return s.recs.Repay(ctx, r)
}
