package sms

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// AfricasTalking speaks Africa's Talking's SMS API (PROVIDERS.md "Africa's
// Talking"): form callbacks for messages (POST /sms/africastalking) and
// delivery reports (POST /sms/africastalking/dlr), and the version1/messaging
// endpoint for sending. The delivery-report URL is fixed in AT's dashboard,
// so reports are matched by AT's messageId, never by our outbox id.
type AfricasTalking struct {
	Username string
	APIKey   string
	BaseURL  string // "" = https://api.africastalking.com
	From     string // short code or sender id; "" = AT's default
	HTTP     *http.Client
}

const atDefaultBaseURL = "https://api.africastalking.com"

// The reasons AfricasTalking's parsers give beyond the shared ones.
const (
	atReasonNoStatus = "missing status"
)

// Name implements Adapter and Provider.
func (AfricasTalking) Name() string { return "africastalking" }

// ParseInbound implements Adapter: a form POST with id, from, to, text, date
// (2006-01-02T15:04:05Z or 2006-01-02 15:04:05, UTC), linkId, networkCode.
// An unreadable date is ignored (ReceivedAt zero = now): the message matters
// more than its timestamp.
func (a AfricasTalking) ParseInbound(r *http.Request) (Inbound, error) {
	form, err := readForm(r)
	if err != nil {
		return Inbound{}, err
	}
	in := Inbound{
		Provider:   a.Name(),
		ProviderID: form.Get("id"),
		From:       form.Get("from"),
		To:         form.Get("to"),
		Text:       form.Get("text"),
		ReceivedAt: atDate(form.Get("date")),
	}
	if err := checkInbound(&in, "id", "from", "to"); err != nil {
		return Inbound{}, err
	}
	return in, nil
}

func atDate(s string) time.Time {
	for _, layout := range []string{"2006-01-02T15:04:05Z", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// atStatuses maps a delivery report's status; courier's table, plus
// Submitted (AT's own list has it).
var atStatuses = map[string]Status{
	"Sent":      StatusSent,
	"Submitted": StatusSent,
	"Buffered":  StatusSent,
	"Success":   StatusDelivered,
	"Rejected":  StatusFailed,
	"Failed":    StatusFailed,
	"Expired":   StatusFailed,
}

// ParseReport implements Adapter: a form POST with id (AT's messageId),
// status, failureReason, phoneNumber, networkCode, retryCount. An unknown
// status gives a Report with Status "".
func (AfricasTalking) ParseReport(r *http.Request) (Report, error) {
	form, err := readForm(r)
	if err != nil {
		return Report{}, err
	}
	rep := Report{ProviderID: form.Get("id")}
	status := form.Get("status")
	switch {
	case rep.ProviderID == "":
		return Report{}, errors.New("missing id")
	case !validID(rep.ProviderID):
		return Report{}, errors.New("id must be at most 128 printable ascii characters without spaces")
	case status == "":
		return Report{}, errors.New(atReasonNoStatus)
	}
	rep.Status = atStatuses[status]
	rep.Detail = oneLine(form.Get("failureReason"), detailMax)
	return rep, nil
}

// Ack implements Adapter: 200 with an empty body.
func (AfricasTalking) Ack(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	return nil
}

// atAnswer is the part of AT's send answer lumbung reads.
type atAnswer struct {
	SMSMessageData struct {
		Message    string
		Recipients []struct {
			Status     string `json:"status"`
			StatusCode int    `json:"statusCode"`
			MessageID  string `json:"messageId"`
		}
	}
}

// Send implements Provider: POST <BaseURL>/version1/messaging. The HTTP
// status is classified first (ClassifyHTTP); then the recipient's statusCode:
// 100 Processed, 101 Sent, 102 Queued are StatusSubmitted with AT's
// messageId; 405 InsufficientBalance, 500 InternalServerError and 501
// GatewayError are worth retrying; any other code (401 RiskHold, 402
// InvalidSenderId, 403 InvalidPhoneNumber, 404 UnsupportedNumberType, 406
// UserInBlacklist, 407 CouldNotRoute …) is permanent. A 2xx answer lumbung
// cannot read is retried.
func (a AfricasTalking) Send(ctx context.Context, m Outgoing) (SendResult, error) {
	if !isE164(m.To) {
		// AT reads a comma-separated "to" as several recipients.
		return SendResult{}, &SendError{Permanent: true, Reason: reasonBadRecipient}
	}
	base := a.BaseURL
	if base == "" {
		base = atDefaultBaseURL
	}
	form := url.Values{"username": {a.Username}, "to": {m.To}, "message": {m.Text}}
	if a.From != "" {
		form.Set("from", a.From)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(base, "/")+"/version1/messaging", strings.NewReader(form.Encode()))
	if err != nil {
		return SendResult{}, &SendError{Permanent: true, Reason: "africastalking: cannot build the request"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("apiKey", a.APIKey)
	status, body, err := gatewayDo(gatewayClient(a.HTTP), req, a.Name())
	if err != nil {
		return SendResult{}, err
	}
	if err := ClassifyHTTP(status, redactAnswer(body, m, a.APIKey)); err != nil {
		return SendResult{}, err
	}
	var ans atAnswer
	if err := json.Unmarshal([]byte(body), &ans); err != nil || len(ans.SMSMessageData.Recipients) == 0 {
		return SendResult{}, &SendError{Reason: "africastalking: unreadable answer: " + oneLine(redactAnswer(body, m, a.APIKey), 200)}
	}
	rcpt := ans.SMSMessageData.Recipients[0]
	reason := "africastalking: " + oneLine(rcpt.Status, 60) + " (" + strconv.Itoa(rcpt.StatusCode) + ")"
	switch rcpt.StatusCode {
	case 100, 101, 102:
		return SendResult{ProviderID: rcpt.MessageID, Status: StatusSubmitted}, nil
	case 405, 500, 501:
		return SendResult{}, &SendError{Reason: reason}
	}
	return SendResult{}, &SendError{Permanent: true, Reason: reason}
}
