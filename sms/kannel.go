package sms

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
)

// Kannel speaks Kannel 1.4.5's smsbox (PROVIDERS.md "Kannel"; CONTRACT.md
// §4): messages from phones arrive through an sms-service group, delivery
// reports through the dlr-url we give each message, and messages go out
// through /cgi-bin/sendsms.
//
// The sms-service group to paste into kannel.conf (get-url; a post-url with
// the same query minus text also works, the text then being the body):
//
//	group = sms-service
//	keyword = default
//	get-url = "http://lumbung:8080/sms/kannel?from=%p&to=%P&text=%a&id=%I&ts=%T&token=…"
//	max-messages = 0
//	omit-empty = true
//	catch-all = true
//
// max-messages = 0: replies never travel in the answer; they go through the
// outbox like every other message.
type Kannel struct {
	SendURL  string // e.g. http://127.0.0.1:13013/cgi-bin/sendsms; may carry fixed parameters (smsc=…)
	Username string
	Password string
	From     string // sender id; "" lets Kannel choose (default-sender)

	// CallbackBase is LUMBUNG_PUBLIC_URL; "" asks for no delivery reports.
	CallbackBase string
	// Token is LUMBUNG_CALLBACK_TOKEN, appended to the dlr-url when set.
	Token string
	// Reports signs each message's dlr-url (&t=<token>) and checks the
	// token of every delivery report; nil refuses every report.
	Reports *ReportSigner
	// HTTP is the client for sendsms; nil = http.DefaultTransport, 10 s timeout.
	HTTP *http.Client
}

// kannelDLRMask asks for delivered (1), not delivered (2), SMSC accepted (8)
// and SMSC rejected (16); the same mask nyaruka/courier uses.
const kannelDLRMask = "27"

// The reasons Kannel's parsers give, fixed strings that never echo input.
const (
	kannelReasonMethod       = "request method must be GET or POST"
	kannelReasonReportMethod = "request method must be GET"
	kannelReasonLongQuery    = "query string is longer than 8 KiB"
	kannelReasonBadQuery     = "query string is not valid"
	kannelReasonContentType  = "content type must be text/plain"
	kannelReasonNoReportID   = "missing mid"
	kannelReasonNoType       = "missing type"
	kannelReasonBadFID       = "fid must be at most 128 printable ascii characters without spaces"
)

const kannelMaxQuery = 8 << 10

// Name implements Adapter and Provider.
func (Kannel) Name() string { return "kannel" }

// ParseInbound implements Adapter for GET|POST /sms/kannel?from=%p&to=%P&text=%a&id=%I.
// A POST (post-url) carries the text as its body; from and to may then come
// as X-Kannel-From / X-Kannel-To headers instead (the query wins). The id
// (%I, Kannel's message UUID) only ever comes from the query. An optional
// ts=%T (unix seconds) becomes ReceivedAt.
func (k Kannel) ParseInbound(r *http.Request) (Inbound, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return Inbound{}, errors.New(kannelReasonMethod)
	}
	q, err := kannelQuery(r)
	if err != nil {
		return Inbound{}, err
	}
	in := Inbound{
		Provider:   k.Name(),
		ProviderID: q.Get("id"),
		From:       q.Get("from"),
		To:         q.Get("to"),
		Text:       q.Get("text"),
	}
	if r.Method == http.MethodPost {
		body, err := kannelBody(r)
		if err != nil {
			return Inbound{}, err
		}
		if body != "" {
			in.Text = body
		}
		if !q.Has("from") {
			in.From = r.Header.Get("X-Kannel-From")
		}
		if !q.Has("to") {
			in.To = r.Header.Get("X-Kannel-To")
		}
	}
	if ts, err := strconv.ParseInt(q.Get("ts"), 10, 64); err == nil && ts > 0 && ts < 1<<40 {
		in.ReceivedAt = time.Unix(ts, 0).UTC()
	}
	if err := checkInbound(&in, "id", "from", "to"); err != nil {
		return Inbound{}, err
	}
	return in, nil
}

// kannelQuery parses the query strictly: url.Query would drop a bad pair
// silently, and ParseQuery's error may quote it.
func kannelQuery(r *http.Request) (url.Values, error) {
	if len(r.URL.RawQuery) > kannelMaxQuery {
		return nil, errors.New(kannelReasonLongQuery)
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, errors.New(kannelReasonBadQuery)
	}
	return q, nil
}

// kannelBody reads a post-url body: the message text, in the charset the
// Content-Type names (UTF-8 after mo-recode, UTF-16BE for raw UCS-2).
func kannelBody(r *http.Request) (string, error) {
	charset := ""
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || mt != "text/plain" {
			return "", errors.New(kannelReasonContentType)
		}
		charset = strings.ToLower(params["charset"])
	}
	raw, err := readBody(r)
	if err != nil {
		return "", err
	}
	switch charset {
	case "utf-16be", "ucs-2", "iso-10646-ucs-2":
		units := make([]uint16, len(raw)/2)
		for i := range units {
			units[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
		}
		return string(utf16.Decode(units)), nil
	case "iso-8859-1", "latin1":
		runes := make([]rune, len(raw))
		for i, b := range raw {
			runes[i] = rune(b)
		}
		return string(runes), nil
	}
	return string(raw), nil // UTF-8; checkInbound repairs invalid bytes
}

