package menus

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

// Directory is what the menus need to know about callers and PINs.
type Directory interface {
	CooperativesForCode(ctx context.Context, serviceCode string) ([]members.Cooperative, error)
	Identify(ctx context.Context, serviceCode, msisdn string) ([]members.Identity, error)
	CheckPIN(ctx context.Context, h members.Holder, pin string) (remaining int, justLocked bool, err error)
	SetLanguage(ctx context.Context, h members.Holder, lang string) error
	VerifyActivationCode(ctx context.Context, h members.Holder, code string) (id int64, remaining int, err error)
	StagePIN(ctx context.Context, h members.Holder, pin string) error
	ConfirmPIN(ctx context.Context, h members.Holder, repeat string, activationID int64) error
	// MemberByNo finds a member of the cooperative by the number staff
	// typed (members.ErrNotFound, members.ErrAmbiguous).
	MemberByNo(ctx context.Context, coopID int64, no string) (members.Member, error)
}

// Books is what the menus need from the ledger: what the service layer
// needs for the member's and the staff's daily actions. Every call names
// the caller's cooperative: nobody acts outside their own.
type Books = service.Books

// Outcome classifies a hop for metrics.
type Outcome string

const (
	OutcomeContinue Outcome = "continue"
	OutcomeEnd      Outcome = "end"
	OutcomeInvalid  Outcome = "invalid"
	OutcomeError    Outcome = "error"
	// OutcomeCancelled: the hop's context was cancelled (the provider
	// closed the request, or the handler stopped waiting) before the
	// answer: not a failure of the service.
	OutcomeCancelled Outcome = "cancelled"
)

// Result is a hop's reply plus what the metrics want to know about it.
type Result struct {
	Reply   Reply
	Screen  ScreenID
	Outcome Outcome
}

// MaxInvalid invalid inputs in a row end the session.
const MaxInvalid = 3

// Engine runs screens.
type Engine struct {
	dir   Directory
	books Books
	svc   *service.Service // the actions; the screens only show them
	log   *slog.Logger
	now   func() time.Time
}

// SetClock makes the engine read the time from now (tests).
func (e *Engine) SetClock(now func() time.Time) { e.now = now }

// NewEngine returns an engine over the member directory and the books.
func NewEngine(dir Directory, books Books, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	svc := service.New(service.Deps{Directory: dir, Books: books})
	return &Engine{dir: dir, books: books, svc: svc, log: log, now: time.Now}
}

// errInvalid makes the engine re-show the screen prefixed "Pilihan salah.".
var errInvalid = errors.New("invalid choice")

// invalidWith is an invalid input with its own explanation instead of
// "Pilihan salah." (e.g. "PIN harus 6 angka."), formatted with args.
type invalidWith struct {
	key  string
	args []any
}

func (e invalidWith) Error() string { return "invalid input: " + e.key }

// screen is one node of the state machine. render draws it; handle takes
// the member's input and names the next screen. A screen without handle
// ends the session.
type screen struct {
	render func(ctx context.Context, e *Engine, s *Session) (string, error)
	handle func(ctx context.Context, e *Engine, s *Session, in string) (ScreenID, error)
	// list, instead of render, draws a screen that may need several
	// messages: head on every page, then as many items as fit, and
	// "98 Lanjut" to the next page. A list with handle is a choice: every
	// page continues and 98 on the last page shows the first again. A list
	// without handle only shows: its last page ends the session.
	list func(ctx context.Context, e *Engine, s *Session) (head string, items []string, err error)
	// action, instead of render, makes an action screen: it runs as soon
	// as it is entered (after the PIN, or the confirmation), shows nothing
	// itself and names the screen with the outcome. Money moves only here.
	action func(ctx context.Context, e *Engine, s *Session) (ScreenID, error)
	// summary says, on an action screen, what the action will do; the
	// screens that ask for the go-ahead show it.
	summary func(ctx context.Context, e *Engine, s *Session) (string, error)
	// root screens offer no "0 Kembali".
	root bool
	// transient screens are never returned to with "0 Kembali" (the
	// second entry of a new PIN).
	transient bool
}

