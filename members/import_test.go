package members_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
)

const membersCSV = "\xef\xbb\xbfmember_no;name;phone;joined_on;pokok;wajib;sukarela;language\n" +
	"A-001;Siti Aminah;0812 3456 7890;2024-03-07;100.000;1.250.000;500000;id\n" +
	"A-002;Budi Santoso;6281234567890;07/03/2024;100000;;0;EN\n" + // family phone, same as Siti's
	"A-003;Ani;+6281398765432;;;;;\n"

func importSetup(t *testing.T, db *ledger.DB) (context.Context, *members.Directory, members.Cooperative) {
	ctx := context.Background()
	d, err := members.NewDirectory(db, testSecret, nil)
	require.NoError(t, err)
	c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Sejahtera", []string{"*123#"})
	require.NoError(t, err)
	return ctx, d, c
}

func problemStrings(ps []members.ImportProblem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}

func countRows(t *testing.T, db *ledger.DB, table string, coopID int64) int {
	var n int
	require.NoError(t, db.Get(&n, db.Rebind(`SELECT COUNT(*) FROM `+table+` WHERE cooperative_id = ?`), coopID))
	return n
}

func reconcileOK(t *testing.T, db *ledger.DB) {
	t.Helper()
	rep, err := ledger.New(db, nil).Reconcile(context.Background(), "")
	require.NoError(t, err)
	assert.True(t, rep.OK, "reconcile: %+v", rep.Problems)
}

func TestImportMembers(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, d, c := importSetup(t, db)
		l := ledger.New(db, nil)

		// Dry run: counts, nothing written.
		rep, err := d.ImportMembers(ctx, c.ID, strings.NewReader(membersCSV), true)
		require.NoError(t, err)
		assert.Equal(t, members.ImportReport{MembersCreated: 3, JournalsPosted: 4}, rep)
		assert.Zero(t, countRows(t, db, "members", c.ID))
		assert.Zero(t, countRows(t, db, "journals", c.ID))

		rep, err = d.ImportMembers(ctx, c.ID, strings.NewReader(membersCSV), false)
		require.NoError(t, err)
		assert.Equal(t, members.ImportReport{MembersCreated: 3, JournalsPosted: 4}, rep)

		siti, err := d.MemberByNo(ctx, c.ID, "A-001")
		require.NoError(t, err)
		assert.Equal(t, "+6281234567890", siti.Phone)
		assert.Equal(t, "id", siti.Language)
		budi, err := d.MemberByNo(ctx, c.ID, "A-002")
		require.NoError(t, err)
		assert.Equal(t, "+6281234567890", budi.Phone, "family phone")
		assert.Equal(t, "en", budi.Language)
		ani, err := d.MemberByNo(ctx, c.ID, "A-003")
		require.NoError(t, err)
		assert.Equal(t, "+6281398765432", ani.Phone)

		b, err := l.MemberBalances(ctx, c.ID, siti.ID)
		require.NoError(t, err)
		assert.Equal(t, ledger.MemberBalances{Pokok: 100_000, Wajib: 1_250_000, Sukarela: 500_000}, b)
		b, err = l.MemberBalances(ctx, c.ID, budi.ID)
		require.NoError(t, err)
		assert.Equal(t, ledger.MemberBalances{Pokok: 100_000}, b)
		equity, err := l.AccountID(ctx, c.ID, ledger.OpeningEquity, ledger.Owner{})
		require.NoError(t, err)
		eb, err := l.Balance(ctx, equity)
		require.NoError(t, err)
		// Dr opening_equity (credit-normal): it goes below zero by every opening balance, as PostTx leaves it.
		assert.Equal(t, int64(-1_950_000), eb)
		var shards []struct {
			Shard   int   `db:"shard"`
			Balance int64 `db:"balance"`
		}
		require.NoError(t, db.Select(&shards, db.Rebind(`SELECT shard, balance FROM account_shards WHERE account_id = ? AND balance <> 0 ORDER BY shard`), equity))
		var want []struct {
			Shard   int   `db:"shard"`
			Balance int64 `db:"balance"`
		}
		require.NoError(t, db.Select(&want, db.Rebind(`SELECT j.id % 8 AS shard, -SUM(e.amount) AS balance FROM journals j
			JOIN entries e ON e.journal_id = j.id AND e.side = 'D' WHERE j.cooperative_id = ? GROUP BY j.id % 8 ORDER BY j.id % 8`), c.ID))
		assert.Equal(t, want, shards, "each journal's delta on the shard PostTx would pick (journal id %% 8)")
		reconcileOK(t, db)

		// Members start without a PIN.
		ids, err := d.Identify(ctx, "*123#", "+6281234567890")
		require.NoError(t, err)
		require.Len(t, ids, 2)
		for _, id := range ids {
			assert.False(t, id.HasPIN)
		}

		// The journals are the ones PostTx would write: posting one again is an idempotent retry.
		pokok, err := l.AccountID(ctx, c.ID, ledger.Pokok, ledger.Owner{MemberID: siti.ID})
		require.NoError(t, err)
		_, err = l.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "import:member:A-001:pokok", Kind: "opening",
			Memo: "Saldo awal simpanan pokok", Actor: "import", Postings: []ledger.Posting{{From: equity, To: pokok, Amount: 100_000}}})
		require.NoError(t, err)
		b, err = l.MemberBalances(ctx, c.ID, siti.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(100_000), b.Pokok)

		// Re-import: nothing changes.
		rep, err = d.ImportMembers(ctx, c.ID, strings.NewReader(membersCSV), false)
		require.NoError(t, err)
		assert.Equal(t, members.ImportReport{MembersUnchanged: 3}, rep)
		assert.Equal(t, 4, countRows(t, db, "journals", c.ID))

		// A changed row is a problem, never an overwrite; new rows of that file are not written either.
		changed := "member_no,name,phone,joined_on,pokok,wajib,sukarela,language\n" +
			"A-004,Dewi,081211112222,,,,,\n" +
			"A-001,Siti A.,081234567890,2024-03-07,100000,1250000,600000,id\n" +
			"A-003,Ani,+6281398765432,2024-01-01,,,,\n"
		rep, err = d.ImportMembers(ctx, c.ID, strings.NewReader(changed), false)
		require.ErrorIs(t, err, members.ErrImportProblems)
		assert.Equal(t, []string{
			"row 3, column name: differs from the member already imported (name Siti Aminah)",
			"row 3, column sukarela: differs from the member already imported (opening balance Rp500.000)",
			"row 4, column joined_on: differs from the member already imported (joined_on (blank))",
		}, problemStrings(rep.Problems))
		assert.Equal(t, 3, countRows(t, db, "members", c.ID))
		reconcileOK(t, db)
	})
}

