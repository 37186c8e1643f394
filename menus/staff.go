package menus

import (
	"context"
	"errors"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/service"
)

// The staff menu: tellers, collectors and managers take cash for members
// of their own cooperative. Every call passes s.Who.Coop.ID, and members
// and loans are only ever looked up within it.

func renderStaffMain(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "staff.head", clip(s.Who.Coop.Name, maxHeader)) + "\n" + T(s.Lang, "staff.menu"), nil
}

func handleStaffMain(_ context.Context, _ *Engine, s *Session, in string) (ScreenID, error) {
	// The staff PIN comes first, before any member's name, loans or deposit
	// code is shown: a phone left on a counter, or a hop forged with a
	// staff number, learns nothing. The money step then asks 1 Ya / 2 Batal
	// (or the PIN again after a pause; see Engine.confirm).
	switch in {
	case "1":
		return needPIN(s, scrStaffDepNo), nil
	case "2":
		return needPIN(s, scrStaffRepNo), nil
	case "3":
		return needPIN(s, scrStaffCode), nil
	case "4":
		return needPIN(s, scrStaffCash), nil
	}
	return "", errInvalid
}

// memberLabel is the member a staff flow is for: "Maria Goreti Bria
// (A-001)". The number is shown whole (a shortened number is another
// member's); the name gives way to it.
func memberLabel(s *Session) string {
	no := ident(s.get(varMemberNo), 20)
	return clip(s.get(varMemberName), max(12, 36-len(no))) + " (" + no + ")"
}

// handleStaffMemberNo finds the member whose number staff typed, within
// the staff member's cooperative, then goes on to next.
func handleStaffMemberNo(next ScreenID) func(context.Context, *Engine, *Session, string) (ScreenID, error) {
	return func(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
		m, err := e.svc.ActiveMemberByNo(ctx, actor(s), in)
		switch service.CodeOf(err) {
		case "":
		case service.CodeNotFound:
			return "", invalidWith{key: "staff.member_unknown"}
		case service.CodeInvalidRequest:
			return "", invalidWith{key: "staff.member_ambiguous"}
		case service.CodeMemberLeft:
			return "", invalidWith{key: "staff.member_left"}
		default:
			return "", err
		}
		s.setInt(varMember, m.ID)
		s.set(varMemberName, m.Name)
		s.set(varMemberNo, m.No)
		if next == scrStaffRepLoans {
			return startStaffRepay(ctx, e, s)
		}
		return next, nil
	}
}

// ---------------------------------------------------------------------------
// 1 Terima Setoran

func renderStaffDepAccount(_ context.Context, _ *Engine, s *Session) (string, error) {
	return memberLabel(s) + "\n" + T(s.Lang, "staff.dep_account"), nil
}

func summaryStaffDeposit(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "staff.dep_summary", rupiah(s.getInt(varAmount)), accountShort(s.Lang, varAccountKind(s)), memberLabel(s)), nil
}

func actionStaffDeposit(ctx context.Context, e *Engine, s *Session) (ScreenID, error) {
	key, err := idemKey(s, "cash_deposit")
	if err != nil {
		return "", err
	}
	rc, err := e.svc.ReceiveDeposit(ctx, actor(s), key, service.Deposit{
		MemberID: s.getInt(varMember), Account: varAccountKind(s), Amount: s.getInt(varAmount),
	})
	if err != nil {
		return "", err
	}
	s.setInt(varRef, rc.JournalID)
	return scrStaffDepDone, nil
}

func renderStaffDepDone(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "staff.dep_done", rupiah(s.getInt(varAmount)), accountShort(s.Lang, varAccountKind(s)), memberLabel(s), s.getInt(varRef)), nil
}

// ---------------------------------------------------------------------------
// 2 Terima Angsuran

func startStaffRepay(ctx context.Context, e *Engine, s *Session) (ScreenID, error) {
	return pickLoan(ctx, e, s, s.getInt(varMember), scrStaffNoLoan, scrStaffRepAmt, scrStaffRepLoans)
}

func renderStaffNoLoan(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "staff.no_loan", memberLabel(s)), nil
}

func listStaffRepLoans(ctx context.Context, e *Engine, s *Session) (string, []string, error) {
	loans, err := e.svc.ActiveLoans(ctx, actor(s), s.getInt(varMember))
	if err != nil {
		return "", nil, err
	}
	return memberLabel(s) + "\n" + T(s.Lang, "loan.choose"), loanChoices(s, loans), nil
}

func handleStaffRepLoans(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	l, err := chosenLoan(ctx, e, s, s.getInt(varMember), in)
	if err != nil {
		return "", err
	}
	return offerLoan(ctx, e, s, l, scrStaffRepAmt)
}

// renderStaffRepAmount asks for the cash taken, with the installment due
// as a hint.
func renderStaffRepAmount(_ context.Context, _ *Engine, s *Session) (string, error) {
	no := ident(s.get(varLoanNo), loanNoWidth)
	hint := T(s.Lang, "staff.rep_loan", no)
	if offered := s.getInt(varOffered); offered > 0 {
		key := "staff.rep_hint"
		if s.get(varOverdue) == "1" {
			key = "staff.rep_hint_overdue"
		}
		hint = T(s.Lang, key, no, rupiah(offered))
	}
	return memberLabel(s) + "\n" + hint + "\n" + T(s.Lang, "staff.amount"), nil
}

