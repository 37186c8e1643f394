// Package service is the actions a person takes — a member, a teller, a
// collector, a manager, the operator — one function each, shared by every
// channel: the USSD menus and SMS answers (menus), the counter pages, the
// admin API and the CLI. Each takes the acting holder (Actor), an
// idempotency key where money moves, and plain values; it enforces every
// rule (role, cooperative, a member who left, limits) and returns plain
// results, or an error whose Code (errors.go) a channel turns into its own
// words. Channels keep only their screens, pages and wire formats.
//
// It sits between the channels and the two stores of rules below it:
// members (who is who, PINs) and ledger (the books).
package service

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// Channel is where an action comes from: it picks the limits that apply
// (USSD moves at most the cooperative's USSD limit at once) and it is the
// first part of the idempotency keys the channel makes.
type Channel string

const (
	ChannelUSSD    Channel = "ussd"
	ChannelSMS     Channel = "sms"
	ChannelCounter Channel = "counter"
	ChannelAPI     Channel = "api"
	ChannelCLI     Channel = "cli"
)

// ActorKind is who acts: a member, a staff member, or the operator (the
// CLI on the server, or an admin API token).
type ActorKind string

const (
	ActorMember   ActorKind = ActorKind(members.KindMember)
	ActorStaff    ActorKind = ActorKind(members.KindStaff)
	ActorOperator ActorKind = "operator"
)

// Actor is who takes an action, in which cooperative, through which
// channel. Nobody acts outside their own cooperative.
type Actor struct {
	Kind          ActorKind
	ID            int64 // the member's or staff member's id; the token's id for the API, 0 for the CLI
	CooperativeID int64
	Role          members.Role // staff only
	Channel       Channel
}

// MemberActor is a member acting for themselves.
func MemberActor(coopID, memberID int64, ch Channel) Actor {
	return Actor{Kind: ActorMember, ID: memberID, CooperativeID: coopID, Channel: ch}
}

// StaffActor is a staff member of coopID with role.
func StaffActor(coopID, staffID int64, role members.Role, ch Channel) Actor {
	return Actor{Kind: ActorStaff, ID: staffID, CooperativeID: coopID, Role: role, Channel: ch}
}

// OperatorActor is the operator acting on coopID: from the CLI (id 0) or
// with the admin API token id.
func OperatorActor(coopID, id int64, ch Channel) Actor {
	return Actor{Kind: ActorOperator, ID: id, CooperativeID: coopID, Channel: ch}
}

// ActorOf is the caller a USSD or SMS session identified.
func ActorOf(who members.Identity, ch Channel) Actor {
	return Actor{Kind: ActorKind(who.Holder.Kind), ID: who.Holder.ID, CooperativeID: who.Cooperative.ID, Role: who.Role, Channel: ch}
}

// Holder is the PIN holder the actor is (members and staff only).
func (a Actor) Holder() members.Holder {
	return members.Holder{Kind: members.HolderKind(a.Kind), ID: a.ID, CooperativeID: a.CooperativeID}
}

// String names the actor in the ledger's audit trail: "member:9",
// "staff:3", "cli", "api:12".
func (a Actor) String() string {
	switch a.Kind {
	case ActorMember, ActorStaff:
		return string(a.Kind) + ":" + strconv.FormatInt(a.ID, 10)
	case ActorOperator:
		if a.Channel == ChannelAPI {
			return "api:" + strconv.FormatInt(a.ID, 10)
		}
		return string(a.Channel)
	}
	return "unknown"
}

// Key is the idempotency key of one step of one operation: the channel,
// the operation's own scope (a USSD session and its nonce, a counter
// form's key, an API request's Idempotency-Key) and the step
// ("cash_deposit", "repay", …). A retried step makes the same key, so it
// posts once.
func Key(ch Channel, scope, step string) string {
	return string(ch) + ":" + scope + ":" + step
}

// Directory is what the service needs to know about members and PINs
// (members.Directory).
type Directory interface {
	MemberByNo(ctx context.Context, coopID int64, no string) (members.Member, error)
	StagePIN(ctx context.Context, h members.Holder, pin string) error
	ConfirmPIN(ctx context.Context, h members.Holder, repeat string, activationID int64) error
}

