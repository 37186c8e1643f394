package ussd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
)

// IdleTTL is how long a session lives without a hop (CONTRACT §2.4).
const IdleTTL = 180 * time.Second

// Handler answers USSD hops from any provider: parse with the provider's
// adapter, run the hop against the session under the session's exclusive
// hold, reply in the provider's format. A retried hop gets the stored reply.
type Handler struct {
	Engine      *menus.Engine
	Sessions    SessionStore
	Metrics     *Metrics
	Log         *slog.Logger
	HopDeadline time.Duration
	// Budget is how long a hop waits on its backends (the session store,
	// the database) before it gives up and answers the polite END; 0, or
	// more than HopDeadline, means HopDeadline. A hop that has begun a
	// write (BeginWrite), or that waits for its session's other hop, waits
	// up to HopDeadline instead: a member is not told "gangguan" about a
	// posting that then goes through.
	Budget time.Duration
	// Detach runs each hop on a worker goroutine, so that the hop is
	// answered at its budget even when a backend call does not heed its
	// context (lib/pq waiting on a PostgreSQL server that went silent).
	// Without it the hop runs on the request's goroutine and its budget
	// cancels its context, which the in-process store, SQLite and go-redis
	// heed; that saves a goroutine hand-off per hop.
	Detach bool
	// Backends, when set, is asked before each hop whether a backend is
	// known to be down (the hop then gets the polite END at once instead
	// of waiting on it) and told of each hop that failed or gave up.
	Backends Backends
	// Limiter and RateLimit cap hops per phone per minute
	// (LUMBUNG_USSD_RATE_LIMIT; 0 or a nil Limiter turns it off).
	Limiter   RateLimiter
	RateLimit int
	// HistoryKey keys the MAC that binds a session to its inputs (see
	// place; NewHistoryKey derives it from LUMBUNG_SECRET). Instances
	// sharing a session store need the same key; nil draws a random one
	// for this handler alone.
	HistoryKey []byte

	workers hopWorkers
	keyOnce sync.Once
	key     []byte
	macs    sync.Pool // HMACs under key, for trail
}

// hopWorkers run hops on goroutines that stay for the next hop a while: a
// fresh goroutine would grow its stack anew, hop after hop, to the depth of
// the engine and the database driver (tens of microseconds on SQLite).
type hopWorkers struct {
	once  sync.Once
	tasks chan func() // unbuffered: a send succeeds when a worker is idle
}

// workerIdle is how long a hop worker waits for the next hop before it ends.
const workerIdle = 10 * time.Second

func (w *hopWorkers) run(f func()) {
	w.once.Do(func() { w.tasks = make(chan func()) })
	select {
	case w.tasks <- f:
	default:
		go w.work(f)
	}
}

func (w *hopWorkers) work(f func()) {
	f()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		select {
		case f := <-w.tasks:
			f()
			idle.Reset(workerIdle)
		case <-idle.C:
			return
		}
	}
}

// Backends watches what hops need: the database and the session store.
type Backends interface {
	// Down reports whether a backend is known to be down right now.
	Down() bool
	// Suspect says that a hop failed or gave up waiting: a backend may be
	// down, worth a look.
	Suspect()
}

// Register adds the routes of each adapter to g (the /ussd group):
// /ussd/<name>, and Africa's Talking's end-of-session events.
func (h *Handler) Register(g *echo.Group, adapters ...Adapter) {
	for _, a := range adapters {
		g.Match([]string{http.MethodGet, http.MethodPost}, "/"+a.Name(), h.hop(a))
		if a.Name() == (AfricasTalking{}).Name() {
			g.POST("/"+a.Name()+"/events", h.atEvents)
		}
	}
}