func TestImportMembersAllOrNothing(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, d, c := importSetup(t, db)
		file := "member_no,name,phone,pokok\nB1,Siti,081234567890,100000\nB2,Budi,0812,5000\nB3,Ani,081398765432,-1\nB4,Dewi,081211112222,0\n"
		for _, dry := range []bool{true, false} {
			rep, err := d.ImportMembers(ctx, c.ID, strings.NewReader(file), dry)
			require.ErrorIs(t, err, members.ErrImportProblems)
			assert.Equal(t, []string{"row 3, column phone: not a valid phone number", "row 4, column pokok: must not be negative"}, problemStrings(rep.Problems))
			assert.Zero(t, rep.MembersCreated)
			assert.Zero(t, countRows(t, db, "members", c.ID))
			assert.Zero(t, countRows(t, db, "journals", c.ID))
			assert.Zero(t, countRows(t, db, "accounts", c.ID)-len(ledger.CoopAccountKinds))
		}
		_, err := d.ImportMembers(ctx, 999_999, strings.NewReader(membersCSV), false)
		assert.ErrorIs(t, err, members.ErrNotFound)
	})
}

const loansCSV = "loan_no,member_no,principal,outstanding,rate_pct_month,method,term_months,disbursed_on,installments_paid\n" +
	"P-1,A-001,12.000.000,7.000.000,1.5,flat,12,2024-01-15,5\n" +
	"P-2,A-002,10000000,6543210,\"1,25\",anuitas,24,15/02/2024,8\n" +
	"P-3,A-001,5000000,5000000,2,menurun,10,2024-06-30,0\n"

