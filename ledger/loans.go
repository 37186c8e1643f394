package ledger

// Loans (pinjaman): disbursement, import of running loans, repayment and the
// undoing of a reversed repayment, and what a member sees about their loans.
// The arithmetic lives in schedule.go (BuildSchedule, RebuildSchedule) and
// allocate.go (Allocate, ApplyOverpayment, LateFee, BucketFor); this file
// stores schedules in installments, posts the journals and keeps the paid
// columns of installments and the repayment_parts rows in step with them, in
// the same transaction.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// Errors of the loan paths; callers choose a screen with errors.Is.
var (
	// ErrLoanClosed: the loan is fully repaid (or otherwise closed).
	ErrLoanClosed = errors.New("loan is closed")
	// ErrOverpayment: the payment is more than everything owed today plus
	// all remaining principal. The error is a *RepayLimitError carrying the
	// maximum.
	ErrOverpayment = errors.New("payment is more than the loan owes")
	// ErrLoanNumberTaken: another loan of the cooperative has this number.
	ErrLoanNumberTaken = errors.New("loan number already used in the cooperative")
)

// RepayLimitError says how much can be paid at most; it matches
// ErrOverpayment with errors.Is.
type RepayLimitError struct {
	LoanNo string
	Amount int64 // what was offered
	Max    int64 // everything owed today plus all remaining principal
}

func (e *RepayLimitError) Error() string {
	return fmt.Sprintf("loan %s: payment %s is more than the %s that settles it", e.LoanNo, FormatRupiah(e.Amount), FormatRupiah(e.Max))
}

// Unwrap makes errors.Is(err, ErrOverpayment) true.
func (e *RepayLimitError) Unwrap() error { return ErrOverpayment }

// Loan statuses.
const (
	LoanActive = "active"
	LoanClosed = "closed"
)

// Journal kinds written here.
const (
	journalKindDisbursement = KindDisbursement
	journalKindRepayment    = KindRepayment
	journalKindOpening      = KindOpening
)

// NewLoan is a loan to disburse.
type NewLoan struct {
	CooperativeID, MemberID int64
	LoanNo                  string
	Principal               int64
	RateBP                  int64 // basis points per month, 100 = 1%
	Method                  Method
	TermMonths              int
	DisbursedOn             time.Time // its calendar date counts
	FirstDue                time.Time // zero: one month after DisbursedOn
	SourceAccount           int64     // cash leaves from here (vault, till, collector cash, clearing); 0: the vault
	Key, Actor              string
	// NoSMS queues no SMS to the member: for seeded demo loans, whose
	// phones are made up.
	NoSMS bool
}

// ImportLoan is a running loan taken over from another system.
type ImportLoan struct {
	CooperativeID, MemberID int64
	LoanNo                  string
	Principal               int64 // originally disbursed
	Outstanding             int64 // principal still owed at the cut-over
	InstallmentsPaid        int   // installments settled in the old system
	Method                  Method
	RateBP                  int64
	TermMonths              int
	DisbursedOn             time.Time
	FirstDue                time.Time // zero: one month after DisbursedOn
	Key, Actor              string    // the journal key is "import:loan:" + Key
}

// Loan is a stored loan with its schedule.
type Loan struct {
	ID, CooperativeID, MemberID int64
	LoanNo                      string
	Principal                   int64
	ScheduledPrincipal          int64 // what the stored schedule repays: Principal, or Outstanding for an import
	RateBP                      int64
	Method                      Method
	TermMonths                  int
	DisbursedOn                 time.Time
	Status                      string // LoanActive or LoanClosed
	AccountID                   int64  // the loan_principal account
	JournalID                   int64  // the disbursement or opening journal
	Schedule                    []Installment
}

// Repayment is money paid against a loan. It comes from exactly one of
// the member's sukarela (FromSukarela), a staff member's cash (StaffID) or
// the cooperative's clearing account (FromClearing).
type Repayment struct {
	CooperativeID, LoanID int64
	Amount                int64
	FromSukarela          bool  // pay from the member's simpanan sukarela
	StaffID               int64 // cash received by this staff member (their till or collector cash)
	FromClearing          bool  // money that reached the cooperative's bank by transfer (the admin API reports it); needs an Actor
	MemberID              int64 // when not 0, the loan must be this member's (a member paying their own): another's is ErrNotFound
	Key                   string
	Actor                 string // default "member:<id>" from sukarela, "staff:<id>" from cash; required from clearing
}

// RepaymentResult is how a repayment was split and where the loan stands.
type RepaymentResult struct {
	JournalID        int64
	Parts            []Allocation // per installment, oldest first (prepaid principal included)
	PrincipalPrepaid int64        // the part that went to principal beyond the next installment
	Outstanding      int64        // principal still owed after the repayment
	Closed           bool
	Replayed         bool // the key was posted before; nothing new was written
}

// InstallmentState is one installment with what has been paid on it.
type InstallmentState struct {
	No                                   int
	Due                                  time.Time
	Principal, Interest, Fee             int64 // due per the schedule
	PrincipalPaid, InterestPaid, FeePaid int64
	PenaltyPaid                          int64
}

// LoanInfo is what a member sees about one loan ("Info Pinjaman").
type LoanInfo struct {
	LoanID         int64
	LoanNo         string
	Principal      int64
	Outstanding    int64     // principal still owed
	NextDue        time.Time // the first installment due today or later with something unpaid; zero if none
	NextAmount     int64     // what is unpaid on it
	Arrears        int64     // overdue (due before today) and unpaid, penalty included
	DaysLate       int       // days since the oldest overdue installment fell due
	Kolektibilitas Kolektibilitas
	Status         string
}

// ---------------------------------------------------------------------------
// Disbursement and import

// DisburseLoan creates a loan in one transaction: the loans row, its
// loan_principal account, the installments from BuildSchedule, and the
// journal Dr loan_principal / Cr source. The journal's idempotency key is
// nl.Key: a retry with the same key and request returns the same loan and
// writes nothing; the same key with another request fails with
// ErrIdempotencyConflict.
func (l *Ledger) DisburseLoan(ctx context.Context, nl NewLoan) (Loan, error) {
	if err := validKey(nl.Key); err != nil {
		return Loan{}, err
	}
	var loan Loan
	disburse := func(tx *sqlx.Tx) error {
		var err error
		loan, err = disburseLoanTx(ctx, tx, nl, l.now())
		return err
	}
	err := l.db.InTx(ctx, disburse)
	if err != nil && (IsUniqueViolation(err) || errors.Is(err, ErrLoanNumberTaken)) {
		// A concurrent call with the same key may have committed first (its
		// loan number is now taken, or collided on insert): run again, and
		// it answers as the retry it is; a different loan with that number
		// is refused again.
		err = l.db.InTx(ctx, disburse)
	}
	if err != nil {
		return Loan{}, fmt.Errorf("disburse loan %s: %w", nl.LoanNo, err)
	}
	return loan, nil
}

