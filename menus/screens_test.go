package menus

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// Worst-case values: what real data could put on a screen at its longest.
const (
	longCoop       = "Koperasi Simpan Pinjam Serba Usaha Sejahtera Bersama Nusantara" // 62 characters
	longMemberName = "Maria Goreti Bria Nahak Seran Da Costa Soares Pereira"
	oddMemberName  = "Yohanés Bère N’Dao “Bapak” Müller-Lüdenscheidt" // not all GSM-7
	longMemberNo   = "KSP-SS/2026/000001234"                          // 21 characters
	longLoanNo     = "001/PJM/KSP/III/202"                            // and a digit: 20 characters
	bigAmount      = int64(999_999_999)
)

var worstDay = time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)

// worstBooks answers every read with the longest values and records the
// money calls; err, when set, is what every money call returns.
type worstBooks struct {
	err       error
	repays    []ledger.Repayment
	deposits  []ledger.CashDeposit
	codes     []ledger.DepositCodeRequest
	confirms  []string
	receiptOf func(code string) ledger.Receipt
}

func (b *worstBooks) MemberBalances(context.Context, int64, int64) (ledger.MemberBalances, error) {
	return ledger.MemberBalances{Pokok: bigAmount, Wajib: bigAmount, Sukarela: bigAmount, LoanOutstanding: bigAmount}, nil
}

func (b *worstBooks) Statement(_ context.Context, _, _ int64, n int) ([]ledger.StatementLine, error) {
	kinds := []ledger.JournalKind{"opening", "disbursement", "repayment", "reversal", "transfer"}
	accounts := []ledger.AccountKind{ledger.Sukarela, ledger.LoanPrincipal, ledger.Wajib, ledger.Pokok, ledger.Sukarela}
	lines := make([]ledger.StatementLine, n)
	for i := range lines {
		lines[i] = ledger.StatementLine{JournalID: int64(9_999_999_990 + i), At: worstDay.Add(15*time.Hour + 59*time.Minute),
			Kind: kinds[i%len(kinds)], Account: accounts[i%len(accounts)], Amount: -bigAmount,
			Memo: "Pemindahbukuan simpanan sukarela ke rekening koperasi lain atas permintaan anggota"}
	}
	return lines, nil
}

func (b *worstBooks) LoanInfo(context.Context, int64, int64) ([]ledger.LoanInfo, error) {
	loans := make([]ledger.LoanInfo, 5)
	for i := range loans {
		loans[i] = ledger.LoanInfo{LoanID: int64(i + 1), LoanNo: fmt.Sprintf("%s%d", longLoanNo, i), Principal: bigAmount,
			Outstanding: bigAmount, NextDue: worstDay, NextAmount: bigAmount, Arrears: bigAmount, DaysLate: 9999, Status: ledger.LoanActive}
	}
	loans[4].NextDue, loans[4].NextAmount = time.Time{}, 0
	return append(loans, ledger.LoanInfo{LoanID: 6, LoanNo: "PJ-LUNAS", Status: ledger.LoanClosed}), nil
}

func (b *worstBooks) NextInstallment(context.Context, int64, int64) (int64, time.Time, error) {
	return bigAmount, worstDay, b.err
}

func (b *worstBooks) Repay(_ context.Context, r ledger.Repayment) (ledger.RepaymentResult, error) {
	b.repays = append(b.repays, r)
	if b.err != nil {
		return ledger.RepaymentResult{}, fmt.Errorf("repay: %w", b.err)
	}
	return ledger.RepaymentResult{JournalID: 9_999_999_999, Outstanding: bigAmount, Closed: true}, nil
}

func (b *worstBooks) CreateDepositCode(_ context.Context, r ledger.DepositCodeRequest) (ledger.DepositCode, error) {
	b.codes = append(b.codes, r)
	if b.err != nil {
		return ledger.DepositCode{}, fmt.Errorf("deposit code: %w", b.err)
	}
	return ledger.DepositCode{ID: 1, Code: "999999", MemberID: r.MemberID, Account: r.Account, Amount: r.Amount,
		ExpiresAt: worstDay.Add(15*time.Hour + 59*time.Minute), Status: "pending"}, nil
}

