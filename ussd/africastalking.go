package ussd

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/lumbung-id/lumbung/members"
)

// AfricasTalking speaks the Africa's Talking USSD wire format (CONTRACT.md
// §2.1): a form POST with sessionId, serviceCode, phoneNumber, networkCode and
// text, answered with a text/plain "CON …" or "END …" body.
//
// text is every input of the session joined by "*" ("" on the first hop, then
// "1", "1*2", "1**3" for an empty input). It holds the member's PIN, so no
// error, log or panic message may contain it.
type AfricasTalking struct{}

// Limits on what Africa's Talking sends; real requests are far smaller.
const (
	atMaxBody      = 8 << 10
	atMaxText      = 500
	atMaxSessionID = 128
)

// The reasons Parse gives, fixed strings so that none can echo the input.
const (
	atReasonMethod         = "request method must be POST"
	atReasonContentType    = "content type must be application/x-www-form-urlencoded"
	atReasonBodyTooLarge   = "request body is larger than 8 KiB"
	atReasonBadForm        = "request body is not a valid form"
	atReasonNoSessionID    = "missing sessionId"
	atReasonNoPhoneNumber  = "missing phoneNumber"
	atReasonNoServiceCode  = "missing serviceCode"
	atReasonLongSessionID  = "sessionId is longer than 128 bytes"
	atReasonBadSessionID   = "sessionId must be printable ascii without spaces"
	atReasonBadPhoneNumber = "phoneNumber is not a valid phone number"
	atReasonBadServiceCode = "serviceCode is not a valid service code"
	atReasonLongText       = "text is longer than 500 bytes"
)

// Name implements Adapter.
func (AfricasTalking) Name() string { return "africastalking" }

// Parse implements Adapter.
func (a AfricasTalking) Parse(r *http.Request) (Request, error) {
	bad := func(reason string) (Request, error) { return Request{}, &BadRequest{Reason: reason} }
	if r.Method != http.MethodPost {
		return bad(atReasonMethod)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return bad(atReasonContentType)
	}
	if r.Body != nil { // nil only in a hand-built request; ParseForm reports it
		r.Body = http.MaxBytesReader(nil, r.Body, atMaxBody)
	}
	if err := r.ParseForm(); err != nil {
		// err may quote the body (a bad %-escape in text); never pass it on.
		if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
			return bad(atReasonBodyTooLarge)
		}
		return bad(atReasonBadForm)
	}
	form := r.PostForm
	sessionID, phone, code, text := form.Get("sessionId"), form.Get("phoneNumber"), form.Get("serviceCode"), form.Get("text")
	switch {
	case sessionID == "":
		return bad(atReasonNoSessionID)
	case phone == "":
		return bad(atReasonNoPhoneNumber)
	case code == "":
		return bad(atReasonNoServiceCode)
	case len(sessionID) > atMaxSessionID:
		return bad(atReasonLongSessionID)
	case strings.ContainsFunc(sessionID, func(c rune) bool { return c <= ' ' || c >= 0x7f }):
		return bad(atReasonBadSessionID)
	case len(text) > atMaxText:
		return bad(atReasonLongText)
	}
	msisdn, err := members.NormalizeMSISDN(phone)
	if err != nil {
		return bad(atReasonBadPhoneNumber)
	}
	serviceCode, err := members.NormalizeServiceCode(code)
	if err != nil {
		return bad(atReasonBadServiceCode)
	}
	req := Request{
		Provider:    a.Name(),
		SessionID:   sessionID,
		MSISDN:      msisdn,
		ServiceCode: serviceCode,
		Phase:       PhaseBegin,
		history:     text,
		hasHistory:  true,
	}
	if text != "" {
		// Every input so far, joined by "*"; the last segment is the new one.
		inputs := strings.Split(text, "*")
		req.HopIndex = len(inputs)
		req.Input = inputs[len(inputs)-1]
		req.Phase = PhaseContinue
	}
	return req, nil
}

// Write implements Adapter: HTTP 200, text/plain, "CON <text>" to keep the
// session open or "END <text>" to close it.
func (AfricasTalking) Write(w http.ResponseWriter, reply Reply) error {
	prefix := "CON "
	if reply.End {
		prefix = "END "
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, err := io.WriteString(w, prefix+reply.Text)
	return err
}
