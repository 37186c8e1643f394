package counter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/service"
)

// --- home, find, member ---

type homeData struct {
	Count int
	Total int64
}

func (s *Server) home(c echo.Context) error {
	n, total, err := s.Service.MyCash(c.Request().Context(), actor(c))
	if err != nil {
		return s.problem(c, err)
	}
	return s.render(c, http.StatusOK, "home", view{Title: "title.home", Data: homeData{Count: n, Total: total}})
}

type findData struct {
	Q     string
	Found []members.Member
	Next  string // the next page's URL, "" on the last
	Paged bool   // this is not the first page
}

func (s *Server) findMembers(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	after := c.QueryParam("after")
	d := findData{Q: q, Paged: after != ""}
	v := view{Title: "title.members", Data: &d}
	if q == "" && after == "" {
		return s.render(c, http.StatusOK, "members", v)
	}
	found, next, err := s.Service.FindMembers(c.Request().Context(), actor(c), q, after, 20)
	if refusal(err) {
		v.Error = sentence(err, lang(c))
		return s.render(c, http.StatusOK, "members", v)
	}
	if err != nil {
		return s.problem(c, err)
	}
	d.Found = found
	if next != "" {
		d.Next = "/counter/members?" + url.Values{"q": {q}, "after": {next}}.Encode()
	}
	return s.render(c, http.StatusOK, "members", v)
}

type loanBlock struct {
	Info     ledger.LoanInfo
	Schedule []ledger.InstallmentState
	Kol      int
}

type memberData struct {
	Member    members.Member
	View      service.MemberView
	Loans     []loanBlock
	PIN       members.PINState
	PINUntil  string
	Movements []ledger.StatementLine
	Loc       *time.Location
}

func (s *Server) member(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	m, mv, err := s.Service.ViewMember(ctx, a, c.Param("no"), 20)
	if err != nil {
		return s.problem(c, err)
	}
	d := memberData{Member: m, View: mv, Loc: s.location(ctx, a.CooperativeID)}
	for _, l := range mv.Loans {
		lv, err := s.Service.ViewLoan(ctx, a, l.LoanNo)
		if err != nil {
			return s.problem(c, err)
		}
		d.Loans = append(d.Loans, loanBlock{Info: l, Schedule: lv.Schedule, Kol: int(l.Kolektibilitas)})
	}
	for _, mv := range mv.Movements {
		mv.At = mv.At.In(d.Loc)
		d.Movements = append(d.Movements, mv)
	}
	state, until, err := s.Dir.PINStateOf(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: m.CooperativeID})
	if err != nil {
		return s.problem(c, err)
	}
	d.PIN = state
	if !until.IsZero() {
		d.PINUntil = until.In(d.Loc).Format("02/01/2006 15:04")
	}
	return s.render(c, http.StatusOK, "member", view{Title: "title.member", Data: d})
}

// --- receive a deposit ---

var depositAccounts = []ledger.AccountKind{ledger.Sukarela, ledger.Wajib, ledger.Pokok}

type moneyData struct {
	Member   members.Member
	Accounts []ledger.AccountKind
	Account  ledger.AccountKind
	Amount   string // as typed
	Value    int64  // parsed
	Key      string // the confirm form's idempotency key
	Balance  int64
}

func (s *Server) depositForm(c echo.Context) error {
	m, err := s.Service.FindMemberByNo(c.Request().Context(), actor(c), c.Param("no"))
	if err != nil {
		return s.problem(c, err)
	}
	return s.render(c, http.StatusOK, "deposit", view{Title: "title.deposit", Data: moneyData{Member: m, Accounts: depositAccounts, Account: ledger.Sukarela}})
}

func parseAccount(s string) (ledger.AccountKind, bool) {
	for _, k := range depositAccounts {
		if string(k) == s {
			return k, true
		}
	}
	return "", false
}