func disburseLoanTx(ctx context.Context, tx *sqlx.Tx, nl NewLoan, now time.Time) (Loan, error) {
	if prev, ok, err := loanOfJournal(ctx, tx, nl.CooperativeID, nl.Key); ok || err != nil {
		if err != nil {
			return Loan{}, err
		}
		if !prev.sameTerms(nl.MemberID, nl.LoanNo, nl.Principal, nl.Principal, nl.RateBP, nl.Method, nl.TermMonths, nl.DisbursedOn) {
			return Loan{}, fmt.Errorf("journal %q: %w", nl.Key, ErrIdempotencyConflict)
		}
		return prev, nil
	}
	disbursed := civilDate(nl.DisbursedOn)
	schedule, err := loanSchedule(nl.Principal, nl.RateBP, nl.Method, nl.TermMonths, disbursed, nl.FirstDue, 0)
	if err != nil {
		return Loan{}, err
	}
	source := nl.SourceAccount
	if source == 0 {
		if source, err = coopAccountTx(ctx, tx, nl.CooperativeID, Vault); err != nil {
			return Loan{}, err
		}
	} else if err := checkDisbursementSource(ctx, tx, nl.CooperativeID, source); err != nil {
		return Loan{}, err
	}
	loan := Loan{
		CooperativeID: nl.CooperativeID, MemberID: nl.MemberID, LoanNo: strings.TrimSpace(nl.LoanNo),
		Principal: nl.Principal, ScheduledPrincipal: nl.Principal, RateBP: nl.RateBP, Method: nl.Method,
		TermMonths: nl.TermMonths, DisbursedOn: disbursed, Status: LoanActive, Schedule: schedule,
	}
	if err := insertLoanTx(ctx, tx, &loan, now); err != nil {
		return Loan{}, err
	}
	loan.JournalID, err = PostTx(ctx, tx, Journal{
		CooperativeID: nl.CooperativeID,
		Key:           nl.Key,
		Kind:          journalKindDisbursement,
		Memo:          "Pencairan pinjaman " + loan.LoanNo,
		Actor:         nl.Actor,
		Postings:      []Posting{{From: loan.AccountID, To: source, Amount: nl.Principal}},
	}, now)
	if err != nil {
		return Loan{}, err
	}
	if !nl.NoSMS {
		if err := tellDisbursement(ctx, tx, loan, now); err != nil {
			return Loan{}, err
		}
	}
	return loan, nil
}

// tellDisbursement queues, with the disbursement, the member's SMS: the
// loan, what was paid out, the first installment and when it is due.
func tellDisbursement(ctx context.Context, tx *sqlx.Tx, loan Loan, now time.Time) error {
	var m struct {
		Phone    string `db:"phone"`
		Language string `db:"language"`
	}
	if err := tx.GetContext(ctx, &m, tx.Rebind(memberContactSQL), loan.CooperativeID, loan.MemberID); err != nil {
		return fmt.Errorf("read member %d: %w", loan.MemberID, err)
	}
	if m.Phone == "" || len(loan.Schedule) == 0 {
		return nil
	}
	first := loan.Schedule[0]
	return EnqueueSMS(ctx, tx, OutboxMessage{
		CooperativeID: loan.CooperativeID,
		Key:           "sms:disbursement:" + strconv.FormatInt(loan.JournalID, 10),
		Phone:         m.Phone, Language: m.Language, Template: TmplDisbursement,
		Params: map[string]string{
			"loan": loan.LoanNo, "amount": strconv.FormatInt(loan.Principal, 10),
			"installment": strconv.FormatInt(first.Total(), 10), "due": first.Due.Format("2006-01-02"),
			"ref": strconv.FormatInt(loan.JournalID, 10),
		},
	}, now)
}

// ImportRunningLoanTx takes over a running loan inside tx: the loans row
// (scheduled_principal = Outstanding), its account, the remaining schedule
// from RebuildSchedule (numbered after the paid installments, due dates
// continuing the loan's monthly series) that repays exactly Outstanding,
// and the opening journal Dr loan_principal / Cr opening_equity under the
// key "import:loan:"+il.Key. Importing the same loan again returns it with
// created = false and writes nothing; the same key with other terms fails
// with ErrIdempotencyConflict.
func ImportRunningLoanTx(ctx context.Context, tx *sqlx.Tx, il ImportLoan, now time.Time) (Loan, bool, error) {
	if strings.TrimSpace(il.Key) == "" {
		return Loan{}, false, fmt.Errorf("import loan %s: %w: no key", il.LoanNo, ErrInvalidJournal)
	}
	key := "import:loan:" + il.Key
	if err := validKey(key); err != nil {
		return Loan{}, false, err
	}
	if prev, ok, err := loanOfJournal(ctx, tx, il.CooperativeID, key); ok || err != nil {
		if err != nil {
			return Loan{}, false, err
		}
		if !prev.sameTerms(il.MemberID, il.LoanNo, il.Principal, il.Outstanding, il.RateBP, il.Method, il.TermMonths, il.DisbursedOn) {
			return Loan{}, false, fmt.Errorf("import loan %s: journal %q: %w", il.LoanNo, key, ErrIdempotencyConflict)
		}
		return prev, false, nil
	}
	switch {
	case il.Outstanding <= 0 || il.Outstanding > il.Principal:
		return Loan{}, false, fmt.Errorf("import loan %s: %w: outstanding %d must be between 1 and the principal %d",
			il.LoanNo, ErrInvalidLoanTerms, il.Outstanding, il.Principal)
	case il.InstallmentsPaid < 0 || il.InstallmentsPaid > il.TermMonths:
		return Loan{}, false, fmt.Errorf("import loan %s: %w: %d installments paid of %d",
			il.LoanNo, ErrInvalidLoanTerms, il.InstallmentsPaid, il.TermMonths)
	}
	disbursed := civilDate(il.DisbursedOn)
	var rest []Installment
	if il.InstallmentsPaid == il.TermMonths {
		// Past its term with money still owed (common in old books): the
		// outstanding principal falls due with the last installment, and
		// denda runs from that date.
		last, err := loanSchedule(il.Principal, il.RateBP, il.Method, il.TermMonths, disbursed, il.FirstDue, il.TermMonths-1)
		if err != nil {
			return Loan{}, false, fmt.Errorf("import loan %s: %w", il.LoanNo, err)
		}
		rest = []Installment{{No: last[0].No, Due: last[0].Due, Principal: il.Outstanding}}
	} else {
		schedule, err := loanSchedule(il.Principal, il.RateBP, il.Method, il.TermMonths, disbursed, il.FirstDue, il.InstallmentsPaid)
		if err != nil {
			return Loan{}, false, fmt.Errorf("import loan %s: %w", il.LoanNo, err)
		}
		rest, err = RebuildSchedule(il.Outstanding, il.RateBP, il.Method, len(schedule), schedule[0].Due, il.Principal)
		if err != nil {
			return Loan{}, false, fmt.Errorf("import loan %s: %w", il.LoanNo, err)
		}
		for k := range rest { // keep the numbers and dates of the original series
			rest[k].No, rest[k].Due = schedule[k].No, schedule[k].Due
		}
	}
	loan := Loan{
		CooperativeID: il.CooperativeID, MemberID: il.MemberID, LoanNo: strings.TrimSpace(il.LoanNo),
		Principal: il.Principal, ScheduledPrincipal: il.Outstanding, RateBP: il.RateBP, Method: il.Method,
		TermMonths: il.TermMonths, DisbursedOn: disbursed, Status: LoanActive, Schedule: rest,
	}
	if err := insertLoanTx(ctx, tx, &loan, now); err != nil {
		return Loan{}, false, fmt.Errorf("import loan %s: %w", il.LoanNo, err)
	}
	equity, err := coopAccountTx(ctx, tx, il.CooperativeID, OpeningEquity)
	if err != nil {
		return Loan{}, false, err
	}
	actor := il.Actor
	if actor == "" {
		actor = "import"
	}
	loan.JournalID, err = PostTx(ctx, tx, Journal{
		CooperativeID: il.CooperativeID,
		Key:           key,
		Kind:          journalKindOpening,
		Memo:          "Saldo awal pinjaman " + loan.LoanNo,
		Actor:         actor,
		Postings:      []Posting{{From: loan.AccountID, To: equity, Amount: il.Outstanding}},
	}, now)
	if err != nil {
		return Loan{}, false, fmt.Errorf("import loan %s: %w", il.LoanNo, err)
	}
	return loan, true, nil
}

