package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// The demo cooperative: enough to try every flow from a terminal phone.
const (
	demoCoopCode = "DEMO"
	demoCoopName = "Kopdit Demo Sejahtera"
	demoUSSD     = "*123#"
)

type demoPerson struct {
	no, name, phone, pin   string
	pokok, wajib, sukarela int64
}

var demoMembers = []demoPerson{
	{"A-001", "Maria Goreti Bria", "081234567890", "246810", 500_000, 1_200_000, 1_250_000},
	// A family phone: two members, one handset, each with their own PIN.
	{"A-002", "Yohanes Bere", "081234567891", "135790", 500_000, 600_000, 75_000},
	{"A-003", "Theresia Bere", "081234567891", "802461", 500_000, 900_000, 320_000},
}

type demoStaffer struct {
	name, phone, pin string
	role             members.Role
	password         string // the counter pages' web password (demo only: printed at start)
}

var demoStaff = []demoStaffer{
	{"Yosef Teller", "081299990000", "975310", members.RoleTeller, "demo-teller-2026"},
	{"Fransiska Kolektor", "081299990001", "864200", members.RoleCollector, "demo-kolektor-2026"},
}

// demoVaultCash is the demo cooperative's opening cash.
const demoVaultCash = 10_000_000

// demoLoans give the family phone something to repay: Theresia's first
// installment falls due in a few days (her sukarela covers it); Yohanes is
// two installments behind with too little sukarela to pay from it.
var demoLoans = []struct {
	memberNo, loanNo string
	principal        int64
	rateBP           int64
	method           ledger.Method
	term             int
	disbursedAgo     func(now time.Time) time.Time
}{
	{"A-003", "PJ-0001", 2_000_000, 150, ledger.MethodFlat, 12, func(now time.Time) time.Time { return now.AddDate(0, 0, -25) }},
	{"A-002", "PJ-0002", 1_000_000, 100, ledger.MethodFlat, 10, func(now time.Time) time.Time { return now.AddDate(0, -2, -10) }},
}

// maybeSeedDemo seeds the demo cooperative when LUMBUNG_DEMO is on, or when
// it is unset and the embedded database is empty, then prints how to try it.
func (a *app) maybeSeedDemo(ctx context.Context, out io.Writer) error {
	seed := a.cfg.Demo == config.DemoOn
	if a.cfg.Demo == config.DemoAuto && a.cfg.Embedded() {
		empty, err := a.db.IsEmpty(ctx)
		if err != nil {
			return err
		}
		seed = empty
	}
	if !seed {
		return nil
	}
	if err := seedDemo(ctx, a.dir, a.books, time.Now()); err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	port := a.cfg.HTTPAddr
	if len(port) > 0 && port[0] == ':' {
		port = "127.0.0.1" + port
	}
	fmt.Fprintf(out, `
Demo cooperative %q is ready on USSD code %s.
Try it in another terminal:

  go run ./cmd/lumbung phone --url http://%s --msisdn %s --code '%s'

  member     phone          PIN
`, demoCoopName, demoUSSD, port, demoMembers[0].phone, demoUSSD)
	for _, m := range demoMembers {
		fmt.Fprintf(out, "  %-10s %-14s %s  %s\n", m.no, m.phone, m.pin, m.name)
	}
	for _, st := range demoStaff {
		fmt.Fprintf(out, "  %-10s %-14s %s  %s (%s)\n", "staff", st.phone, st.pin, st.name, st.role)
	}
	fmt.Fprintln(out, "\n  Loans: A-003 PJ-0001 (next installment due in a few days), A-002 PJ-0002 (two installments overdue).")
	fmt.Fprintf(out, "\n  Staff pages: http://%s/counter/ (training phone: http://%s/counter/phone)\n", port, port)
	for _, st := range demoStaff {
		fmt.Fprintf(out, "  %-14s web password %s  %s\n", st.phone, st.password, st.name)
	}
	fmt.Fprintln(out)
	return nil
}

// seedDemo creates the demo cooperative, members with PINs and opening
// balances, two loans, a teller and a collector. It does nothing if the
// demo cooperative exists.
func seedDemo(ctx context.Context, dir *members.Directory, books *ledger.Ledger, now time.Time) error {
	coop, err := dir.CreateCooperative(ctx, demoCoopCode, demoCoopName, []string{demoUSSD})
	if errors.Is(err, members.ErrDuplicate) {
		return nil
	}
	if err != nil {
		return err
	}
	equity, err := books.AccountID(ctx, coop.ID, ledger.OpeningEquity, ledger.Owner{})
	if err != nil {
		return err
	}
	memberIDs := map[string]int64{}
	for _, p := range demoMembers {
		m, err := dir.AddMember(ctx, coop.ID, members.NewMember{No: p.no, Name: p.name, Phone: p.phone, JoinedOn: now.AddDate(-2, 0, 0)})
		if err != nil {
			return err
		}
		memberIDs[p.no] = m.ID
		if err := dir.SetPIN(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: coop.ID}, p.pin); err != nil {
			return err
		}
		for kind, amount := range map[ledger.AccountKind]int64{ledger.Pokok: p.pokok, ledger.Wajib: p.wajib, ledger.Sukarela: p.sukarela} {
			acct, err := books.AccountID(ctx, coop.ID, kind, ledger.Owner{MemberID: m.ID})
			if err != nil {
				return err
			}
			_, err = books.Post(ctx, ledger.Journal{
				CooperativeID: coop.ID, Key: "demo:" + p.no + ":" + string(kind), Kind: "opening",
				Memo: "demo opening balance", Actor: "demo",
				Postings: []ledger.Posting{{From: equity, To: acct, Amount: amount}},
			})
			if err != nil {
				return err
			}
		}
	}
	// Cash in the vault, for the loans to be paid out of.
	vault, err := books.AccountID(ctx, coop.ID, ledger.Vault, ledger.Owner{})
	if err != nil {
		return err
	}
	_, err = books.Post(ctx, ledger.Journal{
		CooperativeID: coop.ID, Key: "demo:vault", Kind: "opening", Memo: "demo opening cash", Actor: "demo",
		Postings: []ledger.Posting{{From: vault, To: equity, Amount: demoVaultCash}}, // Dr vault, Cr equity
	})
	if err != nil {
		return err
	}
	for _, ln := range demoLoans {
		_, err := books.DisburseLoan(ctx, ledger.NewLoan{
			CooperativeID: coop.ID, MemberID: memberIDs[ln.memberNo], LoanNo: ln.loanNo, Principal: ln.principal,
			RateBP: ln.rateBP, Method: ln.method, TermMonths: ln.term, DisbursedOn: ln.disbursedAgo(now),
			Key: "demo:loan:" + ln.loanNo, Actor: "demo", NoSMS: true, // the demo texts nobody about its made-up loans
		})
		if err != nil {
			return err
		}
	}
	for _, st := range demoStaff {
		s, err := dir.AddStaff(ctx, coop.ID, st.name, st.phone, st.role)
		if err != nil {
			return err
		}
		if err := dir.SetPIN(ctx, members.Holder{Kind: members.KindStaff, ID: s.ID, CooperativeID: coop.ID}, st.pin); err != nil {
			return err
		}
		if err := dir.SetWebPassword(ctx, s.ID, coop.ID, st.password); err != nil {
			return err
		}
	}
	return nil
}
