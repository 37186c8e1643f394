package menus_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current screens")

type fixture struct {
	engine *menus.Engine
	books  *ledger.Ledger
	dir    *members.Directory
	// vars replace $NAME inputs (codes that are random by design); the
	// transcript shows the name, not the value. A deposit code shown on a
	// screen becomes $DEPCODE (the last one) for later journeys.
	vars map[string]string
}

// fixtureNow is the fixture's one instant: Friday 15 May 2026, 10:00 WITA.
var fixtureNow = time.Date(2026, 5, 15, 2, 0, 0, 0, time.UTC)

// Phones of the fixture.
const (
	phoneMaria     = "+6281234567890" // A-001, two loans, big balances
	phoneFamily    = "+6281234567891" // A-002 Yohanes (a loan in arrears, little sukarela), A-003 Theresia (one loan)
	phoneNew       = "+6281234567892" // A-004, no PIN yet
	phoneTeller    = "+6281299990000" // Yosef, teller
	phoneCollector = "+6281234567893" // Fransiska: collector (English) and member A-005
)

// newFixture builds a cooperative with a long name (the worst case for
// screen length), members with big balances and loans, a family phone, a
// teller, and a collector who is also a member.
func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := ledgertest.SQLite(t)
	now := func() time.Time { return fixtureNow }
	dir, err := members.NewDirectory(db, []byte(strings.Repeat("g", 32)), now)
	require.NoError(t, err)
	books := ledger.New(db, now)
	coop, err := dir.CreateCooperative(ctx, "KSP-G", "Koperasi Kredit Swasti Sari Sejahtera Bersama Kupang", []string{"*123#"})
	require.NoError(t, err)
	_, err = dir.CreateCooperative(ctx, "KSP-H", "Kopdit Pintu Air", []string{"*456#"})
	require.NoError(t, err)
	equity, err := books.AccountID(ctx, coop.ID, ledger.OpeningEquity, ledger.Owner{})
	require.NoError(t, err)
	add := func(no, name, phone, pin string, sukarela int64) members.Member {
		m, err := dir.AddMember(ctx, coop.ID, members.NewMember{No: no, Name: name, Phone: phone})
		require.NoError(t, err)
		require.NoError(t, dir.SetPIN(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: coop.ID}, pin))
		for _, opening := range []struct {
			kind ledger.AccountKind
			amt  int64
		}{{ledger.Pokok, 999_999_999}, {ledger.Wajib, 999_999_999}, {ledger.Sukarela, sukarela}} {
			kind, amt := opening.kind, opening.amt
			acct, err := books.AccountID(ctx, coop.ID, kind, ledger.Owner{MemberID: m.ID})
			require.NoError(t, err)
			_, err = books.Post(ctx, ledger.Journal{CooperativeID: coop.ID, Key: no + string(kind), Kind: "opening",
				Postings: []ledger.Posting{{From: equity, To: acct, Amount: amt}}})
			require.NoError(t, err)
		}
		return m
	}
	loan := func(m members.Member, no string, principal, rateBP int64, method ledger.Method, term int, disbursed time.Time) {
		_, err := books.DisburseLoan(ctx, ledger.NewLoan{CooperativeID: coop.ID, MemberID: m.ID, LoanNo: no, Principal: principal,
			RateBP: rateBP, Method: method, TermMonths: term, DisbursedOn: disbursed, Key: "disburse:" + no, Actor: "test"})
		require.NoError(t, err)
	}
	vault, err := books.AccountID(ctx, coop.ID, ledger.Vault, ledger.Owner{})
	require.NoError(t, err)
	_, err = books.Post(ctx, ledger.Journal{CooperativeID: coop.ID, Key: "vault", Kind: "opening",
		Postings: []ledger.Posting{{From: vault, To: equity, Amount: 300_000_000}}})
	require.NoError(t, err)
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 9, 0, 0, 0, time.UTC) }
	maria := add("A-001", "Maria Goreti Bria Nahak Seran", phoneMaria, "246810", 999_999_999)
	yohanes := add("A-002", "Yohanes Bere", phoneFamily, "135790", 75_000)
	theresia := add("A-003", "Theresia Bere", phoneFamily, "802461", 320_000)
	loan(maria, "PJ-2026-0003", 250_000_000, 200, ledger.MethodAnuitas, 24, day(1, 10))
	loan(maria, "PJ-2026-0004", 5_000_000, 150, ledger.MethodMenurun, 12, day(4, 25))
	loan(yohanes, "PJ-0002", 1_000_000, 100, ledger.MethodFlat, 10, day(3, 5))   // two installments overdue
	loan(theresia, "PJ-0001", 2_000_000, 150, ledger.MethodFlat, 12, day(4, 20)) // first due 20/05
	// A new member: no PIN yet, an activation code from the office.
	m, err := dir.AddMember(ctx, coop.ID, members.NewMember{No: "A-004", Name: "Agustina Lede", Phone: phoneNew})
	require.NoError(t, err)
	code, _, err := dir.IssueActivationCode(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: coop.ID}, 0)
	require.NoError(t, err)
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	add("A-005", "Fransiska Lake", phoneCollector, "370415", 10_000)
	teller, err := dir.AddStaff(ctx, coop.ID, "Yosef Teller", phoneTeller, members.RoleTeller)
	require.NoError(t, err)
	require.NoError(t, dir.SetPIN(ctx, members.Holder{Kind: members.KindStaff, ID: teller.ID, CooperativeID: coop.ID}, "975310"))
	collector, err := dir.AddStaff(ctx, coop.ID, "Fransiska Lake", phoneCollector, members.RoleCollector)
	require.NoError(t, err)
	collectorH := members.Holder{Kind: members.KindStaff, ID: collector.ID, CooperativeID: coop.ID}
	require.NoError(t, dir.SetPIN(ctx, collectorH, "864200"))
	require.NoError(t, dir.SetLanguage(ctx, collectorH, "en"))
	return fixture{engine: menus.NewEngine(dir, books, nil), books: books, dir: dir,
		vars: map[string]string{"$CODE": code, "$WRONG": wrong}}
}