// loanSchedule builds the schedule of a loan and returns the installments
// from number skip+1 on. Due dates follow one monthly series: from FirstDue
// if set, else from one month after the disbursement, keeping the anchor's
// day of the month (a loan disbursed on Jan 31 falls due on Feb 28, Mar 31,
// Apr 30 …).
func loanSchedule(principal, rateBP int64, method Method, term int, disbursed, firstDue time.Time, skip int) ([]Installment, error) {
	if disbursed.IsZero() {
		return nil, fmt.Errorf("%w: disbursement date missing", ErrInvalidLoanTerms)
	}
	anchor, offset := disbursed, 1
	if !firstDue.IsZero() {
		anchor, offset = civilDate(firstDue), 0
		if !anchor.After(disbursed) {
			return nil, fmt.Errorf("%w: first due date %s is not after the disbursement %s",
				ErrInvalidLoanTerms, anchor.Format(time.DateOnly), disbursed.Format(time.DateOnly))
		}
	}
	s, err := BuildSchedule(principal, rateBP, method, term, monthlyDue(anchor, offset))
	if err != nil {
		return nil, err
	}
	for k := range s {
		s[k].Due = monthlyDue(anchor, offset+k)
	}
	return s[skip:], nil
}

const memberStatusSQL = `SELECT status FROM members WHERE cooperative_id = ? AND id = ?`

const loanNoTakenSQL = `SELECT COUNT(*) FROM loans WHERE cooperative_id = ? AND loan_no = ?`

const insertLoanSQL = `INSERT INTO loans (cooperative_id, member_id, loan_no, principal, rate_bp_month, method, term_months,
	disbursed_on, scheduled_principal, status, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?) RETURNING id`

const insertInstallmentsSQL = `INSERT INTO installments (cooperative_id, loan_id, no, due_on, principal_due, interest_due) VALUES `

// insertLoanTx writes the loans row, the loan_principal account and the
// installments of loan (its Schedule), setting loan.ID and loan.AccountID.
func insertLoanTx(ctx context.Context, tx *sqlx.Tx, loan *Loan, now time.Time) error {
	if loan.LoanNo == "" || len(loan.LoanNo) > 64 {
		return fmt.Errorf("%w: loan number must be 1-64 characters", ErrInvalidLoanTerms)
	}
	var status string
	err := tx.GetContext(ctx, &status, tx.Rebind(memberStatusSQL), loan.CooperativeID, loan.MemberID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("member %d in cooperative %d: %w", loan.MemberID, loan.CooperativeID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("read member %d: %w", loan.MemberID, err)
	}
	if status != "active" {
		return fmt.Errorf("member %d: %w: %w", loan.MemberID, ErrMemberLeft, ErrInvalidLoanTerms)
	}
	var taken int
	if err := tx.GetContext(ctx, &taken, tx.Rebind(loanNoTakenSQL), loan.CooperativeID, loan.LoanNo); err != nil {
		return fmt.Errorf("look up loan number: %w", err)
	}
	if taken > 0 {
		return fmt.Errorf("loan %s: %w", loan.LoanNo, ErrLoanNumberTaken)
	}
	now = now.UTC()
	if err := tx.GetContext(ctx, &loan.ID, tx.Rebind(insertLoanSQL), loan.CooperativeID, loan.MemberID, loan.LoanNo,
		loan.Principal, loan.RateBP, string(loan.Method), loan.TermMonths, loan.DisbursedOn, loan.ScheduledPrincipal, now); err != nil {
		return fmt.Errorf("insert loan: %w", err)
	}
	if loan.AccountID, err = CreateAccount(ctx, tx, loan.CooperativeID, LoanPrincipal, Owner{MemberID: loan.MemberID, LoanID: loan.ID}, now); err != nil {
		return err
	}
	args := make([]any, 0, 6*len(loan.Schedule))
	values := make([]string, 0, len(loan.Schedule))
	for _, in := range loan.Schedule {
		values = append(values, "(?, ?, ?, ?, ?, ?)")
		args = append(args, loan.CooperativeID, loan.ID, in.No, in.Due, in.Principal, in.Interest)
	}
	if _, err := tx.ExecContext(ctx, tx.Rebind(insertInstallmentsSQL+strings.Join(values, ", ")), args...); err != nil {
		return fmt.Errorf("insert installments of loan %s: %w", loan.LoanNo, err)
	}
	return nil
}

const loanOfJournalSQL = `SELECT a.loan_id FROM journals j
JOIN entries e ON e.cooperative_id = j.cooperative_id AND e.journal_id = j.id
JOIN accounts a ON a.cooperative_id = e.cooperative_id AND a.id = e.account_id
WHERE j.cooperative_id = ? AND j.idem_key = ? AND j.kind IN ('disbursement', 'opening') AND a.kind = 'loan_principal'`

const journalKindByKeySQL = `SELECT kind FROM journals WHERE cooperative_id = ? AND idem_key = ?`

// loanOfJournal finds the loan a disbursement or opening journal with key
// created. ok is false when no journal has the key; a journal with the key
// that created no loan is an ErrIdempotencyConflict.
func loanOfJournal(ctx context.Context, tx *sqlx.Tx, coopID int64, key string) (Loan, bool, error) {
	var kind string
	err := tx.GetContext(ctx, &kind, tx.Rebind(journalKindByKeySQL), coopID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return Loan{}, false, nil
	}
	if err != nil {
		return Loan{}, false, fmt.Errorf("read journal %q: %w", key, err)
	}
	var loanID int64
	err = tx.GetContext(ctx, &loanID, tx.Rebind(loanOfJournalSQL), coopID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return Loan{}, false, fmt.Errorf("journal %q (%s) created no loan: %w", key, kind, ErrIdempotencyConflict)
	}
	if err != nil {
		return Loan{}, false, fmt.Errorf("find loan of journal %q: %w", key, err)
	}
	loan, err := loadLoan(ctx, tx, coopID, loanID)
	return loan, true, err
}

func (ln Loan) sameTerms(memberID int64, loanNo string, principal, scheduled, rateBP int64, method Method, term int, disbursed time.Time) bool {
	return ln.MemberID == memberID && ln.LoanNo == strings.TrimSpace(loanNo) && ln.Principal == principal &&
		ln.ScheduledPrincipal == scheduled && ln.RateBP == rateBP && ln.Method == method && ln.TermMonths == term &&
		ln.DisbursedOn.Equal(civilDate(disbursed))
}

const disbursementSourceSQL = `SELECT kind FROM accounts WHERE cooperative_id = ? AND id = ?`

// checkDisbursementSource accepts the cooperative's cash (vault, a till, a
// collector's cash) or clearing as the account a loan is paid out from.
func checkDisbursementSource(ctx context.Context, tx *sqlx.Tx, coopID, accountID int64) error {
	var kind string
	err := tx.GetContext(ctx, &kind, tx.Rebind(disbursementSourceSQL), coopID, accountID)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("source account %d in cooperative %d: %w", accountID, coopID, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("read source account %d: %w", accountID, err)
	}
	switch AccountKind(kind) {
	case Vault, Till, CollectorCash, Clearing:
		return nil
	}
	return fmt.Errorf("%w: a loan cannot be paid out of a %s account", ErrInvalidJournal, kind)
}

const coopAccountSQL = `SELECT id FROM accounts WHERE cooperative_id = ? AND kind = ?
AND member_id IS NULL AND staff_id IS NULL AND loan_id IS NULL`

func coopAccountTx(ctx context.Context, tx *sqlx.Tx, coopID int64, kind AccountKind) (int64, error) {
	var id int64
	err := tx.GetContext(ctx, &id, tx.Rebind(coopAccountSQL), coopID, string(kind))
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("%s account of cooperative %d: %w", kind, coopID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("find %s account: %w", kind, err)
	}
	return id, nil
}

// ---------------------------------------------------------------------------
// Reading loans

type loanRow struct {
	ID                 int64     `db:"id"`
	CooperativeID      int64     `db:"cooperative_id"`
	MemberID           int64     `db:"member_id"`
	LoanNo             string    `db:"loan_no"`
	Principal          int64     `db:"principal"`
	RateBP             int64     `db:"rate_bp_month"`
	Method             string    `db:"method"`
	TermMonths         int       `db:"term_months"`
	DisbursedOn        time.Time `db:"disbursed_on"`
	ScheduledPrincipal int64     `db:"scheduled_principal"`
	Status             string    `db:"status"`
}

const loanColumns = `id, cooperative_id, member_id, loan_no, principal, rate_bp_month, method, term_months,
	disbursed_on, scheduled_principal, status`

const loanSQL = `SELECT ` + loanColumns + ` FROM loans WHERE cooperative_id = ? AND id = ?`

type installmentRow struct {
	LoanID        int64     `db:"loan_id"`
	No            int       `db:"no"`
	DueOn         time.Time `db:"due_on"`
	PrincipalDue  int64     `db:"principal_due"`
	InterestDue   int64     `db:"interest_due"`
	FeeDue        int64     `db:"fee_due"`
	PrincipalPaid int64     `db:"principal_paid"`
	InterestPaid  int64     `db:"interest_paid"`
	FeePaid       int64     `db:"fee_paid"`
	PenaltyPaid   int64     `db:"penalty_paid"`
}

// unpaid is what is still owed on the installment, penalty aside.
func (r installmentRow) unpaid() int64 {
	return r.PrincipalDue - r.PrincipalPaid + r.InterestDue - r.InterestPaid + r.FeeDue - r.FeePaid
}

const installmentColumns = `loan_id, no, due_on, principal_due, interest_due, fee_due,
	principal_paid, interest_paid, fee_paid, penalty_paid`

const installmentsSQL = `SELECT ` + installmentColumns + ` FROM installments
WHERE cooperative_id = ? AND loan_id = ? ORDER BY no`

const loanAccountSQL = `SELECT id FROM accounts WHERE cooperative_id = ? AND loan_id = ? AND kind = 'loan_principal'`

const loanFirstJournalSQL = `SELECT COALESCE(MIN(journal_id), 0) FROM entries WHERE cooperative_id = ? AND account_id = ?`

func loadInstallments(ctx context.Context, q sqlx.ExtContext, coopID, loanID int64) ([]installmentRow, error) {
	var rows []installmentRow
	if err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(installmentsSQL), coopID, loanID); err != nil {
		return nil, fmt.Errorf("read installments of loan %d: %w", loanID, err)
	}
	for k := range rows {
		rows[k].DueOn = civilDate(rows[k].DueOn.UTC())
	}
	return rows, nil
}

