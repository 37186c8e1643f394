package counter

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/members"
)

// Sessions live in the database (counter_sessions), so any instance serves
// any request. The cookie carries 32 random bytes; the table keeps their
// SHA-256, the staff member, the session's CSRF token and when it was last
// used. 30 minutes idle ends it.

const (
	sessionCookie = "lumbung_counter"
	preCSRFCookie = "lumbung_counter_csrf" // before login: a double-submit token
	touchEvery    = 30 * time.Second       // last_seen is written at most this often
)

type sessionState struct {
	idHash   string
	staff    members.WebStaff
	csrf     string
	lastSeen time.Time
}

type ctxKey struct{}

func current(c echo.Context) *sessionState {
	st, _ := c.Get("counter.session").(*sessionState)
	return st
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// validToken: 64 hex characters, what randomHex(32) makes.
func validToken(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func (s *Server) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/counter", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.Secure, MaxAge: maxAge}
}

// session loads the logged-in staff member, if any, and refuses a POST
// whose CSRF token is not the session's (or, before login, the
// double-submit cookie's) with 403.
func (s *Server) session(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if strings.HasPrefix(c.Path(), "/counter/static/") {
			return next(c)
		}
		st, err := s.loadSession(c)
		if err != nil {
			s.Log.Error("counter session", "err", err)
			return s.fail(c, http.StatusInternalServerError, "error.internal")
		}
		if st != nil {
			c.Set("counter.session", st)
		}
		if c.Request().Method == http.MethodPost {
			got := c.Request().PostForm.Get("csrf")
			want := ""
			if st != nil {
				want = st.csrf
			} else if ck, err := c.Cookie(preCSRFCookie); err == nil && validToken(ck.Value) {
				want = ck.Value
			}
			if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
				if st == nil && c.Path() != "/counter/login" && c.Path() != "/counter/phone" {
					return c.Redirect(http.StatusSeeOther, "/counter/login") // the session ran out mid-form
				}
				return s.fail(c, http.StatusForbidden, "error.csrf")
			}
		}
		return next(c)
	}
}

// mustLogin sends a visitor without a session to the login page, and a
// staff member with a temporary password to the password page.
func (s *Server) mustLogin(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		st := current(c)
		if st == nil {
			return c.Redirect(http.StatusSeeOther, "/counter/login")
		}
		if st.staff.MustChangePassword && c.Path() != "/counter/password" {
			return c.Redirect(http.StatusSeeOther, "/counter/password")
		}
		return next(c)
	}
}

// preCSRF is the double-submit token of a visitor without a session,
// set as a cookie the first time.
func (s *Server) preCSRF(c echo.Context) string {
	if v, ok := c.Get("counter.precsrf").(string); ok {
		return v
	}
	if ck, err := c.Cookie(preCSRFCookie); err == nil && validToken(ck.Value) {
		return ck.Value
	}
	v := randomHex(32)
	c.SetCookie(s.cookie(preCSRFCookie, v, 0))
	c.Set("counter.precsrf", v)
	return v
}