// validKey: a confirm form's idempotency key, 32 hex characters.
func validKey(k string) bool {
	if len(k) != 32 {
		return false
	}
	_, err := strconv.ParseUint(k[:16], 16, 64)
	_, err2 := strconv.ParseUint(k[16:], 16, 64)
	return err == nil && err2 == nil && strings.ToLower(k) == k
}

func (s *Server) deposit(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	l := lang(c)
	f := c.Request().PostForm
	m, err := s.Service.FindMemberByNo(ctx, a, c.Param("no"))
	if err != nil {
		return s.problem(c, err)
	}
	d := moneyData{Member: m, Accounts: depositAccounts, Amount: f.Get("amount")}
	formView := func(msg string) error {
		return s.render(c, http.StatusOK, "deposit", view{Title: "title.deposit", Error: msg, Data: d})
	}
	acc, ok := parseAccount(f.Get("account"))
	d.Account = acc
	if !ok {
		return formView(T(l, "form.bad_account"))
	}
	amount, err := ParseAmount(d.Amount)
	if err != nil {
		return formView(T(l, "form.bad_amount"))
	}
	d.Value = amount
	if m.Status != members.StatusActive {
		return formView(service.Message(service.CodeMemberLeft, l))
	}
	if f.Get("step") != "confirm" {
		d.Key = randomHex(16)
		return s.render(c, http.StatusOK, "deposit_confirm", view{Title: "title.confirm", Data: d})
	}
	key := f.Get("key")
	if !validKey(key) {
		return formView(T(l, "form.stale"))
	}
	rc, err := s.Service.ReceiveDeposit(ctx, a, service.Key(service.ChannelCounter, key, "cash_deposit"),
		service.Deposit{MemberID: m.ID, Account: acc, Amount: amount})
	if refusal(err) {
		return formView(sentence(err, l))
	}
	if err != nil {
		return s.problem(c, err)
	}
	s.Log.Info("counter deposit", "staff_id", a.ID, "journal_id", rc.JournalID, "replayed", rc.Replayed)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/counter/receipts/%d", rc.JournalID))
}

// --- receive a repayment ---

type repayData struct {
	Loan     service.LoanView
	Member   members.Member
	Offer    service.LoanOffer
	Sukarela int64
	Amount   string
	Value    int64
	Source   string // "cash" or "sukarela"
	Key      string
	Preview  ledger.RepaymentResult
}

func (s *Server) loadRepay(c echo.Context) (repayData, error) {
	ctx := c.Request().Context()
	a := actor(c)
	lv, err := s.Service.ViewLoan(ctx, a, c.Param("loan"))
	if err != nil {
		return repayData{}, err
	}
	m, err := s.Dir.MemberByID(ctx, a.CooperativeID, lv.Loan.MemberID)
	if err != nil {
		return repayData{}, err
	}
	d := repayData{Loan: lv, Member: m, Source: "cash"}
	if lv.Status.Status == ledger.LoanActive {
		if d.Offer, err = s.Service.OfferRepayment(ctx, a, lv.Status); err != nil && !errors.Is(err, ledger.ErrLoanClosed) {
			return repayData{}, err
		}
	}
	b, err := s.Service.Balances(ctx, a, m.ID)
	if err != nil {
		return repayData{}, err
	}
	d.Sukarela = b.Sukarela
	return d, nil
}

func (s *Server) repayForm(c echo.Context) error {
	d, err := s.loadRepay(c)
	if err != nil {
		return s.problem(c, err)
	}
	v := view{Title: "title.repay", Data: &d}
	if d.Loan.Status.Status != ledger.LoanActive {
		v.Error = service.Message(service.CodeLoanClosed, lang(c))
	}
	if d.Offer.Amount > 0 {
		d.Amount = strconv.FormatInt(d.Offer.Amount, 10)
		v.Notice = T(lang(c), "repay.due_prefill")
	}
	return s.render(c, http.StatusOK, "repay", v)
}

