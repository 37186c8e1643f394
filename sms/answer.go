package sms

import (
	"context"
	"fmt"

	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/service"
)

// answer decides the reply to text from phone (E.164): who is asking, in
// which language, whether the cooperative wants the PIN, and then the
// answer itself from the shared operations.
func (in *Inbox) answer(ctx context.Context, phone, text string) (reply, error) {
	cmd := ParseCommand(text)
	found, err := in.Dir.MembersByPhone(ctx, phone)
	if err != nil {
		return reply{}, err
	}
	if len(found) == 0 {
		return reply{outcome: OutcomeUnregistered, unscoped: true, lang: "id", text: in.Text("id", menus.SMSUnregistered)}, nil
	}
	who, words, ok := pickMember(found, cmd.Words)
	if !ok {
		lang, key := familyLanguage(found), menus.SMSFamily
		if found[0].PINRequired {
			key = menus.SMSFamilyPIN
		}
		return reply{outcome: OutcomeFamily, coopID: found[0].Cooperative.ID, lang: lang,
			text: in.sign(in.Text(lang, key, found[0].MemberNo), found[0].Cooperative.Name)}, nil
	}
	r := reply{coopID: who.Cooperative.ID, lang: who.Language}
	if r.lang == "" {
		r.lang = "id"
	}
	say := func(outcome, key string, args ...any) (reply, error) {
		r.outcome, r.text = outcome, in.sign(in.Text(r.lang, key, args...), who.Cooperative.Name)
		return r, nil
	}
	if cmd.Verb == VerbHelp {
		if who.PINRequired {
			return say(OutcomeHelp, menus.SMSHelpPIN)
		}
		return say(OutcomeHelp, menus.SMSHelp)
	}
	if who.PINRequired {
		pin := ""
		for _, w := range words {
			if LooksLikePIN(w) {
				pin = w
				break
			}
		}
		switch {
		case !who.HasPIN:
			return say(OutcomePINNone, menus.SMSNoPIN)
		case who.PINLocked:
			return say(OutcomePINLocked, menus.SMSPINLocked)
		case pin == "":
			return say(OutcomePINRequired, menus.SMSPINRequired)
		}
		remaining, _, err := in.Dir.CheckPIN(ctx, who.Holder, pin)
		switch service.CodeOf(err) {
		case "":
		case service.CodePINWrong:
			return say(OutcomePINWrong, menus.SMSWrongPIN, remaining)
		case service.CodePINLocked:
			return say(OutcomePINLocked, menus.SMSPINLocked)
		case service.CodePINNotSet:
			return say(OutcomePINNone, menus.SMSNoPIN)
		default:
			return reply{}, err
		}
	}
	var answer func(context.Context, members.Identity) (string, error)
	switch cmd.Verb {
	case VerbBalance:
		r.outcome, answer = OutcomeBalance, in.Answers.SMSBalance
	case VerbStatement:
		r.outcome, answer = OutcomeStatement, in.Answers.SMSStatement
	case VerbLoan:
		r.outcome, answer = OutcomeLoan, in.Answers.SMSLoans
	default:
		return reply{}, fmt.Errorf("command %q has no answer", cmd.Verb)
	}
	if r.text, err = answer(ctx, who.Identity); err != nil {
		return reply{}, err
	}
	return r, nil
}

// pickMember chooses who is asking. One member on the phone is that member
// (a member number in the message, if any, is dropped from the words); on a
// family phone the message must name one of them by member number.
func pickMember(found []members.SMSMember, words []string) (members.SMSMember, []string, bool) {
	for i, w := range words {
		for _, m := range found {
			if members.SameMemberNo(w, m.MemberNo) {
				rest := append(append([]string{}, words[:i]...), words[i+1:]...)
				return m, rest, true
			}
		}
	}
	if len(found) == 1 {
		return found[0], words, true
	}
	return members.SMSMember{}, words, false
}

// familyLanguage is English only when every member on the phone chose it.
func familyLanguage(found []members.SMSMember) string {
	for _, m := range found {
		if m.Language != "en" {
			return "id"
		}
	}
	return "en"
}

// sign adds the cooperative's name to a notice (menus.SignSMS), so that a
// member of several cooperatives knows which one answered.
func (in *Inbox) sign(text, coop string) string {
	if in.Sign == nil {
		return text
	}
	return in.Sign(text, coop)
}
