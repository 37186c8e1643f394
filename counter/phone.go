package counter

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/ussd"
)

// The training phone (/counter/phone): a handset-shaped page that drives
// this lumbung's own USSD engine screen by screen through plain form
// posts. Each hop goes through the same ussd.Handler as Africa's Talking's
// callbacks (session store, hold, retries, rate limit, metrics), by the
// "training" adapter: its sessions are marked provider="training" in the
// logs and in lumbung_ussd_hops_total.

// TrainingProvider is the provider name of training-phone hops.
const TrainingProvider = "training"

// Hop is one training-phone hop.
type Hop struct {
	Session string // the page's session id
	MSISDN  string // E.164
	Code    string // the service code dialled
	Input   string // "" on the first hop
	Index   int    // 0 on the first hop
}

// Screen is what the handset shows.
type Screen struct {
	Text string
	End  bool
}

// PhoneFunc runs one hop.
type PhoneFunc func(ctx context.Context, h Hop) (Screen, error)

// trainingAdapter reads hops the counter builds itself (never from the
// network: its route is on a private router) and writes CON/END replies.
type trainingAdapter struct{}

func (trainingAdapter) Name() string { return TrainingProvider }

func (trainingAdapter) Parse(r *http.Request) (ussd.Request, error) {
	if err := r.ParseForm(); err != nil {
		return ussd.Request{}, &ussd.BadRequest{Reason: "unreadable form"}
	}
	f := r.PostForm
	idx, err := strconv.Atoi(f.Get("hop"))
	if err != nil || idx < 0 {
		return ussd.Request{}, &ussd.BadRequest{Reason: "bad hop index"}
	}
	req := ussd.Request{Provider: TrainingProvider, SessionID: "training:" + f.Get("session"), MSISDN: f.Get("msisdn"),
		ServiceCode: f.Get("code"), Input: f.Get("input"), HopIndex: idx, Phase: ussd.PhaseContinue}
	if idx == 0 {
		req.Phase, req.Input = ussd.PhaseBegin, ""
	}
	return req, nil
}

func (trainingAdapter) Write(w http.ResponseWriter, reply ussd.Reply) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	prefix := "CON "
	if reply.End {
		prefix = "END "
	}
	_, err := w.Write([]byte(prefix + reply.Text))
	return err
}

// NewTrainingPhone runs hops through h with the training adapter, on a
// router of its own that is not served to the network.
func NewTrainingPhone(h *ussd.Handler) PhoneFunc {
	e := echo.New()
	h.Register(e.Group("/ussd"), trainingAdapter{})
	return func(ctx context.Context, hop Hop) (Screen, error) {
		form := url.Values{"session": {hop.Session}, "msisdn": {hop.MSISDN}, "code": {hop.Code}, "input": {hop.Input}, "hop": {strconv.Itoa(hop.Index)}}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/ussd/"+TrainingProvider, strings.NewReader(form.Encode()))
		if err != nil {
			return Screen{}, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "127.0.0.1:0"
		w := &recorder{header: http.Header{}, status: http.StatusOK}
		e.ServeHTTP(w, req)
		body := w.body.String()
		if w.status != http.StatusOK {
			return Screen{}, errors.New("training hop answered " + strconv.Itoa(w.status) + ": " + body)
		}
		switch {
		case strings.HasPrefix(body, "CON "):
			return Screen{Text: body[4:]}, nil
		case strings.HasPrefix(body, "END "):
			return Screen{Text: body[4:], End: true}, nil
		}
		return Screen{}, errors.New("training hop: unreadable reply")
	}
}

type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status = code
		r.wrote = true
	}
}

type phoneData struct {
	Coop    members.Cooperative
	Demo    bool     // without login, the demo cooperative
	Choices []string // numbers to pick from (the demo's)
	MSISDN  string   // as typed / E.164 once dialled
	Code    string
	Session string
	Hop     int
	Screen  *Screen
}

// phoneCoop is the cooperative the training phone acts in: the logged-in
// staff member's, or with LUMBUNG_DEMO the demo cooperative's for anyone.
func (s *Server) phoneCoop(c echo.Context) (members.Cooperative, bool, error) {
	if st := current(c); st != nil && !st.staff.MustChangePassword {
		return st.staff.Cooperative, false, nil
	}
	if !s.Demo || s.DemoCoop == "" {
		return members.Cooperative{}, false, nil
	}
	coop, err := s.Dir.CooperativeByCode(c.Request().Context(), s.DemoCoop)
	if errors.Is(err, members.ErrNotFound) {
		return members.Cooperative{}, false, nil
	}
	return coop, true, err
}

