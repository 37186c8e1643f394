// Package handset is the other side of package ussd's adapters: a handset
// behind a telco gateway, dialling a running lumbung in one of the three
// wire formats. `lumbung phone` and `lumbung loadtest` use it, and so do
// the tests (through ussdtest.Phone). It is its own package, importing
// nothing of lumbung, so that ussd's own tests may use ussdtest.
package handset

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Screen is what the handset shows after one hop.
type Screen struct {
	Text string
	End  bool // the session is over
}

// Wire formats a Phone can speak (the adapters' names, and the last part of
// their routes: /ussd/<provider>).
const (
	ProviderAfricasTalking = "africastalking"
	ProviderHubtel         = "hubtel"
	ProviderFreeflow       = "freeflow"
)

// Providers lists the wire formats a Phone speaks.
var Providers = []string{ProviderAfricasTalking, ProviderHubtel, ProviderFreeflow}

// Kinds of HopError.
const (
	HopTransport = "transport" // no answer: refused, reset, unreadable
	HopTimeout   = "timeout"   // no answer in time
	HopStatus    = "status"    // an answer other than HTTP 200
	HopFormat    = "prefix"    // a 200 that is not a screen of the wire format (no CON/END, no JSON Type, no FC/FB)
)

// HopError is a hop that produced no screen, with why.
type HopError struct {
	Kind   string
	Status int    // HopStatus: the HTTP status
	Body   string // HopStatus, HopFormat: the start of the body
	Err    error
}

