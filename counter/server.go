// Package counter is the staff counter pages (CONTRACT §5.1): server-rendered
// HTML for tellers and managers at the cooperative's office, on an old PC
// or a cheap phone's browser, over the same service layer as USSD, SMS and
// the admin API. Every page works without JavaScript, weighs under 50 KB
// with its stylesheet and prints cleanly; every form posts with a CSRF
// token; every money form goes form → confirm page (with its own
// idempotency key) → post → 303 to a receipt.
package counter

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

//go:embed templates/*.html static/*
var assets embed.FS

// IdleTimeout ends a session after this long without a request.
const IdleTimeout = 30 * time.Minute

// MaxPage is the most any page may weigh with its stylesheet (the tests
// hold every page to it).
const MaxPage = 50 << 10

// Server is the counter pages over the stores and the service layer.
type Server struct {
	DB      *ledger.DB
	Dir     *members.Directory
	Books   *ledger.Ledger
	Service *service.Service
	// Phone dials this lumbung's own USSD engine for the training phone
	// (NewTrainingPhone); nil turns /counter/phone off.
	Phone PhoneFunc
	// Demo (LUMBUNG_DEMO) lets /counter/phone dial the demo cooperative's
	// phones without a login.
	Demo     bool
	DemoCoop string // the demo cooperative's code
	// Secure marks the cookies Secure (LUMBUNG_PUBLIC_URL is https).
	Secure bool
	Log    *slog.Logger
	Now    func() time.Time

	pages map[string]*template.Template
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Register mounts the pages on e under /counter.
func (s *Server) Register(e *echo.Echo) error {
	if err := s.parse(); err != nil {
		return err
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	g := e.Group("/counter", s.headers, s.limitBody, s.session)
	static, _ := fs.Sub(assets, "static")
	g.GET("/static/*", echo.WrapHandler(http.StripPrefix("/counter/static/", staticFiles(static))))

	g.GET("/login", s.loginForm)
	g.POST("/login", s.login)
	g.POST("/logout", s.logout)
	g.GET("/phone", s.phoneForm)
	g.POST("/phone", s.phoneHop)

	in := g.Group("", s.mustLogin)
	in.GET("/password", s.passwordForm)
	in.POST("/password", s.changePassword)
	in.GET("", s.home)
	in.GET("/", s.home)
	in.POST("/language", s.setLanguage)
	in.GET("/members", s.findMembers)
	in.GET("/members/:no", s.member)
	in.GET("/members/:no/deposit", s.depositForm)
	in.POST("/members/:no/deposit", s.deposit)
	in.GET("/loans/:loan/repay", s.repayForm)
	in.POST("/loans/:loan/repay", s.repay)
	in.GET("/codes", s.codesForm)
	in.POST("/codes", s.codes)
	in.POST("/members/:no/activation-code", s.activationCode)
	in.GET("/members/:no/activation-code", s.activationShown)
	in.GET("/cash", s.cash)
	in.GET("/receipts/:id", s.receipt)

	mg := in.Group("", s.mustManage)
	mg.GET("/journals/:id/reverse", s.reverseForm)
	mg.POST("/journals/:id/reverse", s.reverse)
	mg.GET("/staff", s.staffList)
	mg.GET("/report", s.report)
	mg.GET("/members/new", s.newMemberForm)
	mg.POST("/members/new", s.newMember)
	mg.GET("/members/:no/loans/new", s.newLoanForm)
	mg.POST("/members/:no/loans/new", s.newLoan)
	g.Any("/*", func(c echo.Context) error { return s.fail(c, http.StatusNotFound, "error.not_found") })
	return nil
}

// staticFiles serves the embedded stylesheet and script, cached a day.
func staticFiles(root fs.FS) http.Handler {
	fsrv := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		fsrv.ServeHTTP(w, r)
	})
}

var funcs = template.FuncMap{
	"t":     T,
	"rp":    ledger.FormatRupiah,
	"words": Words,
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Format("02/01/2006")
	},
	"datetime": func(t time.Time) string { return t.Format("02/01/2006 15:04") },
	"neg":      func(n int64) int64 { return -n },
	"add":      func(a, b int) int { return a + b },
	"addi":     func(a, b int64) int64 { return a + b },
	"kind":     kindName,
	"account":  accountName,
}

// parse loads every page template: the layout and the page's own file.
func (s *Server) parse() error {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return err
	}
	s.pages = map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("counter template %s: %w", n, err)
		}
		s.pages[base] = t
	}
	return nil
}

