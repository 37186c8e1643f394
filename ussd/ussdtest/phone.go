// Package ussdtest holds what tests (and `lumbung phone`) need to drive
// lumbung's USSD endpoints like a handset behind a telco would.
package ussdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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

// Phone dials a running lumbung through the Africa's Talking wire format:
// it keeps the session id and the "*"-joined history of inputs exactly as
// the gateway does.
type Phone struct {
	BaseURL     string // e.g. http://127.0.0.1:8080
	MSISDN      string // as the telco sends it, e.g. +6281234567890
	ServiceCode string // e.g. *123#
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
	form := url.Values{
		"sessionId":   {p.sessionID},
		"serviceCode": {p.ServiceCode},
		"phoneNumber": {p.MSISDN},
		"networkCode": {"99999"},
		"text":        {strings.Join(p.inputs, "*")},
	}
	target := p.BaseURL + "/ussd/africastalking"
	if p.Token != "" {
		target += "?token=" + url.QueryEscape(p.Token)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return Screen{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "at-ussd-api/1.0")
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Screen{}, fmt.Errorf("dial %s: %w", p.BaseURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Screen{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return Screen{}, fmt.Errorf("lumbung answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
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
