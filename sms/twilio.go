package sms

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Twilio speaks Twilio's Programmable Messaging (PROVIDERS.md "Twilio"):
// signed form webhooks for messages (POST /sms/twilio) and status callbacks
// (POST /sms/twilio/status?mid=<outbox id>), and the Messages.json endpoint
// for sending. Every callback must carry a valid X-Twilio-Signature;
// without AuthToken and PublicURL none can, so all are refused.
type Twilio struct {
	AccountSID string
	AuthToken  string
	BaseURL    string // "" = https://api.twilio.com
	From       string // our Twilio number or sender id
	// PublicURL is LUMBUNG_PUBLIC_URL: the base of the URLs Twilio signs and
	// of the StatusCallback Send asks for ("" = no status callbacks).
	PublicURL string
	Token     string // LUMBUNG_CALLBACK_TOKEN, appended to StatusCallback when set
	HTTP      *http.Client
}

const twilioDefaultBaseURL = "https://api.twilio.com"

// twilioAck is the empty TwiML answer: no reply travels in it.
const twilioAck = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// Name implements Adapter and Provider.
func (Twilio) Name() string { return "twilio" }

// TwilioSignature is Twilio's X-Twilio-Signature for a form POST to url:
// base64(HMAC-SHA1(authToken, url + every param sorted by name, as name +
// value, repeated names in value order)).
func TwilioSignature(authToken, url string, params url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	io.WriteString(mac, url)
	for _, name := range slices.Sorted(maps.Keys(params)) {
		for _, v := range slices.Sorted(slices.Values(params[name])) {
			io.WriteString(mac, name)
			io.WriteString(mac, v)
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// verify checks r's X-Twilio-Signature against the URL Twilio called
// (PublicURL + the path and query as received) and the form, generically:
// Twilio adds parameters without notice. Twilio has signed URLs both with
// and without an explicit default port, so both are tried.
func (t Twilio) verify(r *http.Request, form url.Values) error {
	got := r.Header.Get("X-Twilio-Signature")
	if t.AuthToken == "" || t.PublicURL == "" || got == "" {
		return ErrBadSignature
	}
	full := strings.TrimRight(t.PublicURL, "/") + r.URL.RequestURI()
	ok := false
	for _, u := range twilioURLVariants(full) {
		want := TwilioSignature(t.AuthToken, u, form)
		ok = hmac.Equal([]byte(got), []byte(want)) || ok
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// twilioURLVariants is u as given, and u with its default port added or
// removed.
func twilioURLVariants(u string) []string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return []string{u}
	}
	port := map[string]string{"https": "443", "http": "80"}[p.Scheme]
	switch {
	case port == "":
		return []string{u}
	case p.Port() == "":
		p.Host += ":" + port
	case p.Port() == port:
		p.Host = p.Hostname()
	default:
		return []string{u}
	}
	return []string{u, p.String()}
}

// ParseInbound implements Adapter: a signed form POST with MessageSid (or
// SmsSid), From, To, Body and whatever else Twilio adds.
func (t Twilio) ParseInbound(r *http.Request) (Inbound, error) {
	form, err := readForm(r)
	if err != nil {
		return Inbound{}, err
	}
	if err := t.verify(r, form); err != nil {
		return Inbound{}, err
	}
	in := Inbound{
		Provider:   t.Name(),
		ProviderID: form.Get("MessageSid"),
		From:       form.Get("From"),
		To:         form.Get("To"),
		Text:       form.Get("Body"),
	}
	if in.ProviderID == "" {
		in.ProviderID = form.Get("SmsSid")
	}
	if err := checkInbound(&in, "MessageSid", "From", "To"); err != nil {
		return Inbound{}, err
	}
	return in, nil
}

// Ack implements Adapter: 200 with the empty TwiML response.
func (Twilio) Ack(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, err := io.WriteString(w, twilioAck)
	return err
}

// twilioStatuses maps MessageStatus. queued, accepted and scheduled say
// nothing the outbox does not know already (Status "").
var twilioStatuses = map[string]Status{
	"sending":     StatusSent,
	"sent":        StatusSent,
	"delivered":   StatusDelivered,
	"read":        StatusDelivered,
	"undelivered": StatusFailed,
	"failed":      StatusFailed,
	"canceled":    StatusFailed,
}

// ParseReport implements Adapter for the StatusCallback Send asks for: a
// signed form POST with MessageSid, MessageStatus (or SmsStatus) and
// ErrorCode; our outbox id is the URL's mid.
func (t Twilio) ParseReport(r *http.Request) (Report, error) {
	form, err := readForm(r)
	if err != nil {
		return Report{}, err
	}
	if err := t.verify(r, form); err != nil {
		return Report{}, err
	}
	rep := Report{MessageID: parseMessageID(r.URL.Query().Get("mid")), ProviderID: form.Get("MessageSid")}
	if rep.ProviderID == "" {
		rep.ProviderID = form.Get("SmsSid")
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	switch {
	case rep.ProviderID == "":
		return Report{}, errors.New("missing MessageSid")
	case !validID(rep.ProviderID):
		return Report{}, errors.New("MessageSid must be at most 128 printable ascii characters without spaces")
	case status == "":
		return Report{}, errors.New("missing MessageStatus")
	}
	rep.Status = twilioStatuses[status]
	rep.Detail = oneLine(form.Get("ErrorCode"), detailMax)
	return rep, nil
}

// twilioMessage is the part of Twilio's answer to a send lumbung reads: a
// message resource on success, an error (code, message) otherwise.
type twilioMessage struct {
	SID       string `json:"sid"`
	Status    string `json:"status"`
	ErrorCode *int   `json:"error_code"`
	Code      int    `json:"code"`
	Message   string `json:"message"`
}

// Send implements Provider: POST <BaseURL>/2010-04-01/Accounts/<SID>/Messages.json
// with HTTP Basic auth. The answer's sid becomes ProviderID. Errors go
// through ClassifyHTTP with Twilio's error code and message: 429 and 5xx are
// retried, other 4xx are permanent.
func (t Twilio) Send(ctx context.Context, m Outgoing) (SendResult, error) {
	if !isE164(m.To) {
		return SendResult{}, &SendError{Permanent: true, Reason: reasonBadRecipient}
	}
	base := t.BaseURL
	if base == "" {
		base = twilioDefaultBaseURL
	}
	form := url.Values{"To": {m.To}, "From": {t.From}, "Body": {m.Text}}
	if t.PublicURL != "" {
		cb := strings.TrimRight(t.PublicURL, "/") + "/sms/twilio/status?mid=" + strconv.FormatInt(m.ID, 10)
		if t.Token != "" {
			cb += "&token=" + url.QueryEscape(t.Token)
		}
		form.Set("StatusCallback", cb)
	}
	endpoint := strings.TrimRight(base, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return SendResult{}, &SendError{Permanent: true, Reason: "twilio: cannot build the request"}
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	status, body, err := gatewayDo(gatewayClient(t.HTTP), req, t.Name())
	if err != nil {
		return SendResult{}, err
	}
	var msg twilioMessage
	jsonErr := json.Unmarshal([]byte(body), &msg)
	if status < 200 || status > 299 {
		if jsonErr == nil && msg.Code != 0 {
			body = "twilio error " + strconv.Itoa(msg.Code) + ": " + msg.Message
		}
		return SendResult{}, ClassifyHTTP(status, redactAnswer(body, m, t.AuthToken))
	}
	if jsonErr != nil || msg.SID == "" {
		return SendResult{}, &SendError{Reason: "twilio: unreadable answer: " + oneLine(redactAnswer(body, m, t.AuthToken), 200)}
	}
	switch msg.Status {
	case "failed", "undelivered", "canceled":
		reason := "twilio: message " + oneLine(msg.Status, 20)
		if msg.ErrorCode != nil {
			reason += " (error " + strconv.Itoa(*msg.ErrorCode) + ")"
		}
		return SendResult{}, &SendError{Permanent: true, Reason: reason}
	case "sending", "sent", "delivered", "read":
		return SendResult{ProviderID: msg.SID, Status: StatusSent}, nil
	}
	return SendResult{ProviderID: msg.SID, Status: StatusSubmitted}, nil
}