// loadLoan reads a loan, its account, its first journal and its schedule.
func loadLoan(ctx context.Context, q sqlx.ExtContext, coopID, loanID int64) (Loan, error) {
	var r loanRow
	err := sqlx.GetContext(ctx, q, &r, q.Rebind(loanSQL), coopID, loanID)
	if errors.Is(err, sql.ErrNoRows) {
		return Loan{}, fmt.Errorf("loan %d in cooperative %d: %w", loanID, coopID, ErrNotFound)
	}
	if err != nil {
		return Loan{}, fmt.Errorf("read loan %d: %w", loanID, err)
	}
	loan := r.loan()
	if err := sqlx.GetContext(ctx, q, &loan.AccountID, q.Rebind(loanAccountSQL), coopID, loanID); err != nil {
		return Loan{}, fmt.Errorf("find account of loan %d: %w", loanID, err)
	}
	if err := sqlx.GetContext(ctx, q, &loan.JournalID, q.Rebind(loanFirstJournalSQL), coopID, loan.AccountID); err != nil {
		return Loan{}, fmt.Errorf("find journal of loan %d: %w", loanID, err)
	}
	rows, err := loadInstallments(ctx, q, coopID, loanID)
	if err != nil {
		return Loan{}, err
	}
	for _, in := range rows {
		loan.Schedule = append(loan.Schedule, Installment{No: in.No, Due: in.DueOn, Principal: in.PrincipalDue, Interest: in.InterestDue})
	}
	return loan, nil
}

func (r loanRow) loan() Loan {
	return Loan{
		ID: r.ID, CooperativeID: r.CooperativeID, MemberID: r.MemberID, LoanNo: r.LoanNo,
		Principal: r.Principal, ScheduledPrincipal: r.ScheduledPrincipal, RateBP: r.RateBP,
		Method: Method(r.Method), TermMonths: r.TermMonths, DisbursedOn: civilDate(r.DisbursedOn.UTC()), Status: r.Status,
	}
}

// Loan reads one loan of a cooperative with its schedule.
func (l *Ledger) Loan(ctx context.Context, coopID, loanID int64) (Loan, error) {
	return loadLoan(ctx, l.db, coopID, loanID)
}

// LoanInstallments lists a loan's installments with what is paid on each.
func (l *Ledger) LoanInstallments(ctx context.Context, coopID, loanID int64) ([]InstallmentState, error) {
	rows, err := loadInstallments(ctx, l.db, coopID, loanID)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("installments of loan %d in cooperative %d: %w", loanID, coopID, ErrNotFound)
	}
	out := make([]InstallmentState, len(rows))
	for k, r := range rows {
		out[k] = InstallmentState{
			No: r.No, Due: r.DueOn, Principal: r.PrincipalDue, Interest: r.InterestDue, Fee: r.FeeDue,
			PrincipalPaid: r.PrincipalPaid, InterestPaid: r.InterestPaid, FeePaid: r.FeePaid, PenaltyPaid: r.PenaltyPaid,
		}
	}
	return out, nil
}

// loanPolicy is the cooperative's late fee and the day it is.
type loanPolicy struct {
	LateFeeBP int64  `db:"late_fee_bp_month"`
	Timezone  string `db:"timezone"`
}

const loanPolicySQL = `SELECT late_fee_bp_month, timezone FROM cooperatives WHERE id = ?`

// loanToday returns the policy and the cooperative's calendar date at now, as
// midnight UTC (the form installments' due dates are read in).
func loanToday(ctx context.Context, q sqlx.ExtContext, coopID int64, now time.Time) (loanPolicy, time.Time, error) {
	p, err := readLoanPolicy(ctx, q, coopID)
	if err != nil {
		return p, time.Time{}, err
	}
	today, err := p.today(now)
	return p, today, err
}

// readLoanPolicy reads the cooperative's loan policy.
func readLoanPolicy(ctx context.Context, q sqlx.ExtContext, coopID int64) (loanPolicy, error) {
	var p loanPolicy
	err := sqlx.GetContext(ctx, q, &p, q.Rebind(loanPolicySQL), coopID)
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("cooperative %d: %w", coopID, ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("read policy of cooperative %d: %w", coopID, err)
	}
	return p, nil
}

