package menus

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

// Member options 2 Setor Simpanan, 3 Bayar Angsuran, 4 Mutasi and
// 5 Info Pinjaman.

// statementLines is how many movements "4 Mutasi" shows.
const statementLines = 5

// loanNoWidth bounds a loan number on screens.
const loanNoWidth = 14

func varAccountKind(s *Session) ledger.AccountKind { return ledger.AccountKind(s.get(varAccount)) }

// ---------------------------------------------------------------------------
// 2 Setor Simpanan: a deposit code to pay in cash to staff

// chooseSavings takes "1 Wajib / 2 Sukarela" and goes on to next (the
// member's deposit code and the staff cash deposit both ask it).
func chooseSavings(next ScreenID) func(context.Context, *Engine, *Session, string) (ScreenID, error) {
	return func(_ context.Context, _ *Engine, s *Session, in string) (ScreenID, error) {
		i, err := choice(in, 2)
		if err != nil {
			return "", err
		}
		s.set(varAccount, string([]ledger.AccountKind{ledger.Wajib, ledger.Sukarela}[i]))
		return next, nil
	}
}

func handleDepositAmount(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	n, err := e.amount(ctx, s, in)
	if err != nil {
		return "", err
	}
	s.setInt(varAmount, n)
	s.Next = actDepositCode
	return scrConfirm, nil // CONTRACT: confirm with 1 Ya / 2 Batal, then the PIN
}

func summaryDepositCode(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "deposit.summary", accountName(s.Lang, varAccountKind(s)), rupiah(s.getInt(varAmount))), nil
}

func actionDepositCode(ctx context.Context, e *Engine, s *Session) (ScreenID, error) {
	key, err := idemKey(s, "deposit_code")
	if err != nil {
		return "", err
	}
	dc, err := e.svc.RequestDepositCode(ctx, actor(s), key, varAccountKind(s), s.getInt(varAmount))
	if service.CodeOf(err) == service.CodeAboveLimit { // the limit was lowered meanwhile
		s.setInt(varMax, service.MaxOf(err))
		return scrAmountTooLarge, nil
	}
	if err != nil {
		return "", err
	}
	s.set(varCode, dc.Code)
	s.set(varExpires, dc.ExpiresAt.UTC().Format(time.RFC3339))
	s.setInt(varAmount, dc.Amount)
	s.set(varAccount, string(dc.Account))
	return scrDepositCode, nil
}

func renderDepositCode(ctx context.Context, e *Engine, s *Session) (string, error) {
	loc, err := e.books.Location(ctx, s.Who.Coop.ID)
	if err != nil {
		return "", err
	}
	expires, err := time.Parse(time.RFC3339, s.get(varExpires))
	if err != nil {
		return "", fmt.Errorf("deposit code expiry: %w", err)
	}
	return T(s.Lang, "deposit.code", s.get(varCode), rupiah(s.getInt(varAmount)),
		accountShort(s.Lang, varAccountKind(s)), dateTime(expires, loc)), nil
}

func renderAmountTooLarge(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "amount.too_large", rupiah(s.getInt(varMax))), nil
}

// ---------------------------------------------------------------------------
// 3 Bayar Angsuran: from simpanan sukarela

// loanChoices lists loans as "1 PJ-0001 sisa Rp1.833.333" and remembers
// which loan each number stands for, so that a choice picks the loan that
// was shown even if the list changed meanwhile.
func loanChoices(s *Session, loans []ledger.LoanInfo) []string {
	items := make([]string, len(loans))
	ids := make([]string, len(loans))
	for i, l := range loans {
		items[i] = T(s.Lang, "loan.item", i+1, ident(l.LoanNo, loanNoWidth), rupiah(l.Outstanding))
		ids[i] = strconv.FormatInt(l.LoanID, 10)
	}
	s.set(varLoans, strings.Join(ids, ","))
	return items
}

// chosenLoan is the loan behind choice in among those shown, if it is
// still active.
func chosenLoan(ctx context.Context, e *Engine, s *Session, memberID int64, in string) (ledger.LoanInfo, error) {
	ids := strings.Split(s.get(varLoans), ",")
	i, err := choice(in, len(ids))
	if err != nil || s.get(varLoans) == "" {
		return ledger.LoanInfo{}, errInvalid
	}
	loans, err := e.svc.ActiveLoans(ctx, actor(s), memberID)
	if err != nil {
		return ledger.LoanInfo{}, err
	}
	for _, l := range loans {
		if strconv.FormatInt(l.LoanID, 10) == ids[i] {
			return l, nil
		}
	}
	return ledger.LoanInfo{}, errInvalid // paid off meanwhile: the list shows it no more
}

