package ussd

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

// hubtelCase is one hop as Hubtel sends it (a raw JSON body) and what Parse
// must make of it: a Request, or a *BadRequest with reason (HTTP 400).
type hubtelCase struct {
	label       string
	method      string // default POST
	contentType string // default application/json; "-" sends none
	body        string
	want        Request
	reason      string
}

const hubtelSession = "8d44f0c2a1b34e5f9c7d2e1a0b3c4d5e"

// The first cases are the samples PROVIDERS.md quotes: the Classic USSD API
// (hubtel/hubtel-ussd-csharp UssdRequest.cs, with Sequence and ClientState),
// auto-dial on Initiation (habbes/ussd-menu-builder), and the Programmable
// Services sample (lower-case type, Sequence as a string, Message "").
var hubtelCases = []hubtelCase{
	{
		label: "providers example: response with Sequence 3 and ClientState",
		body:  `{"Mobile":"233244000000","SessionId":"` + hubtelSession + `","ServiceCode":"714","Type":"Response","Message":"2","Operator":"mtn","Sequence":3,"ClientState":"menu:main"}`,
		want:  hubtelWant(PhaseContinue, 2, "+233244000000", "*714#", "2", nil),
	},
	{
		label: "initiation with auto-dial *714*2#",
		body:  `{"Mobile":"233244000000","SessionId":"` + hubtelSession + `","ServiceCode":"714","Type":"Initiation","Message":"*714*2#","Operator":"mtn","Sequence":1,"ClientState":""}`,
		want:  hubtelWant(PhaseBegin, 0, "+233244000000", "*714#", "", []string{"2"}),
	},
	{
		label: "initiation with auto-dial *714*2*3#",
		body:  `{"Mobile":"233244000000","SessionId":"` + hubtelSession + `","ServiceCode":"714","Type":"Initiation","Message":"*714*2*3#","Operator":"vodafone","Sequence":1}`,
		want:  hubtelWant(PhaseBegin, 0, "+233244000000", "*714#", "", []string{"2", "3"}),
	},
	{
		label: "initiation with the bare code",
		body:  `{"Mobile":"233244000000","SessionId":"` + hubtelSession + `","ServiceCode":"714","Type":"Initiation","Message":"*714#","Operator":"tigo","Sequence":1,"ClientState":null}`,
		want:  hubtelWant(PhaseBegin, 0, "+233244000000", "*714#", "", nil),
	},
	{
		label: "programmable services: lower-case initiation, Sequence \"1\", empty Message, extra fields",
		body:  `{"Type":"initiation","Mobile":"233200585542","SessionId":"` + hubtelSession + `","ServiceCode":"714","Message":"","Operator":"vodafone","Sequence":"1","ClientState":"","Platform":"USSD"}`,
		want:  hubtelWant(PhaseBegin, 0, "+233200585542", "*714#", "", nil),
	},
	{
		label: "programmable services: lower-case response, Sequence \"4\"",
		body:  `{"Type":"response","Mobile":"233200585542","SessionId":"` + hubtelSession + `","ServiceCode":"714","Message":"1","Operator":"airtel","Sequence":"4","ClientState":"x"}`,
		want:  hubtelWant(PhaseContinue, 3, "+233200585542", "*714#", "1", nil),
	},
	{
		label: "release",
		body:  `{"Mobile":"233244000000","SessionId":"` + hubtelSession + `","ServiceCode":"714","Type":"Release","Message":"","Operator":"mtn","Sequence":5}`,
		want:  hubtelWant(PhaseEnd, 4, "+233244000000", "*714#", "", nil),
	},
	{
		label: "programmable services: lower-case release",
		body:  `{"Mobile":"233244000000","SessionId":"` + hubtelSession + `","ServiceCode":"714","Type":"release","Message":"","Operator":"mtn","Sequence":"5"}`,
		want:  hubtelWant(PhaseEnd, 4, "+233244000000", "*714#", "", nil),
	},
	{
		label: "timeout, whatever its Message says",
		body:  `{"Mobile":"233244000000","SessionId":"` + hubtelSession + `","ServiceCode":"714","Type":"Timeout","Message":"session\ntimed out","Operator":"mtn","Sequence":2}`,
		want:  hubtelWant(PhaseEnd, 1, "+233244000000", "*714#", "", nil),
	},

	// Auto-dial variants: a dialled string that is not the code plus digits
	// presets nothing and still starts the session.
	{
		label: "initiation dialling another code",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Initiation","Message":"*715*2#","Sequence":1}`,
		want:  hubtelWantID("s1", PhaseBegin, 0, "+233244000000", "*714#", "", nil),
	},
	{
		label: "initiation dialling a longer code that starts alike",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Initiation","Message":"*7141*2#","Sequence":1}`,
		want:  hubtelWantID("s1", PhaseBegin, 0, "+233244000000", "*714#", "", nil),
	},
	{
		label: "initiation with an empty preset segment",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Initiation","Message":"*714**3#","Sequence":1}`,
		want:  hubtelWantID("s1", PhaseBegin, 0, "+233244000000", "*714#", "", nil),
	},
	{
		label: "initiation with a non-digit preset",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Initiation","Message":"*714*A#","Sequence":1}`,
		want:  hubtelWantID("s1", PhaseBegin, 0, "+233244000000", "*714#", "", nil),
	},
	{
		label: "initiation without star and hash",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Initiation","Message":"714*2","Sequence":1}`,
		want:  hubtelWantID("s1", PhaseBegin, 0, "+233244000000", "*714#", "", []string{"2"}),
	},
	{
		label: "initiation on a two-segment ServiceCode",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"*714*1#","Type":"Initiation","Message":"*714*1*9#","Sequence":1}`,
		want:  hubtelWantID("s1", PhaseBegin, 0, "+233244000000", "*714*1#", "", []string{"9"}),
	},
	{
		label: "initiation ignores a later Sequence",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Initiation","Message":"","Sequence":7}`,
		want:  hubtelWantID("s1", PhaseBegin, 0, "+233244000000", "*714#", "", nil),
	},

	// Sequence and Type leniency.
	{
		label: "response without Sequence",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1"}`,
		want:  hubtelWantID("s1", PhaseContinue, -1, "+233244000000", "*714#", "1", nil),
	},
	{
		label: "response with null Sequence",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":null}`,
		want:  hubtelWantID("s1", PhaseContinue, -1, "+233244000000", "*714#", "1", nil),
	},
	{
		label: "response with Sequence 0",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":0}`,
		want:  hubtelWantID("s1", PhaseContinue, -1, "+233244000000", "*714#", "1", nil),
	},
	{
		label: "response with empty-string Sequence",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":""}`,
		want:  hubtelWantID("s1", PhaseContinue, -1, "+233244000000", "*714#", "1", nil),
	},
	{
		label: "upper-case type with spaces",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":" RESPONSE ","Message":"1","Sequence":2}`,
		want:  hubtelWantID("s1", PhaseContinue, 1, "+233244000000", "*714#", "1", nil),
	},
	{
		label: "camel-case field names",
		body:  `{"mobile":"233244000000","sessionId":"s1","serviceCode":"714","type":"response","message":"1","sequence":2}`,
		want:  hubtelWantID("s1", PhaseContinue, 1, "+233244000000", "*714#", "1", nil),
	},

	// Inputs and numbers.
	{
		label: "pin as the latest input, padded",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":" 482915 ","Sequence":4}`,
		want:  hubtelWantID("s1", PhaseContinue, 3, "+233244000000", "*714#", "482915", nil),
	},
	{
		label: "free text input",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"Budi Santoso","Sequence":2}`,
		want:  hubtelWantID("s1", PhaseContinue, 1, "+233244000000", "*714#", "Budi Santoso", nil),
	},
	{
		label: "empty input",
		body:  `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"","Sequence":2}`,
		want:  hubtelWantID("s1", PhaseContinue, 1, "+233244000000", "*714#", "", nil),
	},
	{
		label: "indonesian 0812 number",
		body:  `{"Mobile":"081234567890","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":2}`,
		want:  hubtelWantID("s1", PhaseContinue, 1, "+6281234567890", "*714#", "1", nil),
	},
	{
		label: "indonesian 62812 number",
		body:  `{"Mobile":"6281234567890","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":2}`,
		want:  hubtelWantID("s1", PhaseContinue, 1, "+6281234567890", "*714#", "1", nil),
	},
	{
		label: "indonesian +62812 number",
		body:  `{"Mobile":"+6281234567890","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":2}`,
		want:  hubtelWantID("s1", PhaseContinue, 1, "+6281234567890", "*714#", "1", nil),
	},
	{
		label:       "content type with charset",
		contentType: "application/json; charset=utf-8",
		body:        `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":2}`,
		want:        hubtelWantID("s1", PhaseContinue, 1, "+233244000000", "*714#", "1", nil),
	},
	{
		label: "longest Message and SessionId",
		body:  `{"Mobile":"233244000000","SessionId":"` + strings.Repeat("a", 128) + `","ServiceCode":"714","Type":"Response","Message":"` + strings.Repeat("1", 500) + `","Sequence":2}`,
		want:  hubtelWantID(strings.Repeat("a", 128), PhaseContinue, 1, "+233244000000", "*714#", strings.Repeat("1", 500), nil),
	},

	// 400s.
	{label: "truncated json", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"4829`, reason: "request body is not a valid json object"},
	{label: "json array", body: `[{"SessionId":"s1"}]`, reason: "request body is not a valid json object"},
	{label: "form body sent as json", body: `Mobile=233244000000&SessionId=s1`, reason: "request body is not a valid json object"},
	{label: "trailing garbage", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1"} 482915`, reason: "request body is not a valid json object"},
	{label: "Mobile as a number", body: `{"Mobile":233244000000,"SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1"}`, reason: "request body is not a valid json object"},
	{label: "empty body", body: ``, reason: "request body is not a valid json object"},
	{label: "json null", body: `null`, reason: "missing SessionId"},
	{label: "empty object", body: `{}`, reason: "missing SessionId"},
	{label: "missing SessionId", body: `{"Mobile":"233244000000","ServiceCode":"714","Type":"Response","Message":"1"}`, reason: "missing SessionId"},
	{label: "missing Mobile", body: `{"SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1"}`, reason: "missing Mobile"},
	{label: "missing ServiceCode", body: `{"Mobile":"233244000000","SessionId":"s1","Type":"Response","Message":"1"}`, reason: "missing ServiceCode"},
	{label: "missing Type", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Message":"1"}`, reason: "missing Type"},
	{label: "programmable services AddToCart", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"AddToCart","Message":"1"}`, reason: "Type must be Initiation, Response, Release or Timeout"},
	{label: "SessionId with a space", body: `{"Mobile":"233244000000","SessionId":"s 1","ServiceCode":"714","Type":"Response","Message":"1"}`, reason: "SessionId must be at most 128 printable ascii characters without spaces"},
	{label: "SessionId with a newline", body: `{"Mobile":"233244000000","SessionId":"s1\nforged log line","ServiceCode":"714","Type":"Response","Message":"1"}`, reason: "SessionId must be at most 128 printable ascii characters without spaces"},
	{label: "SessionId too long", body: `{"Mobile":"233244000000","SessionId":"` + strings.Repeat("a", 129) + `","ServiceCode":"714","Type":"Response","Message":"1"}`, reason: "SessionId must be at most 128 printable ascii characters without spaces"},
	{label: "Mobile with letters", body: `{"Mobile":"abc","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"482915"}`, reason: "Mobile is not a valid phone number"},
	{label: "Mobile with 0 after 62", body: `{"Mobile":"+620812345678","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"482915"}`, reason: "Mobile is not a valid phone number"},
	{label: "ServiceCode with a letter", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"71A","Type":"Response","Message":"1"}`, reason: "ServiceCode is not a valid service code"},
	{label: "Sequence not numeric", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":"two"}`, reason: "Sequence is not a whole number"},
	{label: "Sequence negative", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":-1}`, reason: "Sequence is not a whole number"},
	{label: "Sequence fractional", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":2.5}`, reason: "Sequence is not a whole number"},
	{label: "Sequence boolean", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":true}`, reason: "Sequence is not a whole number"},
	{label: "Sequence huge", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Sequence":99999999999}`, reason: "Sequence is not a whole number"},
	{label: "Message too long", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"` + strings.Repeat("9", 501) + `"}`, reason: "Message is longer than 500 bytes"},
	{label: "Message with an inner newline", body: `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"4829\n15"}`, reason: "Message has a control character"},
	{
		label:  "body over 8 KiB",
		body:   `{"Mobile":"233244000000","SessionId":"s1","ServiceCode":"714","Type":"Response","Message":"1","Pad":"` + strings.Repeat("x", 8<<10) + `"}`,
		reason: "request body is larger than 8 KiB",
	},
	{label: "form content type", contentType: formType, body: `{"SessionId":"s1"}`, reason: "content type must be application/json"},
	{label: "no content type", contentType: "-", body: `{"SessionId":"s1"}`, reason: "content type must be application/json"},
	{label: "GET", method: http.MethodGet, reason: "request method must be POST"},
}

func hubtelWant(phase Phase, hop int, msisdn, serviceCode, input string, preset []string) Request {
	return hubtelWantID(hubtelSession, phase, hop, msisdn, serviceCode, input, preset)
}

func hubtelWantID(sessionID string, phase Phase, hop int, msisdn, serviceCode, input string, preset []string) Request {
	return Request{
		Provider: "hubtel", SessionID: sessionID, MSISDN: msisdn, ServiceCode: serviceCode,
		Input: input, HopIndex: hop, Phase: phase, Preset: preset,
	}
}

func newHubtelRequest(c hubtelCase) *http.Request {
	method := c.method
	if method == "" {
		method = http.MethodPost
	}
	r := httptest.NewRequest(method, "/ussd/hubtel", strings.NewReader(c.body))
	switch c.contentType {
	case "":
		r.Header.Set("Content-Type", "application/json")
	case "-":
	default:
		r.Header.Set("Content-Type", c.contentType)
	}
	return r
}

func TestHubtelParse(t *testing.T) {
	for _, c := range hubtelCases {
		t.Run(c.label, func(t *testing.T) {
			got, err := Hubtel{}.Parse(newHubtelRequest(c))
			checkParse(t, got, err, c.want, c.reason, func(reason string) { checkHubtelReason(t, reason, c.body) })
		})
	}
}

var hubtelFixedReasons = map[string]bool{
	hubtelReasonMethod: true, hubtelReasonContentType: true, hubtelReasonBodyTooLarge: true,
	hubtelReasonBadJSON: true, hubtelReasonNoSessionID: true, hubtelReasonNoMobile: true,
	hubtelReasonNoServiceCode: true, hubtelReasonNoType: true, hubtelReasonBadType: true,
	hubtelReasonBadSessionID: true, hubtelReasonBadMobile: true, hubtelReasonBadServiceCode: true,
	hubtelReasonBadSequence: true, hubtelReasonLongMessage: true, hubtelReasonControlMessage: true,
}

// checkHubtelReason fails if reason is not one of the fixed reasons or carries
// the body's Message (it may hold the PIN).
func checkHubtelReason(t *testing.T, reason, body string) {
	t.Helper()
	if !hubtelFixedReasons[reason] {
		t.Fatalf("reason %q is not one of the fixed reasons", reason)
	}
	var in struct{ Message string }
	_ = json.Unmarshal([]byte(body), &in) // keeps what it could decode
	if m := in.Message; len(m) >= 4 && strings.Contains(reason, m) && !fixedReasonHas(hubtelFixedReasons, m) {
		t.Fatalf("reason %q contains the Message", reason)
	}
}

// fixedReasonHas reports whether s is a piece of some fixed reason, so that
// a Message of "miss" found in "missing Type" is a coincidence.
func fixedReasonHas(reasons map[string]bool, s string) bool {
	for r := range reasons {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

func TestHubtelParseNilBody(t *testing.T) {
	r, err := http.NewRequest(http.MethodPost, "/ussd/hubtel", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	_, err = Hubtel{}.Parse(r)
	var bad *BadRequest
	if !errors.As(err, &bad) || bad.Reason != hubtelReasonBadJSON {
		t.Fatalf("Parse() error %v; want *BadRequest %q", err, hubtelReasonBadJSON)
	}
}

// A retried hop parses to the same Request (same HopIndex), which is what
// lets the handler answer it identically.
func TestHubtelParseRepeatedHop(t *testing.T) {
	c := hubtelCases[0]
	first, err1 := Hubtel{}.Parse(newHubtelRequest(c))
	again, err2 := Hubtel{}.Parse(newHubtelRequest(c))
	if err1 != nil || err2 != nil || !reflect.DeepEqual(first, again) {
		t.Fatalf("Parse() twice = %+v, %v and %+v, %v; want the same Request", first, err1, again, err2)
	}
}

func TestHubtelWrite(t *testing.T) {
	tests := []struct {
		label string
		reply Reply
		body  string
	}{
		{"continue", Reply{Text: "Masukkan jumlah:"}, `{"Type":"Response","Message":"Masukkan jumlah:","ClientState":""}`},
		{"end", Reply{Text: "Terima kasih.", End: true}, `{"Type":"Release","Message":"Terima kasih.","ClientState":""}`},
		{"lines and quotes", Reply{Text: "Koperasi \"Maju\"\n1 Cek Saldo\n2 Setor"}, `{"Type":"Response","Message":"Koperasi \"Maju\"\n1 Cek Saldo\n2 Setor","ClientState":""}`},
		{"ended by the network", Reply{End: true}, `{"Type":"Release","Message":"","ClientState":""}`},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := (Hubtel{}).Write(w, tc.reply); err != nil {
				t.Fatalf("Write() error %v", err)
			}
			if w.Code != http.StatusOK {
				t.Errorf("status %d; want 200", w.Code)
			}
			if got, want := w.Header().Get("Content-Type"), "application/json"; got != want {
				t.Errorf("Content-Type %q; want %q", got, want)
			}
			if got := w.Body.String(); got != tc.body {
				t.Errorf("body %s; want %s", got, tc.body)
			}
		})
	}
}

// Characters HTML would care about are escaped by encoding/json; the text
// must still come back exactly.
func TestHubtelWriteRoundTrip(t *testing.T) {
	text := "S&K <berlaku>\nSukarela Rp1.250.000"
	w := httptest.NewRecorder()
	if err := (Hubtel{}).Write(w, Reply{Text: text}); err != nil {
		t.Fatalf("Write() error %v", err)
	}
	var out struct{ Type, Message, ClientState string }
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("body is not json: %v", err)
	}
	if out.Type != "Response" || out.Message != text || out.ClientState != "" {
		t.Fatalf("body decodes to %+v; want Response with the text", out)
	}
}

func TestHubtelWriteError(t *testing.T) {
	w := failingWriter{httptest.NewRecorder()}
	if err := (Hubtel{}).Write(w, Reply{Text: "x"}); err == nil {
		t.Fatal("Write() to a broken connection returned nil; want an error")
	}
}

func TestHubtelName(t *testing.T) {
	var a Adapter = Hubtel{}
	if a.Name() != "hubtel" {
		t.Fatalf("Name() = %q; want %q", a.Name(), "hubtel")
	}
}

func FuzzHubtelParse(f *testing.F) {
	for _, c := range hubtelCases {
		if c.method == "" && c.contentType == "" {
			f.Add([]byte(c.body))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := hubtelCase{body: string(body)}
		got, err := Hubtel{}.Parse(newHubtelRequest(c))
		if err != nil {
			var bad *BadRequest
			if !errors.As(err, &bad) {
				t.Fatalf("Parse() error %v is not a *BadRequest", err)
			}
			checkHubtelReason(t, bad.Reason, c.body)
			return
		}
		switch {
		case got.Provider != "hubtel":
			t.Fatalf("Provider %q", got.Provider)
		case !e164Pattern.MatchString(got.MSISDN):
			t.Fatalf("MSISDN %q is not E.164", got.MSISDN)
		case !serviceCodePattern.MatchString(got.ServiceCode):
			t.Fatalf("ServiceCode %q is not in normal form", got.ServiceCode)
		case strings.ContainsAny(got.Input, "\r\n"):
			t.Fatal("Input has a newline")
		case len(got.Input) > hubtelMaxMessage:
			t.Fatalf("Input of %d bytes", len(got.Input))
		case badSessionID(got.SessionID):
			t.Fatalf("SessionID %q", got.SessionID)
		case got.HopIndex < -1:
			t.Fatalf("HopIndex %d", got.HopIndex)
		case got.Phase != PhaseBegin && got.Phase != PhaseContinue && got.Phase != PhaseEnd:
			t.Fatalf("Phase %v", got.Phase)
		case got.Phase == PhaseBegin && (got.HopIndex != 0 || got.Input != ""):
			t.Fatalf("first hop with HopIndex %d and input", got.HopIndex)
		case got.Phase != PhaseBegin && got.Preset != nil:
			t.Fatal("Preset on a later hop")
		case got.Phase == PhaseEnd && got.Input != "":
			t.Fatal("end hop carries input")
		}
		for _, p := range got.Preset {
			if p == "" || strings.Trim(p, "0123456789") != "" {
				t.Fatalf("Preset segment %q is not digits", p)
			}
		}
	})
}
