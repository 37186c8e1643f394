package menus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

// Screens. The ids are stored in sessions: renaming one ends live sessions.
const (
	scrEnded        ScreenID = "ended"
	scrUnknownCode  ScreenID = "unknown_code"
	scrUnknownPhone ScreenID = "unknown_phone"
	scrChooseCoop   ScreenID = "choose_coop"
	scrChooseRole   ScreenID = "choose_role"
	scrChooseMember ScreenID = "choose_member"
	scrMain         ScreenID = "main"
	scrPIN          ScreenID = "pin"
	scrPINLocked    ScreenID = "pin_locked"
	scrNoPIN        ScreenID = "no_pin"
	scrBalance      ScreenID = "balance"
	scrLanguage     ScreenID = "language"
	scrLanguageDone ScreenID = "language_done"
	scrStaffMain    ScreenID = "staff_main"
	scrActivate     ScreenID = "activate"
	scrActivateDead ScreenID = "activate_dead"
	scrOldPIN       ScreenID = "pin_old"
	scrNewPIN       ScreenID = "pin_new"
	scrRepeatPIN    ScreenID = "pin_repeat"
	scrPINCreated   ScreenID = "pin_created"
	scrPINChanged   ScreenID = "pin_changed"
	scrPINTimeout   ScreenID = "pin_timeout"

	// Asking for the go-ahead of an action screen (Session.Next).
	scrConfirm    ScreenID = "confirm"     // what will happen, 1 Ya / 2 Batal
	scrPINConfirm ScreenID = "pin_confirm" // what will happen, then the PIN
	scrCancelled  ScreenID = "cancelled"

	// Member 2 Setor Simpanan.
	scrDepositAccount ScreenID = "deposit_account"
	scrDepositAmount  ScreenID = "deposit_amount"
	actDepositCode    ScreenID = "deposit_code_create"
	scrDepositCode    ScreenID = "deposit_code"
	scrAmountTooLarge ScreenID = "amount_too_large"

	// Member 3 Bayar Angsuran.
	scrNoLoan       ScreenID = "no_loan"
	scrRepayLoans   ScreenID = "repay_loans"
	scrRepayOffer   ScreenID = "repay_offer"
	scrRepayAmount  ScreenID = "repay_amount"
	actRepay        ScreenID = "repay_post"
	scrRepayDone    ScreenID = "repay_done"
	scrRepayNoFunds ScreenID = "repay_no_funds"
	scrRepayTooMuch ScreenID = "repay_too_much"
	scrRepayClosed  ScreenID = "repay_closed"

	// Member 4 Mutasi and 5 Info Pinjaman.
	scrStatement ScreenID = "statement"
	scrLoanInfo  ScreenID = "loan_info"

	// Staff 1 Terima Setoran.
	scrStaffDepNo   ScreenID = "staff_dep_member"
	scrStaffDepAcct ScreenID = "staff_dep_account"
	scrStaffDepAmt  ScreenID = "staff_dep_amount"
	actStaffDeposit ScreenID = "staff_dep_post"
	scrStaffDepDone ScreenID = "staff_dep_done"

	// Staff 2 Terima Angsuran.
	scrStaffRepNo    ScreenID = "staff_rep_member"
	scrStaffRepLoans ScreenID = "staff_rep_loans"
	scrStaffRepAmt   ScreenID = "staff_rep_amount"
	actStaffRepay    ScreenID = "staff_rep_post"
	scrStaffRepDone  ScreenID = "staff_rep_done"
	scrStaffNoLoan   ScreenID = "staff_no_loan"

	// Staff 3 Konfirmasi Kode Setor and 4 Kas Saya Hari Ini.
	scrStaffCode     ScreenID = "staff_code"
	actStaffCode     ScreenID = "staff_code_post"
	scrStaffCodeDone ScreenID = "staff_code_done"
	scrStaffCodeBad  ScreenID = "staff_code_refused"
	scrStaffCash     ScreenID = "staff_cash"
)

// maxHeader keeps a long cooperative name from pushing a menu past one
// screen.
const maxHeader = 40

var screens map[ScreenID]screen

