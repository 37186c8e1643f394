package ledger_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// TestReversalTellsTheMember: reversing a journal that moved a member's
// money queues the reversal SMS to that member in the same transaction,
// once; a journal between the cooperative's own accounts tells nobody.
func TestReversalTellsTheMember(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		books := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		rc, err := books.DepositTransfer(ctx, ledger.TransferDeposit{CooperativeID: c.ID, MemberID: m.ID, Account: ledger.Sukarela,
			Amount: 40_000, Key: "t1", Actor: "api:1"})
		require.NoError(t, err)
		rev, err := books.Reverse(ctx, ledger.Reversal{CooperativeID: c.ID, JournalID: rc.JournalID, Actor: "staff:9", Reason: "salah anggota"})
		require.NoError(t, err)
		_, err = books.Reverse(ctx, ledger.Reversal{CooperativeID: c.ID, JournalID: rc.JournalID, Actor: "staff:9", Reason: "lagi"})
		require.ErrorIs(t, err, ledger.ErrAlreadyReversed)

		var rows []struct {
			Phone  string `db:"phone"`
			Params string `db:"params"`
		}
		require.NoError(t, db.Select(&rows, db.Rebind(`SELECT phone, params FROM outbox WHERE cooperative_id = ? AND template = ?`), c.ID, ledger.TmplReversal))
		require.Len(t, rows, 1)
		assert.Equal(t, "+6281234567890", rows[0].Phone)
		var params map[string]string
		require.NoError(t, json.Unmarshal([]byte(rows[0].Params), &params))
		assert.Equal(t, map[string]string{"amount": "40000", "ref": strconv.FormatInt(rev, 10), "reason": "salah anggota"}, params)

		id, err := books.Post(ctx, ledger.Journal{CooperativeID: c.ID, Key: "move", Kind: "transfer", Memo: "kas ke bank", Actor: "staff:9",
			Postings: []ledger.Posting{{From: c.Accounts[ledger.Clearing], To: c.Accounts[ledger.Vault], Amount: 5}}})
		require.NoError(t, err)
		_, err = books.Reverse(ctx, ledger.Reversal{CooperativeID: c.ID, JournalID: id, Actor: "staff:9", Reason: "salah"})
		require.NoError(t, err)
		var n int
		require.NoError(t, db.Get(&n, db.Rebind(`SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND template = ?`), c.ID, ledger.TmplReversal))
		assert.Equal(t, 1, n, "nobody's money moved back")
	})
}

// TestDisbursementTellsTheMember: a disbursement queues the member's SMS
// (loan, amount, first installment and its due date) with it, once, also
// when the call is retried.
func TestDisbursementTellsTheMember(t *testing.T) {
	ledgertest.EachDB(t, func(t *testing.T, db *ledger.DB) {
		ctx := context.Background()
		books := ledger.New(db, nil)
		c := ledgertest.NewCoop(t, db, "KSP1")
		m := ledgertest.NewMember(t, db, c, "A-001", "+6281234567890")
		nl := ledger.NewLoan{CooperativeID: c.ID, MemberID: m.ID, LoanNo: "PJ-1", Principal: 1_200_000, RateBP: 100,
			Method: ledger.MethodFlat, TermMonths: 12, DisbursedOn: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC), Key: "l1", Actor: "staff:1"}
		loan, err := books.DisburseLoan(ctx, nl)
		require.NoError(t, err)
		_, err = books.DisburseLoan(ctx, nl)
		require.NoError(t, err)
		var rows []struct {
			Phone  string `db:"phone"`
			Params string `db:"params"`
		}
		require.NoError(t, db.Select(&rows, db.Rebind(`SELECT phone, params FROM outbox WHERE cooperative_id = ? AND template = ?`), c.ID, ledger.TmplDisbursement))
		require.Len(t, rows, 1)
		var params map[string]string
		require.NoError(t, json.Unmarshal([]byte(rows[0].Params), &params))
		assert.Equal(t, map[string]string{"loan": "PJ-1", "amount": "1200000", "installment": "112000", "due": "2027-01-07",
			"ref": strconv.FormatInt(loan.JournalID, 10)}, params)
	})
}