// offerLoan takes loan for the repayment and what its next installment is.
func offerLoan(ctx context.Context, e *Engine, s *Session, l ledger.LoanInfo, next ScreenID) (ScreenID, error) {
	offer, err := e.svc.OfferRepayment(ctx, actor(s), l)
	if service.CodeOf(err) == service.CodeLoanClosed {
		s.set(varLoanNo, l.LoanNo)
		return scrRepayClosed, nil
	}
	if err != nil {
		return "", err
	}
	s.setInt(varLoan, l.LoanID)
	s.set(varLoanNo, l.LoanNo)
	s.setInt(varOffered, offer.Amount)
	s.set(varDue, "")
	if !offer.Due.IsZero() {
		s.set(varDue, date(offer.Due))
	}
	s.set(varOverdue, "")
	if offer.Overdue { // the offer is the arrears: say so
		s.set(varOverdue, "1")
	}
	return next, nil
}

func startRepay(ctx context.Context, e *Engine, s *Session) (ScreenID, error) {
	return pickLoan(ctx, e, s, s.Who.Holder.ID, scrNoLoan, scrRepayOffer, scrRepayLoans)
}

// pickLoan starts a repayment for memberID: none → the no-loan screen, one
// loan → offered straight away (on offer), several → the list to choose from.
func pickLoan(ctx context.Context, e *Engine, s *Session, memberID int64, none, offer, list ScreenID) (ScreenID, error) {
	loans, err := e.svc.ActiveLoans(ctx, actor(s), memberID)
	if err != nil {
		return "", err
	}
	switch len(loans) {
	case 0:
		return none, nil
	case 1:
		return offerLoan(ctx, e, s, loans[0], offer)
	}
	return list, nil
}

func listRepayLoans(ctx context.Context, e *Engine, s *Session) (string, []string, error) {
	loans, err := e.svc.ActiveLoans(ctx, actor(s), s.Who.Holder.ID)
	if err != nil {
		return "", nil, err
	}
	return T(s.Lang, "loan.choose"), loanChoices(s, loans), nil
}

func handleRepayLoans(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	l, err := chosenLoan(ctx, e, s, s.Who.Holder.ID, in)
	if err != nil {
		return "", err
	}
	return offerLoan(ctx, e, s, l, scrRepayOffer)
}

// renderRepayOffer shows the next installment and the sukarela it would
// come from.
func renderRepayOffer(ctx context.Context, e *Engine, s *Session) (string, error) {
	b, err := e.svc.Balances(ctx, actor(s), s.Who.Holder.ID)
	if err != nil {
		return "", err
	}
	no := ident(s.get(varLoanNo), loanNoWidth)
	if offered := s.getInt(varOffered); offered > 0 {
		if s.get(varOverdue) == "1" { // what is overdue, penalty included (Info Pinjaman says since when)
			return T(s.Lang, "repay.offer_overdue", no, rupiah(offered), rupiah(b.Sukarela), rupiah(offered)), nil
		}
		return T(s.Lang, "repay.offer", no, rupiah(offered), s.get(varDue), rupiah(b.Sukarela), rupiah(offered)), nil
	}
	return T(s.Lang, "repay.offer_none", no, rupiah(b.Sukarela)), nil
}

func handleRepayOffer(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	switch {
	case in == "1" && s.getInt(varOffered) > 0:
		offered := s.getInt(varOffered)
		limit, err := e.svc.MaxAmount(ctx, actor(s))
		if err != nil {
			return "", err
		}
		if offered > limit { // more than USSD may move at once: pay it in parts
			s.Notice = T(s.Lang, "amount.max", rupiah(limit))
			return scrRepayAmount, nil
		}
		s.setInt(varAmount, offered) // exactly what the screen offered
		return e.confirm(s, actRepay), nil
	case in == "2":
		return scrRepayAmount, nil
	}
	return "", errInvalid
}

// amountThen takes an amount (within the USSD limit) and asks to confirm
// act: the amount step of a repayment, a staff deposit or a staff
// repayment.
func amountThen(act ScreenID) func(context.Context, *Engine, *Session, string) (ScreenID, error) {
	return func(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
		n, err := e.amount(ctx, s, in)
		if err != nil {
			return "", err
		}
		s.setInt(varAmount, n)
		return e.confirm(s, act), nil
	}
}

func summaryRepay(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "repay.summary", rupiah(s.getInt(varAmount)), ident(s.get(varLoanNo), loanNoWidth)), nil
}

func actionRepay(ctx context.Context, e *Engine, s *Session) (ScreenID, error) {
	key, err := idemKey(s, "repay")
	if err != nil {
		return "", err
	}
	res, err := e.svc.ReceiveRepayment(ctx, actor(s), key, service.Repayment{
		LoanID: s.getInt(varLoan), Amount: s.getInt(varAmount), FromSukarela: true,
	})
	if next, refused, err := repayRefusal(ctx, e, s, err); refused || err != nil {
		return next, err
	}
	s.setInt(varRef, res.JournalID)
	s.setInt(varOutstanding, res.Outstanding)
	if res.Closed {
		s.set(varClosed, "1")
	}
	return scrRepayDone, nil
}

