package ussd

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// freeflowCase is one hop as a Freeflow gateway sends it (a raw query
// string) and what Parse must make of it: a Request, or a *BadRequest with
// reason (HTTP 400).
type freeflowCase struct {
	label  string
	method string // default GET
	query  string
	want   Request
	reason string
}

// The cases follow PROVIDERS.md and the requests in Vumi's Airtel transport
// tests (praekeltfoundation/vumi vumi/transports/airtel/tests/test_airtel.py):
// the first input is the dialled code without "*" and "#" ("121",
// "167*7*1"), later inputs are the latest only ("c", "****", ""), cleanup
// carries clean and error, and the cleanup "as seen in production" spells
// the phone msisdn and trails nameless pairs. The SessionId/INPUT spelling
// and a first INPUT of "*183#" come from the South Sudan aggregator samples.
var freeflowCases = []freeflowCase{
	{
		label: "providers example: later hop",
		query: "SessionID=77001&MSISDN=6281234567890&MSC=6281100000&input=1",
		want:  ffWant("77001", "+6281234567890", "1", PhaseUnknown),
	},
	{
		label: "first hop with the dialled digits",
		query: "SessionID=77001&MSISDN=6281234567890&MSC=6281100000&input=123",
		want:  ffWant("77001", "+6281234567890", "123", PhaseUnknown),
	},
	{
		label: "first hop with the whole dialled code",
		query: "SessionID=77001&MSISDN=6281234567890&MSC=6281100000&input=%2A123%23",
		want:  ffWant("77001", "+6281234567890", "*123#", PhaseUnknown),
	},
	{
		label: "first hop, unencoded star and encoded hash",
		query: "SessionID=77001&MSISDN=6281234567890&MSC=6281100000&input=*123*1%23",
		want:  ffWant("77001", "+6281234567890", "*123*1#", PhaseUnknown),
	},
	{
		label: "vumi: first hop with credentials",
		query: "MSISDN=27761234567&userid=userid&password=password&MSC=msc&input=121&SessionID=session-id",
		want:  ffWant("session-id", "+27761234567", "121", PhaseUnknown),
	},
	{
		label: "vumi: first hop with a sub-code",
		query: "MSISDN=6281234567890&MSC=msc&input=167%2A7%2A1&SessionID=session-id",
		want:  ffWant("session-id", "+6281234567890", "167*7*1", PhaseUnknown),
	},
	{
		label: "vumi: later hop with a letter",
		query: "MSISDN=6281234567890&MSC=msc&input=c&SessionID=session-id",
		want:  ffWant("session-id", "+6281234567890", "c", PhaseUnknown),
	},
	{
		label: "vumi: asterisks as the value",
		query: "MSISDN=6281234567890&MSC=msc&input=%2A%2A%2A%2A&SessionID=session-id",
		want:  ffWant("session-id", "+6281234567890", "****", PhaseUnknown),
	},
	{
		label: "vumi: hop without content",
		query: "MSISDN=6281234567890&MSC=msc&input=&SessionID=session-id",
		want:  ffWant("session-id", "+6281234567890", "", PhaseUnknown),
	},
	{
		label: "no input field",
		query: "MSISDN=6281234567890&MSC=msc&SessionID=session-id",
		want:  ffWant("session-id", "+6281234567890", "", PhaseUnknown),
	},
	{
		label: "padded pin",
		query: "SessionID=77001&MSISDN=6281234567890&input=+482915+",
		want:  ffWant("77001", "+6281234567890", "482915", PhaseUnknown),
	},
	{
		label: "free text input",
		query: "SessionID=77001&MSISDN=6281234567890&input=Budi+Santoso",
		want:  ffWant("77001", "+6281234567890", "Budi Santoso", PhaseUnknown),
	},
	{
		label: "trailing newline trimmed",
		query: "SessionID=77001&MSISDN=6281234567890&input=1%0D%0A",
		want:  ffWant("77001", "+6281234567890", "1", PhaseUnknown),
	},
	{
		label: "cleanup with an empty clean and error 522",
		query: "SessionID=77001&MSISDN=6281234567890&clean=&error=522",
		want:  ffWant("77001", "+6281234567890", "", PhaseEnd),
	},
	{
		label: "vumi: cleanup",
		query: "MSISDN=27761234567&userid=userid&password=password&clean=clean-session&error=522&SessionID=session-id",
		want:  ffWant("session-id", "+27761234567", "", PhaseEnd),
	},
	{
		label: "vumi: cleanup as seen in production",
		query: "msisdn=254722000001&clean=cleann&error=523&SessionID=13697502734175597&MSC=254722000001" +
			"&=&=en&=9031510005344&=&=&=postpaid&=20130528171235405&=200220130528171113956582",
		want: ffWant("13697502734175597", "+254722000001", "", PhaseEnd),
	},
	{
		label: "cleanup ignores its input",
		query: "SessionID=77001&MSISDN=6281234567890&clean=1&error=522&input=" + strings.Repeat("9", 600),
		want:  ffWant("77001", "+6281234567890", "", PhaseEnd),
	},
	{
		label: "aggregator spelling SessionId and INPUT",
		query: "SessionId=ss-3301&MSISDN=211912000000&INPUT=%2A183%23",
		want:  ffWant("ss-3301", "+211912000000", "*183#", PhaseUnknown),
	},
	{
		label: "indonesian 0812 number",
		query: "SessionID=77001&MSISDN=081234567890&input=1",
		want:  ffWant("77001", "+6281234567890", "1", PhaseUnknown),
	},
	{
		label: "indonesian +62812 number",
		query: "SessionID=77001&MSISDN=%2B6281234567890&input=1",
		want:  ffWant("77001", "+6281234567890", "1", PhaseUnknown),
	},
	{
		label: "unencoded plus decodes as a space",
		query: "SessionID=77001&MSISDN=+6281234567890&input=1",
		want:  ffWant("77001", "+6281234567890", "1", PhaseUnknown),
	},
	{
		label: "longest input and SessionID",
		query: "SessionID=" + strings.Repeat("a", 128) + "&MSISDN=6281234567890&input=" + strings.Repeat("1", 500),
		want:  ffWant(strings.Repeat("a", 128), "+6281234567890", strings.Repeat("1", 500), PhaseUnknown),
	},

	// 400s.
	{label: "missing SessionID", query: "MSISDN=6281234567890&MSC=msc&input=1", reason: "missing SessionID"},
	{label: "empty SessionID", query: "SessionID=&MSISDN=6281234567890&input=1", reason: "missing SessionID"},
	{label: "missing MSISDN", query: "SessionID=77001&MSC=msc&input=1", reason: "missing MSISDN"},
	{label: "vumi: cleanup without its fields", query: "clean=clean-session", reason: "missing SessionID"},
	{label: "cleanup without a phone", query: "SessionID=77001&clean=&error=522", reason: "missing MSISDN"},
	{label: "empty query", query: "", reason: "missing SessionID"},
	{label: "SessionID with a space", query: "SessionID=770+01&MSISDN=6281234567890&input=1", reason: "SessionID must be at most 128 printable ascii characters without spaces"},
	{label: "SessionID with a newline", query: "SessionID=77001%0Aforged&MSISDN=6281234567890&input=1", reason: "SessionID must be at most 128 printable ascii characters without spaces"},
	{label: "SessionID too long", query: "SessionID=" + strings.Repeat("a", 129) + "&MSISDN=6281234567890&input=1", reason: "SessionID must be at most 128 printable ascii characters without spaces"},
	{label: "MSISDN with letters", query: "SessionID=77001&MSISDN=254XXXXXXXXX&input=482915", reason: "MSISDN is not a valid phone number"},
	{label: "MSISDN with 0 after 62", query: "SessionID=77001&MSISDN=620812345678&input=482915", reason: "MSISDN is not a valid phone number"},
	{label: "input too long", query: "SessionID=77001&MSISDN=6281234567890&input=" + strings.Repeat("9", 501), reason: "input is longer than 500 bytes"},
	{label: "input with an inner newline", query: "SessionID=77001&MSISDN=6281234567890&input=4829%0A15", reason: "input has a control character"},
	{label: "bad percent escape", query: "SessionID=77001&MSISDN=6281234567890&input=482915%zz", reason: "query string is not valid"},
	{label: "semicolon separator", query: "SessionID=77001;MSISDN=6281234567890&input=482915", reason: "query string is not valid"},
	{label: "query over 8 KiB", query: "SessionID=77001&MSISDN=6281234567890&input=1&pad=" + strings.Repeat("x", 8<<10), reason: "query string is longer than 8 KiB"},
	{label: "POST", method: http.MethodPost, query: "SessionID=77001&MSISDN=6281234567890&input=1", reason: "request method must be GET"},
}

