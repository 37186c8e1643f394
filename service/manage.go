package service

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// A manager's actions (and the operator's): reversing a journal,
// registering members and staff, disbursing loans.

// ReverseJournal posts the reversal of journalID with a reason: every
// posting turned around, at most once (already_reversed), never a
// reversal of a reversal (not_reversible).
func (s *Service) ReverseJournal(ctx context.Context, a Actor, journalID int64, reason string) (int64, error) {
	if err := mustManage(a); err != nil {
		return 0, err
	}
	if s.mgmt == nil {
		return 0, errors.New("reverse: no ledger management wired")
	}
	if journalID <= 0 {
		return 0, invalid("journal_id", "journal id %d", journalID)
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return 0, invalid("reason", "a reversal needs a reason")
	}
	if len(reason) > 500 {
		return 0, invalid("reason", "the reason is longer than 500 bytes")
	}
	return s.mgmt.Reverse(ctx, ledger.Reversal{CooperativeID: a.CooperativeID, JournalID: journalID, Actor: a.String(), Reason: reason})
}

// RegisterMember adds a member with their pokok, wajib and sukarela
// accounts. The member number is the natural key: registering it again is
// already_exists.
func (s *Service) RegisterMember(ctx context.Context, a Actor, nm members.NewMember) (members.Member, error) {
	if err := mustManage(a); err != nil {
		return members.Member{}, err
	}
	if s.reg == nil {
		return members.Member{}, errors.New("register member: no registry wired")
	}
	switch {
	case strings.TrimSpace(nm.No) == "":
		return members.Member{}, invalid("member_no", "a member needs a number")
	case strings.TrimSpace(nm.Name) == "":
		return members.Member{}, invalid("name", "a member needs a name")
	case nm.Language != "" && nm.Language != "id" && nm.Language != "en":
		return members.Member{}, invalid("language", "language %q: id or en", nm.Language)
	}
	if _, err := members.NormalizeMSISDN(nm.Phone); err != nil {
		return members.Member{}, &Error{Code: CodeInvalidRequest, Field: "phone", Detail: "an Indonesian phone number, e.g. 081234567890", Err: err}
	}
	return s.reg.AddMember(ctx, a.CooperativeID, nm)
}

// DayReport is the cooperative's local calendar day of day (its year,
// month and day as day's location reads them): per staff member the
// journals by kind and the cash through their drawer, and the totals.
func (s *Service) DayReport(ctx context.Context, a Actor, day time.Time) (ledger.DayReport, error) {
	if err := mustManage(a); err != nil {
		return ledger.DayReport{}, err
	}
	if s.mgmt == nil {
		return ledger.DayReport{}, errors.New("day report: no ledger management wired")
	}
	if day.IsZero() {
		loc, err := s.books.Location(ctx, a.CooperativeID)
		if err != nil {
			return ledger.DayReport{}, err
		}
		day = s.now().In(loc)
	}
	return s.mgmt.DayReport(ctx, a.CooperativeID, day)
}

// Loan is a loan a manager disburses to a member.
type Loan struct {
	LoanNo      string
	MemberNo    string
	Principal   int64
	RateBP      int64 // basis points a month: 150 = 1.5 %
	Method      ledger.Method
	TermMonths  int
	DisbursedOn time.Time // zero: today
}

