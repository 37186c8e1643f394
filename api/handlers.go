package api

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

// The endpoints of CONTRACT §5.2. Amounts are whole rupiah; dates
// YYYY-MM-DD in the cooperative's zone; times RFC 3339 in UTC.

const dateLayout = "2006-01-02"

type memberJSON struct {
	MemberNo string `json:"member_no"`
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Language string `json:"language"`
	Status   string `json:"status"`
}

func memberOut(m members.Member) memberJSON {
	return memberJSON{MemberNo: m.No, Name: m.Name, Phone: m.Phone, Language: m.Language, Status: string(m.Status)}
}

type balancesJSON struct {
	Pokok           int64 `json:"pokok"`
	Wajib           int64 `json:"wajib"`
	Sukarela        int64 `json:"sukarela"`
	LoanOutstanding int64 `json:"loan_outstanding"`
}

func balancesOut(b ledger.MemberBalances) balancesJSON {
	return balancesJSON{Pokok: b.Pokok, Wajib: b.Wajib, Sukarela: b.Sukarela, LoanOutstanding: b.LoanOutstanding}
}

type loanSummaryJSON struct {
	LoanNo         string  `json:"loan_no"`
	Principal      int64   `json:"principal"`
	Outstanding    int64   `json:"outstanding"`
	Status         string  `json:"status"`
	NextDue        *string `json:"next_due"`
	NextAmount     int64   `json:"next_amount"`
	Arrears        int64   `json:"arrears"`
	DaysLate       int     `json:"days_late"`
	Kolektibilitas int     `json:"kolektibilitas"`
}

func loanSummaryOut(l ledger.LoanInfo) loanSummaryJSON {
	out := loanSummaryJSON{LoanNo: l.LoanNo, Principal: l.Principal, Outstanding: l.Outstanding, Status: l.Status,
		NextAmount: l.NextAmount, Arrears: l.Arrears, DaysLate: l.DaysLate, Kolektibilitas: int(l.Kolektibilitas)}
	if !l.NextDue.IsZero() {
		d := l.NextDue.Format(dateLayout)
		out.NextDue = &d
	}
	return out
}

// limitParam reads ?limit= (default def, 1 to 100).
func limitParam(c echo.Context, def int) (int, error) {
	v := c.QueryParam("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, &service.Error{Code: service.CodeInvalidRequest, Field: "limit", Detail: "must be a whole number from 1 to 100"}
	}
	return n, nil
}

// ledgerKey is the ledger's idempotency key of a POST: the request's
// Idempotency-Key (hashed: it may be 255 characters, the ledger keeps 190)
// and the operation. A replay after the API's own window still cannot post
// twice: the ledger refuses the same key.
func ledgerKey(c echo.Context, op string) string {
	sum := sha256.Sum256([]byte(c.Request().Header.Get(headerIdempotencyKey)))
	return service.Key(service.ChannelAPI, hex.EncodeToString(sum[:16]), op)
}

