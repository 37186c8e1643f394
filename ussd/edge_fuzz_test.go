package ussd_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/ussd"
)

// The probes of the security review (issue 15), as each wire format carries
// them: NUL bytes and bytes that are not UTF-8 in every field, an Indonesian
// number written without its 0 (81234567890, once read as Japanese), a hop
// forged into a live session (its id and phone, another PIN, a hop number
// that skips), a session end from another phone, oversized fields.
var (
	atProbes = []string{
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=1%00",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=1%FF",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=1%00%2A2",
		"sessionId=s1%00&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=",
		"sessionId=s1&serviceCode=%2A123%23%00&phoneNumber=%2B6281234567890&text=",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890%00&text=",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=81234567890&text=",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=1",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=1%2A246810",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=1%2A000000",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281299999999&text=1%2A000000",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=1%2A000000%2A1%2A1%2A1",
		"sessionId=s1&serviceCode=%2A123%23&phoneNumber=%2B6281234567890&text=" + strings.Repeat("1%2A", 200),
	}
	hubtelProbes = []string{
		`{"Mobile":"6281234567890","SessionId":"h1","ServiceCode":"123","Type":"Initiation","Message":"*123#","Sequence":1}`,
		`{"Mobile":"6281234567890","SessionId":"h1","ServiceCode":"123","Type":"Response","Message":"1\u0000","Sequence":2}`,
		"{\"Mobile\":\"6281234567890\",\"SessionId\":\"h1\",\"ServiceCode\":\"123\",\"Type\":\"Response\",\"Message\":\"1\xff\",\"Sequence\":2}",
		`{"Mobile":"6281234567890\u0000","SessionId":"h1","ServiceCode":"123","Type":"Response","Message":"1","Sequence":2}`,
		`{"Mobile":"81234567890","SessionId":"h1","ServiceCode":"123","Type":"Response","Message":"1","Sequence":2}`,
		`{"Mobile":"6281234567890","SessionId":"h1","ServiceCode":"123","Type":"Response","Message":"246810","Sequence":3}`,
		`{"Mobile":"6281234567890","SessionId":"h1","ServiceCode":"123","Type":"Response","Message":"000000","Sequence":9}`,
		`{"Mobile":"6281234567890","SessionId":"h1","ServiceCode":"123","Type":"Response","Message":"000000","Sequence":1}`,
		`{"Mobile":"6281299999999","SessionId":"h1","ServiceCode":"123","Type":"Release","Message":"","Sequence":4}`,
	}
	freeflowProbes = []string{
		"SessionID=f1&MSISDN=6281234567890&input=%2A123%23",
		"SessionID=f1&MSISDN=6281234567890&input=1%00",
		"SessionID=f1&MSISDN=6281234567890&input=1%FF",
		"SessionID=f1%00&MSISDN=6281234567890&input=1",
		"SessionID=f1&MSISDN=81234567890&input=1",
		"SessionID=f1&MSISDN=6281299999999&input=1",
		"SessionID=f1&MSISDN=6281299999999&clean=1",
	}
)

// FuzzHopEdge sends each adapter's cases and the probes, then whatever the
// fuzzer makes of them, through the whole USSD edge (adapter, the handler's
// input checks, the engine, the session store). Every answer is either a
// screen in the provider's format (and then no field the hop is read by holds
// a NUL byte or bad UTF-8) or a 400 with a reason that does not echo the
// input; never a 500, a panic, or a screen for poison input.
func FuzzHopEdge(f *testing.F) {
	at, hubtel, freeflow := ussd.SeedBodies()
	for _, b := range append(at, atProbes...) {
		f.Add(uint8(0), b)
	}
	for _, b := range append(hubtel, hubtelProbes...) {
		f.Add(uint8(1), b)
	}
	for _, b := range append(freeflow, freeflowProbes...) {
		f.Add(uint8(2), b)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	h := &ussd.Handler{
		Engine: menus.NewEngine(brokenDirectory{}, noBooks{}, log), Sessions: ussd.NewMemoryStore(time.Second),
		Metrics: ussd.NewMetrics(prometheus.NewRegistry()), Log: log, HopDeadline: 5 * time.Second,
		Limiter: ussd.NewMemoryRateLimiter(), RateLimit: 1 << 30,
	}
	e := echo.New()
	h.Register(e.Group("/ussd"), ussd.AfricasTalking{}, ussd.Hubtel{}, ussd.Freeflow{})

	f.Fuzz(func(t *testing.T, adapter uint8, body string) {
		var r *http.Request
		var fields []string // what the adapter reads the hop from
		switch adapter % 3 {
		case 0:
			r = httptest.NewRequest(http.MethodPost, "/ussd/africastalking", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if form, err := url.ParseQuery(body); err == nil {
				fields = []string{form.Get("sessionId"), form.Get("phoneNumber"), form.Get("serviceCode"), form.Get("text")}
			}
		case 1:
			r = httptest.NewRequest(http.MethodPost, "/ussd/hubtel", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/json")
			var in struct{ Mobile, SessionId, ServiceCode, Type, Message string }
			if json.Unmarshal([]byte(body), &in) == nil {
				fields = []string{in.Mobile, in.SessionId, in.ServiceCode, in.Message}
			}
		default:
			r = httptest.NewRequest(http.MethodGet, "/ussd/freeflow", nil)
			r.URL.RawQuery = body
			if q, err := url.ParseQuery(body); err == nil {
				for _, k := range []string{"SessionID", "SessionId", "MSISDN", "msisdn"} {
					fields = append(fields, q.Get(k))
				}
				if !q.Has("clean") {
					fields = append(fields, q.Get("input"), q.Get("INPUT"))
				}
			}
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		got := w.Body.String()
		switch w.Code {
		case http.StatusBadRequest:
			if strings.TrimSpace(got) == "" {
				t.Fatal("a 400 without a reason")
			}
			for _, v := range fields {
				if len(v) >= 4 && strings.Contains(got, v) && !strings.Contains(body, got) {
					t.Fatalf("the 400 %q echoes the input %q", got, v)
				}
			}
		case http.StatusOK:
			for _, v := range fields {
				if !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
					t.Fatalf("a screen for poison input %q: %q", v, got)
				}
			}
			switch adapter % 3 {
			case 0:
				if !strings.HasPrefix(got, "CON ") && !strings.HasPrefix(got, "END ") {
					t.Fatalf("reply %q", got)
				}
			case 1:
				var reply struct{ Type, Message string }
				if err := json.Unmarshal([]byte(got), &reply); err != nil || (reply.Type != "Response" && reply.Type != "Release") {
					t.Fatalf("reply %q", got)
				}
			default:
				if ff := w.Header().Get("Freeflow"); ff != "FC" && ff != "FB" {
					t.Fatalf("Freeflow header %q", ff)
				}
			}
		default:
			t.Fatalf("status %d: %q", w.Code, got)
		}
		if strings.Contains(logs.String(), "panicked") {
			t.Fatalf("a hop panicked: %s", logs.String())
		}
	})
}