func (s *Server) loadSession(c echo.Context) (*sessionState, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil || !validToken(ck.Value) {
		return nil, nil
	}
	ctx := c.Request().Context()
	idHash := hashID(ck.Value)
	var row struct {
		Coop     int64     `db:"cooperative_id"`
		Staff    int64     `db:"staff_id"`
		CSRF     string    `db:"csrf"`
		LastSeen time.Time `db:"last_seen"`
	}
	// The cookie does not name the cooperative: on a cluster distributed by
	// cooperative_id this one look-up asks every shard (ledger/CITUS.md);
	// the statements after it name the session's cooperative.
	err = s.DB.GetContext(ctx, &row, s.DB.Rebind(`SELECT cooperative_id, staff_id, csrf, last_seen FROM counter_sessions WHERE id_hash = ?`), idHash)
	if errors.Is(err, sql.ErrNoRows) {
		c.SetCookie(s.cookie(sessionCookie, "", -1))
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read counter session: %w", err)
	}
	now := s.now().UTC()
	if now.Sub(row.LastSeen) > IdleTimeout {
		s.endSession(ctx, row.Coop, idHash)
		c.SetCookie(s.cookie(sessionCookie, "", -1))
		return nil, nil
	}
	staff, err := s.Dir.WebStaffByID(ctx, row.Coop, row.Staff)
	if errors.Is(err, members.ErrNotFound) { // no longer active
		s.endSession(ctx, row.Coop, idHash)
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(row.LastSeen) > touchEvery {
		if _, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE counter_sessions SET last_seen = ? WHERE id_hash = ? AND cooperative_id = ?`), now, idHash, row.Coop); err != nil {
			return nil, fmt.Errorf("touch counter session: %w", err)
		}
	}
	return &sessionState{idHash: idHash, staff: staff, csrf: row.CSRF, lastSeen: row.LastSeen}, nil
}

// startSession stores a new session for staff and sets its cookie. The
// sessions that ran out are swept on the way.
func (s *Server) startSession(c echo.Context, staff members.WebStaff) error {
	ctx := c.Request().Context()
	now := s.now().UTC()
	if _, err := s.DB.ExecContext(ctx, s.DB.Rebind(`DELETE FROM counter_sessions WHERE last_seen < ?`), now.Add(-IdleTimeout)); err != nil {
		return fmt.Errorf("sweep counter sessions: %w", err)
	}
	id := randomHex(32)
	if _, err := s.DB.ExecContext(ctx, s.DB.Rebind(`INSERT INTO counter_sessions (id_hash, cooperative_id, staff_id, csrf, created_at, last_seen) VALUES (?, ?, ?, ?, ?, ?)`),
		hashID(id), staff.CooperativeID, staff.ID, randomHex(32), now, now); err != nil {
		return fmt.Errorf("store counter session: %w", err)
	}
	c.SetCookie(s.cookie(sessionCookie, id, 0))
	return nil
}

func (s *Server) endSession(ctx context.Context, coopID int64, idHash string) {
	if _, err := s.DB.ExecContext(ctx, s.DB.Rebind(`DELETE FROM counter_sessions WHERE id_hash = ? AND cooperative_id = ?`), idHash, coopID); err != nil {
		s.Log.Warn("end counter session", "err", err)
	}
}

// setFlash keeps a one-time message for the session's next page.
func (s *Server) setFlash(c echo.Context, msg string) error {
	st := current(c)
	_, err := s.DB.ExecContext(c.Request().Context(), s.DB.Rebind(`UPDATE counter_sessions SET flash = ? WHERE id_hash = ? AND cooperative_id = ?`), msg, st.idHash, st.staff.CooperativeID)
	return err
}

// takeFlash reads and clears the session's one-time message.
func (s *Server) takeFlash(c echo.Context) (string, error) {
	st := current(c)
	ctx := c.Request().Context()
	var msg string
	if err := s.DB.GetContext(ctx, &msg, s.DB.Rebind(`SELECT flash FROM counter_sessions WHERE id_hash = ? AND cooperative_id = ?`), st.idHash, st.staff.CooperativeID); err != nil {
		return "", err
	}
	if msg == "" {
		return "", nil
	}
	res, err := s.DB.ExecContext(ctx, s.DB.Rebind(`UPDATE counter_sessions SET flash = '' WHERE id_hash = ? AND cooperative_id = ? AND flash = ?`), st.idHash, st.staff.CooperativeID, msg)
	if err != nil {
		return "", err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return "", nil // another request showed it
	}
	return msg, nil
}

// --- login, logout, password ---

type loginData struct{ Phone string }

func (s *Server) loginForm(c echo.Context) error {
	if current(c) != nil {
		return c.Redirect(http.StatusSeeOther, "/counter/")
	}
	return s.render(c, http.StatusOK, "login", view{Title: "title.login", Data: loginData{}})
}

func (s *Server) login(c echo.Context) error {
	f := c.Request().PostForm
	phone := strings.TrimSpace(f.Get("phone"))
	staff, err := s.Dir.WebLogin(c.Request().Context(), phone, f.Get("password"))
	if errors.Is(err, members.ErrWrongPassword) {
		s.Log.Info("counter login refused", "msisdn", members.MaskMSISDN(phone))
		return s.render(c, http.StatusOK, "login", view{Title: "title.login", Error: T("id", "login.wrong"), Data: loginData{Phone: phone}})
	}
	if err != nil {
		s.Log.Error("counter login", "err", err)
		return s.fail(c, http.StatusInternalServerError, "error.internal")
	}
	if st := current(c); st != nil {
		s.endSession(c.Request().Context(), st.staff.CooperativeID, st.idHash)
	}
	if err := s.startSession(c, staff); err != nil {
		s.Log.Error("counter login", "err", err)
		return s.fail(c, http.StatusInternalServerError, "error.internal")
	}
	s.Log.Info("counter login", "staff_id", staff.ID, "cooperative_id", staff.CooperativeID)
	if staff.MustChangePassword {
		return c.Redirect(http.StatusSeeOther, "/counter/password")
	}
	return c.Redirect(http.StatusSeeOther, "/counter/")
}

func (s *Server) logout(c echo.Context) error {
	if st := current(c); st != nil {
		s.endSession(c.Request().Context(), st.staff.CooperativeID, st.idHash)
	}
	c.SetCookie(s.cookie(sessionCookie, "", -1))
	return c.Redirect(http.StatusSeeOther, "/counter/login")
}

func (s *Server) passwordForm(c echo.Context) error {
	return s.render(c, http.StatusOK, "password", view{Title: "title.password"})
}

func (s *Server) changePassword(c echo.Context) error {
	f := c.Request().PostForm
	st := current(c)
	l := lang(c)
	next := f.Get("new")
	var msg string
	switch {
	case next != f.Get("repeat"):
		msg = T(l, "password.mismatch")
	default:
		err := s.Dir.ChangeWebPassword(c.Request().Context(), st.staff.CooperativeID, st.staff.ID, f.Get("current"), next)
		switch {
		case err == nil:
			s.Log.Info("counter password changed", "staff_id", st.staff.ID)
			return c.Redirect(http.StatusSeeOther, "/counter/")
		case errors.Is(err, members.ErrWrongPassword):
			msg = T(l, "password.wrong")
		case errors.Is(err, members.ErrSamePassword):
			msg = T(l, "password.same")
		case errors.Is(err, members.ErrInvalid):
			msg = T(l, "password.short", members.MinWebPasswordLength)
		default:
			s.Log.Error("change web password", "err", err)
			return s.fail(c, http.StatusInternalServerError, "error.internal")
		}
	}
	return s.render(c, http.StatusOK, "password", view{Title: "title.password", Error: msg})
}

func (s *Server) setLanguage(c echo.Context) error {
	l := c.Request().PostForm.Get("lang")
	if l != "id" && l != "en" {
		return s.fail(c, http.StatusBadRequest, "error.invalid")
	}
	st := current(c)
	if err := s.Dir.SetLanguage(c.Request().Context(), members.Holder{Kind: members.KindStaff, ID: st.staff.ID, CooperativeID: st.staff.CooperativeID}, l); err != nil {
		return s.problem(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/counter/")
}