// Books is what the service needs from the ledger for the member's and the
// staff's daily actions (ledger.Ledger, or its settings cache).
type Books interface {
	MemberBalances(ctx context.Context, coopID, memberID int64) (ledger.MemberBalances, error)
	Statement(ctx context.Context, coopID, memberID int64, n int) ([]ledger.StatementLine, error)
	LoanInfo(ctx context.Context, coopID, memberID int64) ([]ledger.LoanInfo, error)
	NextInstallment(ctx context.Context, coopID, loanID int64) (amount int64, due time.Time, err error)
	Repay(ctx context.Context, r ledger.Repayment) (ledger.RepaymentResult, error)
	CreateDepositCode(ctx context.Context, r ledger.DepositCodeRequest) (ledger.DepositCode, error)
	LookupDepositCode(ctx context.Context, coopID int64, code string) (ledger.DepositCode, error)
	ConfirmDepositCode(ctx context.Context, coopID, staffID int64, code string, actor string) (ledger.Receipt, error)
	DepositCash(ctx context.Context, d ledger.CashDeposit) (ledger.Receipt, error)
	StaffCashToday(ctx context.Context, coopID, staffID int64) (count int, total int64, err error)
	MaxUSSDAmount(ctx context.Context, coopID int64) (int64, error)
	Location(ctx context.Context, coopID int64) (*time.Location, error)
}

// Registry is what registering people and issuing codes need
// (members.Directory).
type Registry interface {
	AddMember(ctx context.Context, coopID int64, nm members.NewMember) (members.Member, error)
	AddStaffWithCredentials(ctx context.Context, coopID int64, name, phone string, role members.Role, password string) (members.Staff, string, time.Time, error)
	StaffByPhone(ctx context.Context, coopID int64, phone string) ([]members.Staff, error)
	IssueActivationCode(ctx context.Context, h members.Holder, ttl time.Duration) (string, time.Time, error)
}

// Finder searches a cooperative's members (members.Directory).
type Finder interface {
	FindMembers(ctx context.Context, coopID int64, query, after string, limit int) ([]members.Member, string, error)
	MemberByID(ctx context.Context, coopID, id int64) (members.Member, error)
}

// Management is what a manager's actions need from the ledger
// (ledger.Ledger).
type Management interface {
	Reverse(ctx context.Context, r ledger.Reversal) (int64, error)
	DisburseLoan(ctx context.Context, nl ledger.NewLoan) (ledger.Loan, error)
	DayReport(ctx context.Context, coopID int64, day time.Time) (ledger.DayReport, error)
}

// Deps are the stores a Service works over. Directory and Books are
// required; an action that needs a missing Registry or Management answers
// internal (the USSD engine has neither: it registers nobody).
type Deps struct {
	Directory  Directory
	Books      Books
	Registry   Registry
	Finder     Finder
	Management Management
	Records    Records
	Now        func() time.Time // nil: time.Now
}

// Service runs the actions.
type Service struct {
	dir   Directory
	books Books
	reg   Registry
	find  Finder
	mgmt  Management
	recs  Records
	now   func() time.Time
}

// New returns a Service over d.
func New(d Deps) *Service {
	now := d.Now
	if now == nil {
		now = time.Now
	}
	return &Service{dir: d.Directory, books: d.Books, reg: d.Registry, find: d.Finder, mgmt: d.Management, recs: d.Records, now: now}
}

// mustStaff refuses anyone but staff of the cooperative, and, if roles
// are named, staff with another role. Every role takes cash and looks
// members up.
func mustStaff(a Actor, roles ...members.Role) error {
	if a.Kind != ActorStaff || a.ID == 0 || a.CooperativeID == 0 {
		return refuse(CodeForbidden, "%s is not staff", a)
	}
	if len(roles) == 0 {
		return nil
	}
	for _, r := range roles {
		if a.Role == r {
			return nil
		}
	}
	return refuse(CodeForbidden, "%s has role %q", a, a.Role)
}

// mustManage refuses anyone but a manager or the operator.
func mustManage(a Actor) error {
	if a.Kind == ActorOperator && a.CooperativeID != 0 {
		return nil
	}
	return mustStaff(a, members.RoleManager)
}

// mustMember refuses anyone but a member acting for themselves.
func mustMember(a Actor) error {
	if a.Kind != ActorMember || a.ID == 0 || a.CooperativeID == 0 {
		return refuse(CodeForbidden, "%s is not a member", a)
	}
	return nil
}

// checkKey refuses an empty idempotency key: money never moves without one.
func checkKey(key string) error {
	if strings.TrimSpace(key) == "" {
		return invalid("idempotency_key", "no idempotency key: money cannot move")
	}
	return nil
}

// limit holds amount to what the actor's channel may move at once: on
// USSD the cooperative's USSD limit.
func (s *Service) limit(ctx context.Context, a Actor, amount int64) error {
	if amount <= 0 {
		return invalid("amount", "amount %d is not positive", amount)
	}
	if a.Channel != ChannelUSSD {
		return nil
	}
	max, err := s.books.MaxUSSDAmount(ctx, a.CooperativeID)
	if err != nil {
		return err
	}
	if amount > max {
		return &Error{Code: CodeAboveLimit, Max: max, Detail: "above the USSD limit"}
	}
	return nil
}