// Start answers the first hop of a session: find who is calling and show
// the first screen.
func (e *Engine) Start(ctx context.Context, s *Session) Result {
	if s.Lang == "" {
		s.Lang = "id"
	}
	if s.Nonce == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		s.Nonce = hex.EncodeToString(b)
	}
	next, err := e.identify(ctx, s)
	if err != nil {
		return e.fail(s, err)
	}
	return e.show(ctx, s, next)
}

// StartDialled answers a first hop on which the member typed choices
// together with the code (*123*1*2#): the longest prefix that is a bound
// service code wins (a cooperative may be bound to *123*1#), and the
// remaining segments are taken as inputs, one by one.
func (e *Engine) StartDialled(ctx context.Context, s *Session, presets []string) Result {
	base := strings.TrimSuffix(s.ServiceCode, "#")
	for n := len(presets); n > 0; n-- {
		code := base + "*" + strings.Join(presets[:n], "*") + "#"
		coops, err := e.dir.CooperativesForCode(ctx, code)
		if err != nil {
			return e.fail(s, err)
		}
		if len(coops) > 0 {
			s.ServiceCode, presets = code, presets[n:]
			break
		}
	}
	res := e.Start(ctx, s)
	for _, in := range presets {
		if res.Reply.End {
			break
		}
		res = e.Input(ctx, s, in)
	}
	return res
}

// Input answers a later hop with the member's latest input.
func (e *Engine) Input(ctx context.Context, s *Session, in string) Result {
	in = strings.TrimSpace(in)
	cur, ok := screens[s.Screen]
	if !ok || (cur.handle == nil && cur.list == nil) {
		return e.end(s, s.Screen, T(s.Lang, "error.expired"))
	}
	switch {
	case in == "00" && s.Who != nil && s.Screen != home(s):
		s.Stack, s.Vars, s.Next, s.Invalid = nil, nil, "", 0
		return e.show(ctx, s, home(s))
	case in == "0" && len(s.Stack) > 0:
		prev := s.Stack[len(s.Stack)-1]
		s.Stack = s.Stack[:len(s.Stack)-1]
		s.Invalid = 0
		delete(s.Vars, varPage)
		return e.render(ctx, s, prev)
	case in == "98" && cur.list != nil && s.getInt(varPages) > 1:
		page := s.getInt(varPage) + 1
		if page >= s.getInt(varPages) {
			page = 0 // only a choice list has a handle to come back here
		}
		s.setInt(varPage, page)
		s.Invalid = 0
		return e.render(ctx, s, s.Screen)
	}
	handle := cur.handle
	if handle == nil { // a list that only shows: 98 or the navigation
		handle = func(context.Context, *Engine, *Session, string) (ScreenID, error) { return "", errInvalid }
	}
	next, err := handle(ctx, e, s, in)
	var iw invalidWith
	switch {
	case errors.Is(err, errInvalid) || errors.As(err, &iw):
		s.Invalid++
		if s.Invalid >= MaxInvalid {
			return e.end(s, s.Screen, T(s.Lang, "error.too_many"))
		}
		s.Notice = T(s.Lang, "invalid")
		if iw.key != "" {
			s.Notice = T(s.Lang, iw.key, iw.args...)
		}
		r := e.render(ctx, s, s.Screen)
		if r.Outcome == OutcomeContinue {
			r.Outcome = OutcomeInvalid
		}
		return r
	case err != nil:
		return e.fail(s, err)
	}
	s.Invalid = 0
	return e.show(ctx, s, next)
}

