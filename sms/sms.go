// Package sms carries lumbung's text messages: inbound adapters for each
// gateway, the command processor that answers members, the outbox sender
// with delivery reports, and the daily loan reminders.
//
// Only the adapters (one file per gateway) know wire formats; everything
// else speaks the neutral types below.
package sms

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Inbound is one message from a phone, as an adapter parsed it.
type Inbound struct {
	Provider   string    // "kannel", "africastalking", "twilio"
	ProviderID string    // the gateway's message id: the dedupe key
	From       string    // sender as the gateway sent it; the inbox normalises it to E.164
	To         string    // our short code or number, as the gateway sent it
	Text       string    // the message as the member typed it
	ReceivedAt time.Time // when the gateway says it arrived; zero = now
}

// Status is where an outbox message is. It only moves forward:
// queued → submitted → sent → delivered, or failed from any of them.
type Status string

// The outbox statuses.
const (
	StatusQueued    Status = "queued"    // waiting for the sender
	StatusSubmitted Status = "submitted" // the gateway accepted it
	StatusSent      Status = "sent"      // the operator (SMSC) accepted it
	StatusDelivered Status = "delivered" // the phone received it
	StatusFailed    Status = "failed"    // gave up, or the network said it cannot be delivered
)

// rank orders statuses; a report may only move a message to a higher rank.
// delivered and failed are both final.
func (s Status) rank() int {
	switch s {
	case StatusQueued:
		return 0
	case StatusSubmitted:
		return 1
	case StatusSent:
		return 2
	case StatusDelivered, StatusFailed:
		return 3
	}
	return -1
}

// Report is a delivery report from a gateway.
type Report struct {
	MessageID  int64  // our outbox id, carried in the callback URL; 0 when absent
	ProviderID string // the gateway's id for the message; used when MessageID is 0
	Status     Status // "" when the report says nothing we record
	Detail     string // the gateway's own words (kept as last_error on failure)
}

// Encoding is how a message travels over the air.
type Encoding string

// The two encodings lumbung sends.
const (
	GSM7 Encoding = "gsm7"
	UCS2 Encoding = "ucs2"
)

// Outgoing is one message ready for a gateway: rendered, substituted and
// measured.
type Outgoing struct {
	ID       int64    // outbox id; gateways carry it in their status callback URL
	Template string   // for logs only
	To       string   // E.164
	Text     string   // GSM-7 look-alikes already substituted
	Encoding Encoding // GSM7 or UCS2
	Segments int      // parts the network will send
}

// SendResult is what a gateway said when it took a message.
type SendResult struct {
	ProviderID string // the gateway's id, if it gives one
	Status     Status // StatusSubmitted, or StatusSent when the gateway already says so
}

// Provider sends messages through one gateway.
type Provider interface {
	Name() string
	Send(ctx context.Context, m Outgoing) (SendResult, error)
}

// Adapter reads one gateway's callbacks: messages from phones and delivery
// reports. Errors it returns are safe to show the gateway (they become a 400
// with the reason); ErrBadSignature becomes a 403.
type Adapter interface {
	Name() string
	ParseInbound(r *http.Request) (Inbound, error)
	ParseReport(r *http.Request) (Report, error)
	// Ack answers an inbound callback once the message is stored. Replies
	// never travel in this answer: they go through the outbox, so that they
	// are retried and tracked like every other message.
	Ack(w http.ResponseWriter) error
}

// ErrBadSignature means a callback's signature did not verify.
var ErrBadSignature = errors.New("callback signature does not verify")

// SendError is a failed send, classified: a permanent one is not retried.
type SendError struct {
	Permanent bool
	Reason    string // the gateway's answer, for last_error and logs (never message text)
}

func (e *SendError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("send failed (%s): %s", kind, e.Reason)
}

// IsPermanent reports whether err is a send failure that retrying cannot fix.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// ClassifyHTTP turns a gateway's HTTP answer into nil (2xx) or a SendError:
// 408, 425, 429 and 5xx are worth retrying; any other status is permanent
// (bad credentials, a rejected number, a malformed request will not get
// better by themselves).
func ClassifyHTTP(status int, body string) error {
	if status >= 200 && status < 300 {
		return nil
	}
	reason := fmt.Sprintf("HTTP %d: %s", status, oneLine(body, 200))
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooEarly, status == http.StatusTooManyRequests, status >= 500:
		return &SendError{Reason: reason}
	default:
		return &SendError{Permanent: true, Reason: reason}
	}
}

// oneLine shortens s to one line of at most n bytes for logs and last_error.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
