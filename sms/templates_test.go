package sms_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/sms"
)

// maxTemplateSegments: a text that needs more parts is refused in tests.
const maxTemplateSegments = 2

// Worst-case values for SMS texts.
const (
	tmplLongCoop   = "Koperasi Simpan Pinjam Serba Usaha Sejahtera Bersama Nusantara" // 62 characters
	tmplOddCoop    = "Kopdit “Pintu Air” – Rotat Ñusa Ténggara Timur Ōmega Ümit Ça…"  // not all GSM-7
	tmplLongName   = "Maria Goreti Bria Nahak Seran Da Costa Soares Pereira Fernandes"
	tmplOddName    = "Yohanés Bère N’Dao “Bapak” Müller-Lüdenscheidt"
	tmplLongNo     = "KSP-SS/2026/000001234"
	tmplLongLoanNo = "001/PJM/KSP/III/2024/0099"
	tmplBig        = int64(999_999_999)
	tmplBigDigits  = "999999999"
	tmplLongReason = "Salah input nominal oleh teller – setoran dobel “Lebaran” dikoreksi atas permintaan anggota…"
)

var tmplDay = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)

// tmplBooks answers every read the SMS answers make with the longest
// values; nothing else is called.
type tmplBooks struct {
	menus.Books // nil: any other call panics
	loans       int
}

func (b tmplBooks) MemberBalances(context.Context, int64, int64) (ledger.MemberBalances, error) {
	return ledger.MemberBalances{Pokok: tmplBig, Wajib: tmplBig, Sukarela: tmplBig, LoanOutstanding: tmplBig}, nil
}

func (b tmplBooks) Statement(_ context.Context, _, _ int64, n int) ([]ledger.StatementLine, error) {
	kinds := []ledger.JournalKind{"repayment", "disbursement", "reversal", "transfer", "opening"}
	accounts := []ledger.AccountKind{ledger.Sukarela, ledger.LoanPrincipal, ledger.Wajib, ledger.Sukarela, ledger.Pokok}
	memos := []string{"", "", "", "Pemindahbukuan simpanan sukarela ke rekening lain", "“Saldo awal” – migrasi…"}
	lines := make([]ledger.StatementLine, n)
	for i := range lines {
		lines[i] = ledger.StatementLine{JournalID: int64(9_999_999_990 + i), At: tmplDay.Add(15*time.Hour + 59*time.Minute),
			Kind: kinds[i%5], Account: accounts[i%5], Amount: -tmplBig, Memo: memos[i%5]}
	}
	return lines, nil
}

func (b tmplBooks) LoanInfo(context.Context, int64, int64) ([]ledger.LoanInfo, error) {
	loans := make([]ledger.LoanInfo, b.loans)
	for i := range loans {
		loans[i] = ledger.LoanInfo{LoanID: int64(i + 1), LoanNo: fmt.Sprintf("%s%d", tmplLongLoanNo, i), Principal: tmplBig,
			Outstanding: tmplBig, NextDue: tmplDay, NextAmount: tmplBig, Arrears: tmplBig, DaysLate: 9999, Status: ledger.LoanActive}
	}
	return append(loans, ledger.LoanInfo{LoanID: 99, LoanNo: "PJ-LUNAS", Status: ledger.LoanClosed}), nil
}

func (b tmplBooks) Location(context.Context, int64) (*time.Location, error) {
	return time.FixedZone("WITA", 8*3600), nil
}

// tmplParams are worst-case params for each template, several variants
// each.
func tmplParams(tmpl, coop, name, reply string) []map[string]string {
	expires := tmplDay.Add(23*time.Hour + 59*time.Minute).In(time.FixedZone("WITA", 8*3600)).Format(time.RFC3339)
	var out []map[string]string
	switch tmpl {
	case ledger.TmplDepositReceipt:
		for _, acc := range []string{"pokok", "wajib", "sukarela"} {
			out = append(out, map[string]string{"amount": tmplBigDigits, "account": acc, "balance": "999999999999", "ref": "9999999999"})
		}
	case ledger.TmplRepaymentReceipt:
		for _, rest := range []string{tmplBigDigits, "0"} {
			out = append(out, map[string]string{"amount": tmplBigDigits, "loan": tmplLongLoanNo, "outstanding": rest, "ref": "9999999999"})
		}
	case ledger.TmplDepositCode:
		for _, acc := range []string{"pokok", "wajib", "sukarela"} {
			out = append(out, map[string]string{"code": "999999", "amount": tmplBigDigits, "account": acc, "expires": expires})
		}
	case ledger.TmplReversal:
		for _, reason := range []string{tmplLongReason, ""} {
			out = append(out, map[string]string{"amount": tmplBigDigits, "ref": "9999999999", "reason": reason})
		}
	case ledger.TmplDisbursement:
		out = append(out, map[string]string{"loan": tmplLongLoanNo, "amount": tmplBigDigits, "installment": tmplBigDigits, "due": "2026-12-31", "ref": "9999999999"})
	case ledger.TmplPINChanged:
		out = append(out, map[string]string{})
	case ledger.TmplPINLocked: // permanent, and a timed lock with its end
		out = append(out, map[string]string{}, map[string]string{"until": expires})
	case "reminder.due", "reminder.overdue":
		out = append(out, map[string]string{"loan": tmplLongLoanNo, "amount": tmplBigDigits, "due": "2026-12-31"})
	case "reply":
		return []map[string]string{{"text": reply, "coop": coop, "name": name}}
	default:
		return nil
	}
	for _, p := range out {
		if coop != "" {
			p["coop"] = coop
		}
		if name != "" {
			p["name"] = name
		}
	}
	return out
}