func init() {
	// Built in init only because the screens refer to each other through
	// the map; nothing is registered from other packages.
	screens = map[ScreenID]screen{
		scrEnded:        {render: text("error.expired")},
		scrUnknownCode:  {render: text("error.unknown_code")},
		scrUnknownPhone: {render: renderUnknownPhone},
		scrChooseCoop:   {render: renderChooseCoop, handle: handleChooseCoop, root: true},
		scrChooseRole:   {render: text("choose.role"), handle: handleChooseRole},
		scrChooseMember: {render: renderChooseMember, handle: handleChooseMember},
		scrMain:         {render: renderMain, handle: handleMain, root: true},
		scrPIN:          {render: text("pin.ask"), handle: handlePIN, transient: true},
		scrPINLocked:    {render: renderPINLocked},
		scrNoPIN:        {render: text("pin.none")},
		scrBalance:      {render: renderBalance},
		scrLanguage:     {render: text("lang.ask"), handle: handleLanguage},
		scrLanguageDone: {render: text("lang.done")},
		scrStaffMain:    {render: renderStaffMain, handle: handleStaffMain, root: true},
		scrActivate:     {render: renderActivate, handle: handleActivate, root: true},
		scrActivateDead: {render: text("activate.dead")},
		scrOldPIN:       {render: text("pin.old"), handle: handleOldPIN},
		scrNewPIN:       {render: text("pin.new"), handle: handleNewPIN},
		scrRepeatPIN:    {render: text("pin.repeat"), handle: handleRepeatPIN, transient: true},
		scrPINCreated:   {render: renderPINCreated},
		scrPINChanged:   {render: text("pin.changed")},
		scrPINTimeout:   {render: text("pin.timeout")},

		scrConfirm:    {render: renderConfirm, handle: handleConfirm},
		scrPINConfirm: {render: renderPINConfirm, handle: handlePIN, transient: true},
		scrCancelled:  {render: text("cancelled")},

		scrDepositAccount: {render: text("deposit.account"), handle: chooseSavings(scrDepositAmount)},
		scrDepositAmount:  {render: text("deposit.amount"), handle: handleDepositAmount},
		actDepositCode:    {action: actionDepositCode, summary: summaryDepositCode},
		scrDepositCode:    {render: renderDepositCode},
		scrAmountTooLarge: {render: renderAmountTooLarge},

		scrNoLoan:       {render: text("loan.none")},
		scrRepayLoans:   {list: listRepayLoans, handle: handleRepayLoans},
		scrRepayOffer:   {render: renderRepayOffer, handle: handleRepayOffer},
		scrRepayAmount:  {render: text("repay.amount"), handle: amountThen(actRepay)},
		actRepay:        {action: actionRepay, summary: summaryRepay},
		scrRepayDone:    {render: renderRepayDone},
		scrRepayNoFunds: {render: renderRepayNoFunds},
		scrRepayTooMuch: {render: renderRepayTooMuch},
		scrRepayClosed:  {render: renderRepayClosed},
		scrStatement:    {list: listStatement},
		scrLoanInfo:     {list: listLoanInfo},

		scrStaffDepNo:    {render: text("staff.member_no"), handle: handleStaffMemberNo(scrStaffDepAcct)},
		scrStaffDepAcct:  {render: renderStaffDepAccount, handle: chooseSavings(scrStaffDepAmt)},
		scrStaffDepAmt:   {render: text("staff.amount"), handle: amountThen(actStaffDeposit)},
		actStaffDeposit:  {action: actionStaffDeposit, summary: summaryStaffDeposit},
		scrStaffDepDone:  {render: renderStaffDepDone},
		scrStaffRepNo:    {render: text("staff.member_no"), handle: handleStaffMemberNo(scrStaffRepLoans)},
		scrStaffRepLoans: {list: listStaffRepLoans, handle: handleStaffRepLoans},
		scrStaffRepAmt:   {render: renderStaffRepAmount, handle: amountThen(actStaffRepay)},
		actStaffRepay:    {action: actionStaffRepay, summary: summaryStaffRepay},
		scrStaffRepDone:  {render: renderStaffRepDone},
		scrStaffNoLoan:   {render: renderStaffNoLoan},
		scrStaffCode:     {render: text("staff.code"), handle: handleStaffCode},
		actStaffCode:     {action: actionStaffCode, summary: summaryStaffCode},
		scrStaffCodeDone: {render: renderStaffCodeDone},
		scrStaffCodeBad:  {render: renderStaffCodeRefused},
		scrStaffCash:     {render: renderStaffCash},
	}
}

func text(key string) func(context.Context, *Engine, *Session) (string, error) {
	return func(_ context.Context, _ *Engine, s *Session) (string, error) { return T(s.Lang, key), nil }
}

// clip shortens s to at most n characters, at a word boundary where there
// is one, so long cooperative names cannot push a screen over its limit.
// It also makes s plain GSM-7 (see plain): one odd character in a name
// would otherwise cut the whole screen to 70 characters.
func clip(s string, n int) string {
	r := []rune(plain(s))
	if len(r) <= n {
		return string(r)
	}
	cut := string(r[:n])
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimSpace(cut)
}

// ShortName turns "Maria Goreti Bria" into "Maria G." for choice lists.
func ShortName(name string) string {
	f := strings.Fields(name)
	if len(f) == 0 {
		return ""
	}
	if len(f) == 1 {
		return clip(f[0], 16)
	}
	r := []rune(plain(f[1]))
	return clip(f[0], 14) + " " + string(r[0]) + "."
}