func (b *worstBooks) LookupDepositCode(_ context.Context, _ int64, code string) (ledger.DepositCode, error) {
	if b.err != nil {
		return ledger.DepositCode{}, b.err
	}
	return ledger.DepositCode{ID: 1, Code: code, MemberID: 7, MemberName: longMemberName, MemberNo: longMemberNo,
		Account: ledger.Sukarela, Amount: bigAmount, ExpiresAt: worstDay, Status: "pending"}, nil
}

func (b *worstBooks) ConfirmDepositCode(_ context.Context, _, _ int64, code, _ string) (ledger.Receipt, error) {
	b.confirms = append(b.confirms, code)
	if b.err != nil {
		return ledger.Receipt{}, fmt.Errorf("confirm: %w", b.err)
	}
	if b.receiptOf != nil {
		return b.receiptOf(code), nil
	}
	return ledger.Receipt{JournalID: 9_999_999_999, Amount: bigAmount, Account: ledger.Sukarela, Balance: bigAmount}, nil
}

func (b *worstBooks) DepositCash(_ context.Context, d ledger.CashDeposit) (ledger.Receipt, error) {
	b.deposits = append(b.deposits, d)
	if b.err != nil {
		return ledger.Receipt{}, b.err
	}
	return ledger.Receipt{JournalID: 9_999_999_999, Amount: d.Amount, Account: d.Account, Balance: bigAmount}, nil
}

func (b *worstBooks) StaffCashToday(context.Context, int64, int64) (int, int64, error) {
	return 99_999, 999_999_999_999, nil
}

func (b *worstBooks) MaxUSSDAmount(context.Context, int64) (int64, error) { return bigAmount, nil }

func (b *worstBooks) Location(context.Context, int64) (*time.Location, error) {
	return time.FixedZone("WITA", 8*3600), nil
}

// worstDirectory finds every member and accepts every PIN.
type worstDirectory struct{ err error }

func (d worstDirectory) CooperativesForCode(context.Context, string) ([]members.Cooperative, error) {
	return []members.Cooperative{{ID: 1, Name: longCoop}}, nil
}

func (d worstDirectory) Identify(context.Context, string, string) ([]members.Identity, error) {
	return nil, nil
}

func (d worstDirectory) CheckPIN(context.Context, members.Holder, string) (int, bool, error) {
	return 0, false, nil
}

func (d worstDirectory) SetLanguage(context.Context, members.Holder, string) error { return nil }

func (d worstDirectory) VerifyActivationCode(context.Context, members.Holder, string) (int64, int, error) {
	return 1, 0, nil
}

func (d worstDirectory) StagePIN(context.Context, members.Holder, string) error { return nil }

func (d worstDirectory) ConfirmPIN(context.Context, members.Holder, string, int64) error { return nil }

func (d worstDirectory) MemberByNo(_ context.Context, coopID int64, no string) (members.Member, error) {
	if d.err != nil {
		return members.Member{}, d.err
	}
	return members.Member{ID: 7, CooperativeID: coopID, No: longMemberNo, Name: longMemberName, Status: "active"}, nil
}