type journey struct {
	name   string
	msisdn string
	code   string
	inputs []string
}

var journeys = []journey{
	{"balance_id", phoneMaria, "*123#", []string{"1", "246810"}},
	{"wrong_pin_id", phoneMaria, "*123#", []string{"1", "111112", "12", "0", "1", "246810"}},
	{"invalid_choices_id", phoneMaria, "*123#", []string{"8", "x", "9"}},
	{"family_phone_language_en", phoneFamily, "*123#", []string{"1", "7", "2"}},
	{"family_phone_balance_en", phoneFamily, "*123#", []string{"1", "1", "135790"}},
	{"family_phone_back_id", phoneFamily, "*123#", []string{"2", "1", "0", "00", "1", "802461"}},
	{"unknown_phone_id", "+6281300000000", "*123#", nil},
	{"unknown_code_id", phoneMaria, "*999#", nil},
	{"first_use_activation_id", phoneNew, "*123#", []string{"$WRONG", "12", "$CODE", "123456", "481357", "481358", "481357", "481357"}},
	{"after_activation_balance_id", phoneNew, "*123#", []string{"1", "481357"}},

	// 2 Setor Simpanan. The code of the last one is $DEPCODE below.
	{"deposit_cancel_id", phoneMaria, "*123#", []string{"2", "3", "1", "50,000", "60.000.000", "50.000", "2"}},
	{"deposit_code_en", phoneFamily, "*123#", []string{"1", "2", "2", "25000", "1", "135790"}},
	{"deposit_code_id", phoneMaria, "*123#", []string{"2", "2", "150.000", "1", "246810"}},
	// 3 Bayar Angsuran.
	{"repay_installment_id", phoneFamily, "*123#", []string{"2", "3", "1", "802461"}},
	{"repay_other_amount_id", phoneFamily, "*123#", []string{"2", "3", "2", "0", "2", "10.000", "802461"}},
	{"repay_too_much_id", phoneFamily, "*123#", []string{"2", "3", "2", "5000000", "802461"}},
	{"repay_no_funds_en", phoneFamily, "*123#", []string{"1", "3", "1", "135790"}},
	{"repay_choose_loan_id", phoneMaria, "*123#", []string{"3", "3", "2", "2", "60000000", "1.000.000", "246810"}},
	{"repay_after_statement_id", phoneMaria, "*123#", []string{"4", "246810", "0", "3", "2", "1", "1"}},
	{"no_loan_id", phoneNew, "*123#", []string{"3"}},
	// 4 Mutasi and 5 Info Pinjaman.
	{"statement_id", phoneMaria, "*123#", []string{"4", "246810", "98", "x", "98"}},
	{"statement_en", phoneFamily, "*123#", []string{"1", "4", "135790", "98"}},
	{"statement_empty_id", phoneNew, "*123#", []string{"4", "481357"}},
	{"loan_info_id", phoneMaria, "*123#", []string{"5", "246810", "98"}},
	{"loan_info_arrears_en", phoneFamily, "*123#", []string{"1", "5", "135790"}},
	{"loan_info_none_id", phoneNew, "*123#", []string{"5", "481357"}},

	// The staff menu.
	{"staff_deposit_id", phoneTeller, "*123#", []string{"1", "Z-999", "a001", "3", "2", "0", "2", "250.000", "111112", "975310"}},
	{"staff_confirm_code_id", phoneTeller, "*123#", []string{"3", "12345", "000000", "$DEPCODE", "975310"}},
	{"staff_confirm_code_used_id", phoneTeller, "*123#", []string{"3", "$DEPCODE", "$DEPCODE", "$DEPCODE"}},
	{"staff_repay_id", phoneTeller, "*123#", []string{"2", "A-003", "196.667", "975310"}},
	{"staff_repay_choose_loan_id", phoneTeller, "*123#", []string{"2", "1", "98", "1", "00", "2", "1", "2", "2.000.000", "975310"}},
	{"staff_repay_too_much_id", phoneTeller, "*123#", []string{"2", "3", "9.000.000", "975310"}},
	{"staff_no_loan_id", phoneTeller, "*123#", []string{"2", "A-004"}},
	{"staff_cash_id", phoneTeller, "*123#", []string{"4", "975310"}},
	{"staff_deposit_en", phoneCollector, "*123#", []string{"2", "1", "A-002", "2", "40000", "864200"}},
	{"staff_repay_en", phoneCollector, "*123#", []string{"2", "2", "A-002", "100000", "864200"}},
	{"staff_confirm_code_en", phoneCollector, "*123#", []string{"2", "3", "$DEPCODE_EN", "864200"}},
	{"staff_cash_en", phoneCollector, "*123#", []string{"2", "4", "864200"}},
	{"collector_member_menu_id", phoneCollector, "*123#", []string{"1", "1", "370415"}},

	// Last: it changes Maria's PIN.
	{"change_pin_id", phoneMaria, "*123#", []string{"6", "111112", "246810", "135792", "135792"}},
	{"after_change_pin_id", phoneMaria, "*123#", []string{"1", "246810", "135792"}},
}

