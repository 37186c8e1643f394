package sms

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/members"
)

// What the adapters share: bounded bodies, fixed reasons, checked fields,
// and the HTTP plumbing of the providers' Send.

// Limits on what a gateway sends; real callbacks are far smaller. A
// 10-part concatenated UCS-2 message is about 2 KiB of UTF-8.
const (
	maxCallbackBody = 64 << 10
	maxInboundText  = 8 << 10
	maxProviderID   = 128
	maxAddress      = 64
	maxAnswer       = 64 << 10 // of a gateway's answer to Send
	detailMax       = 160
)

const (
	reasonMethodPost   = "request method must be POST"
	reasonFormType     = "content type must be application/x-www-form-urlencoded"
	reasonBodyTooLarge = "request body is larger than 64 KiB"
	reasonBadForm      = "request body is not a valid form"
	reasonBadBody      = "request body could not be read"
	reasonBadRecipient = "recipient is not one E.164 number"
)

// readBody reads at most maxCallbackBody bytes of r's body.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxCallbackBody))
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		return nil, errors.New(reasonBodyTooLarge)
	}
	if err != nil {
		return nil, errors.New(reasonBadBody)
	}
	return raw, nil
}

// readForm parses a form POST's body (never the query); errors are fixed
// reasons, as ParseForm's may quote the body.
func readForm(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, errors.New(reasonMethodPost)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errors.New(reasonFormType)
	}
	raw, err := readBody(r)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, errors.New(reasonBadForm)
	}
	r.PostForm = form
	return form, nil
}

// checkInbound trims From and To, checks every field of in against the
// limits and repairs invalid UTF-8 in Text. idName, fromName and toName are
// the wire names of the fields, for the reasons.
func checkInbound(in *Inbound, idName, fromName, toName string) error {
	in.From = strings.TrimSpace(in.From)
	in.To = strings.TrimSpace(in.To)
	switch {
	case in.ProviderID == "":
		return errors.New("missing " + idName)
	case !validID(in.ProviderID):
		return errors.New(idName + " must be at most 128 printable ascii characters without spaces")
	case in.From == "":
		return errors.New("missing " + fromName)
	case len(in.From) > maxAddress || strings.ContainsFunc(in.From, isControl):
		return errors.New(fromName + " must be at most 64 characters without control characters")
	case len(in.To) > maxAddress || strings.ContainsFunc(in.To, isControl):
		return errors.New(toName + " must be at most 64 characters without control characters")
	case len(in.Text) > maxInboundText:
		return errors.New("text is longer than 8 KiB")
	case strings.IndexByte(in.Text, 0) >= 0:
		// Refused, not stored: PostgreSQL cannot hold it, and a message
		// that fails to store is retried by the gateway for ever.
		return errors.New("text must not hold a NUL byte")
	}
	in.Text = strings.ToValidUTF8(in.Text, "\uFFFD")
	return nil
}

// validID reports whether id is at most maxProviderID printable ASCII
// characters without spaces ("" is valid: callers check presence).
func validID(id string) bool {
	return len(id) <= maxProviderID && !strings.ContainsFunc(id, func(c rune) bool { return c <= ' ' || c >= 0x7f })
}

func isControl(c rune) bool {
	return c < ' ' || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029'
}

// parseMessageID reads our outbox id from a callback URL; 0 when absent or
// not a positive number.
func parseMessageID(s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// isE164 reports whether to is "+" and 1–15 digits: exactly one recipient,
// nothing a gateway could read as a list.
func isE164(to string) bool {
	if len(to) < 2 || len(to) > 16 || to[0] != '+' {
		return false
	}
	for i := 1; i < len(to); i++ {
		if to[i] < '0' || to[i] > '9' {
			return false
		}
	}
	return true
}

// gatewayClient is c, or a client over http.DefaultTransport with a 10 s
// timeout.
func gatewayClient(c *http.Client) *http.Client {
	if c != nil {
		return c
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// gatewayDo runs req and reads at most maxAnswer bytes of the answer. A
// failure to get an answer is a retryable SendError whose reason leaves out
// the request URL (its query may hold a password and the text).
func gatewayDo(c *http.Client, req *http.Request, provider string) (int, string, error) {
	resp, err := c.Do(req)
	if err != nil {
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return 0, "", &SendError{Reason: provider + ": " + oneLine(err.Error(), 200)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return 0, "", &SendError{Reason: provider + ": reading the answer: " + oneLine(err.Error(), 200)}
	}
	return resp.StatusCode, string(body), nil
}

// redactAnswer takes the secrets, the message text and the full phone number
// out of a gateway's answer before it reaches last_error or a log, in case
// the gateway (or a proxy in front of it) echoes the request.
func redactAnswer(body string, m Outgoing, secrets ...string) string {
	var pairs []string
	add := func(s, with string) {
		if len(s) >= 4 {
			pairs = append(pairs, s, with, url.QueryEscape(s), with)
		}
	}
	for _, s := range secrets {
		add(s, "[redacted]")
	}
	add(m.Text, "[text]")
	if m.To != "" {
		masked := members.MaskMSISDN(m.To)
		add(m.To, masked)
		add(strings.TrimPrefix(m.To, "+"), masked)
	}
	if len(pairs) == 0 {
		return body
	}
	return strings.NewReplacer(pairs...).Replace(body)
}