func (s *Server) repay(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	l := lang(c)
	f := c.Request().PostForm
	d, err := s.loadRepay(c)
	if err != nil {
		return s.problem(c, err)
	}
	d.Amount, d.Source = f.Get("amount"), f.Get("source")
	formView := func(msg string) error {
		return s.render(c, http.StatusOK, "repay", view{Title: "title.repay", Error: msg, Data: &d})
	}
	if d.Source != "cash" && d.Source != "sukarela" {
		return formView(T(l, "form.bad_source"))
	}
	amount, err := ParseAmount(d.Amount)
	if err != nil {
		return formView(T(l, "form.bad_amount"))
	}
	d.Value = amount
	r := service.Repayment{LoanID: d.Loan.Loan.ID, Amount: amount, FromSukarela: d.Source == "sukarela"}
	if f.Get("step") != "confirm" {
		d.Preview, err = s.previewRepayment(ctx, a, r)
		if refusal(err) {
			return formView(sentence(err, l))
		}
		if err != nil {
			return s.problem(c, err)
		}
		d.Key = randomHex(16)
		return s.render(c, http.StatusOK, "repay_confirm", view{Title: "title.confirm", Data: &d})
	}
	key := f.Get("key")
	if !validKey(key) {
		return formView(T(l, "form.stale"))
	}
	res, err := s.Service.ReceiveRepayment(ctx, a, service.Key(service.ChannelCounter, key, "repay"), r)
	if refusal(err) {
		return formView(sentence(err, l))
	}
	if err != nil {
		return s.problem(c, err)
	}
	s.Log.Info("counter repayment", "staff_id", a.ID, "journal_id", res.JournalID, "replayed", res.Replayed)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/counter/receipts/%d", res.JournalID))
}

var errPreview = errors.New("preview: rolled back")

// previewRepayment is what the repayment would do, computed by the ledger
// itself (the same allocation, denda and limits) in a transaction that is
// rolled back: nothing is posted, no SMS is queued.
func (s *Server) previewRepayment(ctx context.Context, a service.Actor, r service.Repayment) (ledger.RepaymentResult, error) {
	req := ledger.Repayment{CooperativeID: a.CooperativeID, LoanID: r.LoanID, Amount: r.Amount, FromSukarela: r.FromSukarela,
		Key: service.Key(service.ChannelCounter, "preview-"+randomHex(16), "repay"), Actor: a.String()}
	if !r.FromSukarela {
		req.StaffID = a.ID
	}
	var res ledger.RepaymentResult
	err := s.DB.InTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if res, err = ledger.RepayTx(ctx, tx, req, s.now()); err != nil {
			return err
		}
		return errPreview
	})
	if errors.Is(err, errPreview) {
		return res, nil
	}
	return ledger.RepaymentResult{}, err
}

// --- deposit codes ---

type codeData struct {
	Code   string
	Found  ledger.DepositCode
	Member members.Member
}

func (s *Server) codesForm(c echo.Context) error {
	return s.render(c, http.StatusOK, "codes", view{Title: "title.codes", Data: codeData{}})
}

func (s *Server) codes(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	l := lang(c)
	f := c.Request().PostForm
	d := codeData{Code: strings.TrimSpace(f.Get("code"))}
	formView := func(msg string) error {
		return s.render(c, http.StatusOK, "codes", view{Title: "title.codes", Error: msg, Data: d})
	}
	if len(d.Code) != 6 || strings.Trim(d.Code, "0123456789") != "" {
		return formView(T(l, "codes.bad"))
	}
	if f.Get("step") != "confirm" {
		dc, err := s.Service.LookupDepositCode(ctx, a, d.Code)
		if refusal(err) {
			return formView(sentence(err, l))
		}
		if err != nil {
			return s.problem(c, err)
		}
		if dc.Status == "confirmed" {
			return formView(service.Message(service.CodeCodeUsed, l))
		}
		d.Found = dc
		return s.render(c, http.StatusOK, "codes_confirm", view{Title: "title.confirm", Data: d})
	}
	amount, _ := strconv.ParseInt(f.Get("shown_amount"), 10, 64)
	shown := ledger.DepositCode{Amount: amount, Account: ledger.AccountKind(f.Get("shown_account"))}
	cc, err := s.Service.ConfirmDepositCode(ctx, a, d.Code, shown)
	if refusal(err) {
		return formView(sentence(err, l))
	}
	if err != nil {
		return s.problem(c, err)
	}
	s.Log.Info("counter deposit code confirmed", "staff_id", a.ID, "journal_id", cc.JournalID, "changed", cc.Changed)
	u := fmt.Sprintf("/counter/receipts/%d", cc.JournalID)
	if cc.Changed {
		u += "?changed=1"
	}
	return c.Redirect(http.StatusSeeOther, u)
}