// today is the cooperative's calendar date at now, as midnight UTC.
func (p loanPolicy) today(now time.Time) (time.Time, error) {
	loc, err := coopLocation(p.Timezone)
	if err != nil {
		return time.Time{}, err
	}
	return civilDate(now.In(loc)), nil
}

// loanPosition is where a loan stands on one day.
type loanPosition struct {
	dues      []Due         // installments due on or before the day with something owed, penalty included
	future    []Installment // principal still owed on installments due after the day
	owedToday int64         // Σ dues
	principal int64         // principal still owed on all installments
	overdue   int64         // owed on installments due before the day, penalty included
	oldest    time.Time     // due date of the oldest installment due before the day with something unpaid
}

// positionOn works out what a loan owes on today. The penalty (denda) on an
// installment due before today is LateFee(what is unpaid on it, the
// cooperative's rate, days late) less the penalty already paid on it,
// never negative.
//
// Installments whose due date is today or earlier are due. With
// payingNext (a repayment), the next installment not yet due counts as due
// too, without penalty: a member who pays a few days early pays that
// installment's interest and principal, as Fineract does, instead of
// seeing it all go to principal and the interest fall due unpaid later.
// Money beyond that goes to future principal only.
func positionOn(rows []installmentRow, today time.Time, lateFeeBP int64, payingNext bool) loanPosition {
	var p loanPosition
	for _, r := range rows {
		p.principal += r.PrincipalDue - r.PrincipalPaid
		if r.DueOn.After(today) && payingNext && r.unpaid() > 0 {
			payingNext = false
			d := Due{InstallmentNo: r.No, Due: r.DueOn, Fee: r.FeeDue - r.FeePaid,
				Interest: r.InterestDue - r.InterestPaid, Principal: r.PrincipalDue - r.PrincipalPaid}
			p.dues = append(p.dues, d)
			p.owedToday += d.Total()
			continue
		}
		if r.DueOn.After(today) {
			if left := r.PrincipalDue - r.PrincipalPaid; left > 0 {
				p.future = append(p.future, Installment{No: r.No, Due: r.DueOn, Principal: left})
			}
			continue
		}
		unpaid := r.unpaid()
		late := daysBetween(r.DueOn, today)
		d := Due{
			InstallmentNo: r.No, Due: r.DueOn,
			Penalty:   max(LateFee(unpaid, lateFeeBP, late)-r.PenaltyPaid, 0),
			Fee:       r.FeeDue - r.FeePaid,
			Interest:  r.InterestDue - r.InterestPaid,
			Principal: r.PrincipalDue - r.PrincipalPaid,
		}
		if d.Total() == 0 {
			continue
		}
		p.dues = append(p.dues, d)
		p.owedToday += d.Total()
		if late > 0 {
			p.overdue += d.Total()
			if p.oldest.IsZero() || r.DueOn.Before(p.oldest) {
				p.oldest = r.DueOn
			}
		}
	}
	return p
}

// ---------------------------------------------------------------------------
// Repayment

// Repay posts a repayment in one transaction; see RepayTx.
func (l *Ledger) Repay(ctx context.Context, r Repayment) (RepaymentResult, error) {
	now := l.now()
	tx, err := l.db.beginWrite(ctx)
	if err != nil {
		return RepaymentResult{}, err
	}
	res, err := RepayTx(ctx, tx, r, now)
	if err != nil || res.Replayed {
		// A replay wrote nothing: rolling it back spares a commit (and its
		// WAL flush) to every retry.
		_ = tx.Rollback()
		return res, err
	}
	if err := tx.Commit(); err != nil {
		return RepaymentResult{}, fmt.Errorf("commit: %w", err)
	}
	return res, nil
}

// lockLoanSQL takes the loan's row lock (on both dialects) and reads it.
const lockLoanSQL = `UPDATE loans SET status = status WHERE id = ? AND cooperative_id = ? AND status = 'active'
RETURNING ` + loanColumns

const loanStatusSQL = `SELECT status FROM loans WHERE cooperative_id = ? AND id = ?`

const updateInstallmentPaidSQL = `UPDATE installments SET penalty_paid = penalty_paid + ?, fee_paid = fee_paid + ?,
	interest_paid = interest_paid + ?, principal_paid = principal_paid + ?
WHERE cooperative_id = ? AND loan_id = ? AND no = ?`

const insertRepaymentPartSQL = `INSERT INTO repayment_parts (cooperative_id, journal_id, loan_id, installment_no, penalty, fee, interest, principal)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`

const closeLoanSQL = `UPDATE loans SET status = 'closed', closed_at = ? WHERE cooperative_id = ? AND id = ?`

const incomeAccountsSQL = `SELECT id, kind FROM accounts WHERE cooperative_id = ?
AND member_id IS NULL AND staff_id IS NULL AND loan_id IS NULL AND kind IN ('penalty_income', 'fee_income', 'interest_income')`

const memberContactSQL = `SELECT phone, language FROM members WHERE cooperative_id = ? AND id = ?`

