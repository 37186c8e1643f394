package sms_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lumbung-id/lumbung/sms"
)

const (
	twPublicURL = "https://lumbung.example.id"
	twToken     = "0123456789abcdef0123456789abcdef"
)

var twilioAdapter = sms.Twilio{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: twToken, PublicURL: twPublicURL}

var twilioReasons = reasonSet(formReasons, fieldReasons("MessageSid", "From", "To"), []string{"missing MessageStatus"})

// twSign signs r as Twilio would for the URL it was configured with:
// PublicURL + the path and query, over the form in the body.
func twSign(r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	r.Header.Set("X-Twilio-Signature", sms.TwilioSignature(twToken, twPublicURL+r.URL.RequestURI(), form))
}

// twSigFor is the signature Twilio would send for body posted to fullURL.
func twSigFor(fullURL, body string) map[string]string {
	form, _ := url.ParseQuery(body)
	return map[string]string{"X-Twilio-Signature": sms.TwilioSignature(twToken, fullURL, form)}
}

var twilioInbound = callbackEndpoint[sms.Inbound]{
	method: http.MethodPost, path: "/sms/twilio", contentType: formMIME,
	parse: twilioAdapter.ParseInbound, reasons: twilioReasons, sign: twSign,
}

func twIn(sid, from, to, text string) sms.Inbound {
	return sms.Inbound{Provider: "twilio", ProviderID: sid, From: from, To: to, Text: text}
}

// A webhook as Twilio's "webhook request" page lists its fields.
const twDocumented = "ToCountry=ID&ToState=&SmsMessageSid=SM5f1b2c3d4e5f60718293a4b5c6d7e8f9&NumMedia=0&ToCity=&FromZip=&SmsSid=SM5f1b2c3d4e5f60718293a4b5c6d7e8f9&FromState=&SmsStatus=received&FromCity=&Body=SALDO&FromCountry=ID&To=%2B6281100001111&MessagingServiceSid=MG0123&ToZip=&NumSegments=1&MessageSid=SM5f1b2c3d4e5f60718293a4b5c6d7e8f9&AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B6281234567890&ApiVersion=2010-04-01"