// atEvents takes Africa's Talking's end-of-session notification: the only
// sign that the member hung up or timed out. The session state is dropped
// and the status counted. The form's "input" holds the whole path,
// including any PIN: it is neither logged nor kept.
func (h *Handler) atEvents(c echo.Context) error {
	r := c.Request()
	r.Body = http.MaxBytesReader(nil, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		return c.String(http.StatusBadRequest, "request body is not a valid form")
	}
	id := r.PostForm.Get("sessionId")
	if id == "" {
		return c.String(http.StatusBadRequest, "missing sessionId")
	}
	status := r.PostForm.Get("status")
	switch status {
	case "Success", "Incomplete", "Failed":
	default:
		status = "other"
	}
	h.Metrics.Events.WithLabelValues("africastalking", status).Inc()
	h.endSession(r.Context(), "africastalking", "africastalking:"+id, r.PostForm.Get("phoneNumber"))
	if status == "Failed" {
		h.Log.Warn("africa's talking reports a failed session", "duration_ms", r.PostForm.Get("durationInMillis"))
	}
	return c.NoContent(http.StatusOK)
}

// endSession drops the state of a session the network says has ended, but
// only when the notice names the session's own phone: anyone who learns a
// session id could otherwise end a member's live session. A notice without
// the phone, or from another one, leaves the state to expire by itself.
func (h *Handler) endSession(ctx context.Context, provider, key, phone string) {
	old, err := h.Sessions.Get(ctx, key)
	if err != nil {
		h.Log.Warn("read ended ussd session", "provider", provider, "err", err)
		return
	}
	if old == nil {
		return // gone already
	}
	var s struct {
		MSISDN string `json:"msisdn"`
	}
	msisdn, nerr := members.NormalizeMSISDN(phone)
	if err := json.Unmarshal(old, &s); err != nil || nerr != nil || msisdn != s.MSISDN {
		h.Log.Warn("ussd session-end notice not from the session's phone: ignored", "provider", provider,
			"msisdn", members.MaskMSISDN(s.MSISDN), "from", members.MaskMSISDN(msisdn))
		return
	}
	if err := h.Sessions.Delete(ctx, key); err != nil {
		h.Log.Warn("drop ended ussd session", "provider", provider, "err", err)
	}
}

// Outcomes the handler adds to the engine's.
const (
	outcomeDuplicate   = "duplicate"
	outcomeExpired     = "expired"
	outcomeBusy        = "busy"
	outcomeBadRequest  = "bad_request"
	outcomeLimited     = "rate_limited"
	outcomeTimeout     = "timeout"       // gave up waiting on a backend
	outcomeUnavailable = "unavailable"   // a backend was known to be down
	outcomeHungUp      = "hung_up"       // the provider closed the request before the reply
	outcomeFull        = "sessions_full" // the in-process store is at its cap: a new session refused
	outcomeForeign     = "foreign"       // a hop that does not follow its session (number or input history)
)

func (h *Handler) hop(a Adapter) echo.HandlerFunc {
	hopSeconds := h.Metrics.HopSeconds.WithLabelValues(a.Name()) // resolved once, not on every hop
	return func(c echo.Context) error {
		start := time.Now()
		req, err := a.Parse(c.Request())
		if err == nil && !plainText(req) {
			err = &BadRequest{Reason: reasonNotText} // refused here: never stored, never retried into a failure
		}
		if err != nil {
			var br *BadRequest
			reason := "bad request"
			if errors.As(err, &br) {
				reason = br.Reason
			}
			h.Metrics.Hops.WithLabelValues(a.Name(), "", outcomeBadRequest).Inc()
			return c.String(http.StatusBadRequest, reason)
		}
		var ans hopAnswer
		if h.Backends != nil && h.Backends.Down() {
			ans = hopAnswer{menus.Failure("id"), "", outcomeUnavailable}
		} else {
			ans = h.answer(c.Request().Context(), req)
		}
		if c.Request().Context().Err() != nil {
			// The provider closed the request (the member hung up, the
			// gateway gave up): no one reads the reply, and it says
			// nothing about the backends. A retry gets the stored reply.
			h.Log.Info("ussd provider closed the request before the reply", "provider", a.Name(), "msisdn", members.MaskMSISDN(req.MSISDN))
			h.Metrics.Hops.WithLabelValues(a.Name(), "", outcomeHungUp).Inc() // no screen reached the member
			hopSeconds.Observe(time.Since(start).Seconds())
			return nil
		}
		if h.Backends != nil && (ans.outcome == outcomeTimeout || ans.outcome == string(menus.OutcomeError)) {
			h.Backends.Suspect()
		}
		if err := a.Write(c.Response(), Reply{Text: ans.reply.Text, End: ans.reply.End}); err != nil {
			h.Log.Warn("write ussd reply", "provider", a.Name(), "err", err)
		}
		h.Metrics.Hops.WithLabelValues(a.Name(), string(ans.screen), ans.outcome).Inc()
		hopSeconds.Observe(time.Since(start).Seconds())
		return nil
	}
}