// TestTemplatesFit renders every outbox template and every SMS answer and
// notice, in both languages, with the longest values real data can bring,
// and fails any that is not GSM-7 or needs more than two segments.
func TestTemplatesFit(t *testing.T) {
	ctx := context.Background()
	type worst struct {
		what     string
		text     string
		segments int
		units    int
	}
	top := map[string]worst{} // by kind: answer, template, notice
	rendered := 0
	check := func(what, text string) {
		t.Helper()
		rendered++
		out, enc, segments := sms.Prepare(text)
		if enc != sms.GSM7 {
			t.Errorf("%s is not GSM-7:\n%s", what, out)
		}
		if segments > maxTemplateSegments {
			t.Errorf("%s needs %d segments (at most %d):\n%s", what, segments, maxTemplateSegments, out)
		}
		if strings.Contains(out, "%!") || strings.Contains(out, "MISSING") || strings.Contains(out, "sms.") {
			t.Errorf("%s is not filled in:\n%s", what, out)
		}
		kind, _, _ := strings.Cut(what, " ")
		if w, n := top[kind], len([]rune(out)); segments > w.segments || segments == w.segments && n > w.units {
			top[kind] = worst{what, out, segments, n}
		}
	}
	coops := []string{tmplLongCoop, tmplOddCoop, ""}
	names := []string{tmplLongName, tmplOddName, ""}
	for _, lang := range []string{"id", "en"} {
		for _, coop := range coops {
			for _, name := range names {
				who := members.Identity{Cooperative: members.Cooperative{ID: 1, Name: coop}, Holder: members.Holder{Kind: members.KindMember, ID: 7, CooperativeID: 1},
					Name: name, MemberNo: tmplLongNo, Language: lang, HasPIN: true}
				var answers []string
				for _, loans := range []int{0, 1, 2, 5} {
					e := menus.NewEngine(nil, tmplBooks{loans: loans}, nil)
					for what, answer := range map[string]func(context.Context, members.Identity) (string, error){
						"balance": e.SMSBalance, "statement": e.SMSStatement, "loans": e.SMSLoans,
					} {
						text, err := answer(ctx, who)
						if err != nil {
							t.Fatalf("%s: %v", what, err)
						}
						where := fmt.Sprintf("answer %s (%s, coop %q, name %q, %d loans)", what, lang, coop, name, loans)
						check(where, text)
						answers = append(answers, text)
					}
				}
				for _, tmpl := range menus.SMSTemplates {
					for _, reply := range answers {
						params := tmplParams(tmpl, coop, name, reply)
						if len(params) == 0 {
							t.Fatalf("no worst-case params for template %s", tmpl)
						}
						for _, p := range params {
							text, err := menus.RenderSMS(lang, tmpl, p)
							if err != nil {
								t.Fatalf("template %s %v: %v", tmpl, p, err)
							}
							kind := "template"
							if tmpl == "reply" {
								kind = "reply" // an answer, checked above
							}
							check(fmt.Sprintf("%s %s (%s, %v)", kind, tmpl, lang, p), text)
						}
						if tmpl != "reply" {
							break // the answers only vary the reply
						}
					}
				}
			}
			for _, n := range []struct {
				key  string
				args []any
			}{
				{menus.SMSHelp, nil}, {menus.SMSHelpPIN, nil}, {menus.SMSUnregistered, nil},
				{menus.SMSFamily, []any{tmplLongNo}}, {menus.SMSFamilyPIN, []any{tmplLongNo}}, {menus.SMSPINRequired, nil},
				{menus.SMSWrongPIN, []any{2}}, {menus.SMSPINLocked, nil}, {menus.SMSNoPIN, nil}, {menus.SMSFailure, nil},
			} {
				check(fmt.Sprintf("notice %s (%s, coop %q)", n.key, lang, coop), menus.SignSMS(menus.SMSText(lang, n.key, n.args...), coop))
			}
		}
	}
	t.Logf("%d texts rendered", rendered)
	for _, kind := range []string{"answer", "template", "notice"} {
		w := top[kind]
		t.Logf("longest %s: %s: %d segments, %d characters:\n%s", kind, w.what, w.segments, w.units, w.text)
	}
}

// TestTemplatesRefuse checks that an unknown template, and a known one
// without one of its params, is an error and never a half-filled text.
func TestTemplatesRefuse(t *testing.T) {
	if _, err := menus.RenderSMS("id", "receipt.unknown", map[string]string{"amount": "1"}); !errors.Is(err, menus.ErrSMSTemplate) {
		t.Errorf("unknown template: %v; want ErrSMSTemplate", err)
	}
	for _, tmpl := range menus.SMSTemplates {
		full := tmplParams(tmpl, tmplLongCoop, "", "Saldo")[0]
		for _, key := range menus.SMSTemplateParams[tmpl] {
			p := maps.Clone(full)
			delete(p, key)
			for _, lang := range []string{"id", "en"} {
				if text, err := menus.RenderSMS(lang, tmpl, p); !errors.Is(err, menus.ErrSMSTemplate) || text != "" {
					t.Errorf("%s without %s: %q, %v; want ErrSMSTemplate", tmpl, key, text, err)
				}
			}
		}
	}
}