// show moves forward to next, remembering the current screen for "0". An
// action screen runs first and show moves on to the screen it names.
func (e *Engine) show(ctx context.Context, s *Session, next ScreenID) Result {
	for hops := 0; ; hops++ {
		sc, ok := screens[next]
		if !ok || sc.action == nil {
			break
		}
		if hops == 3 {
			return e.fail(s, fmt.Errorf("actions lead to actions: %q", next))
		}
		var err error
		if next, err = sc.action(ctx, e, s); err != nil {
			return e.fail(s, err)
		}
	}
	if next != s.Screen {
		delete(s.Vars, varPage)
	}
	if s.Screen != "" && next != s.Screen {
		if sc, ok := screens[next]; ok && sc.root {
			s.Stack = nil
		} else if cur, ok := screens[s.Screen]; ok && cur.handle != nil && !cur.transient {
			s.Stack = append(s.Stack, s.Screen)
		}
	}
	return e.render(ctx, s, next)
}

func (e *Engine) render(ctx context.Context, s *Session, id ScreenID) Result {
	sc, ok := screens[id]
	if !ok {
		return e.fail(s, fmt.Errorf("no screen %q", id))
	}
	s.Screen = id
	var text string
	var err error
	ends := sc.handle == nil
	if sc.list != nil {
		text, ends, err = e.page(ctx, s, sc)
	} else if sc.render != nil {
		text, err = sc.render(ctx, e, s)
	} else {
		err = fmt.Errorf("screen %q has nothing to show", id)
	}
	if err != nil {
		return e.fail(s, err)
	}
	if s.Notice != "" {
		text = s.Notice + "\n" + text
		s.Notice = ""
	}
	if ends {
		return e.end(s, id, text)
	}
	text += nav(s, sc)
	return Result{Reply: Reply{Text: text}, Screen: id, Outcome: OutcomeContinue}
}

// nav is the navigation under a continuing screen: "0 Kembali" when there
// is somewhere to go back to, and "00 Menu utama" on a screen that takes
// input when 0 would not already lead to the main menu (and there is one:
// not during first use). A list that only shows (Mutasi) is left from
// with 0.
func nav(s *Session, sc screen) string {
	if sc.root || len(s.Stack) == 0 {
		return ""
	}
	out := "\n" + T(s.Lang, "nav.back")
	if len(s.Stack) > 1 && sc.handle != nil && home(s) != scrActivate && home(s) != scrEnded {
		out += "\n" + T(s.Lang, "nav.home")
	}
	return out
}

// page draws page Vars[page] of a list screen and says whether it ends
// the session (the last page of a list that only shows).
func (e *Engine) page(ctx context.Context, s *Session, sc screen) (string, bool, error) {
	head, items, err := sc.list(ctx, e, s)
	if err != nil {
		return "", false, err
	}
	choice := sc.handle != nil
	pages := paginate(s, sc, head, items, choice)
	p := min(max(int(s.getInt(varPage)), 0), len(pages)-1)
	s.setInt(varPage, int64(p))
	s.setInt(varPages, int64(len(pages)))
	text := pages[p]
	if len(pages) > 1 && (choice || p < len(pages)-1) {
		text += "\n" + T(s.Lang, "nav.more")
	}
	return text, !choice && p == len(pages)-1, nil
}

// paginate packs items under head into as few screens as fit, leaving
// room on every page that continues for "Pilihan salah.", "98 Lanjut" and
// the navigation. A list that only shows fits on one screen as its END if
// it can.
func paginate(s *Session, sc screen, head string, items []string, choice bool) []string {
	all := strings.Join(append([]string{head}, items...), "\n")
	reserve := T(s.Lang, "invalid") + "\n"
	footer := nav(s, sc)
	if !choice && FitsScreen(all) || choice && FitsScreen(reserve+all+footer) {
		return []string{all}
	}
	footer = "\n" + T(s.Lang, "nav.more") + footer
	var pages []string
	cur, n := head, 0
	for _, it := range items {
		next := cur + "\n" + it
		if n > 0 && !FitsScreen(reserve+next+footer) {
			pages = append(pages, cur)
			cur, n = head+"\n"+it, 1
			continue
		}
		cur, n = next, n+1
	}
	return append(pages, cur)
}

func (e *Engine) end(s *Session, id ScreenID, text string) Result {
	s.Screen = scrEnded
	s.Vars, s.Next = nil, ""
	return Result{Reply: Reply{Text: text, End: true}, Screen: id, Outcome: OutcomeEnd}
}