// --- activation codes ---

func (s *Server) activationCode(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	code, m, expires, err := s.Service.IssueActivationCode(ctx, a, c.Param("no"))
	if refusal(err) && service.CodeOf(err) != service.CodeNotFound {
		return s.fail(c, http.StatusOK, "error.invalid")
	}
	if err != nil {
		return s.problem(c, err)
	}
	loc := s.location(ctx, a.CooperativeID)
	until := expires.In(loc).Format("02/01/2006 15:04")
	coop := current(c).staff.Cooperative.Name
	now := s.now()
	err = s.DB.InTx(ctx, func(tx *sqlx.Tx) error {
		return ledger.EnqueueSMS(ctx, tx, ledger.OutboxMessage{
			CooperativeID: a.CooperativeID,
			Key:           fmt.Sprintf("sms:activation:member:%d:%d", m.ID, now.UnixMicro()),
			Phone:         m.Phone, Language: m.Language, Template: menus.TmplReply,
			Params: map[string]string{"text": T(m.Language, "activation.sms", coop, code, until)},
		}, now)
	})
	if err != nil {
		return s.problem(c, err)
	}
	if err := s.setFlash(c, "activation:"+m.No+":"+code+":"+until); err != nil {
		return s.problem(c, err)
	}
	s.Log.Info("counter activation code issued", "staff_id", a.ID, "member_id", m.ID)
	return c.Redirect(http.StatusSeeOther, "/counter/members/"+url.PathEscape(m.No)+"/activation-code")
}

type activationData struct {
	Member members.Member
	Code   string
	Until  string
}

func (s *Server) activationShown(c echo.Context) error {
	m, err := s.Service.FindMemberByNo(c.Request().Context(), actor(c), c.Param("no"))
	if err != nil {
		return s.problem(c, err)
	}
	msg, err := s.takeFlash(c)
	if err != nil {
		return s.problem(c, err)
	}
	d := activationData{Member: m}
	if rest, ok := strings.CutPrefix(msg, "activation:"+m.No+":"); ok {
		d.Code, d.Until, _ = strings.Cut(rest, ":")
	}
	return s.render(c, http.StatusOK, "activation", view{Title: "title.activation", Data: d})
}

// --- my cash today ---

type posting struct {
	ID     int64     `db:"id"`
	Kind   string    `db:"kind"`
	At     time.Time `db:"created_at"`
	Amount int64     `db:"amount"`
}

type cashData struct {
	Count    int
	Total    int64
	Postings []posting
	Kinds    []ledger.KindTotal
}

// myPostings are the journals the staff member posted in the cooperative's
// local day of now, with what each moved (the sum of its debits).
func (s *Server) myPostings(ctx context.Context, a service.Actor) ([]posting, *time.Location, error) {
	loc := s.location(ctx, a.CooperativeID)
	y, m, d := s.now().In(loc).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc)
	var out []posting
	err := s.DB.SelectContext(ctx, &out, s.DB.Rebind(`SELECT j.id, j.kind, j.created_at, COALESCE(SUM(e.amount), 0) AS amount
		FROM journals j JOIN entries e ON e.cooperative_id = j.cooperative_id AND e.journal_id = j.id AND e.side = 'D'
		WHERE j.cooperative_id = ? AND j.created_at >= ? AND j.created_at < ? AND j.actor = ?
		GROUP BY j.id, j.kind, j.created_at ORDER BY j.id`), a.CooperativeID, from.UTC(), from.AddDate(0, 0, 1).UTC(), a.String())
	if err != nil {
		return nil, nil, fmt.Errorf("my postings: %w", err)
	}
	for i := range out {
		out[i].At = out[i].At.In(loc)
	}
	return out, loc, nil
}