// worstSession is a session on screen id with every Var at its longest.
func worstSession(id ScreenID, lang, name, account, overdue string, depth int) *Session {
	refusal := "code.expired"
	if account == "pokok" { // vary the refusal with the account: both are drawn
		refusal = "code.confirmed"
	}
	kind := members.KindMember
	if strings.HasPrefix(string(id), "staff_") {
		kind = members.KindStaff
	}
	s := &Session{Provider: "test", MSISDN: "+6281234567890", ServiceCode: "*123*45*678#", Lang: lang, Key: "test:worst", Nonce: "n",
		Who: &Candidate{Coop: members.Cooperative{ID: 1, Name: longCoop}, Holder: members.Holder{Kind: kind, ID: 7, CooperativeID: 1},
			Name: name, Language: lang, HasPIN: true},
		Candidates: []Candidate{
			{Coop: members.Cooperative{ID: 1, Name: longCoop}, Name: name},
			{Coop: members.Cooperative{ID: 2, Name: longCoop + " Dua"}, Name: longMemberName},
			{Coop: members.Cooperative{ID: 3, Name: oddMemberName}, Name: oddMemberName},
		},
		Vars: map[string]string{
			varAccount: account, varAmount: "999999999", varOffered: "999999999", varLoan: "1", varLoanNo: longLoanNo,
			varLoans: "1,2,3,4,5", varDue: "31/12/2026", varOverdue: overdue, varMember: "7", varMemberName: name,
			varMemberNo: longMemberNo, varCode: "999999", varExpires: "2026-12-31T15:59:00Z", varRef: "9999999999",
			varOutstanding: "999999999", varClosed: "1", varMax: "999999999", varBalance: "999999999", varRefusal: refusal,
		},
	}
	if overdue != "" { // vary the PIN lock with it: a timed one, and the permanent one
		s.Vars[varLockedUntil] = "2026-12-31T15:59:00Z"
	}
	for range depth {
		s.Stack = append(s.Stack, scrMain)
	}
	return s
}

// lockedDirectory answers every PIN check with a timed lock until 02:15 UTC.
type lockedDirectory struct{ worstDirectory }

func (lockedDirectory) CheckPIN(context.Context, members.Holder, string) (int, bool, error) {
	return 0, false, &members.PINLockedError{Until: time.Date(2026, 5, 15, 2, 15, 0, 0, time.UTC)}
}

// TestPINLockedScreen: a timed lock says until when, in the cooperative's
// time zone; the permanent one sends the member to the office.
func TestPINLockedScreen(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(lockedDirectory{}, &worstBooks{}, nil)
	for lang, want := range map[string]string{
		"id": "PIN terkunci sampai 10:15 karena salah 3 kali. Silakan coba lagi nanti.",
		"en": "PIN locked until 10:15 after 3 wrong tries. Please try again later.",
	} {
		s := worstSession(scrPIN, lang, longMemberName, "sukarela", "", 0)
		s.Next = scrStatement
		next, err := handlePIN(ctx, e, s, "246810")
		require.NoError(t, err)
		require.Equal(t, scrPINLocked, next)
		got, err := renderPINLocked(ctx, e, s)
		require.NoError(t, err)
		assert.Equal(t, want, got)
		delete(s.Vars, varLockedUntil)
		got, err = renderPINLocked(ctx, e, s)
		require.NoError(t, err)
		assert.Equal(t, T(lang, "pin.locked"), got, "the permanent lock keeps its text")
	}
}

// noticesOf are the explanations an invalid input can put above a screen,
// beyond "Pilihan salah.".
var noticesOf = map[ScreenID][]string{
	scrPIN:            {"pin.shape", "pin.wrong"},
	scrPINConfirm:     {"pin.shape", "pin.wrong"},
	scrOldPIN:         {"pin.shape", "pin.wrong"},
	scrNewPIN:         {"pin.shape", "pin.weak", "pin.mismatch"},
	scrActivate:       {"activate.shape", "activate.wrong"},
	scrDepositAmount:  {"amount.shape", "amount.max"},
	scrRepayAmount:    {"amount.shape", "amount.max"},
	scrStaffDepAmt:    {"amount.shape", "amount.max"},
	scrStaffRepAmt:    {"amount.shape", "amount.max"},
	scrStaffDepNo:     {"staff.member_unknown", "staff.member_ambiguous", "staff.member_left"},
	scrStaffRepNo:     {"staff.member_unknown", "staff.member_ambiguous", "staff.member_left"},
	scrStaffCode:      {"code.shape", "code.unknown", "code.expired", "code.used"},
	scrDepositAccount: nil,
}

func notice(lang, key string) string {
	switch key {
	case "pin.wrong", "activate.wrong":
		return T(lang, key, 2)
	case "amount.max":
		return T(lang, key, rupiah(bigAmount))
	}
	return T(lang, key)
}

