package sms_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lumbung-id/lumbung/sms"
	"github.com/lumbung-id/lumbung/sms/smstest"
)

// The adapters' tests run courier-style case tables: each case is one
// callback as a gateway sends it (documented or gatewayRequest, quirks included)
// and what the adapter must make of it: a value (an Inbound or a Report),
// a fixed 400 reason, or ErrBadSignature (403).

const formMIME = "application/x-www-form-urlencoded"

// adapterCase is one callback and its expected outcome.
type adapterCase[T any] struct {
	label       string
	method      string            // "" = the endpoint's usual method
	target      string            // path and query; "" = the endpoint's path
	contentType string            // "" = the endpoint's usual type, "-" = none
	header      map[string]string // extra headers; "-" = absent
	body        string
	want        T
	reason      string // a fixed 400 reason; "" = success
	badSig      bool   // want sms.ErrBadSignature
}

// callbackEndpoint says how to turn an adapterCase into a request for one callback
// URL, and how to parse it.
type callbackEndpoint[T any] struct {
	method, path, contentType string
	parse                     func(*http.Request) (T, error)
	reasons                   map[string]bool     // every reason the parser may give
	sign                      func(*http.Request) // nil = unsigned gateway
}

func (e callbackEndpoint[T]) request(c adapterCase[T]) *http.Request {
	method, target, ct := c.method, c.target, c.contentType
	if method == "" {
		method = e.method
	}
	if target == "" {
		target = e.path
	}
	if ct == "" {
		ct = e.contentType
	}
	var body io.Reader
	if c.body != "" || method == http.MethodPost {
		body = strings.NewReader(c.body)
	}
	r := httptest.NewRequest(method, target, body)
	if ct != "-" && ct != "" {
		r.Header.Set("Content-Type", ct)
	}
	for k, v := range c.header {
		r.Header.Set(k, v)
	}
	if e.sign != nil && r.Header.Get("X-Twilio-Signature") == "" {
		e.sign(r)
	}
	for k, v := range c.header {
		if v == "-" { // the header must be absent, even where sign would add it
			r.Header.Del(k)
		}
	}
	return r
}

// run is the shared runner: every case through the parser, then the same
// request twice more (a gateway's retry) to the same result.
func (e callbackEndpoint[T]) run(t *testing.T, cases []adapterCase[T]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.label, func(t *testing.T) {
			got, err := e.parse(e.request(c))
			switch {
			case c.badSig:
				if !errors.Is(err, sms.ErrBadSignature) {
					t.Fatalf("parse() = %+v, %v; want ErrBadSignature", got, err)
				}
				return
			case c.reason != "":
				if err == nil || err.Error() != c.reason {
					t.Fatalf("parse() = %+v, %v; want error %q", got, err, c.reason)
				}
				if !e.reasons[c.reason] {
					t.Fatalf("reason %q is not in the adapter's list of fixed reasons", c.reason)
				}
				return
			case err != nil:
				t.Fatalf("parse() error %v; want %+v", err, c.want)
			case !reflect.DeepEqual(got, c.want):
				t.Fatalf("parse() = %#v; want %#v", got, c.want)
			}
			again, err := e.parse(e.request(c))
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Fatalf("repeated callback parsed to %+v, %v; want %+v", again, err, got)
			}
		})
	}
}

// checkFuzzed fails unless err is nil, ErrBadSignature or one of the fixed
// reasons (so it cannot echo input).
func (e callbackEndpoint[T]) checkFuzzed(t *testing.T, err error) {
	t.Helper()
	if err == nil || errors.Is(err, sms.ErrBadSignature) {
		return
	}
	if !e.reasons[err.Error()] {
		t.Fatalf("error %q is not one of the fixed reasons", err)
	}
}

// checkInboundInvariants is what every accepted Inbound satisfies.
func checkInboundInvariants(t *testing.T, provider string, in sms.Inbound) {
	t.Helper()
	switch {
	case in.Provider != provider:
		t.Fatalf("Provider %q; want %q", in.Provider, provider)
	case in.ProviderID == "" || len(in.ProviderID) > 128 || strings.ContainsAny(in.ProviderID, " \t\r\n"):
		t.Fatalf("ProviderID %q", in.ProviderID)
	case in.From == "" || len(in.From) > 64 || in.From != strings.TrimSpace(in.From):
		t.Fatalf("From %q", in.From)
	case strings.ContainsAny(in.From+in.To, "\r\n\x00"):
		t.Fatalf("From/To with a control character: %q %q", in.From, in.To)
	case strings.IndexByte(in.Text, 0) >= 0 || !utf8.ValidString(in.Text):
		t.Fatalf("Text %q holds a NUL byte or bad UTF-8: it would be stored", in.Text)
	case len(in.Text) > 3*(8<<10):
		t.Fatalf("Text of %d bytes", len(in.Text))
	}
}

// The shared reasons of the form callbacks (Africa's Talking, Twilio).
var formReasons = []string{
	"request method must be POST",
	"content type must be application/x-www-form-urlencoded",
	"request body is larger than 64 KiB",
	"request body is not a valid form",
	"request body could not be read",
	"text is longer than 8 KiB",
	"text must not hold a NUL byte",
}