// RepayTx applies a repayment inside tx, now being the transaction's one
// timestamp. It locks the loan row first (repayments of one loan queue,
// repayments of different loans run side by side), then:
//   - a key posted before with the same request returns the original result
//     with Replayed set and writes nothing; with another request it fails
//     with ErrIdempotencyConflict;
//   - a closed loan fails with ErrLoanClosed, a loan of another cooperative
//     with ErrNotFound;
//   - the payment is split with Allocate over the installments due today or
//     earlier (denda → fees → bunga → pokok, oldest first), and what is left
//     reduces the principal of the next installments (ApplyOverpayment);
//     more than everything owed today plus all remaining principal is
//     refused with a *RepayLimitError (ErrOverpayment);
//   - one journal moves the money from the member's sukarela, the staff
//     member's cash or the clearing account to penalty, fee and interest
//     income and the loan's principal (ErrInsufficientFunds if sukarela is
//     short); the installments' paid columns, repayment_parts, the loan's
//     closing and the SMS receipt are written with it.
func RepayTx(ctx context.Context, tx *sqlx.Tx, r Repayment, now time.Time) (RepaymentResult, error) {
	if err := r.validate(); err != nil {
		return RepaymentResult{}, err
	}
	fail := func(err error) (RepaymentResult, error) {
		return RepaymentResult{}, fmt.Errorf("repay loan %d (%q): %w", r.LoanID, r.Key, err)
	}
	// A retry is answered before anything else, also once the repayment it
	// repeats has closed the loan: first without waiting for the loan's
	// lock (a committed journal and its parts never change), then again
	// under it, for a call with the same key that committed meanwhile.
	if res, ok, err := repaymentReplay(ctx, tx, r); ok || err != nil {
		if err != nil {
			return fail(err)
		}
		return res, nil
	}
	var row loanRow
	err := tx.GetContext(ctx, &row, tx.Rebind(lockLoanSQL), r.LoanID, r.CooperativeID)
	locked := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fail(fmt.Errorf("lock loan: %w", err))
	}
	if res, ok, err := repaymentReplay(ctx, tx, r); ok || err != nil {
		if err != nil {
			return fail(err)
		}
		return res, nil
	}
	if !locked {
		var status string
		err := tx.GetContext(ctx, &status, tx.Rebind(loanStatusSQL), r.CooperativeID, r.LoanID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fail(ErrNotFound)
		case err != nil:
			return fail(fmt.Errorf("read loan: %w", err))
		}
		return fail(ErrLoanClosed)
	}
	loan := row.loan()
	if r.MemberID != 0 && loan.MemberID != r.MemberID {
		return fail(fmt.Errorf("loan of member %d paid as member %d: %w", loan.MemberID, r.MemberID, ErrNotFound))
	}

	policy, today, err := loanToday(ctx, tx, r.CooperativeID, now)
	if err != nil {
		return fail(err)
	}
	rows, err := loadInstallments(ctx, tx, r.CooperativeID, r.LoanID)
	if err != nil {
		return fail(err)
	}
	pos := positionOn(rows, today, policy.LateFeeBP, true)
	if most := pos.owedToday + sumPrincipal(pos.future); r.Amount > most {
		return fail(&RepayLimitError{LoanNo: loan.LoanNo, Amount: r.Amount, Max: most})
	}
	parts, over, err := Allocate(r.Amount, pos.dues)
	if err != nil {
		return fail(err)
	}
	prepaid, rest := ApplyOverpayment(over, pos.future)
	if rest != 0 { // the limit above makes this impossible
		return fail(fmt.Errorf("%d rupiah could not be allocated", rest))
	}
	all := append(slices.Clone(parts), prepaid...)

	source, err := repaymentSource(ctx, tx, r, loan.MemberID, true)
	if err != nil {
		return fail(err)
	}
	postings, err := repaymentPostings(ctx, tx, r.CooperativeID, r.LoanID, source, all)
	if err != nil {
		return fail(err)
	}
	actor := r.Actor
	switch {
	case actor != "":
	case r.FromSukarela:
		actor = "member:" + strconv.FormatInt(loan.MemberID, 10)
	default: // from cash (an actor from clearing is required by validate)
		actor = "staff:" + strconv.FormatInt(r.StaffID, 10)
	}
	journalID, err := PostTx(ctx, tx, Journal{
		CooperativeID: r.CooperativeID,
		Key:           r.Key,
		Kind:          journalKindRepayment,
		Memo:          "Angsuran pinjaman " + loan.LoanNo,
		Actor:         actor,
		Postings:      postings,
	}, now)
	if err != nil {
		return fail(err)
	}
	res := RepaymentResult{JournalID: journalID, Parts: all, PrincipalPrepaid: sumAllocations(prepaid).Principal}
	for _, a := range all {
		if _, err := tx.ExecContext(ctx, tx.Rebind(updateInstallmentPaidSQL), a.Penalty, a.Fee, a.Interest, a.Principal,
			r.CooperativeID, r.LoanID, a.InstallmentNo); err != nil {
			return fail(fmt.Errorf("update installment %d: %w", a.InstallmentNo, err))
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(insertRepaymentPartSQL), r.CooperativeID, journalID, r.LoanID, a.InstallmentNo,
			a.Penalty, a.Fee, a.Interest, a.Principal); err != nil {
			return fail(fmt.Errorf("record repayment part of installment %d: %w", a.InstallmentNo, err))
		}
	}
	total := sumAllocations(all)
	res.Outstanding = pos.principal - total.Principal
	// Closed once no principal is left and nothing due today is unpaid;
	// interest of installments not yet due is not owed.
	if res.Outstanding == 0 && total.Total()-res.PrincipalPrepaid >= pos.owedToday {
		if _, err := tx.ExecContext(ctx, tx.Rebind(closeLoanSQL), now.UTC(), r.CooperativeID, r.LoanID); err != nil {
			return fail(fmt.Errorf("close loan: %w", err))
		}
		res.Closed = true
	}
	if err := queueRepaymentReceipt(ctx, tx, r, loan, res, now); err != nil {
		return fail(err)
	}
	return res, nil
}

func (r Repayment) validate() error {
	switch {
	case r.CooperativeID <= 0 || r.LoanID <= 0:
		return fmt.Errorf("%w: repayment needs a cooperative and a loan", ErrInvalidJournal)
	case r.Amount <= 0:
		return fmt.Errorf("%w: repayment amount %d is not positive", ErrInvalidJournal, r.Amount)
	case btoi(r.FromSukarela)+btoi(r.StaffID != 0)+btoi(r.FromClearing) != 1:
		return fmt.Errorf("%w: a repayment comes from exactly one of sukarela, a staff member's cash or clearing", ErrInvalidJournal)
	case r.FromClearing && strings.TrimSpace(r.Actor) == "":
		return fmt.Errorf("%w: a repayment from clearing needs an actor (who reported the transfer)", ErrInvalidJournal)
	}
	return validKey(r.Key)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// repaymentSource is the account the money comes from: the member's
// sukarela, the cooperative's clearing account, or the cash account of the
// staff member who took the money (who must be active for a new repayment).
func repaymentSource(ctx context.Context, tx *sqlx.Tx, r Repayment, memberID int64, mustBeActive bool) (int64, error) {
	if r.FromClearing {
		return coopAccountTx(ctx, tx, r.CooperativeID, Clearing)
	}
	if r.FromSukarela {
		var id int64
		owner := Owner{MemberID: memberID}
		err := tx.GetContext(ctx, &id, tx.Rebind(accountIDSQL(owner)), accountIDArgs(r.CooperativeID, Sukarela, owner)...)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("sukarela account of member %d: %w", memberID, ErrNotFound)
		}
		if err != nil {
			return 0, fmt.Errorf("find sukarela account: %w", err)
		}
		return id, nil
	}
	staff, err := staffCash(ctx, tx, r.CooperativeID, r.StaffID)
	if err != nil {
		return 0, err
	}
	if mustBeActive && !staff.Active {
		return 0, fmt.Errorf("staff member %d is not active: %w", r.StaffID, ErrNotFound)
	}
	return staff.AccountID, nil
}

// repaymentPostings moves the component totals of parts from source: one
// posting per non-zero total, to penalty, fee and interest income and to
// the loan's principal account.
func repaymentPostings(ctx context.Context, tx *sqlx.Tx, coopID, loanID, source int64, parts []Allocation) ([]Posting, error) {
	var accts []struct {
		ID   int64  `db:"id"`
		Kind string `db:"kind"`
	}
	if err := tx.SelectContext(ctx, &accts, tx.Rebind(incomeAccountsSQL), coopID); err != nil {
		return nil, fmt.Errorf("find income accounts: %w", err)
	}
	income := map[AccountKind]int64{}
	for _, a := range accts {
		income[AccountKind(a.Kind)] = a.ID
	}
	var loanAccount int64
	if err := tx.GetContext(ctx, &loanAccount, tx.Rebind(loanAccountSQL), coopID, loanID); err != nil {
		return nil, fmt.Errorf("find account of loan %d: %w", loanID, err)
	}
	total := sumAllocations(parts)
	var postings []Posting
	for _, c := range []struct {
		to     int64
		kind   AccountKind
		amount int64
	}{
		{income[PenaltyIncome], PenaltyIncome, total.Penalty},
		{income[FeeIncome], FeeIncome, total.Fee},
		{income[InterestIncome], InterestIncome, total.Interest},
		{loanAccount, LoanPrincipal, total.Principal},
	} {
		if c.amount == 0 {
			continue
		}
		if c.to == 0 {
			return nil, fmt.Errorf("%s account of cooperative %d: %w", c.kind, coopID, ErrNotFound)
		}
		postings = append(postings, Posting{From: source, To: c.to, Amount: c.amount})
	}
	return postings, nil
}