func TestImportLoans(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, d, c := importSetup(t, db)
		_, err := d.ImportMembers(ctx, c.ID, strings.NewReader(membersCSV), false)
		require.NoError(t, err)

		// A loan whose member is not in this cooperative (they are in another one).
		other, err := d.CreateCooperative(ctx, "KSP2", "Kopdit Lain", nil)
		require.NoError(t, err)
		_, err = d.ImportMembers(ctx, other.ID, strings.NewReader("member_no,name,phone\nZ-9,Zaki,081200000009\n"), false)
		require.NoError(t, err)
		bad := loansCSV + "P-4,Z-9,1000000,500000,1,flat,12,2024-01-01,6\n"
		rep, err := d.ImportLoans(ctx, c.ID, strings.NewReader(bad), false)
		require.ErrorIs(t, err, members.ErrImportProblems)
		assert.Equal(t, []string{"row 5, column member_no: no member Z-9 in this cooperative (import the members first)"}, problemStrings(rep.Problems))
		assert.Zero(t, countRows(t, db, "loans", c.ID))

		rep, err = d.ImportLoans(ctx, c.ID, strings.NewReader(loansCSV), true)
		require.NoError(t, err)
		assert.Equal(t, members.ImportReport{LoansCreated: 3, JournalsPosted: 3}, rep)
		assert.Zero(t, countRows(t, db, "loans", c.ID))

		rep, err = d.ImportLoans(ctx, c.ID, strings.NewReader(loansCSV), false)
		require.NoError(t, err)
		assert.Equal(t, members.ImportReport{LoansCreated: 3, JournalsPosted: 3}, rep)

		for no, want := range map[string]struct {
			outstanding int64
			first, n    int
		}{"P-1": {7_000_000, 6, 7}, "P-2": {6_543_210, 9, 16}, "P-3": {5_000_000, 1, 10}} {
			var got struct {
				Sum   int64 `db:"s"`
				First int   `db:"f"`
				N     int   `db:"n"`
			}
			require.NoError(t, db.Get(&got, db.Rebind(`SELECT COALESCE(SUM(i.principal_due), 0) AS s, MIN(i.no) AS f, COUNT(*) AS n
				FROM installments i JOIN loans l ON l.id = i.loan_id WHERE l.cooperative_id = ? AND l.loan_no = ?`), c.ID, no))
			assert.Equal(t, want.outstanding, got.Sum, "%s: the rebuilt schedule repays exactly the outstanding", no)
			assert.Equal(t, want.first, got.First, no)
			assert.Equal(t, want.n, got.N, no)
		}
		siti, err := d.MemberByNo(ctx, c.ID, "A-001")
		require.NoError(t, err)
		b, err := ledger.New(db, nil).MemberBalances(ctx, c.ID, siti.ID)
		require.NoError(t, err)
		assert.Equal(t, int64(12_000_000), b.LoanOutstanding)
		reconcileOK(t, db)

		// Re-import: unchanged.
		rep, err = d.ImportLoans(ctx, c.ID, strings.NewReader(loansCSV), false)
		require.NoError(t, err)
		assert.Equal(t, members.ImportReport{LoansUnchanged: 3}, rep)
		assert.Equal(t, 3, countRows(t, db, "loans", c.ID))

		// A changed loan row is a problem.
		changed := strings.Replace(loansCSV, "P-2,A-002,10000000,6543210,\"1,25\",anuitas,24,15/02/2024,8", "P-2,A-001,10000000,6000000,\"1,25\",flat,24,15/02/2024,9", 1)
		rep, err = d.ImportLoans(ctx, c.ID, strings.NewReader(changed), false)
		require.ErrorIs(t, err, members.ErrImportProblems)
		assert.Equal(t, []string{
			"row 3, column member_no: differs from the loan already imported (member_no A-002)",
			"row 3, column outstanding: differs from the loan already imported (outstanding Rp6.543.210)",
			"row 3, column method: differs from the loan already imported (method anuitas)",
			"row 3, column installments_paid: differs from the loan already imported (installments_paid 8)",
		}, problemStrings(rep.Problems))
		reconcileOK(t, db)
	})
}

func TestImportLoansNumberTaken(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, d, c := importSetup(t, db)
		_, err := d.ImportMembers(ctx, c.ID, strings.NewReader(membersCSV+"A-005;Eko;081255556666;;;;5000000;\n"), false)
		require.NoError(t, err)
		m, err := d.MemberByNo(ctx, c.ID, "A-005")
		require.NoError(t, err)
		_, err = ledger.New(db, nil).DisburseLoan(ctx, ledger.NewLoan{CooperativeID: c.ID, MemberID: m.ID, LoanNo: "P-1",
			Principal: 1_000_000, RateBP: 100, Method: ledger.MethodFlat, TermMonths: 6, DisbursedOn: time.Now(), Key: "disburse:P-1", Actor: "staff:1"})
		require.NoError(t, err)
		rep, err := d.ImportLoans(ctx, c.ID, strings.NewReader(loansCSV), false)
		require.ErrorIs(t, err, members.ErrImportProblems)
		assert.Equal(t, []string{"row 2, column loan_no: loan number already used in the cooperative by a loan that was not imported"}, problemStrings(rep.Problems))
		assert.Equal(t, 1, countRows(t, db, "loans", c.ID))
	})
}