// hopAnswer is what one hop answers.
type hopAnswer struct {
	reply   menus.Reply
	screen  menus.ScreenID
	outcome string
}

// answer runs the hop under the hop deadline and returns its answer, or the
// polite END once the budget is spent: the hop's context is then cancelled,
// so whatever heeds it stops. A detached hop is not waited for: a driver
// call stuck on a backend that does not answer ends when the connection does; the session hold it
// may keep lapses by itself, and a commit after the lapse stores nothing.
// A hop past its budget that is writing, or waiting for its session's other
// hop, gets until the hop deadline.
func (h *Handler) answer(ctx context.Context, req Request) hopAnswer {
	start := time.Now()
	budget := h.Budget
	if budget <= 0 || budget > h.HopDeadline {
		budget = h.HopDeadline
	}
	// One context for the hop: the deadline, and the cancel once the
	// handler answers without the work.
	work, cancel := context.WithTimeout(ctx, h.HopDeadline)
	defer cancel()
	g := &hopGate{}
	work = context.WithValue(work, hopGateKey{}, g)
	if !h.Detach {
		budgetSpent := time.AfterFunc(budget, func() {
			if g.giveUp() {
				cancel()
			}
		})
		reply, screen, outcome := h.run(work, req)
		budgetSpent.Stop()
		if g.gaveUpOnHop() {
			h.Log.Warn("ussd hop gave up waiting for its backends", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN),
				"waited_ms", time.Since(start).Milliseconds())
			return hopAnswer{menus.Failure("id"), "", outcomeTimeout}
		}
		return hopAnswer{reply, screen, outcome}
	}
	done := make(chan hopAnswer, 1)
	h.workers.run(func() {
		defer cancel()
		reply, screen, outcome := h.run(work, req)
		done <- hopAnswer{reply, screen, outcome}
	})
	timer := time.NewTimer(budget)
	defer timer.Stop()
	select {
	case a := <-done:
		return a
	case <-timer.C:
	}
	select {
	case a := <-done: // finished right at the budget
		return a
	default:
	}
	extended := !g.giveUp()
	if extended {
		select {
		case a := <-done:
			return a
		case <-work.Done(): // the deadline, the request's end, or the work's (its answer is then in done)
			// The work sees the same deadline: give it a moment to say so
			// itself (a busy session's own screen) before answering for it.
			grace := time.NewTimer(stuckGrace)
			defer grace.Stop()
			select {
			case a := <-done:
				return a
			case <-grace.C:
			}
		}
	}
	cancel()
	log := []any{"provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN), "waited_ms", time.Since(start).Milliseconds()}
	if extended {
		// Cancelled, the write rolls back unless its commit was already
		// on the way; a retry of the hop posts under the same key, once.
		h.Log.Error("ussd hop ran out of time while writing or waiting for its session", log...)
	} else {
		h.Log.Warn("ussd hop gave up waiting for its backends", log...)
	}
	return hopAnswer{menus.Failure("id"), "", outcomeTimeout}
}

