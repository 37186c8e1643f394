package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// Finding a member, what they hold, and their PIN.

// FindMemberByNo is the member of the actor's cooperative with that number
// (as staff type it: "a-001", "A 001", a unique shortened number).
// A member who left is found (their history is still theirs); actions that
// move money refuse them.
func (s *Service) FindMemberByNo(ctx context.Context, a Actor, no string) (members.Member, error) {
	if err := mayFind(a); err != nil {
		return members.Member{}, err
	}
	if strings.TrimSpace(no) == "" {
		return members.Member{}, invalid("member_no", "no member number")
	}
	m, err := s.dir.MemberByNo(ctx, a.CooperativeID, no)
	if err != nil {
		return members.Member{}, err
	}
	if m.CooperativeID != a.CooperativeID { // never: MemberByNo looks within the cooperative
		return members.Member{}, fmt.Errorf("member %d of cooperative %d found for %s of cooperative %d", m.ID, m.CooperativeID, a, a.CooperativeID)
	}
	return m, nil
}

// FindMembers is the counter's and the API's member search within the
// actor's cooperative: by number, phone in any Indonesian form, or name in
// any case and with or without accents; limit at a time (at most 100),
// after the cursor of the page before ("" first); next is "" on the last
// page.
func (s *Service) FindMembers(ctx context.Context, a Actor, query, after string, limit int) (found []members.Member, next string, err error) {
	if err := mayFind(a); err != nil {
		return nil, "", err
	}
	if s.find == nil {
		return nil, "", fmt.Errorf("find members: no finder wired")
	}
	if limit < 0 || limit > 100 {
		return nil, "", invalid("limit", "limit %d: 1 to 100", limit)
	}
	return s.find.FindMembers(ctx, a.CooperativeID, query, after, limit)
}

// ActiveMemberByNo is FindMemberByNo for an action that moves money:
// a member who left is member_left.
func (s *Service) ActiveMemberByNo(ctx context.Context, a Actor, no string) (members.Member, error) {
	m, err := s.FindMemberByNo(ctx, a, no)
	if err != nil {
		return members.Member{}, err
	}
	if m.Status != members.StatusActive {
		return members.Member{}, &Error{Code: CodeMemberLeft, Detail: "member " + m.No + " has left", Err: ledger.ErrMemberLeft}
	}
	return m, nil
}

// mayFind: staff of any role and the operator look members up.
func mayFind(a Actor) error {
	if a.Kind == ActorOperator && a.CooperativeID != 0 {
		return nil
	}
	return mustStaff(a)
}

// mayView: a member sees only themselves; staff and the operator see the
// members of their cooperative.
func (s *Service) mayView(a Actor, memberID int64) error {
	if a.Kind == ActorMember {
		if err := mustMember(a); err != nil {
			return err
		}
		if a.ID != memberID {
			return refuse(CodeNotFound, "%s looked at member %d", a, memberID)
		}
		return nil
	}
	return mayFind(a)
}

// MemberView is where a member stands: their balances, their loans and
// their last movements.
type MemberView struct {
	Balances  ledger.MemberBalances
	Loans     []ledger.LoanInfo
	Movements []ledger.StatementLine // newest first
}

// ViewMember is where the member numbered no stands, with their last n
// movements: for staff and the operator, within their cooperative (a
// member who left is shown too). A member views themselves with
// ViewMyself.
func (s *Service) ViewMember(ctx context.Context, a Actor, no string, n int) (members.Member, MemberView, error) {
	m, err := s.FindMemberByNo(ctx, a, no)
	if err != nil {
		return members.Member{}, MemberView{}, err
	}
	v, err := s.view(ctx, a.CooperativeID, m.ID, n)
	return m, v, err
}

// ViewMyself is where the acting member stands.
func (s *Service) ViewMyself(ctx context.Context, a Actor, n int) (MemberView, error) {
	if err := mustMember(a); err != nil {
		return MemberView{}, err
	}
	return s.view(ctx, a.CooperativeID, a.ID, n)
}