func (s *Server) cash(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	n, total, err := s.Service.MyCash(ctx, a)
	if err != nil {
		return s.problem(c, err)
	}
	ps, _, err := s.myPostings(ctx, a)
	if err != nil {
		return s.problem(c, err)
	}
	kinds := map[string]*ledger.KindTotal{}
	for _, p := range ps {
		k := kinds[p.Kind]
		if k == nil {
			k = &ledger.KindTotal{Kind: p.Kind}
			kinds[p.Kind] = k
		}
		k.Count++
		k.Amount += p.Amount
	}
	d := cashData{Count: n, Total: total, Postings: ps}
	for _, k := range kinds {
		d.Kinds = append(d.Kinds, *k)
	}
	sort.Slice(d.Kinds, func(i, j int) bool { return d.Kinds[i].Kind < d.Kinds[j].Kind })
	return s.render(c, http.StatusOK, "cash", view{Title: "title.cash", Data: d})
}

// --- receipts ---

type receiptLine struct {
	Account  ledger.AccountKind
	LoanNo   string
	Amount   int64 // into the member's account (savings) or off the loan
	Balance  int64
	HasBal   bool
	MemberNo string
}

type receiptData struct {
	Journal  ledger.JournalView
	Kind     string
	At       time.Time
	Coop     members.Cooperative
	Member   members.Member
	Lines    []receiptLine
	Total    int64
	Staff    string
	Changed  bool
	Reversal bool
}

func (s *Server) receipt(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	id := idParam(c, "id")
	if id == 0 {
		return s.fail(c, http.StatusNotFound, "error.not_found")
	}
	j, err := s.Service.Journal(ctx, a, id)
	if err != nil {
		return s.problem(c, err)
	}
	loc := s.location(ctx, a.CooperativeID)
	d := receiptData{Journal: j, Kind: kindName(lang(c), j.Kind), At: j.At.In(loc), Coop: current(c).staff.Cooperative,
		Changed: c.QueryParam("changed") == "1", Reversal: j.ReversesID != 0}
	var memberID int64
	for _, e := range j.Entries {
		if e.Side == "debit" {
			d.Total += e.Amount
		}
		if e.MemberID == 0 {
			continue
		}
		memberID = e.MemberID
		// Signed as a statement: savings + in, − out; a loan + more
		// owed, − less owed.
		amt := e.Amount
		if (e.Side == "credit") != (e.Kind != ledger.LoanPrincipal) {
			amt = -amt
		}
		line := receiptLine{Account: e.Kind, LoanNo: e.LoanNo, Amount: amt, MemberNo: e.MemberNo}
		if bal, err := s.balanceAfter(ctx, a.CooperativeID, e.AccountID, j.ID); err == nil {
			line.Balance, line.HasBal = bal, true
		} else {
			return s.problem(c, err)
		}
		d.Lines = append(d.Lines, line)
	}
	if memberID != 0 {
		if d.Member, err = s.Dir.MemberByID(ctx, a.CooperativeID, memberID); err != nil {
			return s.problem(c, err)
		}
	}
	d.Staff = s.actorName(ctx, a.CooperativeID, j.Actor)
	return s.render(c, http.StatusOK, "receipt", view{Title: "title.receipt", Print: true, Data: d})
}