// repayRefusal picks the screen for a repayment the ledger refused;
// nothing was posted. Other errors are returned.
func repayRefusal(ctx context.Context, e *Engine, s *Session, err error) (ScreenID, bool, error) {
	switch code := service.CodeOf(err); {
	case err == nil:
		return "", false, nil
	case code == service.CodeOverpayment && service.MaxOf(err) > 0:
		s.setInt(varMax, service.MaxOf(err))
		return scrRepayTooMuch, true, nil
	case code == service.CodeLoanClosed:
		return scrRepayClosed, true, nil
	case code == service.CodeInsufficientFunds && s.Who.Holder.Kind == members.KindMember:
		b, berr := e.svc.Balances(ctx, actor(s), s.Who.Holder.ID)
		if berr != nil {
			return "", false, berr
		}
		s.setInt(varBalance, b.Sukarela)
		return scrRepayNoFunds, true, nil
	}
	return "", false, err
}

func renderRepayDone(_ context.Context, _ *Engine, s *Session) (string, error) {
	text := T(s.Lang, "repay.done", rupiah(s.getInt(varAmount)), rupiah(s.getInt(varOutstanding)), s.getInt(varRef))
	if s.get(varClosed) == "1" {
		text += " " + T(s.Lang, "repay.closed")
	}
	return text, nil
}

func renderRepayNoFunds(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "repay.no_funds", rupiah(s.getInt(varAmount)), rupiah(s.getInt(varBalance))), nil
}

func renderRepayTooMuch(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "repay.too_much", ident(s.get(varLoanNo), loanNoWidth), rupiah(s.getInt(varMax))), nil
}

func renderRepayClosed(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "repay.loan_closed", ident(s.get(varLoanNo), loanNoWidth)), nil
}

// ---------------------------------------------------------------------------
// 4 Mutasi

func listStatement(ctx context.Context, e *Engine, s *Session) (string, []string, error) {
	entries, err := e.statement(ctx, s.Lang, actor(s), s.Who.Holder.ID)
	if err != nil {
		return "", nil, err
	}
	if len(entries) == 0 {
		return T(s.Lang, "statement.none"), nil, nil
	}
	items := make([]string, len(entries))
	for i, en := range entries {
		items[i] = date(en.At) + " " + en.Label + " " + signedRupiah(en.Amount)
	}
	return T(s.Lang, "statement.head", ShortName(s.Who.Name)), items, nil
}

// statementEntry is one movement as Mutasi shows it, on USSD and by SMS.
type statementEntry struct {
	At     time.Time // in the cooperative's time zone
	Label  string    // "Setor Sukarela", or the memo (GSM-7, at most 20 characters)
	Amount int64     // signed, as ledger.StatementLine
}

// statement reads a member's last movements and labels them in lang.
func (e *Engine) statement(ctx context.Context, lang string, a service.Actor, memberID int64) ([]statementEntry, error) {
	lines, err := e.svc.Statement(ctx, a, memberID, statementLines)
	if err != nil || len(lines) == 0 {
		return nil, err
	}
	out := make([]statementEntry, len(lines))
	for i, l := range lines {
		label := plain(clip(l.Memo, 20))
		if l.Labeled {
			label = T(lang, "statement."+string(l.Kind)) + " " + accountShort(lang, l.Account)
		}
		out[i] = statementEntry{At: l.At, Label: label, Amount: l.Amount}
	}
	return out, nil
}

// ---------------------------------------------------------------------------
// 5 Info Pinjaman

func listLoanInfo(ctx context.Context, e *Engine, s *Session) (string, []string, error) {
	loans, err := e.svc.ActiveLoans(ctx, actor(s), s.Who.Holder.ID)
	if err != nil {
		return "", nil, err
	}
	if len(loans) == 0 {
		return T(s.Lang, "loan.none"), nil, nil
	}
	items := make([]string, len(loans))
	for i, l := range loans {
		items[i] = strings.Join(loanLines(s.Lang, l), "\n")
	}
	return T(s.Lang, "loaninfo.head"), items, nil
}

// loanLines say where one loan stands, on USSD and by SMS: outstanding,
// the next installment and the arrears if any.
func loanLines(lang string, l ledger.LoanInfo) []string {
	lines := []string{T(lang, "loaninfo.loan", ident(l.LoanNo, loanNoWidth), rupiah(l.Outstanding))}
	if l.NextDue.IsZero() {
		lines = append(lines, T(lang, "loaninfo.no_next"))
	} else {
		lines = append(lines, T(lang, "loaninfo.next", rupiah(l.NextAmount), date(l.NextDue)))
	}
	if l.Arrears > 0 {
		lines = append(lines, T(lang, "loaninfo.arrears", rupiah(l.Arrears), l.DaysLate))
	}
	return lines
}