func (s *Service) view(ctx context.Context, coopID, memberID int64, n int) (MemberView, error) {
	var v MemberView
	var err error
	if v.Balances, err = s.books.MemberBalances(ctx, coopID, memberID); err != nil {
		return MemberView{}, err
	}
	if v.Loans, err = s.books.LoanInfo(ctx, coopID, memberID); err != nil {
		return MemberView{}, err
	}
	if n > 0 {
		if v.Movements, err = s.books.Statement(ctx, coopID, memberID, n); err != nil {
			return MemberView{}, err
		}
	}
	return v, nil
}

// Balances are a member's savings and what their loans still owe.
func (s *Service) Balances(ctx context.Context, a Actor, memberID int64) (ledger.MemberBalances, error) {
	if err := s.mayView(a, memberID); err != nil {
		return ledger.MemberBalances{}, err
	}
	return s.books.MemberBalances(ctx, a.CooperativeID, memberID)
}

// Movement is one line of a member's statement as every channel labels it.
type Movement struct {
	At      time.Time          // in the cooperative's time zone
	Kind    ledger.JournalKind // deposit, opening, repayment, disbursement, reversal, or another
	Labeled bool               // Kind is one of LabeledKinds: show its label; else show Memo
	Memo    string
	Account ledger.AccountKind
	Amount  int64 // signed: into the member's account > 0
}

// LabeledKinds are the journal kinds every channel names in its own words
// ("Setor Sukarela"); any other shows its memo.
var LabeledKinds = map[ledger.JournalKind]bool{ledger.KindDeposit: true, ledger.KindOpening: true, ledger.KindRepayment: true,
	ledger.KindDisbursement: true, ledger.KindReversal: true}

// Statement is a member's last n movements, newest first, at the
// cooperative's local time.
func (s *Service) Statement(ctx context.Context, a Actor, memberID int64, n int) ([]Movement, error) {
	if err := s.mayView(a, memberID); err != nil {
		return nil, err
	}
	lines, err := s.books.Statement(ctx, a.CooperativeID, memberID, n)
	if err != nil || len(lines) == 0 {
		return nil, err
	}
	loc, err := s.books.Location(ctx, a.CooperativeID)
	if err != nil {
		return nil, err
	}
	out := make([]Movement, len(lines))
	for i, l := range lines {
		out[i] = Movement{At: l.At.In(loc), Kind: l.Kind, Labeled: LabeledKinds[l.Kind], Memo: l.Memo, Account: l.Account, Amount: l.Amount}
	}
	return out, nil
}

// StageNewPIN is the first step of choosing a PIN (first use or "Ganti
// PIN"): the new PIN, checked for shape and strength, held until repeated.
func (s *Service) StageNewPIN(ctx context.Context, a Actor, pin string) error {
	if a.Kind != ActorMember && a.Kind != ActorStaff {
		return refuse(CodeForbidden, "%s has no PIN", a)
	}
	return s.dir.StagePIN(ctx, a.Holder(), pin)
}

// ChangePIN is the second step: the new PIN repeated. activationID is the
// activation code proved for a first PIN (0 for a change, after the old
// PIN was checked).
func (s *Service) ChangePIN(ctx context.Context, a Actor, repeat string, activationID int64) error {
	if a.Kind != ActorMember && a.Kind != ActorStaff {
		return refuse(CodeForbidden, "%s has no PIN", a)
	}
	return s.dir.ConfirmPIN(ctx, a.Holder(), repeat, activationID)
}

// IssueActivationCode gives a member a fresh single-use activation code
// (first PIN, forgotten or locked PIN); earlier codes stop working. Staff
// of the member's cooperative and the operator issue them; never for a
// member who left.
func (s *Service) IssueActivationCode(ctx context.Context, a Actor, memberNo string) (code string, m members.Member, expires time.Time, err error) {
	if s.reg == nil {
		return "", members.Member{}, time.Time{}, fmt.Errorf("activation codes: no registry wired")
	}
	if m, err = s.ActiveMemberByNo(ctx, a, memberNo); err != nil {
		return "", members.Member{}, time.Time{}, err
	}
	code, expires, err = s.reg.IssueActivationCode(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: a.CooperativeID}, members.ActivationCodeTTL)
	return code, m, expires, err
}