var twilioInboundCases = []adapterCase[sms.Inbound]{
	{label: "documented webhook", body: twDocumented, want: twIn("SM5f1b2c3d4e5f60718293a4b5c6d7e8f9", "+6281234567890", "+6281100001111", "SALDO")},
	{
		label:  "token in the signed URL",
		target: "/sms/twilio?token=s3cret",
		body:   "MessageSid=SM1&From=%2B6281234567890&To=%2B6281100001111&Body=BAL",
		want:   twIn("SM1", "+6281234567890", "+6281100001111", "BAL"),
	},
	{
		label: "a parameter Twilio added without notice",
		body:  "MessageSid=SM1&From=%2B6281234567890&To=%2B6281100001111&Body=BAL&AddOns=%7B%22status%22%3A%22successful%22%7D&NewThing=1",
		want:  twIn("SM1", "+6281234567890", "+6281100001111", "BAL"),
	},
	{label: "SmsSid when MessageSid is absent", body: "SmsSid=SM2&From=%2B6281234567890&To=%2B6281100001111&Body=BAL", want: twIn("SM2", "+6281234567890", "+6281100001111", "BAL")},
	{label: "sender 0812", body: "MessageSid=SM3&From=081234567890&To=1234&Body=saldo", want: twIn("SM3", "081234567890", "1234", "saldo")},
	{label: "sender 62812", body: "MessageSid=SM3&From=6281234567890&To=1234&Body=saldo", want: twIn("SM3", "6281234567890", "1234", "saldo")},
	{label: "empty body", body: "MessageSid=SM4&From=%2B6281234567890&To=1234&Body=", want: twIn("SM4", "+6281234567890", "1234", "")},
	{label: "curly quotes", body: "MessageSid=SM5&From=%2B6281234567890&To=1234&Body=SALDO+%E2%80%9Cx%E2%80%9D", want: twIn("SM5", "+6281234567890", "1234", "SALDO “x”")},
	{label: "repeated parameter", body: "MessageSid=SM6&From=%2B6281234567890&To=1234&Body=BAL&MediaUrl=b&MediaUrl=a", want: twIn("SM6", "+6281234567890", "1234", "BAL")},
	{
		label:  "signed with the default port spelled out",
		header: twSigFor("https://lumbung.example.id:443/sms/twilio", "MessageSid=SM7&From=%2B6281234567890&Body=BAL"),
		body:   "MessageSid=SM7&From=%2B6281234567890&Body=BAL",
		want:   twIn("SM7", "+6281234567890", "", "BAL"),
	},

	// 403s.
	{label: "no signature", header: map[string]string{"X-Twilio-Signature": "-"}, body: twDocumented, badSig: true},
	{label: "signature of Twilio's docs example", header: map[string]string{"X-Twilio-Signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ="}, body: twDocumented, badSig: true},
	{
		label:  "body changed after signing",
		header: twSigFor(twPublicURL+"/sms/twilio", "MessageSid=SM1&From=%2B6281234567890&Body=BAL"),
		body:   "MessageSid=SM1&From=%2B6281234567890&Body=BAL+482913", badSig: true,
	},
	{
		label:  "token in the query changed after signing",
		target: "/sms/twilio?token=guess",
		header: twSigFor(twPublicURL+"/sms/twilio?token=s3cret", "MessageSid=SM1&From=%2B6281234567890&Body=BAL"),
		body:   "MessageSid=SM1&From=%2B6281234567890&Body=BAL", badSig: true,
	},
	{
		label:  "signed for another host",
		header: twSigFor("https://evil.example/sms/twilio", "MessageSid=SM1&From=%2B6281234567890&Body=BAL"),
		body:   "MessageSid=SM1&From=%2B6281234567890&Body=BAL", badSig: true,
	},

	// 400s (the signature is valid).
	{label: "missing MessageSid", body: "From=%2B6281234567890&To=1234&Body=BAL", reason: "missing MessageSid"},
	{label: "missing From", body: "MessageSid=SM1&To=1234&Body=BAL", reason: "missing From"},
	{label: "From with a newline", body: "MessageSid=SM1&From=%2B62%0Aforged&Body=BAL", reason: "From must be at most 64 characters without control characters"},
	{label: "Body over 8 KiB", body: "MessageSid=SM1&From=%2B6281234567890&Body=" + strings.Repeat("x", 8<<10+1), reason: "text is longer than 8 KiB"},
	{label: "Body with a NUL byte", body: "MessageSid=SM1&From=%2B6281234567890&Body=SALDO%00", reason: "text must not hold a NUL byte"},
	{label: "body over 64 KiB", body: "MessageSid=SM1&pad=" + strings.Repeat("x", 64<<10), reason: "request body is larger than 64 KiB"},
	{label: "bad escape", body: "MessageSid=SM1&Body=%zz", reason: "request body is not a valid form"},
	{label: "json", contentType: "application/json", body: `{"MessageSid":"SM1"}`, reason: "content type must be application/x-www-form-urlencoded"},
	{label: "GET", method: http.MethodGet, target: "/sms/twilio?MessageSid=SM1", reason: "request method must be POST"},
}

func TestTwilioParseInbound(t *testing.T) { twilioInbound.run(t, twilioInboundCases) }

// Without the auth token or the public URL no signature can verify: every
// callback is refused, never waved through.
func TestTwilioUnconfiguredRefusesEverything(t *testing.T) {
	for _, tw := range []sms.Twilio{{PublicURL: twPublicURL}, {AuthToken: twToken}, {}} {
		r := twilioInbound.request(adapterCase[sms.Inbound]{body: twDocumented})
		if _, err := tw.ParseInbound(r); !errors.Is(err, sms.ErrBadSignature) {
			t.Errorf("%+v: ParseInbound error %v; want ErrBadSignature", tw, err)
		}
		r = twilioInbound.request(adapterCase[sms.Inbound]{target: "/sms/twilio/status?mid=1", body: "MessageSid=SM1&MessageStatus=sent"})
		if _, err := tw.ParseReport(r); !errors.Is(err, sms.ErrBadSignature) {
			t.Errorf("%+v: ParseReport error %v; want ErrBadSignature", tw, err)
		}
	}
}