func (e *HopError) Error() string {
	switch e.Kind {
	case HopStatus:
		return fmt.Sprintf("lumbung answered %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
	case HopFormat:
		return e.Err.Error()
	}
	return "dial: " + e.Err.Error()
}

func (e *HopError) Unwrap() error { return e.Err }

// maxReply bounds what is read of one reply.
const maxReply = 64 << 10

// Phone dials a running lumbung the way a telco gateway would, in one of
// the three wire formats: Africa's Talking (the "*"-joined history of
// inputs), Hubtel (JSON with a Sequence) or Freeflow (GET, latest input
// only, FC/FB headers). A Phone runs one session at a time.
type Phone struct {
	BaseURL     string // e.g. http://127.0.0.1:8080
	MSISDN      string // as the telco sends it, e.g. +6281234567890
	ServiceCode string // e.g. *123#
	Provider    string // ProviderAfricasTalking (default), ProviderHubtel or ProviderFreeflow
	Client      *http.Client
	Token       string // LUMBUNG_CALLBACK_TOKEN, sent as ?token= when set

	sessionID string
	inputs    []string
	ended     bool
}

// NewPhone returns a phone for msisdn dialling code at baseURL.
func NewPhone(baseURL, msisdn, code string) *Phone {
	return &Phone{BaseURL: strings.TrimRight(baseURL, "/"), MSISDN: msisdn, ServiceCode: code, Client: http.DefaultClient}
}

// SessionID is the id of the current (or last) session.
func (p *Phone) SessionID() string { return p.sessionID }

// Dial starts a new session and returns the first screen.
func (p *Phone) Dial(ctx context.Context) (Screen, error) {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return p.DialSession(ctx, "ATUid_"+hex.EncodeToString(b))
}

// DialSession starts a new session with the given (unique) session id.
func (p *Phone) DialSession(ctx context.Context, sessionID string) (Screen, error) {
	p.sessionID = sessionID
	p.inputs = p.inputs[:0]
	p.ended = false
	return p.hop(ctx)
}

// Send types input and returns the next screen.
func (p *Phone) Send(ctx context.Context, input string) (Screen, error) {
	if p.sessionID == "" || p.ended {
		return Screen{}, fmt.Errorf("no open session: dial first")
	}
	p.inputs = append(p.inputs, input)
	return p.hop(ctx)
}

// Retry sends the last hop again, as a telco does when the answer was slow.
func (p *Phone) Retry(ctx context.Context) (Screen, error) {
	return p.hop(ctx)
}

func (p *Phone) hop(ctx context.Context) (Screen, error) {
	switch p.Provider {
	case ProviderHubtel:
		return p.hubtelHop(ctx)
	case ProviderFreeflow:
		return p.freeflowHop(ctx)
	case "", ProviderAfricasTalking:
		return p.africasTalkingHop(ctx)
	}
	return Screen{}, fmt.Errorf("unknown provider %q", p.Provider)
}

// africasTalkingHop posts the form with every input so far joined by "*".
func (p *Phone) africasTalkingHop(ctx context.Context) (Screen, error) {
	form := url.Values{
		"sessionId":   {p.sessionID},
		"serviceCode": {p.ServiceCode},
		"phoneNumber": {p.MSISDN},
		"networkCode": {"99999"},
		"text":        {strings.Join(p.inputs, "*")},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url("/ussd/africastalking", nil), strings.NewReader(form.Encode()))
	if err != nil {
		return Screen{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "at-ussd-api/1.0")
	_, body, err := p.do(req)
	if err != nil {
		return Screen{}, err
	}
	s := string(body)
	switch {
	case strings.HasPrefix(s, "CON "):
		return Screen{Text: s[4:]}, nil
	case strings.HasPrefix(s, "END "):
		p.ended = true
		return Screen{Text: s[4:], End: true}, nil
	}
	return Screen{}, formatError(body, "reply starts with neither CON nor END: %q", clipBody(body))
}

func (p *Phone) url(path string, q url.Values) string {
	if q == nil {
		q = url.Values{}
	}
	if p.Token != "" {
		q.Set("token", p.Token)
	}
	u := p.BaseURL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

func (p *Phone) do(req *http.Request) (*http.Response, []byte, error) {
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, transportError(fmt.Errorf("%s: %w", p.BaseURL, err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, nil, transportError(fmt.Errorf("read the reply from %s: %w", p.BaseURL, err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, &HopError{Kind: HopStatus, Status: resp.StatusCode, Body: clipBody(bytes.TrimSpace(body))}
	}
	return resp, body, nil
}

// transportError is a HopTransport error, or HopTimeout when it is one.
func transportError(err error) *HopError {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return &HopError{Kind: HopTimeout, Err: err}
	}
	return &HopError{Kind: HopTransport, Err: err}
}

func formatError(body []byte, format string, args ...any) *HopError {
	return &HopError{Kind: HopFormat, Body: clipBody(body), Err: fmt.Errorf(format, args...)}
}

func clipBody(b []byte) string {
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// hubtelHop sends Initiation with the full dialled string, then Response
// with the latest input, counting Sequence from 1.
func (p *Phone) hubtelHop(ctx context.Context) (Screen, error) {
	msg := map[string]any{
		"Mobile":      strings.TrimPrefix(p.MSISDN, "+"),
		"SessionId":   p.sessionID,
		"ServiceCode": strings.Split(strings.Trim(p.ServiceCode, "*#"), "*")[0], // Hubtel sends the base code only
		"Type":        "Initiation",
		"Message":     p.ServiceCode,
		"Operator":    "mtn",
		"Sequence":    len(p.inputs) + 1,
		"ClientState": "",
	}
	if len(p.inputs) > 0 {
		msg["Type"], msg["Message"] = "Response", p.inputs[len(p.inputs)-1]
	}
	b, _ := json.Marshal(msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url("/ussd/hubtel", nil), bytes.NewReader(b))
	if err != nil {
		return Screen{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	_, body, err := p.do(req)
	if err != nil {
		return Screen{}, err
	}
	var reply struct{ Type, Message string }
	if err := json.Unmarshal(body, &reply); err != nil {
		return Screen{}, formatError(body, "hubtel reply is not JSON: %q", clipBody(body))
	}
	switch reply.Type {
	case "Response":
		return Screen{Text: reply.Message}, nil
	case "Release":
		p.ended = true
		return Screen{Text: reply.Message, End: true}, nil
	}
	return Screen{}, formatError(body, "hubtel reply type %q", reply.Type)
}

// freeflowHop sends the dialled code first, then the latest input only.
func (p *Phone) freeflowHop(ctx context.Context) (Screen, error) {
	input := strings.Trim(p.ServiceCode, "*#")
	if len(p.inputs) > 0 {
		input = p.inputs[len(p.inputs)-1]
	}
	q := url.Values{"SessionID": {p.sessionID}, "MSISDN": {strings.TrimPrefix(p.MSISDN, "+")}, "input": {input}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url("/ussd/freeflow", q), nil)
	if err != nil {
		return Screen{}, err
	}
	resp, body, err := p.do(req)
	if err != nil {
		return Screen{}, err
	}
	switch resp.Header.Get("Freeflow") {
	case "FC":
		return Screen{Text: string(body)}, nil
	case "FB":
		p.ended = true
		return Screen{Text: string(body), End: true}, nil
	}
	return Screen{}, formatError(body, "freeflow reply has no FC/FB header")
}