func queueRepaymentReceipt(ctx context.Context, tx *sqlx.Tx, r Repayment, loan Loan, res RepaymentResult, now time.Time) error {
	var m struct {
		Phone    string `db:"phone"`
		Language string `db:"language"`
	}
	if err := tx.GetContext(ctx, &m, tx.Rebind(memberContactSQL), r.CooperativeID, loan.MemberID); err != nil {
		return fmt.Errorf("read member %d: %w", loan.MemberID, err)
	}
	if m.Phone == "" {
		return nil // a member without a phone gets no SMS; the repayment stands
	}
	return EnqueueSMS(ctx, tx, OutboxMessage{
		CooperativeID: r.CooperativeID,
		Key:           "sms:" + r.Key,
		Phone:         m.Phone,
		Language:      m.Language,
		Template:      TmplRepaymentReceipt,
		Params: map[string]string{
			"amount":      strconv.FormatInt(r.Amount, 10),
			"loan":        loan.LoanNo,
			"outstanding": strconv.FormatInt(res.Outstanding, 10),
			"ref":         strconv.FormatInt(res.JournalID, 10),
		},
	}, now)
}

const journalByKeySQL = `SELECT id, kind, created_at FROM journals WHERE cooperative_id = ? AND idem_key = ?`

const repaymentPartsOfJournalSQL = `SELECT p.loan_id, p.installment_no, p.penalty, p.fee, p.interest, p.principal, i.due_on
FROM repayment_parts p JOIN installments i ON i.loan_id = p.loan_id AND i.no = p.installment_no
WHERE p.cooperative_id = ? AND p.journal_id = ? ORDER BY i.due_on, p.installment_no`

const journalDebitsSQL = `SELECT account_id, amount FROM entries WHERE cooperative_id = ? AND journal_id = ? AND side = 'D'`

// loanBalanceAfterSQL replays the loan account up to the last entry of a
// journal. Entries of one loan's repayments are written while the loan row
// is locked, so entry ids follow the order the balance changed in.
const loanBalanceAfterSQL = `SELECT COALESCE(SUM(CASE WHEN side = 'D' THEN amount ELSE -amount END), 0) FROM entries
WHERE cooperative_id = ? AND account_id = ? AND id <= (SELECT MAX(id) FROM entries WHERE cooperative_id = ? AND journal_id = ?)`

type partRow struct {
	LoanID    int64     `db:"loan_id"`
	No        int       `db:"installment_no"`
	Penalty   int64     `db:"penalty"`
	Fee       int64     `db:"fee"`
	Interest  int64     `db:"interest"`
	Principal int64     `db:"principal"`
	DueOn     time.Time `db:"due_on"`
}

// repaymentReplay rebuilds the result of a repayment posted before under
// r.Key; ok is false when the key is new. The earlier journal must be a
// repayment of the same loan, amount and source, or the key is reused
// (ErrIdempotencyConflict).
func repaymentReplay(ctx context.Context, tx *sqlx.Tx, r Repayment) (RepaymentResult, bool, error) {
	var j struct {
		ID        int64     `db:"id"`
		Kind      string    `db:"kind"`
		CreatedAt time.Time `db:"created_at"`
	}
	err := tx.GetContext(ctx, &j, tx.Rebind(journalByKeySQL), r.CooperativeID, r.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return RepaymentResult{}, false, nil
	}
	if err != nil {
		return RepaymentResult{}, false, fmt.Errorf("read journal: %w", err)
	}
	conflict := fmt.Errorf("journal %q: %w", r.Key, ErrIdempotencyConflict)
	if JournalKind(j.Kind) != journalKindRepayment {
		return RepaymentResult{}, false, conflict
	}
	var parts []partRow
	if err := tx.SelectContext(ctx, &parts, tx.Rebind(repaymentPartsOfJournalSQL), r.CooperativeID, j.ID); err != nil {
		return RepaymentResult{}, false, fmt.Errorf("read repayment parts: %w", err)
	}
	var debits []struct {
		Account int64 `db:"account_id"`
		Amount  int64 `db:"amount"`
	}
	if err := tx.SelectContext(ctx, &debits, tx.Rebind(journalDebitsSQL), r.CooperativeID, j.ID); err != nil {
		return RepaymentResult{}, false, fmt.Errorf("read journal entries: %w", err)
	}
	var loan loanRow
	if err := tx.GetContext(ctx, &loan, tx.Rebind(loanSQL), r.CooperativeID, r.LoanID); err != nil {
		return RepaymentResult{}, false, conflict // no such loan: not this request
	}
	source, err := repaymentSource(ctx, tx, r, loan.MemberID, false)
	if err != nil {
		return RepaymentResult{}, false, conflict
	}
	var paid int64
	for _, d := range debits {
		if d.Account != source {
			return RepaymentResult{}, false, conflict
		}
		paid += d.Amount
	}
	if paid != r.Amount || len(parts) == 0 {
		return RepaymentResult{}, false, conflict
	}
	_, today, err := loanToday(ctx, tx, r.CooperativeID, j.CreatedAt)
	if err != nil {
		return RepaymentResult{}, false, err
	}
	res := RepaymentResult{JournalID: j.ID, Replayed: true}
	next := true // the first installment not yet due was paid as due (positionOn)
	for _, p := range parts {
		if p.LoanID != r.LoanID {
			return RepaymentResult{}, false, conflict
		}
		res.Parts = append(res.Parts, Allocation{InstallmentNo: p.No, Penalty: p.Penalty, Fee: p.Fee, Interest: p.Interest, Principal: p.Principal})
		if civilDate(p.DueOn.UTC()).After(today) {
			if next {
				next = false
				continue
			}
			res.PrincipalPrepaid += p.Principal
		}
	}
	var account int64
	if err := tx.GetContext(ctx, &account, tx.Rebind(loanAccountSQL), r.CooperativeID, r.LoanID); err != nil {
		return RepaymentResult{}, false, fmt.Errorf("find account of loan %d: %w", r.LoanID, err)
	}
	if err := tx.GetContext(ctx, &res.Outstanding, tx.Rebind(loanBalanceAfterSQL), r.CooperativeID, account, r.CooperativeID, j.ID); err != nil {
		return RepaymentResult{}, false, fmt.Errorf("replay loan balance: %w", err)
	}
	res.Closed = res.Outstanding == 0
	return res, true, nil
}

// ---------------------------------------------------------------------------
// Reversal

const reversalOfSQL = `SELECT id FROM journals WHERE cooperative_id = ? AND reverses_id = ?`

const partsOfJournalSQL = `SELECT loan_id, installment_no, penalty, fee, interest, principal FROM repayment_parts
WHERE cooperative_id = ? AND journal_id = ? ORDER BY loan_id, installment_no`

const reopenLoanSQL = `UPDATE loans SET status = 'active', closed_at = NULL WHERE cooperative_id = ? AND id = ?`

// undoRepaymentTx follows the reversal of repayment journal journalID,
// posted in tx: it takes that journal's repayment_parts off the
// installments' paid columns, records them negated under the reversal
// journal (so Σ parts per installment keeps equal to what is paid, and an
// undo can happen only once), and reopens the loan, which owes again.
func undoRepaymentTx(ctx context.Context, tx *sqlx.Tx, coopID, journalID int64) error {
	var reversalID int64
	if err := tx.GetContext(ctx, &reversalID, tx.Rebind(reversalOfSQL), coopID, journalID); err != nil {
		return fmt.Errorf("find reversal of journal %d: %w", journalID, err)
	}
	var parts []partRow
	if err := tx.SelectContext(ctx, &parts, tx.Rebind(partsOfJournalSQL), coopID, journalID); err != nil {
		return fmt.Errorf("read repayment parts of journal %d: %w", journalID, err)
	}
	var reopened int64
	for _, p := range parts {
		if p.LoanID != reopened { // parts are ordered by loan: lock each loan once
			if _, err := tx.ExecContext(ctx, tx.Rebind(reopenLoanSQL), coopID, p.LoanID); err != nil {
				return fmt.Errorf("reopen loan %d: %w", p.LoanID, err)
			}
			reopened = p.LoanID
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(insertRepaymentPartSQL), coopID, reversalID, p.LoanID, p.No,
			-p.Penalty, -p.Fee, -p.Interest, -p.Principal); err != nil {
			if IsUniqueViolation(err) {
				return fmt.Errorf("journal %d: %w", journalID, ErrAlreadyReversed)
			}
			return fmt.Errorf("record reversed part of installment %d: %w", p.No, err)
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(updateInstallmentPaidSQL), -p.Penalty, -p.Fee, -p.Interest, -p.Principal,
			coopID, p.LoanID, p.No); err != nil {
			return fmt.Errorf("undo payment of installment %d: %w", p.No, err)
		}
	}
	return nil
}