// DisburseLoan pays a loan out of the vault to an active member and
// writes its schedule. The key makes a retry answer the first loan.
func (s *Service) DisburseLoan(ctx context.Context, a Actor, key string, l Loan) (ledger.Loan, error) {
	if err := mustManage(a); err != nil {
		return ledger.Loan{}, err
	}
	if s.mgmt == nil {
		return ledger.Loan{}, errors.New("disburse: no ledger management wired")
	}
	if err := checkKey(key); err != nil {
		return ledger.Loan{}, err
	}
	switch {
	case strings.TrimSpace(l.LoanNo) == "":
		return ledger.Loan{}, invalid("loan_no", "a loan needs a number")
	case l.Principal <= 0:
		return ledger.Loan{}, invalid("principal", "principal %d is not positive", l.Principal)
	case l.RateBP < 0:
		return ledger.Loan{}, invalid("rate", "rate %d is negative", l.RateBP)
	case !l.Method.Valid():
		return ledger.Loan{}, invalid("method", "method %q: flat, menurun or anuitas", l.Method)
	case l.TermMonths <= 0:
		return ledger.Loan{}, invalid("term_months", "term %d is not positive", l.TermMonths)
	}
	m, err := s.ActiveMemberByNo(ctx, a, l.MemberNo)
	if err != nil {
		return ledger.Loan{}, err
	}
	on := l.DisbursedOn
	if on.IsZero() {
		loc, err := s.books.Location(ctx, a.CooperativeID)
		if err != nil {
			return ledger.Loan{}, err
		}
		on = s.now().In(loc)
	}
	return s.mgmt.DisburseLoan(ctx, ledger.NewLoan{
		CooperativeID: a.CooperativeID, MemberID: m.ID, LoanNo: strings.TrimSpace(l.LoanNo),
		Principal: l.Principal, RateBP: l.RateBP, Method: l.Method, TermMonths: l.TermMonths,
		DisbursedOn: on, Key: key, Actor: a.String(),
	})
}

// NewStaff is a staff member to register.
type NewStaff struct {
	Name, Phone string
	Role        members.Role
}

// StaffCredentials is what a new staff member is given once: an
// activation code for their USSD PIN and a first web password.
type StaffCredentials struct {
	Staff          members.Staff
	ActivationCode string
	Expires        time.Time
	WebPassword    string
}

// AddStaff registers a teller, collector or manager with a first web
// password (to be changed at first login) and an activation code. One
// phone is one staff member of a cooperative: a second is already_exists.
func (s *Service) AddStaff(ctx context.Context, a Actor, ns NewStaff) (StaffCredentials, error) {
	if err := mustManage(a); err != nil {
		return StaffCredentials{}, err
	}
	if s.reg == nil {
		return StaffCredentials{}, errors.New("add staff: no registry wired")
	}
	role, err := members.ParseRole(string(ns.Role))
	if err != nil {
		return StaffCredentials{}, &Error{Code: CodeInvalidRequest, Field: "role", Err: err}
	}
	if strings.TrimSpace(ns.Name) == "" {
		return StaffCredentials{}, invalid("name", "a staff member needs a name")
	}
	if _, err := members.NormalizeMSISDN(ns.Phone); err != nil {
		return StaffCredentials{}, &Error{Code: CodeInvalidRequest, Field: "phone", Err: err}
	}
	existing, err := s.reg.StaffByPhone(ctx, a.CooperativeID, ns.Phone)
	if err != nil {
		return StaffCredentials{}, err
	}
	if len(existing) > 0 {
		return StaffCredentials{Staff: existing[0]}, &Error{Code: CodeAlreadyExists, Field: "phone",
			Detail: fmt.Sprintf("the phone is staff member %d's (%s)", existing[0].ID, existing[0].Role), Err: members.ErrDuplicate}
	}
	password, err := NewWebPassword()
	if err != nil {
		return StaffCredentials{}, err
	}
	st, code, expires, err := s.reg.AddStaffWithCredentials(ctx, a.CooperativeID, ns.Name, ns.Phone, role, password)
	if err != nil {
		return StaffCredentials{}, err
	}
	return StaffCredentials{Staff: st, ActivationCode: code, Expires: expires, WebPassword: password}, nil
}

const (
	webPasswordLen  = 16 // characters, without the dashes between groups of four
	webPasswordSyms = "abcdefghjkmnpqrstuvwxyz23456789"
)

// NewWebPassword is 16 random characters from an alphabet without
// look-alikes (0/o, 1/l/i), in dashed groups of four: "k7mq-2xhp-…"
// (about 79 bits).
func NewWebPassword() (string, error) {
	var b strings.Builder
	alphabet := big.NewInt(int64(len(webPasswordSyms)))
	for i := range webPasswordLen {
		if i > 0 && i%4 == 0 {
			b.WriteByte('-')
		}
		n, err := rand.Int(rand.Reader, alphabet)
		if err != nil {
			return "", err
		}
		b.WriteByte(webPasswordSyms[n.Int64()])
	}
	return b.String(), nil
}
