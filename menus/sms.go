package menus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

// SMS answers and outbox texts. They come from the same Books calls and
// the same catalogue as the USSD screens; only the layout differs: one
// message of at most two segments, signed with the cooperative's name.

// SMS notices, for SMSText. The processor signs them with SignSMS when it
// knows the cooperative.
const (
	SMSHelp         = "sms.help"         // the commands
	SMSHelpPIN      = "sms.help_pin"     // the commands, for a cooperative that wants the PIN in SMS
	SMSUnregistered = "sms.unregistered" // an unknown sender; names no cooperative
	SMSFamily       = "sms.family"       // arg: an example member number ("A-001")
	SMSFamilyPIN    = "sms.family_pin"   // arg: an example member number; the PIN is wanted too
	SMSPINRequired  = "sms.pin_required" // the PIN is missing from the command
	SMSWrongPIN     = "pin.wrong"        // arg: tries left (int)
	SMSPINLocked    = "pin.locked"
	SMSNoPIN        = "pin.none" // no PIN yet: ask the office for an activation code
	SMSFailure      = "error.internal"
)

// SMSText returns notice key (one of the SMS… constants) in lang, formatted
// with args.
func SMSText(lang, key string, args ...any) string { return T(lang, key, args...) }

// Outbox templates rendered by RenderSMS, besides the ledger's own
// (ledger.Tmpl…).
const (
	TmplReminderDue     = "reminder.due"     // params: loan, amount, due (YYYY-MM-DD); due in 3 days
	TmplReminderOverdue = "reminder.overdue" // params: loan, amount (overdue), due (YYYY-MM-DD, oldest unpaid)
	TmplReply           = "reply"            // params: text, an answer already rendered; sent as it is
)

// SMSTemplates lists every outbox template RenderSMS knows.
var SMSTemplates = []string{
	ledger.TmplDepositReceipt, ledger.TmplRepaymentReceipt, ledger.TmplDepositCode, ledger.TmplReversal,
	ledger.TmplPINChanged, ledger.TmplPINLocked, ledger.TmplDisbursement, TmplReminderDue, TmplReminderOverdue, TmplReply,
}

// SMSTemplateParams are the params each template needs. Every template but
// "reply" also takes two optional ones: "coop" (the cooperative's name, to
// sign the text) and "name" (the member's name, shown first: several
// members may share one phone).
var SMSTemplateParams = map[string][]string{
	ledger.TmplDepositReceipt:   {"amount", "account", "balance", "ref"},
	ledger.TmplRepaymentReceipt: {"amount", "loan", "outstanding", "ref"},
	ledger.TmplDepositCode:      {"code", "amount", "account", "expires"},
	ledger.TmplReversal:         {"amount", "ref", "reason"},
	ledger.TmplPINChanged:       nil,
	ledger.TmplPINLocked:        nil, // optional: until (RFC 3339), the end of a timed lock
	ledger.TmplDisbursement:     {"loan", "amount", "installment", "due", "ref"},
	TmplReminderDue:             {"loan", "amount", "due"},
	TmplReminderOverdue:         {"loan", "amount", "due"},
	TmplReply:                   {"text"},
}

// ErrSMSTemplate is returned for an unknown template or params that are
// missing or malformed: nothing half-filled is ever sent.
var ErrSMSTemplate = errors.New("sms template cannot be rendered")

// smsSegment and smsSingle are what one part of a concatenated GSM-7
// message holds and what a single message holds. smsBudget keeps answers
// within two parts even when a two-septet character falls on the border.
const (
	smsSegment = 153
	smsSingle  = 160
	smsBudget  = 2*smsSegment - 1
)

// reasonWidth bounds a reversal's reason.
const reasonWidth = 60