// Twilio's published example (PROVIDERS.md), recomputed.
func TestTwilioSignatureVector(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	got := sms.TwilioSignature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
	if want := "0/KCTR6DLpKmkAf8muzZqo1nDgQ="; got != want {
		t.Fatalf("TwilioSignature() = %q; want %q", got, want)
	}
}

func TestTwilioAck(t *testing.T) {
	w := httptest.NewRecorder()
	if err := (sms.Twilio{}).Ack(w); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/xml" ||
		w.Body.String() != `<?xml version="1.0" encoding="UTF-8"?><Response/>` {
		t.Fatalf("Ack() = %d %q %q; want 200 text/xml <Response/>", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
}

var twilioReport = callbackEndpoint[sms.Report]{
	method: http.MethodPost, path: "/sms/twilio/status?mid=4211", contentType: formMIME,
	parse: twilioAdapter.ParseReport, reasons: twilioReasons, sign: twSign,
}

func twRep(status sms.Status, detail string) sms.Report {
	return sms.Report{MessageID: 4211, ProviderID: "SM9a8b", Status: status, Detail: detail}
}

const twStatusBody = "AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B6281100001111&To=%2B6281234567890&ApiVersion=2010-04-01&SmsSid=SM9a8b&MessageSid=SM9a8b&"

var twilioReportCases = []adapterCase[sms.Report]{
	{label: "queued", body: twStatusBody + "MessageStatus=queued&SmsStatus=queued", want: twRep("", "")},
	{label: "accepted", body: twStatusBody + "MessageStatus=accepted", want: twRep("", "")},
	{label: "scheduled", body: twStatusBody + "MessageStatus=scheduled", want: twRep("", "")},
	{label: "sending", body: twStatusBody + "MessageStatus=sending", want: twRep(sms.StatusSent, "")},
	{label: "sent", body: twStatusBody + "MessageStatus=sent&SmsStatus=sent", want: twRep(sms.StatusSent, "")},
	{label: "delivered", body: twStatusBody + "MessageStatus=delivered", want: twRep(sms.StatusDelivered, "")},
	{label: "read", body: twStatusBody + "MessageStatus=read", want: twRep(sms.StatusDelivered, "")},
	{label: "undelivered with ErrorCode", body: twStatusBody + "MessageStatus=undelivered&ErrorCode=30003", want: twRep(sms.StatusFailed, "30003")},
	{label: "failed with ErrorCode", body: twStatusBody + "MessageStatus=failed&ErrorCode=30008", want: twRep(sms.StatusFailed, "30008")},
	{label: "canceled", body: twStatusBody + "MessageStatus=canceled", want: twRep(sms.StatusFailed, "")},
	{label: "an unknown status says nothing", body: twStatusBody + "MessageStatus=partially_delivered", want: twRep("", "")},
	{label: "SmsStatus when MessageStatus is absent", body: twStatusBody + "SmsStatus=delivered", want: twRep(sms.StatusDelivered, "")},
	{
		label: "no mid: matched by MessageSid", target: "/sms/twilio/status",
		body: twStatusBody + "MessageStatus=delivered", want: sms.Report{ProviderID: "SM9a8b", Status: sms.StatusDelivered},
	},
	{
		label: "with the callback token", target: "/sms/twilio/status?mid=4211&token=tok123",
		body: twStatusBody + "MessageStatus=delivered", want: twRep(sms.StatusDelivered, ""),
	},
	{label: "missing MessageSid", body: "MessageStatus=sent", reason: "missing MessageSid"},
	{label: "missing MessageStatus", body: "MessageSid=SM9a8b", reason: "missing MessageStatus"},
	{label: "unsigned", header: map[string]string{"X-Twilio-Signature": "-"}, body: twStatusBody + "MessageStatus=delivered", badSig: true},
	{
		label:  "mid changed after signing",
		target: "/sms/twilio/status?mid=1",
		header: twSigFor(twPublicURL+"/sms/twilio/status?mid=4211", twStatusBody+"MessageStatus=delivered"),
		body:   twStatusBody + "MessageStatus=delivered", badSig: true,
	},
}

func TestTwilioParseReport(t *testing.T) { twilioReport.run(t, twilioReportCases) }

const twQueued = `{"account_sid":"AC0123456789abcdef0123456789abcdef","api_version":"2010-04-01","body":"x","date_created":"Thu, 27 Nov 2025 08:00:00 +0000","direction":"outbound-api","error_code":null,"error_message":null,"from":"+6281100001111","messaging_service_sid":null,"num_media":"0","num_segments":"1","price":null,"sid":"SM0123456789abcdef0123456789abcdef","status":"queued","to":"+6281234567890","uri":"/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages/SM0123456789abcdef0123456789abcdef.json"}`

func TestTwilioSendRequest(t *testing.T) {
	for _, tc := range []struct {
		label     string
		publicURL string
		token     string
		m         sms.Outgoing
		want      map[string]string
	}{
		{
			"with status callback and token", twPublicURL + "/", "tok123", depositMsg,
			map[string]string{"To": "+6281234567890", "From": "+6281100001111", "Body": depositMsg.Text, "StatusCallback": twPublicURL + "/sms/twilio/status?mid=4211&token=tok123"},
		},
		{
			"ucs2 without public URL", "", "tok123", ucs2Msg,
			map[string]string{"To": "+6281234567890", "From": "+6281100001111", "Body": ucs2Msg.Text},
		},
	} {
		t.Run(tc.label, func(t *testing.T) {
			srv, got := fakeGateway(t, http.StatusCreated, "application/json", twQueued)
			tw := twilioAdapter
			tw.BaseURL, tw.From, tw.PublicURL, tw.Token, tw.HTTP = srv.URL, "+6281100001111", tc.publicURL, tc.token, loopbackClient()
			res, err := tw.Send(t.Context(), tc.m)
			if err != nil || res != (sms.SendResult{ProviderID: "SM0123456789abcdef0123456789abcdef", Status: sms.StatusSubmitted}) {
				t.Fatalf("Send() = %+v, %v; want submitted with the sid", res, err)
			}
			c := (*got)[0]
			if c.method != http.MethodPost || c.path != "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json" {
				t.Fatalf("request %s %s", c.method, c.path)
			}
			if !c.basic || c.user != twilioAdapter.AccountSID || c.pass != twToken {
				t.Errorf("basic auth %v %q; want the account SID and auth token", c.basic, c.user)
			}
			if c.header.Get("Content-Type") != formMIME {
				t.Errorf("Content-Type %q", c.header.Get("Content-Type"))
			}
			wantValues(t, c.form, tc.want)
		})
	}
}

// The StatusCallback Send asks for, called back and signed by Twilio,
// parses to a report for the same outbox message.
func TestTwilioStatusCallbackRoundTrip(t *testing.T) {
	srv, got := fakeGateway(t, http.StatusCreated, "application/json", twQueued)
	tw := twilioAdapter
	tw.BaseURL, tw.Token, tw.HTTP = srv.URL, "tok123", loopbackClient()
	if _, err := tw.Send(t.Context(), depositMsg); err != nil {
		t.Fatal(err)
	}
	cb, err := url.Parse((*got)[0].form.Get("StatusCallback"))
	if err != nil {
		t.Fatal(err)
	}
	body := "MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered"
	r := httptest.NewRequest(http.MethodPost, cb.RequestURI(), strings.NewReader(body))
	r.Header.Set("Content-Type", formMIME)
	form, _ := url.ParseQuery(body)
	r.Header.Set("X-Twilio-Signature", sms.TwilioSignature(twToken, cb.String(), form))
	rep, err := tw.ParseReport(r)
	want := sms.Report{MessageID: 4211, ProviderID: "SM0123456789abcdef0123456789abcdef", Status: sms.StatusDelivered}
	if err != nil || rep != want {
		t.Fatalf("ParseReport() = %+v, %v; want %+v", rep, err, want)
	}
	if cb.Query().Get("token") != "tok123" {
		t.Fatalf("StatusCallback %q lacks the callback token", cb)
	}
}

func twError(code int, msg string, status int) string {
	return fmt.Sprintf(`{"code":%d,"message":%q,"more_info":"https://www.twilio.com/docs/errors/%d","status":%d}`, code, msg, code, status)
}

func TestTwilioSendAnswers(t *testing.T) {
	tests := []struct {
		label     string
		status    int
		body      string
		want      sms.Status
		permanent bool
		contains  string
	}{
		{"201 queued", http.StatusCreated, twQueued, sms.StatusSubmitted, false, ""},
		{"201 accepted (messaging service)", http.StatusCreated, strings.Replace(twQueued, `"queued"`, `"accepted"`, 1), sms.StatusSubmitted, false, ""},
		{"201 sent already", http.StatusCreated, strings.Replace(twQueued, `"queued"`, `"sent"`, 1), sms.StatusSent, false, ""},
		{"201 failed", http.StatusCreated, strings.Replace(strings.Replace(twQueued, `"queued"`, `"failed"`, 1), `"error_code":null`, `"error_code":30007`, 1), "", true, "30007"},
		{"400 invalid To", http.StatusBadRequest, twError(21211, "The 'To' number +6281234567890 is not a valid phone number.", 400), "", true, "21211"},
		{"400 unverified trial number", http.StatusBadRequest, twError(21608, "The number +6281234567890 is unverified. Trial accounts cannot send messages to unverified numbers", 400), "", true, "21608"},
		{"401 bad credentials", http.StatusUnauthorized, twError(20003, "Authenticate", 401), "", true, "20003"},
		{"404 wrong account", http.StatusNotFound, twError(20404, "The requested resource was not found", 404), "", true, "HTTP 404"},
		{"429 too many requests", http.StatusTooManyRequests, twError(20429, "Too Many Requests", 429), "", false, "20429"},
		{"500", http.StatusInternalServerError, twError(20500, "Internal Server Error", 500), "", false, "HTTP 500"},
		{"503 not json", http.StatusServiceUnavailable, "<html>Service Unavailable</html>", "", false, "HTTP 503"},
		{"2xx not json", http.StatusCreated, "<html>ok</html>", "", false, "unreadable"},
		{"2xx without sid", http.StatusCreated, `{"status":"queued"}`, "", false, "unreadable"},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			srv, _ := fakeGateway(t, tc.status, "application/json", tc.body)
			tw := twilioAdapter
			tw.BaseURL, tw.From, tw.HTTP = srv.URL, "+6281100001111", loopbackClient()
			res, err := tw.Send(t.Context(), depositMsg)
			if tc.want != "" {
				if err != nil || res.Status != tc.want || res.ProviderID == "" {
					t.Fatalf("Send() = %+v, %v; want %s with the sid", res, err, tc.want)
				}
				return
			}
			se := wantSendError(t, err, tc.permanent, twToken, depositMsg.Text, "6281234567890")
			if !strings.Contains(se.Reason, tc.contains) {
				t.Fatalf("reason %q; want it to mention %q", se.Reason, tc.contains)
			}
		})
	}
}