func summaryStaffRepay(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "staff.rep_summary", rupiah(s.getInt(varAmount)), ident(s.get(varLoanNo), loanNoWidth), memberLabel(s)), nil
}

func actionStaffRepay(ctx context.Context, e *Engine, s *Session) (ScreenID, error) {
	key, err := idemKey(s, "cash_repay")
	if err != nil {
		return "", err
	}
	res, err := e.svc.ReceiveRepayment(ctx, actor(s), key, service.Repayment{LoanID: s.getInt(varLoan), Amount: s.getInt(varAmount)})
	if next, refused, err := repayRefusal(ctx, e, s, err); refused || err != nil {
		return next, err
	}
	s.setInt(varRef, res.JournalID)
	s.setInt(varOutstanding, res.Outstanding)
	if res.Closed {
		s.set(varClosed, "1")
	}
	return scrStaffRepDone, nil
}

func renderStaffRepDone(_ context.Context, _ *Engine, s *Session) (string, error) {
	text := T(s.Lang, "staff.rep_done", rupiah(s.getInt(varAmount)), ident(s.get(varLoanNo), loanNoWidth),
		rupiah(s.getInt(varOutstanding)), s.getInt(varRef))
	if s.get(varClosed) == "1" {
		text += " " + T(s.Lang, "repay.closed")
	}
	return text, nil
}

// ---------------------------------------------------------------------------
// 3 Konfirmasi Kode Setor

// codeRefusal is the screens' words for why a deposit code cannot be
// taken, if err is such a reason.
func codeRefusal(err error) (string, bool) {
	switch service.CodeOf(err) {
	case service.CodeCodeExpired:
		return "code.expired", true
	case service.CodeCodeUsed:
		return "code.used", true
	case service.CodeNotFound:
		if errors.Is(err, ledger.ErrDepositCodeNotFound) { // not a staff member who is gone
			return "code.unknown", true
		}
	}
	return "", false
}

func handleStaffCode(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	if !isDigits(in, 6) {
		return "", invalidWith{key: "code.shape"}
	}
	dc, err := e.svc.LookupDepositCode(ctx, actor(s), in)
	if key, ok := codeRefusal(err); ok {
		return "", invalidWith{key: key}
	}
	if err != nil {
		return "", err
	}
	s.set(varCode, dc.Code)
	s.setInt(varMember, dc.MemberID)
	s.set(varMemberName, dc.MemberName)
	s.set(varMemberNo, dc.MemberNo)
	s.set(varAccount, string(dc.Account))
	s.setInt(varAmount, dc.Amount)
	return e.confirm(s, actStaffCode), nil
}

func summaryStaffCode(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "staff.code_summary", s.get(varCode), memberLabel(s),
		accountShort(s.Lang, varAccountKind(s)), rupiah(s.getInt(varAmount))), nil
}

func actionStaffCode(ctx context.Context, e *Engine, s *Session) (ScreenID, error) {
	shown := ledger.DepositCode{Amount: s.getInt(varAmount), Account: varAccountKind(s)}
	rc, err := e.svc.ConfirmDepositCode(ctx, actor(s), s.get(varCode), shown)
	if service.CodeOf(err) == service.CodeCodeUsed {
		// Confirmed since it was shown: by somebody else, or by this very
		// hop run before when its reply was lost. Either way the deposit
		// is on the books once; say so rather than "nothing recorded".
		s.set(varRefusal, "code.confirmed")
		return scrStaffCodeBad, nil
	}
	if key, ok := codeRefusal(err); ok { // expired or gone since it was shown: nothing posted
		s.set(varRefusal, key)
		return scrStaffCodeBad, nil
	}
	if err != nil {
		return "", err
	}
	if rc.Changed {
		// The number was reissued between look-up and confirmation: say
		// what was actually posted.
		e.log.Warn("deposit code changed between look-up and confirmation", "journal", rc.JournalID)
		s.set(varMemberName, "")
		s.set(varMemberNo, "")
	}
	s.setInt(varAmount, rc.Amount)
	s.set(varAccount, string(rc.Account))
	s.setInt(varRef, rc.JournalID)
	return scrStaffCodeDone, nil
}

func renderStaffCodeDone(_ context.Context, _ *Engine, s *Session) (string, error) {
	who := memberLabel(s)
	if s.get(varMemberNo) == "" {
		who = T(s.Lang, "staff.code_member")
	}
	return T(s.Lang, "staff.code_done", s.get(varCode), rupiah(s.getInt(varAmount)), accountShort(s.Lang, varAccountKind(s)), who, s.getInt(varRef)), nil
}

func renderStaffCodeRefused(_ context.Context, _ *Engine, s *Session) (string, error) {
	if s.get(varRefusal) == "code.confirmed" {
		return T(s.Lang, "code.confirmed"), nil
	}
	return T(s.Lang, s.get(varRefusal)) + " " + T(s.Lang, "nothing_posted"), nil
}

// ---------------------------------------------------------------------------
// 4 Kas Saya Hari Ini

func renderStaffCash(ctx context.Context, e *Engine, s *Session) (string, error) {
	n, total, err := e.svc.MyCash(ctx, actor(s))
	if err != nil {
		return "", err
	}
	return T(s.Lang, "staff.cash", n, rupiah(total)), nil
}