// RenderSMS renders an outbox template in lang ("id" or "en"). Amounts are
// digit strings, dates YYYY-MM-DD, instants RFC 3339 (shown in their own
// offset, the cooperative's); database text goes through plain().
func RenderSMS(lang, template string, params map[string]string) (string, error) {
	p := smsParams{template: template, m: params}
	var text string
	switch template {
	case ledger.TmplDepositReceipt:
		amount, account, balance, ref := p.amount("amount"), p.account("account"), p.amount("balance"), p.digits("ref")
		if p.err == nil {
			text = T(lang, "sms.receipt_deposit", accountName(lang, account), amount, accountShort(lang, account), balance, ref)
		}
	case ledger.TmplRepaymentReceipt:
		amount, loan, outstanding, ref := p.amount("amount"), p.str("loan"), p.amount("outstanding"), p.digits("ref")
		text = T(lang, "sms.receipt_repayment", amount, ident(loan, loanNoWidth), outstanding, ref)
		if p.m["outstanding"] != "" && strings.Trim(p.m["outstanding"], "0") == "" {
			text += " " + T(lang, "repay.closed")
		}
	case ledger.TmplDepositCode:
		code, amount, account, expires := p.digits("code"), p.amount("amount"), p.account("account"), p.instant("expires")
		if p.err == nil {
			text = T(lang, "sms.deposit_code", code, amount, accountName(lang, account), expires)
		}
	case ledger.TmplReversal:
		amount, ref := p.amount("amount"), p.digits("ref")
		text = T(lang, "sms.receipt_reversal", amount, ref)
		if reason := strings.TrimRight(clip(plain(p.optional("reason")), reasonWidth), ". "); reason != "" {
			text += " " + T(lang, "sms.reason", reason)
		}
		if _, ok := params["reason"]; !ok {
			p.fail("reason", "missing")
		}
	case ledger.TmplDisbursement:
		loan, amount, installment, due, ref := p.str("loan"), p.amount("amount"), p.amount("installment"), p.day("due"), p.digits("ref")
		text = T(lang, "sms.receipt_disbursement", ident(loan, loanNoWidth), amount, installment, due, ref)
	case ledger.TmplPINChanged:
		text = T(lang, "sms.pin_changed")
	case ledger.TmplPINLocked:
		// A timed lock says when the member may try again; the permanent
		// one (no "until") sends them to the office for an activation code.
		text = T(lang, "sms.pin_locked")
		if p.optional("until") != "" {
			if until := p.instant("until"); p.err == nil {
				text = T(lang, "sms.pin_locked_until", until)
			}
		}
	case TmplReminderDue, TmplReminderOverdue:
		loan, amount, due := p.str("loan"), p.amount("amount"), p.day("due")
		key := "sms.reminder_due"
		if template == TmplReminderOverdue {
			key = "sms.reminder_overdue"
		}
		text = T(lang, key, ident(loan, loanNoWidth), amount, due)
	case TmplReply:
		text = params["text"]
		if strings.TrimSpace(text) == "" {
			return "", fmt.Errorf("render sms %s: param text missing: %w", template, ErrSMSTemplate)
		}
		return text, nil
	default:
		return "", fmt.Errorf("render sms %q: unknown template: %w", template, ErrSMSTemplate)
	}
	if p.err != nil {
		return "", p.err
	}
	if name := ShortName(plain(params["name"])); name != "" {
		text = name + ": " + text
	}
	return SignSMS(text, params["coop"]), nil
}

// smsParams reads a template's params; the first missing or malformed one
// is kept in err and every later read returns "".
type smsParams struct {
	template string
	m        map[string]string
	err      error
}

func (p *smsParams) fail(key, why string) {
	if p.err == nil {
		p.err = fmt.Errorf("render sms %s: param %s %s: %w", p.template, key, why, ErrSMSTemplate)
	}
}

func (p *smsParams) get(key string) (string, bool) {
	v, ok := p.m[key]
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		p.fail(key, "missing")
		return "", false
	}
	return v, true
}

func (p *smsParams) optional(key string) string { return strings.TrimSpace(p.m[key]) }

// digits is a reference or a code: ASCII digits only.
func (p *smsParams) digits(key string) string {
	v, ok := p.get(key)
	if ok && (len(v) > 19 || !isDigits(v, len(v))) {
		p.fail(key, "is not digits")
		return ""
	}
	return v
}