func TestTwilioSendNetwork(t *testing.T) {
	for _, tc := range []struct{ label, base, contains string }{
		{"nothing listens", closedURL(t), "connection refused"},
		{"default base URL is not reached in tests", "", "api.twilio.com"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			tw := twilioAdapter
			tw.BaseURL, tw.HTTP = tc.base, loopbackClient()
			_, err := tw.Send(t.Context(), depositMsg)
			se := wantSendError(t, err, false, twToken, "482913")
			if !strings.Contains(se.Reason, tc.contains) {
				t.Fatalf("reason %q; want it to mention %q", se.Reason, tc.contains)
			}
		})
	}
}

func FuzzTwilioInbound(f *testing.F) {
	for _, c := range twilioInboundCases {
		if c.header == nil && c.method == "" {
			f.Add([]byte(c.body), true)
		}
	}
	f.Add([]byte(twDocumented), false)
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		c := adapterCase[sms.Inbound]{body: string(body)}
		if !signed {
			c.header = map[string]string{"X-Twilio-Signature": "-"}
		}
		in, err := twilioAdapter.ParseInbound(twilioInbound.request(c))
		twilioInbound.checkFuzzed(t, err)
		if !signed && err == nil {
			t.Fatal("an unsigned callback was accepted")
		}
		if err == nil {
			checkInboundInvariants(t, "twilio", in)
		}
	})
}