func ffWant(sessionID, msisdn, input string, phase Phase) Request {
	return Request{Provider: "freeflow", SessionID: sessionID, MSISDN: msisdn, Input: input, HopIndex: -1, Phase: phase}
}

// newFreeflowRequest builds the request by hand so that any query string,
// even one no client would send, reaches Parse as it is.
func newFreeflowRequest(c freeflowCase) *http.Request {
	method := c.method
	if method == "" {
		method = http.MethodGet
	}
	return &http.Request{
		Method: method,
		URL:    &url.URL{Path: "/ussd/freeflow", RawQuery: c.query},
		Header: http.Header{"User-Agent": {"Flares/1.5"}},
		Body:   http.NoBody,
	}
}

func TestFreeflowParse(t *testing.T) {
	for _, c := range freeflowCases {
		t.Run(c.label, func(t *testing.T) {
			got, err := Freeflow{}.Parse(newFreeflowRequest(c))
			checkParse(t, got, err, c.want, c.reason, func(reason string) { checkFreeflowReason(t, reason, c.query) })
		})
	}
}

// The same hop through a real request line, as a gateway sends it.
func TestFreeflowParseFromWire(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/ussd/freeflow?SessionID=77001&MSISDN=6281234567890&MSC=6281100000&input=%2A123%23", nil)
	got, err := Freeflow{}.Parse(r)
	if want := ffWant("77001", "+6281234567890", "*123#", PhaseUnknown); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Parse() = %#v, %v; want %#v", got, err, want)
	}
}