// fail logs the detail and shows the member the polite internal-error
// screen; the member never sees err.
func (e *Engine) fail(s *Session, err error) Result {
	outcome := OutcomeError
	if errors.Is(err, context.Canceled) {
		outcome = OutcomeCancelled
		e.log.Info("ussd hop cancelled before its answer", "provider", s.Provider, "msisdn", members.MaskMSISDN(s.MSISDN), "screen", s.Screen)
	} else {
		e.log.Error("ussd hop failed", "provider", s.Provider, "msisdn", members.MaskMSISDN(s.MSISDN), "screen", s.Screen, "err", err)
	}
	s.Screen = scrEnded
	s.Vars, s.Next = nil, ""
	return Result{Reply: Reply{Text: T(s.Lang, "error.internal"), End: true}, Screen: s.Screen, Outcome: outcome}
}

// Failure is the reply for a hop that could not be run at all (a panic, a
// deadline, a busy session), in the session's language when known.
func Failure(lang string) Reply {
	return Reply{Text: T(lang, "error.internal"), End: true}
}

// Expired is the reply for a hop of a session lumbung no longer knows.
func Expired(lang string) Reply {
	return Reply{Text: T(lang, "error.expired"), End: true}
}

// identify finds who is calling and picks the first screen.
func (e *Engine) identify(ctx context.Context, s *Session) (ScreenID, error) {
	coops, err := e.dir.CooperativesForCode(ctx, s.ServiceCode)
	if err != nil {
		return "", err
	}
	if len(coops) == 0 {
		return scrUnknownCode, nil
	}
	ids, err := e.dir.Identify(ctx, s.ServiceCode, s.MSISDN)
	if err != nil {
		return "", err
	}
	if len(ids) == 0 {
		names := make([]string, len(coops))
		for i, c := range coops {
			names[i] = c.Name
		}
		s.Candidates = []Candidate{{Coop: members.Cooperative{Name: strings.Join(names, " / ")}}}
		return scrUnknownPhone, nil
	}
	s.Candidates = make([]Candidate, len(ids))
	if sameLanguage(ids) { // a choice screen in the language they all chose
		s.Lang = ids[0].Language
	}
	for i, id := range ids {
		s.Candidates[i] = Candidate{Coop: id.Cooperative, Holder: id.Holder, Name: id.Name, Role: id.Role, Language: id.Language, HasPIN: id.HasPIN, PINLocked: id.PINLocked}
	}
	return e.narrow(s), nil
}

// narrow picks the next choice screen while more than one identity is left,
// or takes the only one.
func (e *Engine) narrow(s *Session) ScreenID {
	if len(s.Candidates) == 1 {
		c := s.Candidates[0]
		s.Candidates = nil
		s.Who = &c
		s.Lang = c.Language
		return home(s)
	}
	if len(distinctCoops(s.Candidates)) > 1 {
		return scrChooseCoop
	}
	var memberCount, staffCount int
	for _, c := range s.Candidates {
		if c.Holder.Kind == members.KindStaff {
			staffCount++
		} else {
			memberCount++
		}
	}
	if memberCount > 0 && staffCount > 0 {
		return scrChooseRole
	}
	return scrChooseMember
}

func distinctCoops(cs []Candidate) []members.Cooperative {
	var out []members.Cooperative
	seen := map[int64]bool{}
	for _, c := range cs {
		if !seen[c.Coop.ID] {
			seen[c.Coop.ID] = true
			out = append(out, c.Coop)
		}
	}
	return out
}

// home is the main menu of the chosen identity.
func home(s *Session) ScreenID {
	if s.Who == nil {
		return scrEnded
	}
	if !s.Who.HasPIN || s.Who.PINLocked {
		return scrActivate
	}
	if s.Who.Holder.Kind == members.KindStaff {
		return scrStaffMain
	}
	return scrMain
}

func sameLanguage(ids []members.Identity) bool {
	for _, id := range ids[1:] {
		if id.Language != ids[0].Language {
			return false
		}
	}
	return ids[0].Language != ""
}
