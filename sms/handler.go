package sms

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
)

// Handler serves the gateways' callbacks: messages from phones and delivery
// reports.
type Handler struct {
	Inbox   *Inbox
	DB      *ledger.DB
	Log     *slog.Logger
	Metrics *Metrics
	// AnswerDeadline bounds answering a message inside the callback; what
	// does not finish is answered by Inbox.Resume.
	AnswerDeadline time.Duration
}

// reportPath is where each gateway sends delivery reports (CONTRACT §2).
var reportPath = map[string]string{"kannel": "dlr", "africastalking": "dlr", "twilio": "status"}

// inboundMethods: Kannel's sms-service may use get-url or post-url.
var inboundMethods = map[string][]string{"kannel": {http.MethodGet, http.MethodPost}}

// Register adds each adapter's routes to g (mounted at /sms): messages
// from phones and delivery reports. Pass only the gateway lumbung sends
// through: another gateway's routes would answer callbacks nobody expects
// (and Twilio's signature means nothing if Kannel's path is open too).
func (h *Handler) Register(g *echo.Group, adapters ...Adapter) {
	for _, a := range adapters {
		h.RegisterInbound(g, a)
		name := a.Name()
		rp := reportPath[name]
		if rp == "" {
			rp = "dlr"
		}
		rmethod := http.MethodPost
		if name == "kannel" {
			rmethod = http.MethodGet
		}
		g.Add(rmethod, "/"+name+"/"+rp, h.report(a))
	}
}

// RegisterInbound adds only each adapter's inbound route: for the log
// provider, which sends nothing and so has no delivery reports to receive.
func (h *Handler) RegisterInbound(g *echo.Group, adapters ...Adapter) {
	for _, a := range adapters {
		methods := inboundMethods[a.Name()]
		if methods == nil {
			methods = []string{http.MethodPost}
		}
		g.Match(methods, "/"+a.Name(), h.inbound(a))
	}
}

// inbound stores the message, answers it (within AnswerDeadline) and
// acknowledges. Only a failure to store makes the gateway retry (503): a
// stored message is never lost, and a retried one is not answered twice.
func (h *Handler) inbound(a Adapter) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		m, err := a.ParseInbound(r)
		if errors.Is(err, ErrBadSignature) {
			return echo.NewHTTPError(http.StatusForbidden, err.Error())
		}
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		m.Provider = a.Name()
		id, first, err := h.Inbox.Store(r.Context(), m)
		if err != nil {
			h.Log.Error("store inbound sms", "provider", m.Provider, "err", err)
			return echo.NewHTTPError(http.StatusServiceUnavailable, "cannot store the message now; please retry")
		}
		h.Log.Info("sms received", "provider", m.Provider, "id", id, "first", first, "from", maskSender(m.From))
		deadline := h.AnswerDeadline
		if deadline <= 0 {
			deadline = 10 * time.Second
		}
		ctx, cancel := context.WithTimeout(r.Context(), deadline)
		defer cancel()
		if err := h.Inbox.Process(ctx, id); err != nil {
			h.Log.Warn("answer sms later", "id", id, "err", err)
		}
		return a.Ack(c.Response())
	}
}

// report applies a delivery report. Reports for messages we do not know
// are acknowledged too: a gateway that retries them forever helps nobody.
func (h *Handler) report(a Adapter) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		rep, err := a.ParseReport(r)
		if errors.Is(err, ErrBadSignature) {
			return echo.NewHTTPError(http.StatusForbidden, err.Error())
		}
		if err != nil {
			return echo.NewHTTPError(http.StatusBadRequest, err.Error())
		}
		h.Metrics.report(a.Name(), rep.Status)
		moved, err := ApplyReport(r.Context(), h.DB, a.Name(), rep, time.Now())
		if err != nil {
			h.Log.Error("apply delivery report", "provider", a.Name(), "err", err)
			return echo.NewHTTPError(http.StatusServiceUnavailable, "cannot record the report now; please retry")
		}
		h.Log.Debug("delivery report", "provider", a.Name(), "message", rep.MessageID, "status", string(rep.Status), "moved", moved)
		return c.NoContent(http.StatusOK)
	}
}

// maskSender masks a sender for logs whether or not it is a phone number.
func maskSender(s string) string {
	if e164, err := members.NormalizeMSISDN(s); err == nil {
		return members.MaskMSISDN(e164)
	}
	return "(not a phone)"
}