var freeflowFixedReasons = map[string]bool{
	freeflowReasonMethod: true, freeflowReasonQueryTooLong: true, freeflowReasonBadQuery: true,
	freeflowReasonNoSessionID: true, freeflowReasonNoMSISDN: true, freeflowReasonBadSessionID: true,
	freeflowReasonBadMSISDN: true, freeflowReasonLongInput: true, freeflowReasonControlInput: true,
}

// checkFreeflowReason fails if reason is not one of the fixed reasons or
// carries the input or the password.
func checkFreeflowReason(t *testing.T, reason, query string) {
	t.Helper()
	if !freeflowFixedReasons[reason] {
		t.Fatalf("reason %q is not one of the fixed reasons", reason)
	}
	vals, _ := url.ParseQuery(query) // keeps what it could parse
	for _, name := range []string{"input", "INPUT", "password", "userid"} {
		if v := vals.Get(name); len(v) >= 4 && strings.Contains(reason, v) && !fixedReasonHas(freeflowFixedReasons, v) {
			t.Fatalf("reason %q contains the %s value", reason, name)
		}
	}
}

func TestFreeflowWrite(t *testing.T) {
	tests := []struct {
		label, flow, body string
		reply             Reply
	}{
		{"continue", "FC", "Pilih: 1.Saldo 2.Setor 3.Angsuran", Reply{Text: "Pilih: 1.Saldo 2.Setor 3.Angsuran"}},
		{"end", "FB", "Terima kasih.", Reply{Text: "Terima kasih.", End: true}},
		{"lines", "FC", "Koperasi Maju\n1 Cek Saldo\n2 Setor", Reply{Text: "Koperasi Maju\n1 Cek Saldo\n2 Setor"}},
		{"vumi: leading newlines dropped", "FC", "foo\n", Reply{Text: "\nfoo\n"}},
		{"cleanup answer", "FB", "", Reply{End: true}},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := (Freeflow{}).Write(w, tc.reply); err != nil {
				t.Fatalf("Write() error %v", err)
			}
			if w.Code != http.StatusOK {
				t.Errorf("status %d; want 200", w.Code)
			}
			for name, want := range map[string]string{
				"Content-Type": "text/plain; charset=utf-8",
				"Freeflow":     tc.flow,
				"charge":       "N",
				"amount":       "0",
				"Expires":      "-1",
			} {
				if got := w.Header().Values(name); len(got) != 1 || got[0] != want {
					t.Errorf("header %s %q; want %q", name, got, want)
				}
			}
			if got := w.Body.String(); got != tc.body {
				t.Errorf("body %q; want %q", got, tc.body)
			}
		})
	}
}

func TestFreeflowWriteError(t *testing.T) {
	w := failingWriter{httptest.NewRecorder()}
	if err := (Freeflow{}).Write(w, Reply{Text: "x"}); err == nil {
		t.Fatal("Write() to a broken connection returned nil; want an error")
	}
}

func TestFreeflowName(t *testing.T) {
	var a Adapter = Freeflow{}
	if a.Name() != "freeflow" {
		t.Fatalf("Name() = %q; want %q", a.Name(), "freeflow")
	}
}

func FuzzFreeflowParse(f *testing.F) {
	for _, c := range freeflowCases {
		if c.method == "" {
			f.Add(c.query)
		}
	}
	f.Fuzz(func(t *testing.T, query string) {
		c := freeflowCase{query: query}
		got, err := Freeflow{}.Parse(newFreeflowRequest(c))
		if err != nil {
			var bad *BadRequest
			if !errors.As(err, &bad) {
				t.Fatalf("Parse() error %v is not a *BadRequest", err)
			}
			checkFreeflowReason(t, bad.Reason, c.query)
			return
		}
		switch {
		case got.Provider != "freeflow":
			t.Fatalf("Provider %q", got.Provider)
		case !e164Pattern.MatchString(got.MSISDN):
			t.Fatalf("MSISDN %q is not E.164", got.MSISDN)
		case strings.ContainsAny(got.Input, "\r\n"):
			t.Fatal("Input has a newline")
		case len(got.Input) > freeflowMaxInput:
			t.Fatalf("Input of %d bytes", len(got.Input))
		case badSessionID(got.SessionID):
			t.Fatalf("SessionID %q", got.SessionID)
		case got.HopIndex != -1 || got.ServiceCode != "" || got.Preset != nil:
			t.Fatalf("HopIndex %d, ServiceCode %q, Preset %q", got.HopIndex, got.ServiceCode, got.Preset)
		case got.Phase != PhaseUnknown && got.Phase != PhaseEnd:
			t.Fatalf("Phase %v", got.Phase)
		case got.Phase == PhaseEnd && got.Input != "":
			t.Fatal("cleanup carries input")
		}
	})
}
