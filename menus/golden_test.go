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
	phoneCollector = "+6281234567893" // Fransiska: collector and member A-005
)

// newFixture builds a cooperative with a long name (the worst case for
// screen length), members with big balances and loans, a family phone, a
// teller, and a collector who is also a member. Every member and staff
// member speaks lang ("id" or "en").
func newFixture(t *testing.T, lang string) fixture {
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
		m, err := dir.AddMember(ctx, coop.ID, members.NewMember{No: no, Name: name, Phone: phone, Language: lang})
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
	m, err := dir.AddMember(ctx, coop.ID, members.NewMember{No: "A-004", Name: "Agustina Lede", Phone: phoneNew, Language: lang})
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
	tellerH := members.Holder{Kind: members.KindStaff, ID: teller.ID, CooperativeID: coop.ID}
	require.NoError(t, dir.SetPIN(ctx, tellerH, "975310"))
	require.NoError(t, dir.SetLanguage(ctx, tellerH, lang))
	collector, err := dir.AddStaff(ctx, coop.ID, "Fransiska Lake", phoneCollector, members.RoleCollector)
	require.NoError(t, err)
	collectorH := members.Holder{Kind: members.KindStaff, ID: collector.ID, CooperativeID: coop.ID}
	require.NoError(t, dir.SetPIN(ctx, collectorH, "864200"))
	require.NoError(t, dir.SetLanguage(ctx, collectorH, lang))
	return fixture{engine: menus.NewEngine(dir, books, nil), books: books, dir: dir,
		vars: map[string]string{"$CODE": code, "$WRONG": wrong}}
}

// A journey runs twice, on a fixture in Bahasa Indonesia and on one in
// English; its transcripts are testdata/<name>_id.golden and
// testdata/<name>_en.golden.
type journey struct {
	name   string
	msisdn string
	code   string
	inputs []string
}

var journeys = []journey{
	{"balance", phoneMaria, "*123#", []string{"1", "246810"}},
	{"wrong_pin", phoneMaria, "*123#", []string{"1", "111112", "12", "0", "1", "246810"}},
	{"invalid_choices", phoneMaria, "*123#", []string{"8", "x", "9"}},
	{"family_phone_balance", phoneFamily, "*123#", []string{"1", "1", "135790"}},
	{"family_phone_back", phoneFamily, "*123#", []string{"2", "1", "0", "00", "1", "802461"}},
	{"unknown_phone", "+6281300000000", "*123#", nil},
	{"unknown_code", phoneMaria, "*999#", nil},
	{"first_use_activation", phoneNew, "*123#", []string{"$WRONG", "12", "$CODE", "123456", "481357", "481358", "481357", "481357"}},
	{"after_activation_balance", phoneNew, "*123#", []string{"1", "481357"}},

	// 2 Setor Simpanan. The codes shown are $DEPCODE_FAMILY and $DEPCODE
	// below (see depositCodeVar).
	{"deposit_cancel", phoneMaria, "*123#", []string{"2", "3", "1", "50,000", "60.000.000", "50.000", "2"}},
	{"deposit_code_family", phoneFamily, "*123#", []string{"1", "2", "2", "25000", "1", "135790"}},
	{"deposit_code", phoneMaria, "*123#", []string{"2", "2", "150.000", "1", "246810"}},
	// 3 Bayar Angsuran.
	{"repay_installment", phoneFamily, "*123#", []string{"2", "3", "1", "802461"}},
	{"repay_other_amount", phoneFamily, "*123#", []string{"2", "3", "2", "0", "2", "10.000", "802461"}},
	{"repay_too_much", phoneFamily, "*123#", []string{"2", "3", "2", "5000000", "802461"}},
	{"repay_no_funds", phoneFamily, "*123#", []string{"1", "3", "1", "135790"}},
	{"repay_choose_loan", phoneMaria, "*123#", []string{"3", "3", "2", "2", "60000000", "1.000.000", "246810"}},
	{"repay_after_statement", phoneMaria, "*123#", []string{"4", "246810", "0", "3", "2", "1", "1"}},
	{"no_loan", phoneNew, "*123#", []string{"3"}},
	// 4 Mutasi and 5 Info Pinjaman.
	{"statement", phoneMaria, "*123#", []string{"4", "246810", "98", "x", "98"}},
	{"statement_family", phoneFamily, "*123#", []string{"1", "4", "135790", "98"}},
	{"statement_empty", phoneNew, "*123#", []string{"4", "481357"}},
	{"loan_info", phoneMaria, "*123#", []string{"5", "246810", "98"}},
	{"loan_info_arrears", phoneFamily, "*123#", []string{"1", "5", "135790"}},
	{"loan_info_none", phoneNew, "*123#", []string{"5", "481357"}},

	// The staff menu: the teller, then the collector (who is also a member).
	{"staff_deposit", phoneTeller, "*123#", []string{"1", "111112", "975310", "Z-999", "a001", "3", "2", "0", "2", "250.000", "1"}},
	{"staff_confirm_code", phoneTeller, "*123#", []string{"3", "975310", "12345", "000000", "$DEPCODE", "1"}},
	{"staff_confirm_code_used", phoneTeller, "*123#", []string{"3", "975310", "$DEPCODE", "$DEPCODE", "$DEPCODE"}},
	{"staff_repay", phoneTeller, "*123#", []string{"2", "975310", "A-003", "196.667", "1"}},
	{"staff_repay_choose_loan", phoneTeller, "*123#", []string{"2", "975310", "1", "98", "1", "00", "2", "1", "2", "2.000.000", "1"}},
	{"staff_repay_too_much", phoneTeller, "*123#", []string{"2", "975310", "3", "9.000.000", "1"}},
	{"staff_no_loan", phoneTeller, "*123#", []string{"2", "975310", "A-004"}},
	{"staff_cash", phoneTeller, "*123#", []string{"4", "975310"}},
	{"collector_deposit", phoneCollector, "*123#", []string{"2", "1", "864200", "A-002", "2", "40000", "1"}},
	{"collector_repay", phoneCollector, "*123#", []string{"2", "2", "864200", "A-002", "100000", "1"}},
	{"collector_confirm_code", phoneCollector, "*123#", []string{"2", "3", "864200", "$DEPCODE_FAMILY", "1"}},
	{"collector_cash", phoneCollector, "*123#", []string{"2", "4", "864200"}},
	{"collector_member_menu", phoneCollector, "*123#", []string{"1", "1", "370415"}},

	// It changes Maria's PIN.
	{"change_pin", phoneMaria, "*123#", []string{"6", "111112", "246810", "135792", "135792"}},
	{"after_change_pin", phoneMaria, "*123#", []string{"1", "246810", "135792"}},
	// Last: it switches Yohanes to the other language (see enInputs).
	{"family_phone_language", phoneFamily, "*123#", []string{"1", "7", "2"}},
}