func (s *Server) findMembers(c echo.Context) error {
	limit, err := limitParam(c, members.FindLimitDefault)
	if err != nil {
		return writeError(c, err)
	}
	found, next, err := s.Service.FindMembers(c.Request().Context(), actor(c), c.QueryParam("q"), c.QueryParam("cursor"), limit)
	if err != nil {
		return writeError(c, err)
	}
	out := struct {
		Members    []memberJSON `json:"members"`
		NextCursor string       `json:"next_cursor"`
	}{Members: make([]memberJSON, len(found)), NextCursor: next}
	for i, m := range found {
		out.Members[i] = memberOut(m)
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) registerMember(c echo.Context) error {
	var in struct {
		MemberNo string `json:"member_no"`
		Name     string `json:"name"`
		Phone    string `json:"phone"`
		JoinedOn string `json:"joined_on"`
		Language string `json:"language"`
	}
	if err := decode(c, &in); err != nil {
		return writeError(c, err)
	}
	nm := members.NewMember{No: in.MemberNo, Name: in.Name, Phone: in.Phone, Language: in.Language}
	if in.JoinedOn != "" {
		d, err := time.Parse(dateLayout, in.JoinedOn)
		if err != nil {
			return writeError(c, &service.Error{Code: service.CodeInvalidRequest, Field: "joined_on", Detail: "must be a date YYYY-MM-DD"})
		}
		nm.JoinedOn = d
	}
	m, err := s.Service.RegisterMember(c.Request().Context(), actor(c), nm)
	if err != nil {
		return writeError(c, err)
	}
	return c.JSON(http.StatusCreated, memberOut(m))
}

func (s *Server) member(c echo.Context) error {
	m, v, err := s.Service.ViewMember(c.Request().Context(), actor(c), c.Param("no"), 0)
	if err != nil {
		return writeError(c, err)
	}
	out := struct {
		memberJSON
		Balances balancesJSON      `json:"balances"`
		Loans    []loanSummaryJSON `json:"loans"`
	}{memberJSON: memberOut(m), Balances: balancesOut(v.Balances), Loans: make([]loanSummaryJSON, len(v.Loans))}
	for i, l := range v.Loans {
		out.Loans[i] = loanSummaryOut(l)
	}
	return c.JSON(http.StatusOK, out)
}

type movementJSON struct {
	JournalID string `json:"journal_id"`
	At        string `json:"at"`
	Kind      string `json:"kind"`
	Memo      string `json:"memo"`
	Account   string `json:"account"`
	Amount    int64  `json:"amount"`
}

func (s *Server) statement(c echo.Context) error {
	limit, err := limitParam(c, 20)
	if err != nil {
		return writeError(c, err)
	}
	before, err := decodeIDCursor(c.QueryParam("cursor"))
	if err != nil {
		return writeError(c, err)
	}
	lines, next, err := s.Service.StatementPage(c.Request().Context(), actor(c), c.Param("no"), before, limit)
	if err != nil {
		return writeError(c, err)
	}
	out := struct {
		Movements  []movementJSON `json:"movements"`
		NextCursor string         `json:"next_cursor"`
	}{Movements: make([]movementJSON, len(lines))}
	if next != 0 {
		out.NextCursor = encodeIDCursor(next)
	}
	for i, l := range lines {
		out.Movements[i] = movementJSON{JournalID: strconv.FormatInt(l.JournalID, 10), At: l.At.UTC().Format(time.RFC3339),
			Kind: string(l.Kind), Memo: l.Memo, Account: string(l.Account), Amount: l.Amount}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) deposit(c echo.Context) error {
	var in struct {
		MemberNo string `json:"member_no"`
		Account  string `json:"account"`
		Amount   int64  `json:"amount"`
		Note     string `json:"note"`
	}
	if err := decode(c, &in); err != nil {
		return writeError(c, err)
	}
	ctx := c.Request().Context()
	rc, b, err := s.Service.ReceiveTransfer(ctx, actor(c), ledgerKey(c, "deposit"), in.MemberNo,
		service.Transfer{Account: ledger.AccountKind(in.Account), Amount: in.Amount, Note: in.Note})
	if err != nil {
		return writeError(c, err)
	}
	return c.JSON(http.StatusCreated, struct {
		JournalID string       `json:"journal_id"`
		Balances  balancesJSON `json:"balances"`
	}{strconv.FormatInt(rc.JournalID, 10), balancesOut(b)})
}

func (s *Server) repayment(c echo.Context) error {
	var in struct {
		LoanNo string `json:"loan_no"`
		Amount int64  `json:"amount"`
		Source string `json:"source"`
	}
	if err := decode(c, &in); err != nil {
		return writeError(c, err)
	}
	var src service.Source
	switch in.Source {
	case "cash":
		src = service.SourceTransfer
	case "sukarela":
		src = service.SourceSukarela
	default:
		return writeError(c, &service.Error{Code: service.CodeInvalidRequest, Field: "source", Detail: `must be "cash" or "sukarela"`})
	}
	res, err := s.Service.RepayLoan(c.Request().Context(), actor(c), ledgerKey(c, "repayment"), in.LoanNo, in.Amount, src)
	if err != nil {
		return writeError(c, err)
	}
	var alloc struct {
		Denda int64 `json:"denda"`
		Biaya int64 `json:"biaya"`
		Bunga int64 `json:"bunga"`
		Pokok int64 `json:"pokok"`
	}
	for _, p := range res.Parts {
		alloc.Denda += p.Penalty
		alloc.Biaya += p.Fee
		alloc.Bunga += p.Interest
		alloc.Pokok += p.Principal
	}
	return c.JSON(http.StatusCreated, struct {
		JournalID   string `json:"journal_id"`
		Allocation  any    `json:"allocation"`
		Outstanding int64  `json:"outstanding"`
		Closed      bool   `json:"closed"`
	}{strconv.FormatInt(res.JournalID, 10), alloc, res.Outstanding, res.Closed})
}

type installmentJSON struct {
	No            int    `json:"no"`
	Due           string `json:"due"`
	Principal     int64  `json:"principal"`
	Interest      int64  `json:"interest"`
	Fee           int64  `json:"fee"`
	PrincipalPaid int64  `json:"principal_paid"`
	InterestPaid  int64  `json:"interest_paid"`
	FeePaid       int64  `json:"fee_paid"`
	PenaltyPaid   int64  `json:"penalty_paid"`
}

func (s *Server) loan(c echo.Context) error {
	lv, err := s.Service.ViewLoan(c.Request().Context(), actor(c), c.Param("loan_no"))
	if err != nil {
		return writeError(c, err)
	}
	out := struct {
		loanSummaryJSON
		MemberNo     string            `json:"member_no"`
		RatePctMonth float64           `json:"rate_pct_month"`
		Method       string            `json:"method"`
		TermMonths   int               `json:"term_months"`
		DisbursedOn  string            `json:"disbursed_on"`
		Schedule     []installmentJSON `json:"schedule"`
	}{loanSummaryJSON: loanSummaryOut(lv.Status), MemberNo: lv.MemberNo, RatePctMonth: float64(lv.Loan.RateBP) / 100,
		Method: string(lv.Loan.Method), TermMonths: lv.Loan.TermMonths, DisbursedOn: lv.Loan.DisbursedOn.Format(dateLayout),
		Schedule: make([]installmentJSON, len(lv.Schedule))}
	for i, in := range lv.Schedule {
		out.Schedule[i] = installmentJSON{No: in.No, Due: in.Due.Format(dateLayout), Principal: in.Principal, Interest: in.Interest, Fee: in.Fee,
			PrincipalPaid: in.PrincipalPaid, InterestPaid: in.InterestPaid, FeePaid: in.FeePaid, PenaltyPaid: in.PenaltyPaid}
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) disburse(c echo.Context) error {
	var in struct {
		LoanNo       string  `json:"loan_no"`
		MemberNo     string  `json:"member_no"`
		Principal    int64   `json:"principal"`
		RatePctMonth float64 `json:"rate_pct_month"`
		Method       string  `json:"method"`
		TermMonths   int     `json:"term_months"`
	}
	if err := decode(c, &in); err != nil {
		return writeError(c, err)
	}
	bp := math.Round(in.RatePctMonth * 100)
	if math.IsNaN(bp) || bp < 0 || bp > 10_000 || math.Abs(bp-in.RatePctMonth*100) > 1e-6 {
		return writeError(c, &service.Error{Code: service.CodeInvalidRequest, Field: "rate_pct_month", Detail: "must be 0 to 100 with at most two decimals"})
	}
	ctx := c.Request().Context()
	l, err := s.Service.DisburseLoan(ctx, actor(c), ledgerKey(c, "loan"), service.Loan{LoanNo: in.LoanNo, MemberNo: in.MemberNo,
		Principal: in.Principal, RateBP: int64(bp), Method: ledger.Method(strings.ToLower(in.Method)), TermMonths: in.TermMonths})
	if err != nil {
		return writeError(c, err)
	}
	c.SetParamNames("loan_no")
	c.SetParamValues(l.LoanNo)
	lv, err := s.Service.ViewLoan(ctx, actor(c), l.LoanNo)
	if err != nil {
		return writeError(c, err)
	}
	return c.JSON(http.StatusCreated, struct {
		LoanNo      string `json:"loan_no"`
		JournalID   string `json:"journal_id"`
		Outstanding int64  `json:"outstanding"`
		Installment int64  `json:"first_installment"`
		FirstDue    string `json:"first_due"`
	}{l.LoanNo, strconv.FormatInt(l.JournalID, 10), lv.Status.Outstanding, firstInstallment(lv.Schedule), firstDue(lv.Schedule)})
}

func firstInstallment(s []ledger.InstallmentState) int64 {
	if len(s) == 0 {
		return 0
	}
	return s[0].Principal + s[0].Interest + s[0].Fee
}

func firstDue(s []ledger.InstallmentState) string {
	if len(s) == 0 {
		return ""
	}
	return s[0].Due.Format(dateLayout)
}

func journalIDParam(c echo.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &service.Error{Code: service.CodeNotFound, Detail: "journal id " + strconv.Quote(c.Param("id"))}
	}
	return id, nil
}

func (s *Server) reverse(c echo.Context) error {
	id, err := journalIDParam(c)
	if err != nil {
		return writeError(c, err)
	}
	var in struct {
		Reason string `json:"reason"`
	}
	if err := decode(c, &in); err != nil {
		return writeError(c, err)
	}
	rev, err := s.Service.ReverseJournal(c.Request().Context(), actor(c), id, in.Reason)
	if err != nil {
		return writeError(c, err)
	}
	return c.JSON(http.StatusCreated, struct {
		JournalID string `json:"journal_id"`
	}{strconv.FormatInt(rev, 10)})
}

type entryJSON struct {
	Account  string  `json:"account"`
	MemberNo *string `json:"member_no"`
	LoanNo   *string `json:"loan_no"`
	Side     string  `json:"side"`
	Amount   int64   `json:"amount"`
}

func (s *Server) journal(c echo.Context) error {
	id, err := journalIDParam(c)
	if err != nil {
		return writeError(c, err)
	}
	j, err := s.Service.Journal(c.Request().Context(), actor(c), id)
	if err != nil {
		return writeError(c, err)
	}
	out := struct {
		JournalID  string      `json:"journal_id"`
		Kind       string      `json:"kind"`
		Memo       string      `json:"memo"`
		Actor      string      `json:"actor"`
		Reason     string      `json:"reason"`
		At         string      `json:"at"`
		Reverses   *string     `json:"reverses"`
		ReversedBy *string     `json:"reversed_by"`
		Entries    []entryJSON `json:"entries"`
	}{JournalID: strconv.FormatInt(j.ID, 10), Kind: j.Kind, Memo: j.Memo, Actor: j.Actor, Reason: j.Reason,
		At: j.At.UTC().Format(time.RFC3339), Reverses: idOrNil(j.ReversesID), ReversedBy: idOrNil(j.ReversedByID),
		Entries: make([]entryJSON, len(j.Entries))}
	for i, e := range j.Entries {
		out.Entries[i] = entryJSON{Account: string(e.Kind), MemberNo: strOrNil(e.MemberNo), LoanNo: strOrNil(e.LoanNo), Side: e.Side, Amount: e.Amount}
	}
	return c.JSON(http.StatusOK, out)
}

func idOrNil(id int64) *string {
	if id == 0 {
		return nil
	}
	s := strconv.FormatInt(id, 10)
	return &s
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

type kindJSON struct {
	Kind   string `json:"kind"`
	Count  int    `json:"count"`
	Amount int64  `json:"amount"`
}

type cashJSON struct {
	In       int64 `json:"in"`
	Out      int64 `json:"out"`
	Expected int64 `json:"expected"`
	Closing  int64 `json:"closing"`
}

func kindsOut(ks []ledger.KindTotal) []kindJSON {
	out := make([]kindJSON, len(ks))
	for i, k := range ks {
		out[i] = kindJSON{k.Kind, k.Count, k.Amount}
	}
	return out
}

func cashOut(c ledger.CashDay) cashJSON { return cashJSON{c.In, c.Out, c.Expected, c.Closing} }

func (s *Server) dayReport(c echo.Context) error {
	var day time.Time
	if v := c.QueryParam("date"); v != "" {
		d, err := time.Parse(dateLayout, v)
		if err != nil {
			return writeError(c, &service.Error{Code: service.CodeInvalidRequest, Field: "date", Detail: "must be a date YYYY-MM-DD"})
		}
		day = d
	}
	rep, err := s.Service.DayReport(c.Request().Context(), actor(c), day)
	if err != nil {
		return writeError(c, err)
	}
	type staffJSON struct {
		StaffID  string     `json:"staff_id"`
		Name     string     `json:"name"`
		Role     string     `json:"role"`
		Journals int        `json:"journals"`
		Kinds    []kindJSON `json:"kinds"`
		Cash     cashJSON   `json:"cash"`
	}
	out := struct {
		Date     string      `json:"date"`
		Journals int         `json:"journals"`
		Kinds    []kindJSON  `json:"kinds"`
		Cash     cashJSON    `json:"cash"`
		Staff    []staffJSON `json:"staff"`
	}{Date: rep.From.Format(dateLayout), Journals: rep.Journals, Kinds: kindsOut(rep.Kinds), Cash: cashOut(rep.Cash), Staff: make([]staffJSON, len(rep.Staff))}
	for i, st := range rep.Staff {
		out.Staff[i] = staffJSON{strconv.FormatInt(st.StaffID, 10), st.Name, st.Role, st.Journals, kindsOut(st.Kinds), cashOut(st.Cash)}
	}
	return c.JSON(http.StatusOK, out)
}