// view is what every page template gets.
type view struct {
	Lang    string
	Title   string
	Staff   *members.WebStaff
	CSRF    string
	Manager bool
	Error   string // a refusal, as a sentence
	Notice  string
	Print   bool // a receipt: the print button
	Data    any
}

// render writes page with status.
func (s *Server) render(c echo.Context, status int, page string, v view) error {
	t, ok := s.pages[page]
	if !ok {
		return fmt.Errorf("no counter page %q", page)
	}
	st := current(c)
	if st != nil {
		v.Staff = &st.staff
		v.CSRF = st.csrf
		v.Manager = st.staff.Role == members.RoleManager
		if v.Lang == "" {
			v.Lang = st.staff.Language
		}
	} else if v.CSRF == "" {
		v.CSRF = s.preCSRF(c)
	}
	if v.Lang == "" {
		v.Lang = "id"
	}
	if v.Title != "" && !strings.Contains(v.Title, " ") && catalogue[v.Title] != [2]string{} {
		v.Title = T(v.Lang, v.Title)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, "layout.html", v); err != nil {
		return fmt.Errorf("render %s: %w", page, err)
	}
	c.Response().Header().Set("Content-Type", "text/html; charset=utf-8")
	c.Response().Header().Set("Cache-Control", "no-store")
	c.Response().WriteHeader(status)
	_, err := c.Response().Write(b.Bytes())
	return err
}

// headers sets the security headers of every counter response: a CSP
// without inline script (scripts and styles only from here), no framing,
// no sniffing, no referrer leaving the site.
func (s *Server) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		if s.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		return next(c)
	}
}

// limitBody caps a form at 16 KB: nothing a counter form sends is longer.
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		r.Body = http.MaxBytesReader(c.Response(), r.Body, 16<<10)
		if r.Method == http.MethodPost {
			if err := r.ParseForm(); err != nil {
				return s.fail(c, http.StatusRequestEntityTooLarge, "error.too_large")
			}
		}
		return next(c)
	}
}

// fail answers an error page: 403, 404, 413 or 500 with a sentence.
func (s *Server) fail(c echo.Context, status int, key string) error {
	return s.render(c, status, "error", view{Title: "title.error", Data: key})
}

// problem answers an error of the service layer that is not a refusal on
// a form: another cooperative's or a missing object is 404, a role's
// refusal 403, anything else 500 (logged).
func (s *Server) problem(c echo.Context, err error) error {
	switch service.CodeOf(err) {
	case service.CodeNotFound:
		return s.fail(c, http.StatusNotFound, "error.not_found")
	case service.CodeForbidden:
		return s.fail(c, http.StatusForbidden, "error.forbidden")
	case service.CodeInvalidRequest:
		return s.fail(c, http.StatusNotFound, "error.not_found")
	}
	s.Log.Error("counter page failed", "path", c.Path(), "err", err)
	return s.fail(c, http.StatusInternalServerError, "error.internal")
}

// sentence is the refusal err as a person reads it, in lang.
func sentence(err error, lang string) string {
	code := service.CodeOf(err)
	msg := service.Message(code, lang)
	if max := service.MaxOf(err); max > 0 {
		msg += " " + T(lang, "refusal.max", ledger.FormatRupiah(max))
	}
	return msg
}

// refusal reports whether err is a refusal to show on the form (not an
// internal failure).
func refusal(err error) bool {
	return err != nil && service.CodeOf(err) != service.CodeInternal
}

// actor is the logged-in staff member as the service layer's actor.
func actor(c echo.Context) service.Actor {
	st := current(c)
	return service.StaffActor(st.staff.CooperativeID, st.staff.ID, st.staff.Role, service.ChannelCounter)
}

func lang(c echo.Context) string {
	if st := current(c); st != nil && st.staff.Language != "" {
		return st.staff.Language
	}
	return "id"
}

func (s *Server) mustManage(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if current(c).staff.Role != members.RoleManager {
			return s.fail(c, http.StatusForbidden, "error.forbidden")
		}
		return next(c)
	}
}

// idParam is a positive id in the path, or 0.
func idParam(c echo.Context, name string) int64 {
	n, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// location is the cooperative's time zone (WITA if unknown).
func (s *Server) location(ctx context.Context, coopID int64) *time.Location {
	loc, err := s.Books.Location(ctx, coopID)
	if err != nil || loc == nil {
		return time.FixedZone("WITA", 8*3600)
	}
	return loc
}

var errNoPhone = errors.New("training phone not wired")
