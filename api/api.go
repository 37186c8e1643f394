// Package api is the admin JSON API under /api/v1 (CONTRACT §5.2): for the
// operator's scripts and a cooperative's integrations (an accounting
// package, a bank-transfer matcher, a province dashboard). It is a
// transport over the service layer, like ussd and sms: it authenticates a
// token, decodes strict JSON, keeps idempotent answers, and writes results
// and refusals; the rules live in service, the money in ledger.
package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

// MaxBody is the largest request body the API reads (413 too_large beyond).
const MaxBody = 64 << 10

// Tokens authenticates bearer tokens (members.Directory).
type Tokens interface {
	Authenticate(ctx context.Context, token string) (members.Token, error)
}

// Server answers /api/v1.
type Server struct {
	Service  *service.Service
	Tokens   Tokens
	Requests Requests // the idempotency store
	Log      *slog.Logger
	Now      func() time.Time
	// RatePerSecond and Burst bound each token's requests on this
	// instance (429 rate_limited beyond); 0 takes the defaults.
	RatePerSecond float64
	Burst         int

	metrics  *metrics
	limiters sync.Map // token id → *rate.Limiter
}

type metrics struct {
	requests *prometheus.CounterVec
	seconds  *prometheus.HistogramVec
}

// Register mounts the API on g (the /api/v1 group) and its metrics on reg.
func (s *Server) Register(g *echo.Group, reg prometheus.Registerer) {
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.RatePerSecond == 0 {
		s.RatePerSecond = 20
	}
	if s.Burst == 0 {
		s.Burst = 40
	}
	s.metrics = &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lumbung_api_requests_total",
			Help: "Admin API requests answered, by route template, method and HTTP status.",
		}, []string{"route", "method", "status"}),
		seconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lumbung_api_request_duration_seconds",
			Help:    "Time to answer an admin API request, by route template.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
	}
	reg.MustRegister(s.metrics.requests, s.metrics.seconds)

	g.Use(s.observe)
	g.GET("/openapi.json", s.openAPI)
	auth := g.Group("", s.authenticate)
	for _, r := range s.routes() {
		h := r.handle
		if r.method == http.MethodPost {
			h = s.idempotent(h)
		}
		auth.Add(r.method, r.path, h)
	}
	g.Any("/*", func(c echo.Context) error {
		return writeError(c, &service.Error{Code: service.CodeNotFound, Detail: "no such endpoint"})
	})
}

// route is one endpoint of CONTRACT §5.2.
type route struct {
	method, path string
	handle       echo.HandlerFunc
}

func (s *Server) routes() []route {
	return []route{
		{http.MethodGet, "/members", s.findMembers},
		{http.MethodPost, "/members", s.registerMember},
		{http.MethodGet, "/members/:no", s.member},
		{http.MethodGet, "/members/:no/statement", s.statement},
		{http.MethodPost, "/deposits", s.deposit},
		{http.MethodPost, "/repayments", s.repayment},
		{http.MethodGet, "/loans/:loan_no", s.loan},
		{http.MethodPost, "/loans", s.disburse},
		{http.MethodPost, "/journals/:id/reversal", s.reverse},
		{http.MethodGet, "/journals/:id", s.journal},
		{http.MethodGet, "/reports/day", s.dayReport},
	}
}

// Routes lists the method and path template (echo's ":name" for a path
// parameter, relative to /api/v1) of every endpoint the server registers,
// openapi.json included.
func (s *Server) Routes() [][2]string {
	out := [][2]string{{http.MethodGet, "/openapi.json"}}
	for _, r := range s.routes() {
		out = append(out, [2]string{r.method, r.path})
	}
	return out
}

// observe counts every answer by route template and status.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil { // handlers write their own answers; this is a safety net
			s.Log.Error("api handler returned an error", "route", c.Path(), "err", err)
			_ = writeError(c, err)
		}
		route := strings.TrimPrefix(c.Path(), "/api/v1")
		if route == "/*" {
			route = "unknown"
		}
		s.metrics.requests.WithLabelValues(route, c.Request().Method, strconv.Itoa(c.Response().Status)).Inc()
		s.metrics.seconds.WithLabelValues(route).Observe(time.Since(start).Seconds())
		return nil
	}
}

type tokenKey struct{}