// choice parses a 1-based menu choice among n items.
func choice(in string, n int) (int, error) {
	i, err := strconv.Atoi(in)
	if err != nil || i < 1 || i > n || strconv.Itoa(i) != in {
		return 0, errInvalid
	}
	return i - 1, nil
}

func renderUnknownPhone(_ context.Context, _ *Engine, s *Session) (string, error) {
	name := "koperasi"
	if len(s.Candidates) > 0 {
		name = clip(s.Candidates[0].Coop.Name, maxHeader)
	}
	return T(s.Lang, "error.unknown_phone", name), nil
}

func renderChooseCoop(_ context.Context, _ *Engine, s *Session) (string, error) {
	var b strings.Builder
	b.WriteString(T(s.Lang, "choose.coop"))
	for i, c := range distinctCoops(s.Candidates) {
		fmt.Fprintf(&b, "\n%d %s", i+1, clip(c.Name, 30))
	}
	return b.String(), nil
}

func handleChooseCoop(_ context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	coops := distinctCoops(s.Candidates)
	i, err := choice(in, len(coops))
	if err != nil {
		return "", err
	}
	s.Candidates = filter(s.Candidates, func(c Candidate) bool { return c.Coop.ID == coops[i].ID })
	return e.narrow(s), nil
}

func handleChooseRole(_ context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	i, err := choice(in, 2)
	if err != nil {
		return "", err
	}
	want := members.KindMember
	if i == 1 {
		want = members.KindStaff
	}
	s.Candidates = filter(s.Candidates, func(c Candidate) bool { return c.Holder.Kind == want })
	return e.narrow(s), nil
}

func renderChooseMember(_ context.Context, _ *Engine, s *Session) (string, error) {
	var b strings.Builder
	b.WriteString(T(s.Lang, "choose.member"))
	for i, c := range s.Candidates {
		fmt.Fprintf(&b, "\n%d %s", i+1, ShortName(c.Name))
	}
	return b.String(), nil
}

func handleChooseMember(_ context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	i, err := choice(in, len(s.Candidates))
	if err != nil {
		return "", err
	}
	s.Candidates = []Candidate{s.Candidates[i]}
	return e.narrow(s), nil
}

func filter(cs []Candidate, keep func(Candidate) bool) []Candidate {
	var out []Candidate
	for _, c := range cs {
		if keep(c) {
			out = append(out, c)
		}
	}
	return out
}

func renderMain(_ context.Context, _ *Engine, s *Session) (string, error) {
	lines := []string{clip(s.Who.Coop.Name, maxHeader)}
	for i := 1; i <= 7; i++ {
		lines = append(lines, T(s.Lang, "main."+strconv.Itoa(i)))
	}
	return strings.Join(lines, "\n"), nil
}

func handleMain(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	switch in {
	case "1":
		return needPIN(s, scrBalance), nil
	case "2":
		return scrDepositAccount, nil
	case "3":
		return startRepay(ctx, e, s)
	case "4":
		return needPIN(s, scrStatement), nil
	case "5":
		return needPIN(s, scrLoanInfo), nil
	case "6":
		return scrOldPIN, nil
	case "7":
		return scrLanguage, nil
	}
	return "", errInvalid
}

// needPIN asks for the PIN once per session, before the first screen that
// needs it.
func needPIN(s *Session, target ScreenID) ScreenID {
	if s.Authed {
		return target
	}
	s.Next = target
	return scrPIN
}

func handlePIN(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	if !members.ValidatePINShape(in) {
		return "", invalidWith{key: "pin.shape"}
	}
	var remaining int
	var err error
	if pb, ok := e.dir.(pinBalances); ok && s.Next == scrBalance && s.Who.Holder.Kind == members.KindMember {
		var b ledger.MemberBalances
		b, remaining, _, err = pb.CheckPINBalances(ctx, s.Who.Holder, in)
		if err == nil {
			s.balances = &b // for renderBalance, in this hop only
		}
	} else {
		remaining, _, err = e.dir.CheckPIN(ctx, s.Who.Holder, in)
	}
	switch service.CodeOf(err) {
	case "":
		s.Authed, s.AuthedAt = true, e.now().Unix()
		next := s.Next
		s.Next = ""
		return next, nil
	case service.CodePINWrong:
		s.Notice = T(s.Lang, "pin.wrong", remaining)
		return s.Screen, nil // the same PIN screen again
	case service.CodePINLocked:
		if until := members.PINLockedUntil(err); !until.IsZero() {
			s.set(varLockedUntil, until.UTC().Format(time.RFC3339))
		}
		return scrPINLocked, nil
	case service.CodePINNotSet:
		return scrNoPIN, nil
	}
	return "", err
}