// TestEveryScreenFits renders every screen of the machine, in both
// languages, with the longest values real data can bring (a 62-character
// cooperative name, long and non-GSM-7 member names, Rp999.999.999, five
// loans, five statement lines with long memos), at every page, with every
// notice an invalid input can put above it and with the navigation of a
// deep screen, and fails on any that does not fit one USSD message.
func TestEveryScreenFits(t *testing.T) {
	ctx := context.Background()
	e := NewEngine(worstDirectory{}, &worstBooks{}, nil)
	ids := make([]ScreenID, 0, len(screens))
	for id := range screens {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rendered := 0
	for _, id := range ids {
		sc := screens[id]
		targets := []ScreenID{""}
		if id == scrConfirm || id == scrPINConfirm {
			targets = nil // every action's summary
			for a, asc := range screens {
				if asc.action != nil {
					targets = append(targets, a)
				}
			}
		}
		if sc.action != nil {
			if sc.summary == nil {
				t.Errorf("action screen %s has no summary to confirm", id)
			}
			continue // shows nothing itself; its summary is drawn on the confirmations
		}
		for _, lang := range []string{"id", "en"} {
			for _, name := range []string{longMemberName, oddMemberName} {
				for _, account := range []string{"pokok", "wajib", "sukarela"} {
					for _, overdue := range []string{"", "1"} {
						for _, depth := range []int{0, 1, 3} {
							for _, next := range targets {
								notices := []string{""}
								if sc.handle != nil || sc.list != nil {
									notices = append(notices, "invalid")
									notices = append(notices, noticesOf[id]...)
								}
								for _, nk := range notices {
									for page := 0; ; page++ {
										s := worstSession(id, lang, name, account, overdue, depth)
										s.Next = next
										s.setInt(varPage, int64(page))
										s.Screen = id
										if nk != "" {
											s.Notice = notice(lang, nk)
										}
										res := e.render(ctx, s, id)
										rendered++
										where := fmt.Sprintf("%s (%s, next %q, notice %q, depth %d, page %d, %s)", id, lang, next, nk, depth, page, name)
										if res.Outcome == OutcomeError {
											t.Fatalf("%s: render failed", where)
										}
										if n, limit := ScreenCost(res.Reply.Text); n > limit {
											t.Errorf("%s is %d long, over the %d limit:\n%s", where, n, limit, res.Reply.Text)
										}
										if key := rawKey.FindString(res.Reply.Text); key != "" {
											t.Errorf("%s shows the text key %q:\n%s", where, key, res.Reply.Text)
										}
										if sc.list == nil || page+1 >= int(s.getInt(varPages)) {
											break
										}
									}
								}
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d renders of %d screens", rendered, len(ids))
}

// rawKey spots a catalogue key shown instead of its text.
var rawKey = regexp.MustCompile(`\b[a-z]+\.[a-z_]+(\.[a-z_]+)?\b`)

// TestCatalogue checks that every text exists in both languages, is plain
// GSM-7 (one other character would cut a whole screen to 70 characters),
// and that every key the code names is in the catalogue.
func TestCatalogue(t *testing.T) {
	for key, pair := range catalogue {
		for i, text := range pair {
			if text == "" {
				t.Errorf("%s has no text in %s", key, []string{"id", "en"}[i])
			}
			if _, limit := ScreenCost(text); limit != ScreenLimitGSM7 {
				t.Errorf("%s (%s) is not GSM-7: %q", key, []string{"id", "en"}[i], text)
			}
			if strings.Count(pair[0], "%") != strings.Count(pair[1], "%") {
				t.Errorf("%s takes different arguments in id and en", key)
			}
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`(?:T\([^,()]+, |text\(|key: )"([a-z_]+(?:\.[a-z_]+)*)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(src), -1) {
			if _, ok := catalogue[m[1]]; !ok {
				t.Errorf("%s uses text %q, which the catalogue lacks", f, m[1])
			}
		}
	}
}