// enInputs replace a journey's inputs in the English run where the choice
// depends on the language: there Yohanes switches to Bahasa Indonesia.
var enInputs = map[string][]string{
	"family_phone_language": {"1", "7", "1"},
}

// depositCodeVar names the deposit code a journey shows; $DEPCODE unless
// listed.
var depositCodeVar = map[string]string{"deposit_code_family": "$DEPCODE_FAMILY"}

// secretScreens take a PIN or an activation code.
var secretScreens = map[string]bool{"pin": true, "pin_confirm": true, "pin_old": true, "pin_new": true, "pin_repeat": true, "activate": true}

var sixDigits = regexp.MustCompile(`^\d{6}$`)

// depositCode finds the deposit code on a screen.
var depositCode = regexp.MustCompile(`(Kode setor Anda|Your deposit code): (\d{6})`)

// TestGoldenJourneys replays each journey, once on a fixture in Bahasa
// Indonesia and once on one in English, and compares the transcripts with
// testdata/<name>_<lang>.golden (regenerate with -update). Every screen must
// fit one USSD message.
func TestGoldenJourneys(t *testing.T) {
	for _, lang := range []string{"id", "en"} {
		f := newFixture(t, lang)
		for _, j := range journeys {
			if in, ok := enInputs[j.name]; ok && lang == "en" {
				j.inputs = in
			}
			runJourney(t, f, j, j.name+"_"+lang)
		}
		// Whatever the journeys posted, the books still hold every invariant.
		rep, err := f.books.Reconcile(context.Background(), "")
		require.NoError(t, err)
		require.True(t, rep.OK, "%s: %v", lang, rep.Problems)
	}
}

// runJourney replays j on f as the subtest run and compares the transcript
// with testdata/<run>.golden.
func runJourney(t *testing.T, f fixture, j journey, run string) {
	t.Helper()
	t.Run(run, func(t *testing.T) {
		ctx := context.Background()
		s := &menus.Session{Provider: "test", MSISDN: j.msisdn, ServiceCode: j.code, Key: "test:" + run}
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
				name, ok := depositCodeVar[j.name]
				if !ok {
					name = "$DEPCODE"
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
		golden := filepath.Join("testdata", run+".golden")
		if *update {
			require.NoError(t, os.WriteFile(golden, []byte(b.String()), 0o644))
		}
		want, err := os.ReadFile(golden)
		require.NoError(t, err, "run go test ./menus -run TestGoldenJourneys -update")
		require.Equal(t, string(want), b.String())
	})
}

// TestSessionHoldsNoPIN checks the session state that is stored between
// hops: after a PIN was typed it must not contain it.
func TestSessionHoldsNoPIN(t *testing.T) {
	f := newFixture(t, "id")
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
