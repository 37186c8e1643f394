package menus_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
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
	// vars replace $NAME inputs (codes that are random by design); the
	// transcript shows the name, not the value.
	vars map[string]string
}

// newFixture builds a cooperative with a long name (the worst case for
// screen length), a member with big balances, and a family phone.
func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := ledgertest.SQLite(t)
	dir, err := members.NewDirectory(db, []byte(strings.Repeat("g", 32)), nil)
	require.NoError(t, err)
	books := ledger.New(db, nil)
	coop, err := dir.CreateCooperative(ctx, "KSP-G", "Koperasi Kredit Swasti Sari Sejahtera Bersama Kupang", []string{"*123#"})
	require.NoError(t, err)
	_, err = dir.CreateCooperative(ctx, "KSP-H", "Kopdit Pintu Air", []string{"*456#"})
	require.NoError(t, err)
	equity, err := books.AccountID(ctx, coop.ID, ledger.OpeningEquity, ledger.Owner{})
	require.NoError(t, err)
	add := func(no, name, phone, pin string, sukarela int64) {
		m, err := dir.AddMember(ctx, coop.ID, members.NewMember{No: no, Name: name, Phone: phone})
		require.NoError(t, err)
		require.NoError(t, dir.SetPIN(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: coop.ID}, pin))
		for kind, amt := range map[ledger.AccountKind]int64{ledger.Pokok: 999_999_999, ledger.Wajib: 999_999_999, ledger.Sukarela: sukarela} {
			acct, err := books.AccountID(ctx, coop.ID, kind, ledger.Owner{MemberID: m.ID})
			require.NoError(t, err)
			_, err = books.Post(ctx, ledger.Journal{CooperativeID: coop.ID, Key: no + string(kind), Kind: "opening",
				Postings: []ledger.Posting{{From: equity, To: acct, Amount: amt}}})
			require.NoError(t, err)
		}
	}
	add("A-001", "Maria Goreti Bria Nahak Seran", "+6281234567890", "246810", 999_999_999)
	add("A-002", "Yohanes Bere", "+6281234567891", "135790", 75_000)
	add("A-003", "Theresia Bere", "+6281234567891", "802461", 320_000)
	// A new member: no PIN yet, an activation code from the office.
	m, err := dir.AddMember(ctx, coop.ID, members.NewMember{No: "A-004", Name: "Agustina Lede", Phone: "+6281234567892"})
	require.NoError(t, err)
	code, _, err := dir.IssueActivationCode(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: coop.ID}, 0)
	require.NoError(t, err)
	wrong := "000000"
	if code == wrong {
		wrong = "000001"
	}
	return fixture{engine: menus.NewEngine(dir, books, nil), vars: map[string]string{"$CODE": code, "$WRONG": wrong}}
}

type journey struct {
	name   string
	msisdn string
	code   string
	inputs []string
}

var journeys = []journey{
	{"balance_id", "+6281234567890", "*123#", []string{"1", "246810"}},
	{"wrong_pin_id", "+6281234567890", "*123#", []string{"1", "111112", "12", "0", "1", "246810"}},
	{"invalid_choices_id", "+6281234567890", "*123#", []string{"8", "x", "9"}},
	{"family_phone_language_en", "+6281234567891", "*123#", []string{"1", "7", "2"}},
	{"family_phone_balance_en", "+6281234567891", "*123#", []string{"1", "1", "135790"}},
	{"family_phone_back_id", "+6281234567891", "*123#", []string{"2", "1", "0", "00", "1", "802461"}},
	{"unknown_phone_id", "+6281300000000", "*123#", nil},
	{"unknown_code_id", "+6281234567890", "*999#", nil},
	{"first_use_activation_id", "+6281234567892", "*123#", []string{"$WRONG", "12", "$CODE", "123456", "481357", "481358", "481357", "481357"}},
	{"after_activation_balance_id", "+6281234567892", "*123#", []string{"1", "481357"}},
	// Last: it changes Maria's PIN.
	{"change_pin_id", "+6281234567890", "*123#", []string{"6", "111112", "246810", "135792", "135792"}},
	{"after_change_pin_id", "+6281234567890", "*123#", []string{"1", "246810", "135792"}},
}

// TestGoldenJourneys replays each journey and compares the transcript with
// testdata/<name>.golden (regenerate with -update). Every screen must fit
// one USSD message.
func TestGoldenJourneys(t *testing.T) {
	f := newFixture(t)
	for _, j := range journeys {
		t.Run(j.name, func(t *testing.T) {
			ctx := context.Background()
			s := &menus.Session{Provider: "test", MSISDN: j.msisdn, ServiceCode: j.code}
			var b strings.Builder
			fmt.Fprintf(&b, "dial %s from %s\n", j.code, j.msisdn)
			res := f.engine.Start(ctx, s)
			write := func(r menus.Result) {
				t.Helper()
				kind := "CON"
				if r.Reply.End {
					kind = "END"
				}
				fmt.Fprintf(&b, "%s %s\n", kind, r.Reply.Text)
				if n, limit := menus.ScreenCost(r.Reply.Text); n > limit {
					t.Errorf("screen %s is %d long, over the %d limit:\n%s", r.Screen, n, limit, r.Reply.Text)
				}
			}
			write(res)
			for _, in := range j.inputs {
				require.False(t, res.Reply.End, "journey goes on after END")
				fmt.Fprintf(&b, "> %s\n", in)
				if v, ok := f.vars[in]; ok {
					in = v
				}
				res = f.engine.Input(ctx, s, in)
				write(res)
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