// BenchmarkImportMembers100k imports 100,000 members with three opening
// balances each (300,000 journals) into PostgreSQL.
func BenchmarkImportMembers100k(b *testing.B) {
	const n = 100_000
	var sb strings.Builder
	sb.WriteString("member_no,name,phone,joined_on,pokok,wajib,sukarela,language\n")
	for i := range n {
		fmt.Fprintf(&sb, "M%06d,Anggota %d,0812%08d,2020-01-02,100.000,%d,%d,id\n", i, i, i%5000, 10_000+i, 1+i%7)
	}
	file := sb.String()
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		db := ledgertest.Postgres(b)
		d, err := members.NewDirectory(db, testSecret, nil)
		require.NoError(b, err)
		c, err := d.CreateCooperative(ctx, "KSP1", "Kopdit Besar", nil)
		require.NoError(b, err)
		b.StartTimer()
		rep, err := d.ImportMembers(ctx, c.ID, strings.NewReader(file), false)
		b.StopTimer()
		require.NoError(b, err)
		require.Equal(b, n, rep.MembersCreated)
		require.Equal(b, 3*n, rep.JournalsPosted)
		b.StartTimer()
	}
}

// TestCheckPINBalances: the PIN check that reads the balances in the same
// statement answers exactly as CheckPIN followed by MemberBalances, and
// gives no balances for a wrong, locked or missing PIN.
func TestCheckPINBalances(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx, d, c := importSetup(t, db)
		_, err := d.ImportMembers(ctx, c.ID, strings.NewReader(membersCSV), false)
		require.NoError(t, err)
		_, err = d.ImportLoans(ctx, c.ID, strings.NewReader(loansCSV), false)
		require.NoError(t, err)
		l := ledger.New(db, nil)
		holder := func(no string) members.Holder {
			m, err := d.MemberByNo(ctx, c.ID, no)
			require.NoError(t, err)
			return members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: c.ID}
		}
		siti, ani := holder("A-001"), holder("A-003")
		require.NoError(t, d.SetPIN(ctx, siti, "246810"))

		want, err := l.MemberBalances(ctx, c.ID, siti.ID)
		require.NoError(t, err)
		assert.Equal(t, ledger.MemberBalances{Pokok: 100_000, Wajib: 1_250_000, Sukarela: 500_000, LoanOutstanding: 12_000_000}, want)
		b, _, _, err := d.CheckPINBalances(ctx, siti, "246810")
		require.NoError(t, err)
		assert.Equal(t, want, b, "the same balances as MemberBalances")

		b, remaining, locked, err := d.CheckPINBalances(ctx, siti, "135799")
		assert.ErrorIs(t, err, members.ErrWrongPIN)
		assert.Equal(t, 2, remaining)
		assert.False(t, locked)
		assert.Zero(t, b, "no balances for a wrong PIN")
		b, _, _, err = d.CheckPINBalances(ctx, siti, "246810")
		require.NoError(t, err, "the right PIN again (the failure is reset)")
		assert.Equal(t, want, b)
		remaining, _, err = d.CheckPIN(ctx, siti, "135799")
		assert.ErrorIs(t, err, members.ErrWrongPIN)
		assert.Equal(t, 2, remaining, "the right PIN reset the count")

		for range 2 {
			_, _, locked, err = d.CheckPINBalances(ctx, siti, "135799")
		}
		assert.ErrorIs(t, err, members.ErrPINLocked)
		assert.True(t, locked, "the third wrong PIN locks")
		b, _, _, err = d.CheckPINBalances(ctx, siti, "246810")
		assert.ErrorIs(t, err, members.ErrPINLocked, "locked: the right PIN does not open it")
		assert.Zero(t, b)

		b, _, _, err = d.CheckPINBalances(ctx, ani, "246810")
		assert.ErrorIs(t, err, members.ErrNoPIN)
		assert.Zero(t, b)
		other := siti
		other.CooperativeID = c.ID + 1000
		_, _, _, err = d.CheckPINBalances(ctx, other, "246810")
		assert.ErrorIs(t, err, members.ErrNoPIN, "never across cooperatives")
		_, _, _, err = d.CheckPINBalances(ctx, members.Holder{Kind: members.KindStaff, ID: 1, CooperativeID: c.ID}, "246810")
		assert.ErrorIs(t, err, members.ErrInvalid, "staff have no balances")
	})
}