// stuckGrace is how long past the hop deadline the handler waits for a hop
// to notice the deadline by itself.
const stuckGrace = 50 * time.Millisecond

// hopGate lets a hop's work and its handler agree on whether the handler
// may still give up on the hop once its budget is spent.
type hopGate struct {
	mu       sync.Mutex
	extended bool // the work began a write or waits for a busy session
	gaveUp   bool // the handler answered without the work
}

type hopGateKey struct{}

// giveUp reports whether the handler may answer without the work, and if so
// tells the work it did.
func (g *hopGate) giveUp() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.extended {
		return false
	}
	g.gaveUp = true
	return true
}

// gaveUpOnHop reports whether the handler gave up on the hop.
func (g *hopGate) gaveUpOnHop() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.gaveUp
}

// extend asks that the hop of ctx wait up to its deadline rather than its
// budget. It reports false if the handler already answered without the hop.
// Outside a hop it reports true and does nothing.
func extend(ctx context.Context) bool {
	g, ok := ctx.Value(hopGateKey{}).(*hopGate)
	if !ok {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gaveUp {
		return false
	}
	g.extended = true
	return true
}

// ErrHopAnswered is returned by BeginWrite when the handler has already
// answered the hop without waiting for it: the write must not start.
var ErrHopAnswered = errors.New("ussd hop already answered: the write was not started")

// BeginWrite tells the USSD handler serving ctx's hop that a write whose
// outcome the member must see (a posting) is about to start: the handler
// then waits for the hop up to its deadline instead of answering at its
// backend budget. It returns ErrHopAnswered if the handler has already
// answered. Outside a USSD hop it does nothing.
func BeginWrite(ctx context.Context) error {
	if !extend(ctx) {
		return ErrHopAnswered
	}
	return nil
}

// create answers a first hop in one round trip where the store can
// (SessionCreator): the first screen only reads, so it is computed before
// the store is asked, and stored only if the session is new. It reports
// false, nil when the hop must go through Update after all (the store cannot
// create, the hop types choices with the code, or the session exists: a
// retried first hop then gets its stored reply).
func (h *Handler) create(ctx context.Context, key string, req Request, limit Limit, apply func(old []byte) ([]byte, error)) (bool, error) {
	c, ok := h.Sessions.(SessionCreator)
	if !ok || req.Phase != PhaseBegin || len(req.Preset) > 0 {
		return false, nil // presets may enter a PIN: that hop writes
	}
	state, err := apply(nil)
	if err != nil || state == nil {
		return false, err
	}
	return c.Create(ctx, key, IdleTTL, limit, state)
}

// run answers one hop. It never panics and never returns an error: every
// failure becomes the polite END screen, and the detail goes to the log.
func (h *Handler) run(ctx context.Context, req Request) (reply menus.Reply, screen menus.ScreenID, outcome string) {
	lang := "id"
	defer func() {
		if p := recover(); p != nil {
			// The panic value could quote input; log its type and the stack only.
			h.Log.Error("ussd hop panicked", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN),
				"panic_type", fmt.Sprintf("%T", p), "stack", string(debug.Stack()))
			reply, screen, outcome = menus.Failure(lang), "", string(menus.OutcomeError)
		}
	}()
	key := req.Provider + ":" + req.SessionID
	if req.Phase == PhaseEnd {
		h.endSession(ctx, req.Provider, key, req.MSISDN)
		return menus.Reply{End: true}, "", string(menus.OutcomeEnd)
	}
	apply := func(old []byte) ([]byte, error) {
		var s menus.Session
		if old != nil {
			if err := menus.DecodeSession(old, &s); err != nil {
				return nil, fmt.Errorf("decode session: %w", err)
			}
			lang = s.Lang
		}
		begin := old == nil && (req.Phase == PhaseBegin || req.Phase == PhaseUnknown)
		switch {
		case old != nil && s.MSISDN != req.MSISDN:
			// A session id reused by another phone: never show one
			// member's session to another.
			return nil, fmt.Errorf("session of %s hopped from %s", members.MaskMSISDN(s.MSISDN), members.MaskMSISDN(req.MSISDN))
		case old != nil:
			switch h.place(&s, key, req) {
			case hopRepeat:
				// A telco retry: the same reply, no effect.
				reply, screen, outcome = *s.Last, s.Screen, outcomeDuplicate
				return old, nil
			case hopForeign:
				// Not this session's hop (a forged or stale one): it is told
				// the session is over and the session goes on untouched.
				h.Log.Warn("ussd hop does not follow its session", "provider", req.Provider,
					"msisdn", members.MaskMSISDN(req.MSISDN), "hop", req.HopIndex, "session_hop", s.Hop)
				reply, screen, outcome = menus.Expired(lang), "", outcomeForeign
				return old, nil
			}
		case !begin:
			reply, screen, outcome = menus.Expired(lang), "", outcomeExpired
			return nil, nil
		}
		hop := req.HopIndex
		if hop < 0 { // the provider numbers no hops (Freeflow): count them here
			hop = 0
			if old != nil {
				hop = s.Hop + 1
			}
		}
		var res menus.Result
		if begin {
			code := req.ServiceCode
			if req.Phase == PhaseUnknown { // Freeflow: the first input is the dialled code
				code, _ = members.NormalizeServiceCode(req.Input)
			}
			s = menus.Session{Provider: req.Provider, MSISDN: req.MSISDN, ServiceCode: code, Key: key}
			res = h.Engine.StartDialled(ctx, &s, req.Preset)
		} else {
			res = h.Engine.Input(ctx, &s, req.Input)
		}
		lang = s.Lang
		reply, screen, outcome = res.Reply, res.Screen, string(res.Outcome)
		s.Hop, s.Last = hop, &res.Reply
		if req.hasHistory {
			s.Trail = h.trail(key, req.history)
		}
		// An ended session is kept until its TTL so a retried last hop
		// still gets the identical reply.
		return menus.EncodeSession(&s)
	}
	var limit Limit
	if h.Limiter != nil && h.RateLimit > 0 {
		// The count of the phone's hops rides along with taking the hold.
		limit = Limit{Limiter: h.Limiter, Phone: req.MSISDN, PerMinute: h.RateLimit, Unavailable: func(err error) {
			h.Log.Warn("ussd rate limiter unavailable", "err", err)
		}}
	}
	created, err := h.create(ctx, key, req, limit, apply)
	switch {
	case created || err != nil:
	case limit.off():
		err = h.Sessions.Update(ctx, key, IdleTTL, apply)
	default:
		err = h.Sessions.UpdateLimited(ctx, key, IdleTTL, limit, apply)
	}
	switch {
	case errors.Is(err, ErrRateLimited):
		h.Log.Warn("ussd rate limit reached", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN))
		return menus.Reply{Text: menus.T("id", "error.rate_limited"), End: true}, "", outcomeLimited
	case errors.Is(err, ErrSessionsFull):
		h.Log.Warn("ussd session store full: new session refused", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN))
		return menus.Reply{Text: menus.T(lang, "error.rate_limited"), End: true}, "", outcomeFull
	case errors.Is(err, ErrSessionBusy):
		h.Log.Warn("ussd session busy", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN))
		return menus.Reply{Text: menus.T(lang, "error.busy"), End: true}, "", outcomeBusy
	case errors.Is(err, context.Canceled):
		h.Log.Info("ussd hop cancelled before its answer", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN))
		return menus.Failure(lang), "", string(menus.OutcomeCancelled)
	case err != nil:
		h.Log.Error("ussd hop failed", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN), "err", err)
		return menus.Failure(lang), "", string(menus.OutcomeError)
	}
	return reply, screen, outcome
}