// balanceAfter is an account's balance (in its normal direction) right
// after journal id: today's balance less what later journals moved.
func (s *Server) balanceAfter(ctx context.Context, coopID, accountID, journalID int64) (int64, error) {
	var b int64
	err := s.DB.GetContext(ctx, &b, s.DB.Rebind(`SELECT a.balance - COALESCE((SELECT SUM(CASE WHEN (e.side = 'C') = (a.normal = 'credit') THEN e.amount ELSE -e.amount END)
		FROM entries e WHERE e.account_id = a.id AND e.journal_id > ?), 0)
		FROM accounts a WHERE a.id = ? AND a.cooperative_id = ?`), journalID, accountID, coopID)
	if err != nil {
		return 0, fmt.Errorf("balance after journal %d: %w", journalID, err)
	}
	return b, nil
}

// actorName is who posted a journal, as a receipt names them.
func (s *Server) actorName(ctx context.Context, coopID int64, actor string) string {
	if id, ok := strings.CutPrefix(actor, "staff:"); ok {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil {
			if st, err := s.Dir.WebStaffByID(ctx, coopID, n); err == nil {
				return st.Name
			}
		}
	}
	if strings.HasPrefix(actor, "member:") {
		return "USSD/SMS"
	}
	return actor
}

// --- manager: reverse ---

type reverseData struct {
	Journal ledger.JournalView
	Kind    string
	Reason  string
	Total   int64
}

func (s *Server) loadJournal(c echo.Context) (reverseData, error) {
	id := idParam(c, "id")
	if id == 0 {
		return reverseData{}, &service.Error{Code: service.CodeNotFound}
	}
	j, err := s.Service.Journal(c.Request().Context(), actor(c), id)
	if err != nil {
		return reverseData{}, err
	}
	d := reverseData{Journal: j, Kind: kindName(lang(c), j.Kind)}
	for _, e := range j.Entries {
		if e.Side == "debit" {
			d.Total += e.Amount
		}
	}
	return d, nil
}

func (s *Server) reverseForm(c echo.Context) error {
	d, err := s.loadJournal(c)
	if err != nil {
		return s.problem(c, err)
	}
	v := view{Title: "title.reverse", Data: d}
	if d.Journal.ReversesID != 0 {
		v.Error = service.Message(service.CodeNotReversible, lang(c))
	} else if d.Journal.ReversedByID != 0 {
		v.Error = service.Message(service.CodeAlreadyReversed, lang(c))
	}
	return s.render(c, http.StatusOK, "reverse", v)
}

func (s *Server) reverse(c echo.Context) error {
	d, err := s.loadJournal(c)
	if err != nil {
		return s.problem(c, err)
	}
	l := lang(c)
	d.Reason = strings.TrimSpace(c.Request().PostForm.Get("reason"))
	if d.Reason == "" {
		return s.render(c, http.StatusOK, "reverse", view{Title: "title.reverse", Error: T(l, "reverse.no_reason"), Data: d})
	}
	if d.Journal.ReversesID != 0 {
		return s.render(c, http.StatusOK, "reverse", view{Title: "title.reverse", Error: service.Message(service.CodeNotReversible, l), Data: d})
	}
	if d.Journal.ReversedByID != 0 { // a double click: the first one reversed it
		return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/counter/receipts/%d", d.Journal.ReversedByID))
	}
	a := actor(c)
	rid, err := s.Service.ReverseJournal(c.Request().Context(), a, d.Journal.ID, d.Reason)
	if service.CodeOf(err) == service.CodeAlreadyReversed {
		if again, lerr := s.loadJournal(c); lerr == nil && again.Journal.ReversedByID != 0 {
			return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/counter/receipts/%d", again.Journal.ReversedByID))
		}
	}
	if refusal(err) {
		return s.render(c, http.StatusOK, "reverse", view{Title: "title.reverse", Error: sentence(err, l), Data: d})
	}
	if err != nil {
		return s.problem(c, err)
	}
	s.Log.Info("counter reversal", "staff_id", a.ID, "journal_id", d.Journal.ID, "reversal_id", rid)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/counter/receipts/%d", rid))
}