// ---------------------------------------------------------------------------
// What a member sees

const memberLoansSQL = `SELECT ` + loanColumns + ` FROM loans WHERE cooperative_id = ? AND member_id = ?
ORDER BY CASE WHEN status = 'active' THEN 0 ELSE 1 END, loan_no`

const memberInstallmentsSQL = `SELECT ` + installmentColumns + ` FROM installments
WHERE cooperative_id = ? AND loan_id IN (SELECT id FROM loans WHERE cooperative_id = ? AND member_id = ?)
ORDER BY loan_id, no`

// LoanInfo lists a member's loans, active ones first, then by number, with
// where each stands today in the cooperative's time zone.
func (l *Ledger) LoanInfo(ctx context.Context, coopID, memberID int64) ([]LoanInfo, error) {
	policy, err := readLoanPolicy(ctx, l.db, coopID)
	if err != nil {
		return nil, err
	}
	return l.loanInfo(ctx, coopID, memberID, policy)
}

// loanInfo is LoanInfo under the cooperative's policy.
func (l *Ledger) loanInfo(ctx context.Context, coopID, memberID int64, policy loanPolicy) ([]LoanInfo, error) {
	today, err := policy.today(l.now())
	if err != nil {
		return nil, err
	}
	var loans []loanRow
	if err := l.db.SelectContext(ctx, &loans, l.db.Rebind(memberLoansSQL), coopID, memberID); err != nil {
		return nil, fmt.Errorf("loans of member %d: %w", memberID, err)
	}
	var rows []installmentRow
	if err := l.db.SelectContext(ctx, &rows, l.db.Rebind(memberInstallmentsSQL), coopID, coopID, memberID); err != nil {
		return nil, fmt.Errorf("installments of member %d: %w", memberID, err)
	}
	byLoan := map[int64][]installmentRow{}
	for _, r := range rows {
		r.DueOn = civilDate(r.DueOn.UTC())
		byLoan[r.LoanID] = append(byLoan[r.LoanID], r)
	}
	out := make([]LoanInfo, 0, len(loans))
	for _, ln := range loans {
		out = append(out, loanInfoOn(ln, byLoan[ln.ID], today, policy.LateFeeBP))
	}
	return out, nil
}

// loanInfoOn is where one loan stands on today, from its installments
// (ordered by number, due dates as civil dates).
func loanInfoOn(ln loanRow, rows []installmentRow, today time.Time, lateFeeBP int64) LoanInfo {
	info := LoanInfo{LoanID: ln.ID, LoanNo: ln.LoanNo, Principal: ln.Principal, Status: ln.Status, Kolektibilitas: KolLancar}
	if ln.Status != LoanActive {
		return info
	}
	pos := positionOn(rows, today, lateFeeBP, false)
	info.Outstanding = pos.principal
	info.Arrears = pos.overdue
	if !pos.oldest.IsZero() {
		info.DaysLate = daysBetween(pos.oldest, today)
	}
	info.Kolektibilitas = BucketFor(info.DaysLate)
	for _, r := range rows {
		if !r.DueOn.Before(today) && r.unpaid() > 0 {
			info.NextDue, info.NextAmount = r.DueOn, r.unpaid()
			break
		}
	}
	return info
}

// NextInstallment is what the "Bayar angsuran" screen offers: when
// something is due today or earlier, all of it (penalty included) and the
// oldest of those due dates — paying it settles exactly what Repay
// allocates first; otherwise what is unpaid on the next installment and its
// due date. A closed loan is ErrLoanClosed; a loan of another cooperative
// ErrNotFound.
func (l *Ledger) NextInstallment(ctx context.Context, coopID, loanID int64) (amount int64, due time.Time, err error) {
	policy, err := readLoanPolicy(ctx, l.db, coopID)
	if err != nil {
		return 0, time.Time{}, err
	}
	return l.nextInstallment(ctx, coopID, loanID, policy)
}

// nextInstallment is NextInstallment under the cooperative's policy.
func (l *Ledger) nextInstallment(ctx context.Context, coopID, loanID int64, policy loanPolicy) (amount int64, due time.Time, err error) {
	var status string
	err = l.db.GetContext(ctx, &status, l.db.Rebind(loanStatusSQL), coopID, loanID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, time.Time{}, fmt.Errorf("loan %d in cooperative %d: %w", loanID, coopID, ErrNotFound)
	case err != nil:
		return 0, time.Time{}, fmt.Errorf("read loan %d: %w", loanID, err)
	case status != LoanActive:
		return 0, time.Time{}, fmt.Errorf("loan %d: %w", loanID, ErrLoanClosed)
	}
	today, err := policy.today(l.now())
	if err != nil {
		return 0, time.Time{}, err
	}
	rows, err := loadInstallments(ctx, l.db, coopID, loanID)
	if err != nil {
		return 0, time.Time{}, err
	}
	pos := positionOn(rows, today, policy.LateFeeBP, false)
	if len(pos.dues) > 0 {
		return pos.owedToday, pos.dues[0].Due, nil
	}
	for _, r := range rows {
		if r.DueOn.After(today) && r.unpaid() > 0 {
			return r.unpaid(), r.DueOn, nil
		}
	}
	return 0, time.Time{}, nil
}

// Payoff is what settles the loan today: everything due (penalties
// included), the next installment's interest, and all remaining principal.
// It is the most Repay accepts.
func (l *Ledger) Payoff(ctx context.Context, coopID, loanID int64) (int64, error) {
	if _, err := loadLoan(ctx, l.db, coopID, loanID); err != nil {
		return 0, err
	}
	policy, today, err := loanToday(ctx, l.db, coopID, l.now())
	if err != nil {
		return 0, err
	}
	rows, err := loadInstallments(ctx, l.db, coopID, loanID)
	if err != nil {
		return 0, err
	}
	pos := positionOn(rows, today, policy.LateFeeBP, true)
	return pos.owedToday + sumPrincipal(pos.future), nil
}

// ---------------------------------------------------------------------------
// Small helpers

// civilDate is t's calendar date (in t's own location) at midnight UTC, the
// form dates are stored and compared in.
func civilDate(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// daysBetween counts the days from one civil date to a later one.
func daysBetween(from, to time.Time) int {
	return int(to.Sub(from) / (24 * time.Hour))
}

func sumPrincipal(ins []Installment) int64 {
	var s int64
	for _, in := range ins {
		s += in.Principal
	}
	return s
}

func sumAllocations(as []Allocation) Allocation {
	var s Allocation
	for _, a := range as {
		s.Penalty += a.Penalty
		s.Fee += a.Fee
		s.Interest += a.Interest
		s.Principal += a.Principal
	}
	return s
}
