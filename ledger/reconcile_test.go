package ledger_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// books is one cooperative with clean books that touch every rule
// Reconcile checks: savings, a reversal, a member who left and took her
// pokok, a loan with a repayment and its parts, deposit codes.
type books struct {
	coop            ledgertest.Coop
	code            string
	maria, yohanes  ledgertest.Member
	loanID, loanAcc int64
	depositJournal  int64
	openingJournal  int64
}

func newBooks(t *testing.T, db *ledger.DB, l *ledger.Ledger, code string) books {
	t.Helper()
	ctx := context.Background()
	b := books{code: code, coop: ledgertest.NewCoop(t, db, code)}
	b.maria = ledgertest.NewMember(t, db, b.coop, code+"-001", "+6281234567890")
	b.yohanes = ledgertest.NewMember(t, db, b.coop, code+"-002", "+6281234567891")
	acc := b.coop.Accounts
	post := func(key string, ps ...ledger.Posting) int64 {
		t.Helper()
		id, err := l.Post(ctx, ledger.Journal{CooperativeID: b.coop.ID, Key: key, Kind: "test", Actor: "test", Postings: ps})
		require.NoError(t, err, key)
		return id
	}
	post("vault", ledger.Posting{From: acc[ledger.Vault], To: acc[ledger.OpeningEquity], Amount: 10_000_000})
	for _, m := range []ledgertest.Member{b.maria, b.yohanes} {
		post(fmt.Sprintf("open:%d", m.ID),
			ledger.Posting{From: acc[ledger.OpeningEquity], To: m.Accounts[ledger.Pokok], Amount: 500_000},
			ledger.Posting{From: acc[ledger.OpeningEquity], To: m.Accounts[ledger.Wajib], Amount: 1_200_000})
	}
	b.openingJournal = post("sukarela", ledger.Posting{From: acc[ledger.Vault], To: b.maria.Accounts[ledger.Sukarela], Amount: 750_000})
	wrong := post("wrong", ledger.Posting{From: acc[ledger.Vault], To: b.maria.Accounts[ledger.Wajib], Amount: 99_000})
	_, err := l.Reverse(ctx, ledger.Reversal{CooperativeID: b.coop.ID, JournalID: wrong, Actor: "staff:1", Reason: "wrong account"})
	require.NoError(t, err)

	// Yohanes leaves: his pokok and wajib may now be paid out.
	_, err = db.Exec(db.Rebind(`UPDATE members SET status = 'left' WHERE id = ?`), b.yohanes.ID)
	require.NoError(t, err)
	post("leave", ledger.Posting{From: b.yohanes.Accounts[ledger.Pokok], To: acc[ledger.Vault], Amount: 500_000},
		ledger.Posting{From: b.yohanes.Accounts[ledger.Wajib], To: acc[ledger.Vault], Amount: 1_200_000})

	// A loan of Rp1.000.000 over three months, the first installment paid.
	now := time.Now()
	require.NoError(t, db.InTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &b.loanID, tx.Rebind(`INSERT INTO loans (cooperative_id, member_id, loan_no, principal, rate_bp_month,
			method, term_months, disbursed_on, scheduled_principal, created_at) VALUES (?, ?, ?, 1000000, 100, 'flat', 3, '2026-01-15', 1000000, ?) RETURNING id`),
			b.coop.ID, b.maria.ID, code+"-L1", now.UTC()); err != nil {
			return err
		}
		for no, p := range []int64{333_333, 333_333, 333_334} {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO installments (cooperative_id, loan_id, no, due_on, principal_due, interest_due)
				VALUES (?, ?, ?, ?, ?, 10000)`), b.coop.ID, b.loanID, no+1, fmt.Sprintf("2026-%02d-15", no+2), p); err != nil {
				return err
			}
		}
		var err error
		b.loanAcc, err = ledger.CreateAccount(ctx, tx, b.coop.ID, ledger.LoanPrincipal, ledger.Owner{MemberID: b.maria.ID, LoanID: b.loanID}, now)
		return err
	}))
	post("disburse", ledger.Posting{From: b.loanAcc, To: acc[ledger.Vault], Amount: 1_000_000})
	repay := post("repay", ledger.Posting{From: acc[ledger.Vault], To: b.loanAcc, Amount: 333_333},
		ledger.Posting{From: acc[ledger.Vault], To: acc[ledger.InterestIncome], Amount: 10_000})
	mustExec(t, db, `UPDATE installments SET principal_paid = 333333, interest_paid = 10000 WHERE loan_id = ? AND no = 1`, b.loanID)
	mustExec(t, db, `INSERT INTO repayment_parts (cooperative_id, journal_id, loan_id, installment_no, interest, principal) VALUES (?, ?, ?, 1, 10000, 333333)`,
		b.coop.ID, repay, b.loanID)

	// A deposit code confirmed by staff, and one still pending.
	b.depositJournal = post("deposit-code", ledger.Posting{From: acc[ledger.Vault], To: b.maria.Accounts[ledger.Sukarela], Amount: 200_000})
	mustExec(t, db, `INSERT INTO deposit_codes (cooperative_id, member_id, account_id, amount, code, status, expires_at, idem_key, journal_id, confirmed_at, created_at)
		VALUES (?, ?, ?, 200000, '111111', 'confirmed', ?, 'dc1', ?, ?, ?)`,
		b.coop.ID, b.maria.ID, b.maria.Accounts[ledger.Sukarela], now.UTC(), b.depositJournal, now.UTC(), now.UTC())
	mustExec(t, db, `INSERT INTO deposit_codes (cooperative_id, member_id, account_id, amount, code, expires_at, idem_key, created_at)
		VALUES (?, ?, ?, 50000, '222222', ?, 'dc2', ?)`,
		b.coop.ID, b.maria.ID, b.maria.Accounts[ledger.Sukarela], now.UTC(), now.UTC())
	return b
}

func mustExec(t *testing.T, db *ledger.DB, q string, args ...any) {
	t.Helper()
	_, err := db.Exec(db.Rebind(q), args...)
	require.NoError(t, err, q)
}

// rawJournal writes a journal and its entries straight into the tables, as
// a buggy program or a hand-edit could: the database allows inserts.
func rawJournal(t *testing.T, db *ledger.DB, coopID int64, key string, reverses any, entries ...entry) int64 {
	t.Helper()
	var id int64
	require.NoError(t, db.Get(&id, db.Rebind(`INSERT INTO journals (cooperative_id, idem_key, request_hash, kind, reverses_id, created_at)
		VALUES (?, ?, 'x', 'raw', ?, ?) RETURNING id`), coopID, key, reverses, time.Now().UTC()))
	for _, e := range entries {
		mustExec(t, db, `INSERT INTO entries (cooperative_id, journal_id, account_id, side, amount) VALUES (?, ?, ?, ?, ?)`, coopID, id, e.account, e.side, e.amount)
	}
	return id
}

type entry struct {
	account int64
	side    string
	amount  int64
}

// invariants runs Reconcile for one cooperative and returns the names of
// the broken invariants, sorted and without repeats.
func invariants(t *testing.T, l *ledger.Ledger, code string) []string {
	t.Helper()
	rep, err := l.Reconcile(context.Background(), code)
	require.NoError(t, err)
	var names []string
	for _, p := range rep.Problems {
		assert.Equal(t, code, p.Cooperative)
		assert.NotEmpty(t, p.Detail)
		names = append(names, p.Invariant)
	}
	slices.Sort(names)
	assert.Equal(t, len(names) == 0, rep.OK)
	return slices.Compact(names)
}

func TestReconcileCleanBooks(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		newBooks(t, db, l, "KSP1")
		newBooks(t, db, l, "KSP2")

		rep, err := l.Reconcile(ctx, "")
		require.NoError(t, err)
		assert.True(t, rep.OK, "%v", rep.Problems)
		assert.Equal(t, 2*10, rep.Journals)
		assert.Equal(t, 2*(6+2*3+1), rep.Accounts)
		out, err := json.Marshal(rep)
		require.NoError(t, err)
		assert.JSONEq(t, `{"ok":true,"journals":20,"accounts":26,"problems":[]}`, string(out))

		rep, err = l.Reconcile(ctx, "KSP2")
		require.NoError(t, err)
		assert.True(t, rep.OK)
		assert.Equal(t, 10, rep.Journals)
		assert.Equal(t, 13, rep.Accounts)

		_, err = l.Reconcile(ctx, "NOPE")
		assert.ErrorIs(t, err, ledger.ErrNotFound)
		assert.ErrorContains(t, err, "NOPE")
	})
}

// Each case breaks one cooperative's books in a way the database still
// allows, and Reconcile must name exactly what broke, in that cooperative
// only.
func TestReconcileFindsCorruption(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		l := ledger.New(db, nil)
		clean := newBooks(t, db, l, "CLEAN")
		n := 0
		for _, c := range []struct {
			name    string
			corrupt func(b books)
			want    []string
		}{
			{"cached balance changed", func(b books) {
				mustExec(t, db, `UPDATE accounts SET balance = balance + 1 WHERE id = ?`, b.maria.Accounts[ledger.Sukarela])
			}, []string{ledger.InvCachedBalance}},
			{"shard row changed", func(b books) {
				mustExec(t, db, `UPDATE account_shards SET balance = balance - 5 WHERE account_id = ? AND shard = (SELECT MIN(shard) FROM account_shards WHERE account_id = ?)`,
					b.coop.Accounts[ledger.Vault], b.coop.Accounts[ledger.Vault])
			}, []string{ledger.InvCachedBalance}},
			{"one-sided journal", func(b books) {
				rawJournal(t, db, b.coop.ID, "one-sided", nil, entry{b.coop.Accounts[ledger.FeeIncome], "C", 100})
			}, []string{ledger.InvCachedBalance, ledger.InvJournalBalanced, ledger.InvJournalEntries, ledger.InvTrialBalance}},
			{"wajib of an active member debited", func(b books) {
				rawJournal(t, db, b.coop.ID, "take-wajib", nil,
					entry{b.maria.Accounts[ledger.Wajib], "D", 10}, entry{b.maria.Accounts[ledger.Sukarela], "C", 10})
				mustExec(t, db, `UPDATE accounts SET balance = balance - 10 WHERE id = ?`, b.maria.Accounts[ledger.Wajib])
				mustExec(t, db, `UPDATE accounts SET balance = balance + 10 WHERE id = ?`, b.maria.Accounts[ledger.Sukarela])
			}, []string{ledger.InvEquityLock}},
			{"installment paid columns changed", func(b books) {
				mustExec(t, db, `UPDATE installments SET principal_paid = principal_paid + 100 WHERE loan_id = ? AND no = 2`, b.loanID)
			}, []string{ledger.InvInstallmentParts, ledger.InvLoanOutstanding}},
			{"confirmed deposit code without journal", func(b books) {
				mustExec(t, db, `UPDATE deposit_codes SET status = 'confirmed' WHERE cooperative_id = ? AND code = '222222'`, b.coop.ID)
			}, []string{ledger.InvDepositCode}},
			{"deposit code amount differs from its journal", func(b books) {
				mustExec(t, db, `UPDATE deposit_codes SET amount = amount + 1 WHERE cooperative_id = ? AND journal_id = ?`, b.coop.ID, b.depositJournal)
			}, []string{ledger.InvDepositCode}},
			{"reversal that does not mirror its original", func(b books) {
				// The original moved 750.000 vault → sukarela; this "reversal" moves 700.000 back.
				rawJournal(t, db, b.coop.ID, "bad-reversal", b.openingJournal,
					entry{b.maria.Accounts[ledger.Sukarela], "D", 700_000}, entry{b.coop.Accounts[ledger.Vault], "C", 700_000})
				mustExec(t, db, `UPDATE accounts SET balance = balance - 700000 WHERE id = ?`, b.maria.Accounts[ledger.Sukarela])
				mustExec(t, db, `UPDATE account_shards SET balance = balance - 700000 WHERE account_id = ? AND shard = (SELECT MIN(shard) FROM account_shards WHERE account_id = ?)`,
					b.coop.Accounts[ledger.Vault], b.coop.Accounts[ledger.Vault])
			}, []string{ledger.InvReversalMirror}},
			{"savings account made unbounded", func(b books) {
				mustExec(t, db, `UPDATE accounts SET bounded = ? WHERE id = ?`, false, b.maria.Accounts[ledger.Sukarela])
			}, []string{ledger.InvAccountRules}},
			{"schedule no longer repays the principal", func(b books) {
				mustExec(t, db, `UPDATE loans SET scheduled_principal = scheduled_principal + 1 WHERE id = ?`, b.loanID)
			}, []string{ledger.InvLoanSchedule}},
			{"loan closed while principal is owed", func(b books) {
				mustExec(t, db, `UPDATE loans SET status = 'closed' WHERE id = ?`, b.loanID)
			}, []string{ledger.InvLoanClosed}},
			{"repayment parts differ from the journal", func(b books) {
				mustExec(t, db, `UPDATE repayment_parts SET interest = interest + 1 WHERE loan_id = ?`, b.loanID)
			}, []string{ledger.InvInstallmentParts, ledger.InvRepaymentParts}},
			{"vault below zero", func(b books) {
				_, err := l.Post(ctx, ledger.Journal{CooperativeID: b.coop.ID, Key: "drain", Kind: "test",
					Postings: []ledger.Posting{{From: b.coop.Accounts[ledger.Clearing], To: b.coop.Accounts[ledger.Vault], Amount: 50_000_000}}})
				require.NoError(t, err)
			}, []string{ledger.InvVaultNegative}},
			{"loan account pointed at another cooperative's loan", func(b books) {
				var other int64
				require.NoError(t, db.Get(&other, db.Rebind(`INSERT INTO loans (cooperative_id, member_id, loan_no, principal, rate_bp_month,
					method, term_months, disbursed_on, scheduled_principal, created_at) VALUES (?, ?, 'X', 1, 0, 'flat', 1, '2026-01-15', 0, ?) RETURNING id`),
					clean.coop.ID, clean.maria.ID, time.Now().UTC()))
				mustExec(t, db, `UPDATE accounts SET loan_id = ? WHERE id = ?`, other, b.loanAcc)
			}, []string{ledger.InvLoanOutstanding, ledger.InvOneCooperative}},
		} {
			n++
			code := fmt.Sprintf("BAD%02d", n)
			b := newBooks(t, db, l, code)
			require.Empty(t, invariants(t, l, code), "%s before corruption", c.name)
			c.corrupt(b)
			assert.Equal(t, c.want, invariants(t, l, code), c.name)
		}
		if t.Failed() {
			return
		}
		// The clean cooperative is untouched except where a case pointed
		// into it; a run over all cooperatives names each broken one.
		rep, err := l.Reconcile(ctx, "")
		require.NoError(t, err)
		assert.False(t, rep.OK)
		for _, p := range rep.Problems {
			t.Log(p)
		}
		seen := map[string]bool{}
		for _, p := range rep.Problems {
			seen[p.Cooperative] = true
		}
		assert.Len(t, seen, n+1, "every broken cooperative (and CLEAN, whose loan gained an account) is named")
	})
}