// --- manager: staff, report ---

type staffRow struct {
	Staff  members.WebStaff
	Active bool
}

func (s *Server) staffList(c echo.Context) error {
	list, active, err := s.Dir.ListStaff(c.Request().Context(), actor(c).CooperativeID)
	if err != nil {
		return s.problem(c, err)
	}
	rows := make([]staffRow, len(list))
	for i := range list {
		rows[i] = staffRow{list[i], active[i]}
	}
	return s.render(c, http.StatusOK, "staff", view{Title: "title.staff", Data: rows})
}

type reportData struct {
	Date   string
	Report ledger.DayReport
}

func (s *Server) report(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	loc := s.location(ctx, a.CooperativeID)
	d := reportData{Date: c.QueryParam("date")}
	v := view{Title: "title.report", Data: &d}
	day := s.now().In(loc)
	if d.Date != "" {
		t, err := time.ParseInLocation(time.DateOnly, d.Date, loc)
		if err != nil || t.Year() < 2000 || t.Year() > 2200 {
			v.Error = T(lang(c), "report.bad_date")
			return s.render(c, http.StatusOK, "report", v)
		}
		day = t
	}
	d.Date = day.Format(time.DateOnly)
	r, err := s.Service.DayReport(ctx, a, day)
	if err != nil {
		return s.problem(c, err)
	}
	d.Report = r
	return s.render(c, http.StatusOK, "report", v)
}

// --- manager: register a member ---

type newMemberData struct {
	No, Name, Phone, Language string
}

func (s *Server) newMemberForm(c echo.Context) error {
	return s.render(c, http.StatusOK, "new_member", view{Title: "title.new_member", Data: newMemberData{Language: "id"}})
}