// Ack implements Adapter: 200 with an empty body, so that Kannel sends no
// reply (omit-empty); replies go through the outbox.
func (Kannel) Ack(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	return nil
}

// ParseReport implements Adapter for the dlr-url Send asks for:
// GET /sms/kannel/dlr?mid=<outbox id>&t=<token>&type=%d&reply=%A&fid=%F.
// The token (ReportSigner) proves lumbung wrote that URL for that message:
// a report without it, or with another message's, is ErrBadSignature (403).
// The mid is required: Kannel gives lumbung no id of its own at submit, so
// fid alone could never find a message.
func (k Kannel) ParseReport(r *http.Request) (Report, error) {
	if r.Method != http.MethodGet {
		return Report{}, errors.New(kannelReasonReportMethod)
	}
	q, err := kannelQuery(r)
	if err != nil {
		return Report{}, err
	}
	rep := Report{MessageID: parseMessageID(q.Get("mid")), ProviderID: q.Get("fid")}
	if rep.MessageID == 0 {
		return Report{}, errors.New(kannelReasonNoReportID)
	}
	if !k.Reports.Check(rep.MessageID, q.Get("t")) {
		return Report{}, ErrBadSignature
	}
	switch {
	case !validID(rep.ProviderID):
		return Report{}, errors.New(kannelReasonBadFID)
	case !q.Has("type"):
		return Report{}, errors.New(kannelReasonNoType)
	}
	switch q.Get("type") {
	case "1":
		rep.Status = StatusDelivered
	case "2", "16":
		rep.Status = StatusFailed
	case "4", "8":
		rep.Status = StatusSent
	}
	rep.Detail = kannelDetail(q.Get("reply"))
	return rep, nil
}

// kannelDetail shortens the SMSC's reply for last_error. An SMPP delivery
// receipt ("id:… stat:DELIVRD err:000 text:Kode setor 4829…") ends with the
// first characters of the message itself, which may hold a deposit code:
// everything from a "text:" that starts a word on is dropped.
func kannelDetail(reply string) string {
	for i := 0; i+5 <= len(reply); i++ {
		if (i == 0 || !isASCIIAlnum(reply[i-1])) && asciiLower(reply[i:i+5]) == "text:" {
			reply = strings.TrimSpace(reply[:i])
			break
		}
	}
	return oneLine(reply, detailMax)
}

func isASCIIAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// asciiLower lowercases ASCII letters only, keeping every byte where it was.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// Send implements Provider: one GET to sendsms. 202 "0: Accepted for
// delivery" or "3: Queued for later delivery" is StatusSubmitted.
func (k Kannel) Send(ctx context.Context, m Outgoing) (SendResult, error) {
	if !isE164(m.To) {
		// Kannel reads a space-separated "to" as several recipients.
		return SendResult{}, &SendError{Permanent: true, Reason: reasonBadRecipient}
	}
	u, err := url.Parse(k.SendURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return SendResult{}, &SendError{Permanent: true, Reason: "kannel: send URL is not an absolute URL"}
	}
	q := u.Query() // keeps fixed parameters of the configured URL
	q.Set("username", k.Username)
	q.Set("password", k.Password)
	q.Set("to", m.To)
	q.Set("text", m.Text)
	if k.From != "" {
		q.Set("from", k.From)
	}
	if m.Encoding == UCS2 {
		q.Set("coding", "2")
		q.Set("charset", "UTF-8")
	}
	if k.CallbackBase != "" {
		// One parameter, URL-encoded as a whole: Kannel decodes it once and
		// then expands %d, %A and %F itself.
		dlr := strings.TrimRight(k.CallbackBase, "/") + "/sms/kannel/dlr?mid=" + strconv.FormatInt(m.ID, 10)
		if k.Reports != nil {
			dlr += "&t=" + k.Reports.Token(m.ID)
		}
		dlr += "&type=%d&reply=%A&fid=%F"
		if k.Token != "" {
			dlr += "&token=" + url.QueryEscape(k.Token)
		}
		q.Set("dlr-mask", kannelDLRMask)
		q.Set("dlr-url", dlr)
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return SendResult{}, &SendError{Permanent: true, Reason: "kannel: cannot build the request"}
	}
	status, body, err := gatewayDo(gatewayClient(k.HTTP), req, k.Name())
	if err != nil {
		return SendResult{}, err
	}
	body = redactAnswer(body, m, k.Password)
	if err := ClassifyHTTP(status, body); err != nil {
		return SendResult{}, err
	}
	if answer := strings.TrimSpace(body); strings.HasPrefix(answer, "0:") || strings.HasPrefix(answer, "3:") {
		return SendResult{Status: StatusSubmitted}, nil
	}
	return SendResult{}, &SendError{Reason: "kannel: unexpected answer: HTTP " + strconv.Itoa(status) + ": " + oneLine(body, 200)}
}