// fieldReasons are the reasons checkInbound gives for wire names id, from, to.
func fieldReasons(id, from, to string) []string {
	return []string{
		"missing " + id,
		id + " must be at most 128 printable ascii characters without spaces",
		"missing " + from,
		from + " must be at most 64 characters without control characters",
		to + " must be at most 64 characters without control characters",
	}
}

func reasonSet(lists ...[]string) map[string]bool {
	set := map[string]bool{}
	for _, l := range lists {
		for _, r := range l {
			set[r] = true
		}
	}
	return set
}

// loopbackClient is the client every Send test passes: it cannot reach a
// real gateway even if a default URL slips through.
func loopbackClient() *http.Client {
	return &http.Client{Transport: smstest.LoopbackOnly()}
}

// gatewayRequest is one request a fake gateway received.
type gatewayRequest struct {
	method, path string
	query, form  url.Values
	header       http.Header
	user, pass   string
	basic        bool
}

// fakeGateway answers every request with status and body and records it.
func fakeGateway(t *testing.T, status int, contentType, body string) (*httptest.Server, *[]gatewayRequest) {
	t.Helper()
	var got []gatewayRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("fake gateway: %v", err)
		}
		c := gatewayRequest{method: r.Method, path: r.URL.Path, query: r.URL.Query(), form: r.PostForm, header: r.Header.Clone()}
		c.user, c.pass, c.basic = r.BasicAuth()
		got = append(got, c)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// closedURL is a loopback URL where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// wantSendError checks err is a *sms.SendError of the wanted kind that
// carries none of the secrets.
func wantSendError(t *testing.T, err error, permanent bool, secrets ...string) *sms.SendError {
	t.Helper()
	se, ok := errors.AsType[*sms.SendError](err)
	if !ok {
		t.Fatalf("Send() error %v (%T); want *sms.SendError", err, err)
	}
	if se.Permanent != permanent {
		t.Fatalf("Send() error %q permanent=%v; want %v", se.Reason, se.Permanent, permanent)
	}
	for _, s := range secrets {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Fatalf("Send() error %q contains %q", err, s)
		}
	}
	return se
}

// A message whose text holds a deposit code, as the outbox hands it over.
var depositMsg = sms.Outgoing{
	ID:       4211,
	Template: "deposit_code",
	To:       "+6281234567890",
	Text:     "Kode setor Anda 482913, berlaku 3 hari. Bayar di kantor koperasi.",
	Encoding: sms.GSM7,
	Segments: 1,
}

// A message with text that is not GSM-7.
var ucs2Msg = sms.Outgoing{
	ID:       4212,
	Template: "receipt",
	To:       "+6281234567890",
	Text:     "Terima kasih “Bu Maria” – setoran Rp 50.000 diterima ✓",
	Encoding: sms.UCS2,
	Segments: 1,
}

func TestAdaptersAndProvidersImplementTheInterfaces(t *testing.T) {
	for _, tc := range []struct {
		p    sms.Provider
		name string
	}{
		{sms.Kannel{}, "kannel"},
		{sms.AfricasTalking{}, "africastalking"},
		{sms.Twilio{}, "twilio"},
		{sms.Log{}, "log"},
	} {
		if got := tc.p.Name(); got != tc.name {
			t.Errorf("Name() = %q; want %q", got, tc.name)
		}
		if a, ok := tc.p.(sms.Adapter); ok && a.Name() != tc.name {
			t.Errorf("Adapter Name() = %q; want %q", a.Name(), tc.name)
		}
	}
	var _ sms.Adapter = sms.Kannel{}
	var _ sms.Adapter = sms.AfricasTalking{}
	var _ sms.Adapter = sms.Twilio{}
}

// Every Send refuses a "to" a gateway could read as several recipients, or
// that is not a number at all, before any request.
func TestAdapterSendRefusesBadRecipient(t *testing.T) {
	srv, got := fakeGateway(t, http.StatusAccepted, "", "0: Accepted for delivery")
	providers := []sms.Provider{
		sms.Kannel{SendURL: srv.URL + "/cgi-bin/sendsms", HTTP: loopbackClient()},
		sms.AfricasTalking{BaseURL: srv.URL, HTTP: loopbackClient()},
		sms.Twilio{BaseURL: srv.URL, HTTP: loopbackClient()},
	}
	for _, p := range providers {
		for _, to := range []string{"", "+62812 +62813", "0812345678", "+62812,+62813", "+", "+6281234567890123", "+62812\n"} {
			m := depositMsg
			m.To = to
			_, err := p.Send(t.Context(), m)
			se := wantSendError(t, err, true, m.Text)
			if se.Reason != "recipient is not one E.164 number" {
				t.Errorf("%s: reason %q", p.Name(), se.Reason)
			}
		}
	}
	if len(*got) != 0 {
		t.Fatalf("the gateway got %d requests; want none", len(*got))
	}
}