// amount is whole rupiah as digits, shown as Rp1.250.000.
func (p *smsParams) amount(key string) string {
	v := p.digits(key)
	if v == "" {
		return ""
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || len(strings.TrimLeft(v, "0")) > maxAmountDigits {
		p.fail(key, "is out of range")
		return ""
	}
	return rupiah(n)
}

// account is a member's savings account kind.
func (p *smsParams) account(key string) ledger.AccountKind {
	v, ok := p.get(key)
	switch k := ledger.AccountKind(v); k {
	case ledger.Pokok, ledger.Wajib, ledger.Sukarela:
		return k
	}
	if ok {
		p.fail(key, "is not a savings account")
	}
	return ""
}

// str is database text, such as a loan number.
func (p *smsParams) str(key string) string {
	v, _ := p.get(key)
	return v
}

// day is a civil date YYYY-MM-DD, shown as DD/MM/YYYY.
func (p *smsParams) day(key string) string {
	v, ok := p.get(key)
	if !ok {
		return ""
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		p.fail(key, "is not a date")
		return ""
	}
	return date(t)
}

// instant is an RFC 3339 time, shown as DD/MM/YYYY HH:MM in its own offset.
func (p *smsParams) instant(key string) string {
	v, ok := p.get(key)
	if !ok {
		return ""
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		p.fail(key, "is not a time")
		return ""
	}
	return t.Format("02/01/2006 15:04")
}

// SignSMS puts the cooperative's name under text, so that a member whose
// phone shows only a number knows who wrote. A text that fits one message
// stays one message: the name is shortened when there is room for enough
// of it, and left off when there is not.
func SignSMS(text, coop string) string {
	coop = strings.TrimSpace(plain(coop))
	if coop == "" {
		return text
	}
	full := text + "\n" + coop
	n := septets(text)
	if septets(full) <= smsSingle || n > smsSingle {
		return full
	}
	room := smsSingle - n - 1
	if room < 12 { // too little of the name would show; two parts it is
		return full
	}
	short := clip(coop, room)
	for septets(short) > room {
		short = clip(short, len([]rune(short))-1)
	}
	return text + "\n" + short
}

// septets is what text costs in GSM-7 (or in UCS-2 units when it is not).
func septets(text string) int {
	n, _ := ScreenCost(text)
	return n
}

// smsList is head and items, one a line, as one message of at most two
// segments signed with coop. Items that do not fit are left off from the
// end; moreKey, when given, says how many.
func smsList(lang, head string, items []string, moreKey, coop string) string {
	for k := len(items); ; k-- {
		lines := append([]string{head}, items[:k]...)
		if k < len(items) && moreKey != "" {
			lines = append(lines, T(lang, moreKey, len(items)-k))
		}
		text := SignSMS(strings.Join(lines, "\n"), coop)
		if k == 0 || septets(text) <= smsBudget {
			return text
		}
	}
}

// smsLang is who's language as the catalogue knows it.
func smsLang(who members.Identity) string {
	if who.Language == "en" {
		return "en"
	}
	return "id"
}

// smsName is who as an answer names them: "Maria G.", or the member
// number when the name is empty.
func smsName(who members.Identity) string {
	if n := ShortName(plain(who.Name)); n != "" {
		return n
	}
	return ident(who.MemberNo, loanNoWidth)
}

func mustMember(who members.Identity) error {
	if who.Holder.Kind != members.KindMember {
		return fmt.Errorf("sms answer for a %s: only members have savings", who.Holder.Kind)
	}
	return nil
}

// smsActor is the member an SMS answer is for.
func smsActor(who members.Identity) service.Actor { return service.ActorOf(who, service.ChannelSMS) }

// SMSBalance answers SALDO: the member's savings and loan outstanding, as
// "1 Cek Saldo" shows them.
func (e *Engine) SMSBalance(ctx context.Context, who members.Identity) (string, error) {
	if err := mustMember(who); err != nil {
		return "", err
	}
	b, err := e.svc.Balances(ctx, smsActor(who), who.Holder.ID)
	if err != nil {
		return "", fmt.Errorf("sms balance: %w", err)
	}
	lang := smsLang(who)
	parts := make([]string, 0, 4)
	for _, a := range []struct {
		kind   ledger.AccountKind
		amount int64
	}{{ledger.Pokok, b.Pokok}, {ledger.Wajib, b.Wajib}, {ledger.Sukarela, b.Sukarela}, {ledger.LoanPrincipal, b.LoanOutstanding}} {
		parts = append(parts, accountShort(lang, a.kind)+" "+rupiah(a.amount))
	}
	return SignSMS(T(lang, "sms.balance", smsName(who), strings.Join(parts, ", ")), who.Cooperative.Name), nil
}

// SMSStatement answers MUTASI: the last movements, as "4 Mutasi" shows
// them, one a line with a short date.
func (e *Engine) SMSStatement(ctx context.Context, who members.Identity) (string, error) {
	if err := mustMember(who); err != nil {
		return "", err
	}
	lang := smsLang(who)
	entries, err := e.statement(ctx, lang, smsActor(who), who.Holder.ID)
	if err != nil {
		return "", fmt.Errorf("sms statement: %w", err)
	}
	head := T(lang, "statement.head", smsName(who))
	if len(entries) == 0 {
		return SignSMS(head+"\n"+T(lang, "statement.none"), who.Cooperative.Name), nil
	}
	items := make([]string, len(entries))
	for i, en := range entries {
		items[i] = en.At.Format("02/01") + " " + en.Label + " " + signedRupiah(en.Amount)
	}
	return smsList(lang, head, items, "", who.Cooperative.Name), nil
}

// SMSLoans answers PINJAMAN: each active loan's outstanding, next
// installment and arrears, as "5 Info Pinjaman" shows them.
func (e *Engine) SMSLoans(ctx context.Context, who members.Identity) (string, error) {
	if err := mustMember(who); err != nil {
		return "", err
	}
	lang := smsLang(who)
	loans, err := e.svc.ActiveLoans(ctx, smsActor(who), who.Holder.ID)
	if err != nil {
		return "", fmt.Errorf("sms loans: %w", err)
	}
	head := T(lang, "sms.loans_head", smsName(who))
	if len(loans) == 0 {
		return SignSMS(head+"\n"+T(lang, "loan.none"), who.Cooperative.Name), nil
	}
	items := make([]string, len(loans))
	for i, l := range loans {
		items[i] = strings.Join(loanLines(lang, l), ". ") + "."
	}
	return smsList(lang, head, items, "sms.loans_more", who.Cooperative.Name), nil
}

// GSM7Septets is what r costs in the GSM-7 alphabet: 1, 2 for the
// extension table (€ [ ] { } \ ^ ~ | and form feed), 0 when r is not in it.
func GSM7Septets(r rune) int { return gsm7Cost[r] }

// GSM7Lookalike is the GSM-7 spelling of a character that names, memos
// and pasted texts are likely to hold (á → a, ’ → ', … → ...), if there is
// one. Every spelling is GSM-7.
func GSM7Lookalike(r rune) (string, bool) {
	s, ok := plainRunes[r]
	return s, ok
}