// secretScreens take a PIN or an activation code.
var secretScreens = map[string]bool{"pin": true, "pin_confirm": true, "pin_old": true, "pin_new": true, "pin_repeat": true, "activate": true}

var sixDigits = regexp.MustCompile(`^\d{6}$`)

// depositCode finds the deposit code on a screen.
var depositCode = regexp.MustCompile(`(Kode setor Anda|Your deposit code): (\d{6})`)

// TestGoldenJourneys replays each journey and compares the transcript with
// testdata/<name>.golden (regenerate with -update). Every screen must fit
// one USSD message.
func TestGoldenJourneys(t *testing.T) {
	f := newFixture(t)
	for _, j := range journeys {
		t.Run(j.name, func(t *testing.T) {
			ctx := context.Background()
			s := &menus.Session{Provider: "test", MSISDN: j.msisdn, ServiceCode: j.code, Key: "test:" + j.name}
			var b strings.Builder
			fmt.Fprintf(&b, "dial %s from %s\n", j.code, j.msisdn)
			res := f.engine.Start(ctx, s)
			write := func(r menus.Result) {
				t.Helper()
				kind := "CON"
				if r.Reply.End {
					kind = "END"
				}
				text := r.Reply.Text
				if m := depositCode.FindStringSubmatch(text); m != nil {
					name := "$DEPCODE"
					if m[1] == "Your deposit code" {
						name = "$DEPCODE_EN"
					}
					f.vars[name] = m[2]
				}
				for name, v := range f.vars {
					if strings.HasPrefix(name, "$DEPCODE") {
						text = strings.ReplaceAll(text, v, name)
					}
				}
				fmt.Fprintf(&b, "%s %s\n", kind, text)
				if n, limit := menus.ScreenCost(r.Reply.Text); n > limit {
					t.Errorf("screen %s is %d long, over the %d limit:\n%s", r.Screen, n, limit, r.Reply.Text)
				}
			}
			write(res)
			var secrets []string // PINs and activation codes typed so far
			for _, in := range j.inputs {
				require.False(t, res.Reply.End, "journey goes on after END")
				fmt.Fprintf(&b, "> %s\n", in)
				if v, ok := f.vars[in]; ok {
					in = v
				}
				if secretScreens[string(s.Screen)] && sixDigits.MatchString(in) {
					secrets = append(secrets, in)
				}
				res = f.engine.Input(ctx, s, in)
				write(res)
				stored := *s
				// Not secrets, and they could hold six digits by chance.
				stored.Nonce, stored.MSISDN = "", ""
				state, err := json.Marshal(stored)
				require.NoError(t, err)
				for _, secret := range secrets {
					require.NotContains(t, string(state), secret, "the stored session holds a PIN or an activation code")
				}
			}
			require.True(t, res.Reply.End, "a journey ends with END")
			golden := filepath.Join("testdata", j.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./menus -run TestGoldenJourneys -update")
			require.Equal(t, string(want), b.String())
		})
	}
	// Whatever the journeys posted, the books still hold every invariant.
	rep, err := f.books.Reconcile(context.Background(), "")
	require.NoError(t, err)
	require.True(t, rep.OK, "%v", rep.Problems)
}

// TestSessionHoldsNoPIN checks the session state that is stored between
// hops: after a PIN was typed it must not contain it.
func TestSessionHoldsNoPIN(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s := &menus.Session{Provider: "test", MSISDN: "+6281234567890", ServiceCode: "*123#"}
	f.engine.Start(ctx, s)
	f.engine.Input(ctx, s, "1")
	f.engine.Input(ctx, s, "111112")
	f.engine.Input(ctx, s, "246810")
	require.NotContains(t, fmt.Sprintf("%+v", *s), "111112")
	require.NotContains(t, fmt.Sprintf("%+v", *s), "246810")
	_ = time.Now
}
