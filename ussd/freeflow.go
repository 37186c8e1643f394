package ussd

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/lumbung-id/lumbung/members"
)

// Freeflow speaks the "Freeflow" header style of Airtel-like operator
// gateways (CONTRACT.md §2.3): a GET with SessionID, MSISDN, MSC and input,
// answered with a plain-text body and the header "Freeflow: FC" (continue)
// or "FB" (break). There is no new-session flag, so every hop is
// PhaseUnknown and the handler tells a first hop, whose input is the dialled
// code ("123" or "*123#"), from a later one (the latest input only) by its
// session store. A request with "clean" is the network ending the session;
// in production it spells the phone "msisdn" (praekeltfoundation/vumi,
// transports/airtel). One aggregator writes SessionId and INPUT. All accepted.
// userid and password (a shared credential some gateways add) and error are
// ignored and never logged; input may hold a PIN and never reaches an error.
type Freeflow struct{}

// Limits on what a gateway sends (real requests are far smaller), and the
// reasons Parse gives, fixed strings so that none can echo the input.
const (
	freeflowMaxQuery = 8 << 10
	freeflowMaxInput = 500

	freeflowReasonMethod       = "request method must be GET"
	freeflowReasonQueryTooLong = "query string is longer than 8 KiB"
	freeflowReasonBadQuery     = "query string is not valid"
	freeflowReasonNoSessionID  = "missing SessionID"
	freeflowReasonNoMSISDN     = "missing MSISDN"
	freeflowReasonBadSessionID = "SessionID must be at most 128 printable ascii characters without spaces"
	freeflowReasonBadMSISDN    = "MSISDN is not a valid phone number"
	freeflowReasonLongInput    = "input is longer than 500 bytes"
	freeflowReasonControlInput = "input has a control character"
)

// Name implements Adapter.
func (Freeflow) Name() string { return "freeflow" }

// Parse implements Adapter.
func (f Freeflow) Parse(r *http.Request) (Request, error) {
	bad := func(reason string) (Request, error) { return Request{}, &BadRequest{Reason: reason} }
	if r.Method != http.MethodGet {
		return bad(freeflowReasonMethod)
	}
	if len(r.URL.RawQuery) > freeflowMaxQuery {
		return bad(freeflowReasonQueryTooLong)
	}
	// r.URL.Query would drop a bad pair silently; the error may quote it.
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return bad(freeflowReasonBadQuery)
	}
	sessionID, phone := firstOf(q, "SessionID", "SessionId"), firstOf(q, "MSISDN", "msisdn")
	input := strings.TrimSpace(firstOf(q, "input", "INPUT"))
	msisdn, errMSISDN := members.NormalizeMSISDN(phone)
	ending := q.Has("clean")
	switch {
	case sessionID == "":
		return bad(freeflowReasonNoSessionID)
	case phone == "":
		return bad(freeflowReasonNoMSISDN)
	case badSessionID(sessionID):
		return bad(freeflowReasonBadSessionID)
	case errMSISDN != nil:
		return bad(freeflowReasonBadMSISDN)
	case ending: // clean-up: whatever input came with it does not matter
		return Request{Provider: f.Name(), SessionID: sessionID, MSISDN: msisdn, HopIndex: -1, Phase: PhaseEnd}, nil
	case len(input) > freeflowMaxInput:
		return bad(freeflowReasonLongInput)
	case strings.ContainsFunc(input, unicode.IsControl):
		return bad(freeflowReasonControlInput)
	}
	return Request{Provider: f.Name(), SessionID: sessionID, MSISDN: msisdn, Input: input, HopIndex: -1, Phase: PhaseUnknown}, nil
}

// firstOf returns the first non-empty value among the spellings of a field.
func firstOf(q url.Values, names ...string) string {
	for _, name := range names {
		if v := q.Get(name); v != "" {
			return v
		}
	}
	return ""
}

// badSessionID reports whether a provider's session id is empty, longer than
// 128 bytes, or holds a space or a byte that is not printable ascii.
func badSessionID(id string) bool {
	return id == "" || len(id) > 128 || strings.ContainsFunc(id, func(c rune) bool { return c <= ' ' || c >= 0x7f })
}

// Write implements Adapter: HTTP 200, a text/plain body with the screen, and
// "Freeflow: FC" to keep the session open or "FB" to end it, with "charge: N",
// "amount: 0" and "Expires: -1" as operator gateways expect (header names
// are case-insensitive; Go writes "Charge"). Leading newlines are dropped
// from the body, as Vumi's Airtel transport does.
func (Freeflow) Write(w http.ResponseWriter, reply Reply) error {
	flow := "FC"
	if reply.End {
		flow = "FB"
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Freeflow", flow)
	h.Set("charge", "N")
	h.Set("amount", "0")
	h.Set("Expires", "-1")
	w.WriteHeader(http.StatusOK)
	_, err := io.WriteString(w, strings.TrimLeft(reply.Text, "\r\n"))
	return err
}
