package members

// Writing of the migration CSV files (CONTRACT §6). A file is all or
// nothing: it is parsed and every row compared with what is stored inside
// one transaction; any problem rolls the transaction back and is reported,
// otherwise everything is written in that transaction.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/lumbung-id/lumbung/ledger"
)

const (
	importActor       = "import"
	openingKind       = "opening"
	memberKeyPrefix   = "import:member:"
	importBatchRows   = 500
	loanJournalPrefix = "import:loan:"
)

// openingKey is the idempotency key of a member's opening balance on one
// account; journal keys are unique per cooperative.
func openingKey(memberNo string, kind ledger.AccountKind) string {
	return memberKeyPrefix + memberNo + ":" + string(kind)
}

var openingMemo = map[ledger.AccountKind]string{
	ledger.Pokok:    "Saldo awal simpanan pokok",
	ledger.Wajib:    "Saldo awal simpanan wajib",
	ledger.Sukarela: "Saldo awal simpanan sukarela",
}

// errRollback ends a transaction that must write nothing.
var errRollback = errors.New("rollback")

// inImportTx runs fn in a transaction that is committed only when fn
// returns commit = true and no error.
func (d *Directory) inImportTx(ctx context.Context, fn func(tx *sqlx.Tx) (commit bool, err error)) error {
	err := d.db.InTx(ctx, func(tx *sqlx.Tx) error {
		commit, err := fn(tx)
		if err != nil {
			return err
		}
		if !commit {
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		return nil
	}
	if err != nil {
		return err
	}
	// A spreadsheet of a whole cooperative has just landed: the members dial
	// today, so the planner learns about them now rather than at autovacuum.
	return d.db.Analyze(ctx, importedTables...)
}

// importedTables are the tables an import writes in bulk.
var importedTables = []string{"members", "pins", "accounts", "journals", "entries", "account_shards", "loans", "installments"}

func checkCoop(ctx context.Context, tx *sqlx.Tx, coopID int64) error {
	var n int
	if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM cooperatives WHERE id = ?`), coopID); err != nil {
		return fmt.Errorf("read cooperative: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("cooperative %d: %w", coopID, ErrNotFound)
	}
	return nil
}

// storedMember is a member as stored, with the opening balances imported
// for it (0 where none was).
type storedMember struct {
	Name, Phone, Language string
	JoinedOn              sql.NullTime
	Opening               map[ledger.AccountKind]int64
}

const storedMembersSQL = `SELECT member_no, name, phone, language, joined_on FROM members WHERE cooperative_id = ?`

const storedOpeningsSQL = `SELECT j.idem_key, e.amount FROM journals j
JOIN entries e ON e.cooperative_id = j.cooperative_id AND e.journal_id = j.id AND e.side = 'C'
WHERE j.cooperative_id = ? AND j.kind = 'opening' AND j.idem_key LIKE 'import:member:%'`

func loadStoredMembers(ctx context.Context, tx *sqlx.Tx, coopID int64) (map[string]*storedMember, error) {
	rows, err := tx.QueryxContext(ctx, tx.Rebind(storedMembersSQL), coopID)
	if err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	defer rows.Close()
	out := map[string]*storedMember{}
	for rows.Next() {
		var no string
		m := &storedMember{Opening: map[ledger.AccountKind]int64{}}
		if err := rows.Scan(&no, &m.Name, &m.Phone, &m.Language, &m.JoinedOn); err != nil {
			return nil, fmt.Errorf("read members: %w", err)
		}
		out[no] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read members: %w", err)
	}
	var opens []struct {
		Key    string `db:"idem_key"`
		Amount int64  `db:"amount"`
	}
	if err := tx.SelectContext(ctx, &opens, tx.Rebind(storedOpeningsSQL), coopID); err != nil {
		return nil, fmt.Errorf("read opening balances: %w", err)
	}
	for _, o := range opens {
		rest := strings.TrimPrefix(o.Key, memberKeyPrefix)
		i := strings.LastIndexByte(rest, ':')
		if i < 0 {
			continue
		}
		if m := out[rest[:i]]; m != nil {
			m.Opening[ledger.AccountKind(rest[i+1:])] += o.Amount
		}
	}
	return out, nil
}

func dateString(t time.Time) string {
	if t.IsZero() {
		return "(blank)"
	}
	return t.Format(time.DateOnly)
}

// compareMember adds a problem for every value of row that differs from
// the stored member.
func compareMember(ps *problems, row importMemberRow, s *storedMember) {
	differs := func(col, stored string) {
		ps.add(row.Row, col, "differs from the member already imported ("+stored+")")
	}
	if row.Name != s.Name {
		differs(colName, "name "+shortValue(s.Name))
	}
	if row.Phone != s.Phone {
		differs(colPhone, "phone "+s.Phone)
	}
	if row.Lang != s.Language {
		differs(colLanguage, "language "+s.Language)
	}
	var stored time.Time
	if s.JoinedOn.Valid {
		y, m, d := s.JoinedOn.Time.UTC().Date()
		stored = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	if !row.JoinedOn.Equal(stored) {
		differs(colJoinedOn, "joined_on "+dateString(stored))
	}
	for _, k := range ledger.MemberAccountKinds {
		if got, want := row.amount(k), s.Opening[k]; got != want {
			differs(string(k), "opening balance "+ledger.FormatRupiah(want))
		}
	}
}

// ImportMembers imports a members file (CONTRACT §6) into a cooperative:
// members without a PIN, their pokok, wajib and sukarela accounts, and one
// opening journal per non-zero amount (Dr opening_equity, Cr the member's
// account). Every row is checked first; if any has a problem, nothing is
// written and the report lists every problem with ErrImportProblems. A
// member already stored with the same data is counted unchanged; with
// different data it is a problem. dryRun writes nothing and reports what
// would be done.
func (d *Directory) ImportMembers(ctx context.Context, coopID int64, r io.Reader, dryRun bool) (ImportReport, error) {
	var ps problems
	rows := parseMembersCSV(r, &ps)
	var rep ImportReport
	now := d.now().UTC()
	err := d.inImportTx(ctx, func(tx *sqlx.Tx) (bool, error) {
		if err := checkCoop(ctx, tx, coopID); err != nil {
			return false, err
		}
		stored, err := loadStoredMembers(ctx, tx, coopID)
		if err != nil {
			return false, err
		}
		var fresh []importMemberRow
		for _, row := range rows {
			if s := stored[row.No]; s != nil {
				before := len(ps.list)
				compareMember(&ps, row, s)
				if len(ps.list) == before {
					rep.MembersUnchanged++
				}
				continue
			}
			fresh = append(fresh, row)
			for _, k := range ledger.MemberAccountKinds {
				if row.amount(k) > 0 {
					rep.JournalsPosted++
				}
			}
		}
		rep.MembersCreated = len(fresh)
		if len(ps.list) > 0 || dryRun {
			return false, nil
		}
		return true, writeMembers(ctx, tx, coopID, fresh, now)
	})
	if err != nil {
		return ImportReport{}, fmt.Errorf("import members: %w", err)
	}
	if len(ps.list) > 0 {
		return ImportReport{Problems: ps.result()}, ErrImportProblems
	}
	return rep, nil
}

func valuesList(n, width int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", width), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(row+", ", n), ", ")
}

// writeMembers inserts members with multi-row INSERTs and has the ledger
// open their accounts with their opening balances (ledger.OpenAccountsTx:
// one journal per non-zero amount, Dr opening_equity, Cr the member's
// account), leaving what AddMemberTx and one ledger.PostTx per opening
// balance would: the ledger alone writes accounts, journals, entries and
// balances.
func writeMembers(ctx context.Context, tx *sqlx.Tx, coopID int64, rows []importMemberRow, now time.Time) error {
	if len(rows) == 0 {
		return nil
	}
	var equity int64
	err := tx.GetContext(ctx, &equity, tx.Rebind(`SELECT id FROM accounts WHERE cooperative_id = ? AND kind = ?
		AND member_id IS NULL AND staff_id IS NULL AND loan_id IS NULL`), coopID, string(ledger.OpeningEquity))
	if err != nil {
		return fmt.Errorf("find opening_equity account: %w", err)
	}
	for chunk := range slices.Chunk(rows, importBatchRows) {
		// Members.
		args := make([]any, 0, 8*len(chunk))
		for _, m := range chunk {
			var joined sql.NullTime
			if !m.JoinedOn.IsZero() {
				joined = sql.NullTime{Time: m.JoinedOn, Valid: true}
			}
			args = append(args, coopID, m.No, m.Name, nameKey(m.Name), m.Phone, m.Lang, joined, now)
		}
		var ids []struct {
			ID int64  `db:"id"`
			No string `db:"member_no"`
		}
		if err := tx.SelectContext(ctx, &ids, tx.Rebind(`INSERT INTO members (cooperative_id, member_no, name, name_key, phone, language, joined_on, created_at) VALUES `+
			valuesList(len(chunk), 8)+` RETURNING id, member_no`), args...); err != nil {
			if ledger.IsUniqueViolation(err) {
				return fmt.Errorf("insert members: %w (imported concurrently?)", ErrDuplicate)
			}
			return fmt.Errorf("insert members: %w", err)
		}
		memberID := make(map[string]int64, len(ids))
		for _, x := range ids {
			memberID[x.No] = x.ID
		}
		// Accounts and their opening balances, through the ledger.
		accounts := make([]ledger.NewAccount, 0, len(ledger.MemberAccountKinds)*len(chunk))
		for _, m := range chunk {
			if memberID[m.No] == 0 {
				return fmt.Errorf("insert members: member %s missing", m.No)
			}
			for _, k := range ledger.MemberAccountKinds {
				accounts = append(accounts, ledger.NewAccount{CooperativeID: coopID, Kind: k, Owner: ledger.Owner{MemberID: memberID[m.No]}})
			}
		}
		opening := func(accountIDs []int64) []ledger.Journal {
			var js []ledger.Journal
			for i, m := range chunk {
				for n, k := range ledger.MemberAccountKinds {
					if amt := m.amount(k); amt != 0 {
						js = append(js, ledger.Journal{CooperativeID: coopID, Key: openingKey(m.No, k), Kind: openingKind,
							Memo: openingMemo[k], Actor: importActor,
							Postings: []ledger.Posting{{From: equity, To: accountIDs[len(ledger.MemberAccountKinds)*i+n], Amount: amt}}})
					}
				}
			}
			return js
		}
		if _, _, err := ledger.OpenAccountsTx(ctx, tx, accounts, opening, now); err != nil {
			return fmt.Errorf("open member accounts: %w", err)
		}
	}
	return nil
}

// storedLoan is a loan as stored, for comparing with a file row.
type storedLoan struct {
	ID          int64         `db:"id"`
	LoanNo      string        `db:"loan_no"`
	MemberNo    string        `db:"member_no"`
	Principal   int64         `db:"principal"`
	Scheduled   int64         `db:"scheduled_principal"`
	RateBP      int64         `db:"rate_bp_month"`
	Method      string        `db:"method"`
	TermMonths  int           `db:"term_months"`
	DisbursedOn time.Time     `db:"disbursed_on"`
	FirstNo     sql.NullInt64 `db:"first_no"`
	Imported    int           `db:"imported"`
}

const storedLoansSQL = `SELECT l.id, l.loan_no, m.member_no, l.principal, l.scheduled_principal, l.rate_bp_month, l.method,
  l.term_months, l.disbursed_on,
  (SELECT MIN(i.no) FROM installments i WHERE i.cooperative_id = l.cooperative_id AND i.loan_id = l.id) AS first_no,
  CASE WHEN EXISTS (SELECT 1 FROM journals j
    JOIN entries e ON e.cooperative_id = j.cooperative_id AND e.journal_id = j.id
    JOIN accounts a ON a.cooperative_id = e.cooperative_id AND a.id = e.account_id
    WHERE j.cooperative_id = l.cooperative_id AND j.idem_key = 'import:loan:' || l.loan_no AND j.kind = 'opening'
      AND a.kind = 'loan_principal' AND a.loan_id = l.id) THEN 1 ELSE 0 END AS imported
FROM loans l JOIN members m ON m.cooperative_id = l.cooperative_id AND m.id = l.member_id
WHERE l.cooperative_id = ?`

type memberRef struct {
	ID     int64  `db:"id"`
	No     string `db:"member_no"`
	Status string `db:"status"`
}

func compareLoan(ps *problems, row importLoanRow, s storedLoan) {
	differs := func(col, stored string) {
		ps.add(row.Row, col, "differs from the loan already imported ("+stored+")")
	}
	if s.Imported == 0 {
		ps.add(row.Row, colLoanNo, "loan number already used in the cooperative by a loan that was not imported")
		return
	}
	if row.MemberNo != s.MemberNo {
		differs(colMemberNo, "member_no "+s.MemberNo)
	}
	if row.Principal != s.Principal {
		differs(colPrincipal, "principal "+ledger.FormatRupiah(s.Principal))
	}
	if row.Outstanding != s.Scheduled {
		differs(colOutstanding, "outstanding "+ledger.FormatRupiah(s.Scheduled))
	}
	if row.RateBP != s.RateBP {
		differs(colRate, fmt.Sprintf("rate_pct_month %d.%02d", s.RateBP/100, s.RateBP%100))
	}
	if string(row.Method) != s.Method {
		differs(colMethod, "method "+s.Method)
	}
	if row.TermMonths != s.TermMonths {
		differs(colTermMonths, fmt.Sprintf("term_months %d", s.TermMonths))
	}
	y, m, d := s.DisbursedOn.UTC().Date()
	disbursed := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if !row.DisbursedOn.Equal(disbursed) {
		differs(colDisbursedOn, "disbursed_on "+dateString(disbursed))
	}
	if s.FirstNo.Valid && int64(row.InstallmentsPaid) != s.FirstNo.Int64-1 {
		differs(colInstallmentsPaid, fmt.Sprintf("installments_paid %d", s.FirstNo.Int64-1))
	}
}

// ImportLoans imports a loans file (CONTRACT §6) into a cooperative: each
// running loan through ledger.ImportRunningLoanTx (key = loan_no), its
// remaining schedule rebuilt to repay exactly the outstanding principal.
// The members must already be in the cooperative. All or nothing, like
// ImportMembers; a loan already imported with the same terms is counted
// unchanged, with other terms it is a problem.
func (d *Directory) ImportLoans(ctx context.Context, coopID int64, r io.Reader, dryRun bool) (ImportReport, error) {
	var ps problems
	rows := parseLoansCSV(r, &ps)
	var rep ImportReport
	now := d.now().UTC()
	err := d.inImportTx(ctx, func(tx *sqlx.Tx) (bool, error) {
		if err := checkCoop(ctx, tx, coopID); err != nil {
			return false, err
		}
		var members []memberRef
		if err := tx.SelectContext(ctx, &members, tx.Rebind(`SELECT id, member_no, status FROM members WHERE cooperative_id = ?`), coopID); err != nil {
			return false, fmt.Errorf("read members: %w", err)
		}
		byNo := make(map[string]memberRef, len(members))
		for _, m := range members {
			byNo[m.No] = m
		}
		var loans []storedLoan
		if err := tx.SelectContext(ctx, &loans, tx.Rebind(storedLoansSQL), coopID); err != nil {
			return false, fmt.Errorf("read loans: %w", err)
		}
		loanByNo := make(map[string]storedLoan, len(loans))
		for _, l := range loans {
			loanByNo[l.LoanNo] = l
		}
		var fresh []ledger.ImportLoan
		for _, row := range rows {
			if s, ok := loanByNo[row.LoanNo]; ok {
				before := len(ps.list)
				compareLoan(&ps, row, s)
				if len(ps.list) == before {
					rep.LoansUnchanged++
				}
				continue
			}
			m, ok := byNo[row.MemberNo]
			if !ok {
				ps.add(row.Row, colMemberNo, "no member "+shortValue(row.MemberNo)+" in this cooperative (import the members first)")
				continue
			}
			if m.Status != "active" {
				ps.add(row.Row, colMemberNo, "member "+m.No+" has left the cooperative")
				continue
			}
			fresh = append(fresh, ledger.ImportLoan{
				CooperativeID: coopID, MemberID: m.ID, LoanNo: row.LoanNo,
				Principal: row.Principal, Outstanding: row.Outstanding, InstallmentsPaid: row.InstallmentsPaid,
				Method: row.Method, RateBP: row.RateBP, TermMonths: row.TermMonths, DisbursedOn: row.DisbursedOn,
				Key: row.LoanNo, Actor: importActor,
			})
		}
		rep.LoansCreated = len(fresh)
		rep.JournalsPosted = len(fresh)
		if len(ps.list) > 0 || dryRun {
			return false, nil
		}
		for _, il := range fresh {
			if _, created, err := ledger.ImportRunningLoanTx(ctx, tx, il, now); err != nil {
				return false, err
			} else if !created {
				return false, fmt.Errorf("import loan %s: imported concurrently", il.LoanNo)
			}
		}
		return true, nil
	})
	if err != nil {
		return ImportReport{}, fmt.Errorf("import loans: %w", err)
	}
	if len(ps.list) > 0 {
		return ImportReport{Problems: ps.result()}, ErrImportProblems
	}
	return rep, nil
}
