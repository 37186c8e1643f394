package ussd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
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
	// Limiter and RateLimit cap hops per phone per minute
	// (LUMBUNG_USSD_RATE_LIMIT; 0 or a nil Limiter turns it off).
	Limiter   RateLimiter
	RateLimit int
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
	if err := h.Sessions.Delete(r.Context(), "africastalking:"+id); err != nil {
		h.Log.Warn("drop ended ussd session", "provider", "africastalking", "err", err)
	}
	if status == "Failed" {
		h.Log.Warn("africa's talking reports a failed session", "duration_ms", r.PostForm.Get("durationInMillis"))
	}
	return c.NoContent(http.StatusOK)
}

// Outcomes the handler adds to the engine's.
const (
	outcomeDuplicate  = "duplicate"
	outcomeExpired    = "expired"
	outcomeBusy       = "busy"
	outcomeBadRequest = "bad_request"
	outcomeLimited    = "rate_limited"
)

func (h *Handler) hop(a Adapter) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req, err := a.Parse(c.Request())
		if err != nil {
			var br *BadRequest
			reason := "bad request"
			if errors.As(err, &br) {
				reason = br.Reason
			}
			h.Metrics.Hops.WithLabelValues(a.Name(), "", outcomeBadRequest).Inc()
			return c.String(http.StatusBadRequest, reason)
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), h.HopDeadline)
		defer cancel()
		var reply menus.Reply
		var screen menus.ScreenID
		var outcome string
		if h.limited(ctx, req) {
			reply, outcome = menus.Reply{Text: menus.T("id", "error.rate_limited"), End: true}, outcomeLimited
		} else {
			reply, screen, outcome = h.run(ctx, req)
		}
		if err := a.Write(c.Response(), Reply{Text: reply.Text, End: reply.End}); err != nil {
			h.Log.Warn("write ussd reply", "provider", a.Name(), "err", err)
		}
		h.Metrics.Hops.WithLabelValues(a.Name(), string(screen), outcome).Inc()
		h.Metrics.HopSeconds.WithLabelValues(a.Name()).Observe(time.Since(start).Seconds())
		return nil
	}
}

// limited reports whether the caller has used up this minute's hops. A
// limiter that fails lets the hop through: a flaky Redis must not lock
// members out.
func (h *Handler) limited(ctx context.Context, req Request) bool {
	if h.Limiter == nil || h.RateLimit <= 0 {
		return false
	}
	ok, err := h.Limiter.Allow(ctx, req.MSISDN, h.RateLimit)
	if err != nil {
		h.Log.Warn("ussd rate limiter unavailable", "err", err)
		return false
	}
	if !ok {
		h.Log.Warn("ussd rate limit reached", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN))
	}
	return !ok
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
		if err := h.Sessions.Delete(ctx, key); err != nil {
			h.Log.Warn("drop ended ussd session", "provider", req.Provider, "err", err)
		}
		return menus.Reply{End: true}, "", string(menus.OutcomeEnd)
	}
	err := h.Sessions.Update(ctx, key, IdleTTL, func(old []byte) ([]byte, error) {
		var s menus.Session
		if old != nil {
			if err := json.Unmarshal(old, &s); err != nil {
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
		case old != nil && s.Last != nil && req.HopIndex >= 0 && req.HopIndex <= s.Hop:
			// A telco retry (or a stale hop): the same reply, no effect.
			reply, screen, outcome = *s.Last, s.Screen, outcomeDuplicate
			return old, nil
		case old == nil && !begin:
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
		// An ended session is kept until its TTL so a retried last hop
		// still gets the identical reply.
		return json.Marshal(s)
	})
	switch {
	case errors.Is(err, ErrSessionBusy):
		h.Log.Warn("ussd session busy", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN))
		return menus.Reply{Text: menus.T(lang, "error.busy"), End: true}, "", outcomeBusy
	case err != nil:
		h.Log.Error("ussd hop failed", "provider", req.Provider, "msisdn", members.MaskMSISDN(req.MSISDN), "err", err)
		return menus.Failure(lang), "", string(menus.OutcomeError)
	}
	return reply, screen, outcome
}