// varLockedUntil is when a timed PIN lock ends (RFC 3339), for the locked
// screen; unset for the permanent lock.
const varLockedUntil = "pin_locked_until"

// renderPINLocked says until when a timed lock runs (HH:MM in the
// cooperative's time zone), or, for the permanent lock, to ask the office
// for an activation code.
func renderPINLocked(ctx context.Context, e *Engine, s *Session) (string, error) {
	until, err := time.Parse(time.RFC3339, s.get(varLockedUntil))
	if err != nil {
		return T(s.Lang, "pin.locked"), nil
	}
	loc, err := e.books.Location(ctx, s.Who.Coop.ID)
	if err != nil {
		loc = time.FixedZone("WITA", 8*3600)
	}
	return T(s.Lang, "pin.lock_until", until.In(loc).Format("15:04")), nil
}

// pinBalances is a Directory that can check a member's PIN and read their
// balances in one round trip (members.Directory does): the balance check is
// the hop every member makes on payday.
type pinBalances interface {
	CheckPINBalances(ctx context.Context, h members.Holder, pin string) (b ledger.MemberBalances, remaining int, justLocked bool, err error)
}

func renderBalance(ctx context.Context, e *Engine, s *Session) (string, error) {
	var b ledger.MemberBalances
	if s.balances != nil { // read with the PIN a moment ago, in this hop
		b, s.balances = *s.balances, nil
	} else {
		var err error
		if b, err = e.svc.Balances(ctx, actor(s), s.Who.Holder.ID); err != nil {
			return "", err
		}
	}
	return T(s.Lang, "balance.head", ShortName(s.Who.Name)) + "\n" + T(s.Lang, "balance.body",
		ledger.FormatRupiah(b.Pokok), ledger.FormatRupiah(b.Wajib), ledger.FormatRupiah(b.Sukarela), ledger.FormatRupiah(b.LoanOutstanding)), nil
}

func handleLanguage(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	i, err := choice(in, 2)
	if err != nil {
		return "", err
	}
	lang := []string{"id", "en"}[i]
	if err := e.dir.SetLanguage(ctx, s.Who.Holder, lang); err != nil {
		return "", err
	}
	s.Lang = lang
	s.Who.Language = lang
	return scrLanguageDone, nil
}

func renderActivate(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "activate.ask", clip(s.Who.Coop.Name, maxHeader)), nil
}

// handleActivate checks the activation code from staff. The session keeps
// only the code's id.
func handleActivate(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	if !isDigits(in, 6) {
		return "", invalidWith{key: "activate.shape"}
	}
	id, remaining, err := e.dir.VerifyActivationCode(ctx, s.Who.Holder, in)
	switch {
	case err == nil:
		s.ActivationID = id
		return scrNewPIN, nil
	case errors.Is(err, members.ErrActivationWrong):
		s.Notice = T(s.Lang, "activate.wrong", remaining)
		return scrActivate, nil
	case errors.Is(err, members.ErrActivationExpired):
		return scrActivateDead, nil
	case errors.Is(err, members.ErrNoActivationCode):
		if s.Who.PINLocked {
			return scrPINLocked, nil
		}
		return scrNoPIN, nil
	}
	return "", err
}

// handleOldPIN starts "6 Ganti PIN": the current PIN first, always.
func handleOldPIN(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	s.Next = scrNewPIN
	return handlePIN(ctx, e, s, in) // a wrong PIN asks again on this screen
}

func handleNewPIN(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	err := e.svc.StageNewPIN(ctx, actor(s), in)
	switch {
	case errors.Is(err, members.ErrPINFormat):
		return "", invalidWith{key: "pin.shape"}
	case errors.Is(err, members.ErrWeakPIN):
		return "", invalidWith{key: "pin.weak"}
	case err != nil:
		return "", err
	}
	return scrRepeatPIN, nil
}

func handleRepeatPIN(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error) {
	err := e.svc.ChangePIN(ctx, actor(s), in, s.ActivationID)
	switch {
	case err == nil:
		first := s.ActivationID != 0
		s.ActivationID = 0
		s.Who.HasPIN, s.Who.PINLocked = true, false
		if first {
			return scrPINCreated, nil
		}
		return scrPINChanged, nil
	case errors.Is(err, members.ErrPINMismatch):
		s.Notice = T(s.Lang, "pin.mismatch")
		s.Stack = s.Stack[:max(0, len(s.Stack)-1)] // "new PIN" is shown again, not stacked twice
		return scrNewPIN, nil
	case errors.Is(err, members.ErrPINChangeNotStarted):
		return scrPINTimeout, nil
	case errors.Is(err, members.ErrActivationExpired):
		return scrActivateDead, nil
	}
	return "", err
}

func renderPINCreated(_ context.Context, _ *Engine, s *Session) (string, error) {
	return T(s.Lang, "pin.created", s.ServiceCode), nil
}

func isDigits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