func (s *Server) newMember(c echo.Context) error {
	f := c.Request().PostForm
	l := lang(c)
	d := newMemberData{No: strings.TrimSpace(f.Get("no")), Name: strings.TrimSpace(f.Get("name")), Phone: strings.TrimSpace(f.Get("phone")), Language: f.Get("language")}
	formView := func(msg string) error {
		return s.render(c, http.StatusOK, "new_member", view{Title: "title.new_member", Error: msg, Data: d})
	}
	if d.Language != "en" {
		d.Language = "id"
	}
	if d.No == "" || d.Name == "" || d.Phone == "" {
		return formView(T(l, "new.missing"))
	}
	if _, err := members.NormalizeMSISDN(d.Phone); err != nil {
		return formView(T(l, "new.bad_phone"))
	}
	m, err := s.Service.RegisterMember(c.Request().Context(), actor(c), members.NewMember{No: d.No, Name: d.Name, Phone: d.Phone, Language: d.Language,
		JoinedOn: s.now()})
	if refusal(err) {
		return formView(sentence(err, l))
	}
	if err != nil {
		return s.problem(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/counter/members/"+url.PathEscape(m.No))
}

// --- manager: disburse a loan ---

var loanMethods = []ledger.Method{ledger.MethodFlat, ledger.MethodMenurun, ledger.MethodAnuitas}

type newLoanData struct {
	Member                            members.Member
	LoanNo, Principal, Rate, Term     string
	Method                            string
	Methods                           []ledger.Method
	PrincipalN, RateBP                int64
	TermN                             int
	Schedule                          []ledger.Installment
	TotalInterest, TotalPrincipal, N1 int64
	Key                               string
}

func (s *Server) newLoanForm(c echo.Context) error {
	m, err := s.Service.FindMemberByNo(c.Request().Context(), actor(c), c.Param("no"))
	if err != nil {
		return s.problem(c, err)
	}
	return s.render(c, http.StatusOK, "new_loan", view{Title: "title.new_loan", Data: &newLoanData{Member: m, Methods: loanMethods, Method: "flat"}})
}

// ParseRate reads a monthly interest rate in per cent ("1,5", "1.5", "2")
// as basis points (150, 150, 200): at most two decimals, at most 100 %.
func ParseRate(s string) (int64, error) {
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "%"))
	s = strings.Replace(s, ",", ".", 1)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 3 || len(frac) > 2 || strings.Trim(whole+frac, "0123456789") != "" {
		return 0, errors.New("not a rate")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	bp, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil || bp > 10_000 {
		return 0, errors.New("not a rate")
	}
	return bp, nil
}

func (s *Server) newLoan(c echo.Context) error {
	ctx := c.Request().Context()
	a := actor(c)
	l := lang(c)
	f := c.Request().PostForm
	m, err := s.Service.FindMemberByNo(ctx, a, c.Param("no"))
	if err != nil {
		return s.problem(c, err)
	}
	d := &newLoanData{Member: m, Methods: loanMethods, LoanNo: strings.TrimSpace(f.Get("loan_no")), Principal: f.Get("principal"),
		Rate: f.Get("rate"), Term: f.Get("term"), Method: f.Get("method")}
	formView := func(msg string) error {
		return s.render(c, http.StatusOK, "new_loan", view{Title: "title.new_loan", Error: msg, Data: d})
	}
	if d.LoanNo == "" || len(d.LoanNo) > 40 {
		return formView(T(l, "loan.bad_no"))
	}
	if d.PrincipalN, err = ParseAmount(d.Principal); err != nil {
		return formView(T(l, "form.bad_amount"))
	}
	if d.RateBP, err = ParseRate(d.Rate); err != nil {
		return formView(T(l, "loan.bad_rate"))
	}
	if d.TermN, err = strconv.Atoi(strings.TrimSpace(d.Term)); err != nil || d.TermN < 1 || d.TermN > 120 {
		return formView(T(l, "loan.bad_term"))
	}
	method, err := ledger.ParseMethod(d.Method)
	if err != nil {
		return formView(T(l, "loan.bad_method"))
	}
	if m.Status != members.StatusActive {
		return formView(service.Message(service.CodeMemberLeft, l))
	}
	loc := s.location(ctx, a.CooperativeID)
	today := s.now().In(loc)
	if f.Get("step") != "confirm" {
		first := dueMonthsAfter(today, 1)
		sched, err := ledger.BuildSchedule(d.PrincipalN, d.RateBP, method, d.TermN, first)
		if err != nil {
			return formView(sentence(&service.Error{Code: service.CodeInvalidRequest, Err: err}, l))
		}
		for k := range sched {
			sched[k].Due = dueMonthsAfter(today, 1+k)
			d.TotalInterest += sched[k].Interest
			d.TotalPrincipal += sched[k].Principal
		}
		d.Schedule = sched
		d.Key = randomHex(16)
		return s.render(c, http.StatusOK, "new_loan_confirm", view{Title: "title.confirm", Data: d})
	}
	key := f.Get("key")
	if !validKey(key) {
		return formView(T(l, "form.stale"))
	}
	loan, err := s.Service.DisburseLoan(ctx, a, service.Key(service.ChannelCounter, key, "disburse"), service.Loan{
		LoanNo: d.LoanNo, MemberNo: m.No, Principal: d.PrincipalN, RateBP: d.RateBP, Method: method, TermMonths: d.TermN})
	if refusal(err) {
		return formView(sentence(err, l))
	}
	if err != nil {
		return s.problem(c, err)
	}
	s.Log.Info("counter disbursement", "staff_id", a.ID, "journal_id", loan.JournalID)
	return c.Redirect(http.StatusSeeOther, fmt.Sprintf("/counter/receipts/%d", loan.JournalID))
}

// dueMonthsAfter is the due date k months after the day of t, that day of
// the month clamped to the month's length (as the ledger's schedules).
func dueMonthsAfter(t time.Time, k int) time.Time {
	y, m, d := t.Date()
	month := time.Date(y, m+time.Month(k), 1, 0, 0, 0, 0, time.UTC)
	last := month.AddDate(0, 1, -1).Day()
	return time.Date(month.Year(), month.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
}