// authenticate takes the bearer token: 401 without a good one, 403 for a
// read-only token on a POST, 429 beyond the token's rate.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		raw, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || strings.TrimSpace(raw) == "" {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="lumbung"`)
			return writeError(c, &service.Error{Code: service.CodeUnauthenticated, Detail: "no bearer token"})
		}
		tok, err := s.Tokens.Authenticate(c.Request().Context(), strings.TrimSpace(raw))
		if errors.Is(err, members.ErrBadToken) {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="lumbung", error="invalid_token"`)
			return writeError(c, &service.Error{Code: service.CodeUnauthenticated, Detail: "unknown or revoked token"})
		}
		if err != nil {
			return writeError(c, err)
		}
		if tok.ReadOnly && c.Request().Method != http.MethodGet {
			return writeError(c, &service.Error{Code: service.CodeForbidden, Detail: "read-only token"})
		}
		if !s.limiter(tok.ID).Allow() {
			c.Response().Header().Set("Retry-After", "1")
			return writeError(c, &service.Error{Code: service.CodeRateLimited, Detail: "token over its rate"})
		}
		c.Set("token", tok)
		return next(c)
	}
}

func (s *Server) limiter(id int64) *rate.Limiter {
	if l, ok := s.limiters.Load(id); ok {
		return l.(*rate.Limiter)
	}
	l, _ := s.limiters.LoadOrStore(id, rate.NewLimiter(rate.Limit(s.RatePerSecond), s.Burst))
	return l.(*rate.Limiter)
}

// actor is the operator acting through the request's token.
func actor(c echo.Context) service.Actor {
	tok, _ := c.Get("token").(members.Token)
	return service.OperatorActor(tok.CooperativeID, tok.ID, service.ChannelAPI)
}

// errorBody is the one error shape: {"error":{"code","message"}}.
type errorBody struct {
	Error struct {
		Code    service.Code `json:"code"`
		Message string       `json:"message"`
	} `json:"error"`
}

// WriteError answers err in the API's error shape: for the server's own
// error handler, when something outside the API's handlers (a panic
// caught further out) fails a request under /api/.
func WriteError(c echo.Context, err error) error { return writeError(c, err) }

// writeError answers err with its code's status and a message that names
// the field at fault; never internal details (those go to the log).
func writeError(c echo.Context, err error) error {
	code := service.CodeOf(err)
	var b errorBody
	b.Error.Code = code
	b.Error.Message = service.Message(code, "en")
	var se *service.Error
	if errors.As(err, &se) {
		switch {
		case se.Field != "" && code == service.CodeInvalidRequest:
			b.Error.Message = se.Field + ": " + se.Detail
			if se.Detail == "" && se.Err != nil {
				b.Error.Message = se.Field + ": " + se.Err.Error()
			}
		case code == service.CodeInvalidRequest && se.Detail != "":
			b.Error.Message = se.Detail
		}
	}
	if max := service.MaxOf(err); max > 0 {
		b.Error.Message += fmt.Sprintf(" At most %d.", max)
	}
	status := service.Status(code)
	if code == service.CodeInternal {
		slog.Default().Error("api request failed", "route", c.Path(), "err", err)
	}
	return c.JSON(status, b)
}

// decode reads the request body strictly into v (a pointer to a struct
// with json tags): unknown fields are refused, all of them named; a wrong
// type names the field; more than MaxBody is too_large.
func decode(c echo.Context, v any) error {
	r := c.Request()
	if ct := r.Header.Get(echo.HeaderContentType); ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return &service.Error{Code: service.CodeInvalidRequest, Detail: "the body must be application/json"}
	}
	body := http.MaxBytesReader(c.Response(), r.Body, MaxBody)
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(body)
	if err := dec.Decode(&raw); err != nil {
		return bodyError(err)
	}
	if dec.More() {
		return &service.Error{Code: service.CodeInvalidRequest, Detail: "the body holds more than one JSON value"}
	}
	known := jsonFields(v)
	var unknown []string
	for k := range raw {
		if !known[k] {
			unknown = append(unknown, strconv.Quote(k))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return &service.Error{Code: service.CodeInvalidRequest, Detail: "unknown field(s) " + strings.Join(unknown, ", ")}
	}
	for k, m := range raw {
		f := fieldByTag(v, k)
		if err := json.Unmarshal(m, f); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return &service.Error{Code: service.CodeInvalidRequest, Field: k, Detail: "must be " + jsonType(te.Type)}
			}
			return &service.Error{Code: service.CodeInvalidRequest, Field: k, Detail: "is not valid"}
		}
	}
	return nil
}

func bodyError(err error) error {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return &service.Error{Code: service.CodeTooLarge, Detail: fmt.Sprintf("the body is over %d bytes", MaxBody)}
	}
	return &service.Error{Code: service.CodeInvalidRequest, Detail: "the body is not a JSON object"}
}

func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "" {
		name = f.Name
	}
	return name
}

func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v).Elem()
	out := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		if n := jsonName(t.Field(i)); n != "-" {
			out[n] = true
		}
	}
	return out
}

func fieldByTag(v any, name string) any {
	rv := reflect.ValueOf(v).Elem()
	t := rv.Type()
	for i := range t.NumField() {
		if jsonName(t.Field(i)) == name {
			return rv.Field(i).Addr().Interface()
		}
	}
	return nil
}

func jsonType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "of another type"
}
