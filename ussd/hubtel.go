package ussd

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/lumbung-id/lumbung/members"
)

// Hubtel speaks Hubtel's JSON USSD wire format (CONTRACT.md §2.2). Type is
// Initiation (Message = the whole dialled string), Response (Message = the
// latest input), Release or Timeout, in any case; Sequence is a number or a
// numeric string. Operator and ClientState are ignored: state lives in the
// session store. Message may hold a PIN: no error or log may contain it.
type Hubtel struct{}

// Limits on what Hubtel sends (real requests are far smaller), and the
// reasons Parse gives, fixed strings so that none can echo the input.
const (
	hubtelMaxBody    = 8 << 10
	hubtelMaxMessage = 500

	hubtelReasonMethod         = "request method must be POST"
	hubtelReasonContentType    = "content type must be application/json"
	hubtelReasonBodyTooLarge   = "request body is larger than 8 KiB"
	hubtelReasonBadJSON        = "request body is not a valid json object"
	hubtelReasonNoSessionID    = "missing SessionId"
	hubtelReasonNoMobile       = "missing Mobile"
	hubtelReasonNoServiceCode  = "missing ServiceCode"
	hubtelReasonNoType         = "missing Type"
	hubtelReasonBadType        = "Type must be Initiation, Response, Release or Timeout"
	hubtelReasonBadSessionID   = "SessionId must be at most 128 printable ascii characters without spaces"
	hubtelReasonBadMobile      = "Mobile is not a valid phone number"
	hubtelReasonBadServiceCode = "ServiceCode is not a valid service code"
	hubtelReasonBadSequence    = "Sequence is not a whole number"
	hubtelReasonLongMessage    = "Message is longer than 500 bytes"
	hubtelReasonControlMessage = "Message has a control character"
)

// hubtelRequest is the wire request; names match in any case, others are skipped.
type hubtelRequest struct {
	Mobile, ServiceCode, Type, Message string
	SessionID                          string          `json:"SessionId"`
	Sequence                           json.RawMessage // a number or a numeric string
}

// Name implements Adapter.
func (Hubtel) Name() string { return "hubtel" }

// Parse implements Adapter.
func (h Hubtel) Parse(r *http.Request) (Request, error) {
	bad := func(reason string) (Request, error) { return Request{}, &BadRequest{Reason: reason} }
	if r.Method != http.MethodPost {
		return bad(hubtelReasonMethod)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return bad(hubtelReasonContentType)
	}
	if r.Body == nil { // only in a hand-built request
		return bad(hubtelReasonBadJSON)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, hubtelMaxBody))
	if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
		return bad(hubtelReasonBodyTooLarge)
	}
	var in hubtelRequest
	if err != nil || json.Unmarshal(body, &in) != nil { // the error may quote the body
		return bad(hubtelReasonBadJSON)
	}
	kind := strings.ToLower(strings.TrimSpace(in.Type))
	msisdn, errMobile := members.NormalizeMSISDN(in.Mobile)
	serviceCode, errCode := members.NormalizeServiceCode(in.ServiceCode)
	hop, sequenceOK := hubtelHopIndex(in.Sequence)
	switch {
	case in.SessionID == "":
		return bad(hubtelReasonNoSessionID)
	case in.Mobile == "":
		return bad(hubtelReasonNoMobile)
	case in.ServiceCode == "":
		return bad(hubtelReasonNoServiceCode)
	case kind == "":
		return bad(hubtelReasonNoType)
	case kind != "initiation" && kind != "response" && kind != "release" && kind != "timeout":
		return bad(hubtelReasonBadType)
	case badSessionID(in.SessionID):
		return bad(hubtelReasonBadSessionID)
	case len(in.Message) > hubtelMaxMessage:
		return bad(hubtelReasonLongMessage)
	case errMobile != nil:
		return bad(hubtelReasonBadMobile)
	case errCode != nil:
		return bad(hubtelReasonBadServiceCode)
	case !sequenceOK:
		return bad(hubtelReasonBadSequence)
	}
	req := Request{Provider: h.Name(), SessionID: in.SessionID, MSISDN: msisdn, ServiceCode: serviceCode, HopIndex: hop, Phase: PhaseEnd}
	switch kind {
	case "initiation":
		req.Phase, req.HopIndex = PhaseBegin, 0
		// Auto-dial: "*714*2*3#" on "*714#" presets ["2", "3"]; a dialled
		// string that is empty, another code or malformed presets nothing.
		if d, err := members.NormalizeServiceCode(in.Message); err == nil {
			if rest, ok := strings.CutPrefix(d, strings.TrimSuffix(serviceCode, "#")+"*"); ok {
				req.Preset = strings.Split(strings.TrimSuffix(rest, "#"), "*")
			}
		}
	case "response":
		req.Phase, req.Input = PhaseContinue, strings.TrimSpace(in.Message)
		if strings.ContainsFunc(req.Input, unicode.IsControl) {
			return bad(hubtelReasonControlMessage)
		}
	}
	return req, nil // release and timeout: the network closed the session
}

// hubtelHopIndex turns Sequence (1 at Initiation, then 2, 3, …) into
// Sequence − 1, or -1 when it is absent, null, "" or 0.
func hubtelHopIndex(raw json.RawMessage) (int, bool) {
	s := string(raw)
	if strings.HasPrefix(s, `"`) && json.Unmarshal(raw, &s) != nil {
		return 0, false
	}
	if s = strings.TrimSpace(s); s == "" || s == "null" {
		return -1, true
	}
	n, err := strconv.ParseUint(s, 10, 31)
	return int(n) - 1, err == nil
}

// Write implements Adapter: HTTP 200, application/json,
// {"Type":"Response"|"Release","Message":…,"ClientState":""}.
func (Hubtel) Write(w http.ResponseWriter, reply Reply) error {
	out := struct{ Type, Message, ClientState string }{Type: "Response", Message: reply.Text}
	if reply.End {
		out.Type = "Release"
	}
	body, _ := json.Marshal(out) // strings only: cannot fail
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(body)
	return err
}