func (s *Server) phoneView(c echo.Context) (phoneData, bool, error) {
	coop, demo, err := s.phoneCoop(c)
	if err != nil || coop.ID == 0 {
		return phoneData{}, false, err
	}
	d := phoneData{Coop: coop, Demo: demo}
	codes, err := s.Dir.ServiceCodes(c.Request().Context(), coop.ID)
	if err != nil {
		return phoneData{}, false, err
	}
	if len(codes) > 0 {
		d.Code = codes[0]
	}
	if demo {
		var phones []string
		if err := s.DB.SelectContext(c.Request().Context(), &phones, s.DB.Rebind(`SELECT DISTINCT phone FROM members WHERE cooperative_id = ? ORDER BY phone LIMIT 20`), coop.ID); err != nil {
			return phoneData{}, false, err
		}
		d.Choices = phones
	}
	return d, true, nil
}

func (s *Server) phoneForm(c echo.Context) error {
	if s.Phone == nil {
		return s.fail(c, http.StatusNotFound, "error.not_found")
	}
	d, ok, err := s.phoneView(c)
	if err != nil {
		return s.problem(c, err)
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/counter/login")
	}
	return s.render(c, http.StatusOK, "phone", view{Title: "title.phone", Data: &d})
}

// ours reports whether msisdn is a member's phone in coop, or, when
// staffToo, a staff member's (the demo without a login plays members only).
func (s *Server) ours(ctx context.Context, coopID int64, msisdn string, staffToo bool) (bool, error) {
	var n int
	err := s.DB.GetContext(ctx, &n, s.DB.Rebind(`SELECT (SELECT COUNT(*) FROM members WHERE cooperative_id = ? AND phone = ?)
		+ (SELECT COUNT(*) FROM staff WHERE cooperative_id = ? AND phone = ? AND active AND ?)`), coopID, msisdn, coopID, msisdn, staffToo)
	return n > 0, err
}

func (s *Server) phoneHop(c echo.Context) error {
	if s.Phone == nil {
		return s.fail(c, http.StatusNotFound, "error.not_found")
	}
	ctx := c.Request().Context()
	d, ok, err := s.phoneView(c)
	if err != nil {
		return s.problem(c, err)
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, "/counter/login")
	}
	l := lang(c)
	f := c.Request().PostForm
	v := view{Title: "title.phone", Data: &d}
	if d.Code == "" {
		v.Error = T(l, "phone.no_code")
		return s.render(c, http.StatusOK, "phone", v)
	}
	d.MSISDN = strings.TrimSpace(f.Get("msisdn"))
	e164, err := members.NormalizeMSISDN(d.MSISDN)
	if err != nil {
		v.Error = T(l, "phone.not_ours")
		return s.render(c, http.StatusOK, "phone", v)
	}
	if mine, err := s.ours(ctx, d.Coop.ID, e164, !d.Demo); err != nil {
		return s.problem(c, err)
	} else if !mine {
		v.Error = T(l, "phone.not_ours")
		return s.render(c, http.StatusOK, "phone", v)
	}
	hop := Hop{MSISDN: e164, Code: d.Code}
	if f.Get("action") == "send" && validToken(f.Get("session")) {
		hop.Session = f.Get("session")
		hop.Index, _ = strconv.Atoi(f.Get("hop"))
		if hop.Index < 1 || hop.Index > 1000 {
			hop.Index = 1
		}
		hop.Input = strings.TrimSpace(f.Get("input"))
		if len(hop.Input) > 182 {
			hop.Input = hop.Input[:182]
		}
	} else {
		hop.Session = randomHex(32)
	}
	scr, err := s.Phone(ctx, hop)
	if err != nil {
		return s.problem(c, err)
	}
	staffID := int64(0)
	if st := current(c); st != nil {
		staffID = st.staff.ID
	}
	s.Log.Info("training phone hop", "provider", TrainingProvider, "staff_id", staffID, "demo", d.Demo,
		"msisdn", members.MaskMSISDN(e164), "hop", hop.Index, "end", scr.End)
	d.MSISDN, d.Session, d.Hop, d.Screen = e164, hop.Session, hop.Index+1, &scr
	return s.render(c, http.StatusOK, "phone", v)
}
