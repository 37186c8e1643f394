// Package ussdtest holds what tests (and `lumbung phone`) need to drive
// lumbung's USSD endpoints like a handset behind a telco would.
package ussdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Screen is what the handset shows after one hop.
type Screen struct {
	Text string
	End  bool // the session is over
}

// Providers the phone can speak.
const (
	AfricasTalking = "africastalking"
	Hubtel         = "hubtel"
	Freeflow       = "freeflow"
)

// Phone dials a running lumbung the way a telco gateway would, in one of
// the three wire formats: Africa's Talking (the "*"-joined history of
// inputs), Hubtel (JSON with a Sequence) or Freeflow (GET, latest input
// only, FC/FB headers).
type Phone struct {
	BaseURL     string // e.g. http://127.0.0.1:8080
	MSISDN      string // as the telco sends it, e.g. +6281234567890
	ServiceCode string // e.g. *123#
	Provider    string // AfricasTalking (default), Hubtel or Freeflow
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
	p.sessionID = "ATUid_" + hex.EncodeToString(b)
	p.inputs = nil
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
	case Hubtel:
		return p.hubtelHop(ctx)
	case Freeflow:
		return p.freeflowHop(ctx)
	case "", AfricasTalking:
	default:
		return Screen{}, fmt.Errorf("unknown provider %q", p.Provider)
	}
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
	return Screen{}, fmt.Errorf("reply starts with neither CON nor END: %q", s)
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
		return nil, nil, fmt.Errorf("dial %s: %w", p.BaseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("lumbung answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return resp, body, nil
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
		return Screen{}, fmt.Errorf("hubtel reply is not JSON: %q", body)
	}
	switch reply.Type {
	case "Response":
		return Screen{Text: reply.Message}, nil
	case "Release":
		p.ended = true
		return Screen{Text: reply.Message, End: true}, nil
	}
	return Screen{}, fmt.Errorf("hubtel reply type %q", reply.Type)
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
	return Screen{}, fmt.Errorf("freeflow reply has no FC/FB header")
}
