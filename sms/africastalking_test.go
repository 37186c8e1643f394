package sms_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lumbung-id/lumbung/sms"
)

var atReasons = reasonSet(formReasons, fieldReasons("id", "from", "to"), []string{"missing status"})

var atInbound = callbackEndpoint[sms.Inbound]{
	method: http.MethodPost, path: "/sms/africastalking", contentType: formMIME,
	parse: sms.AfricasTalking{}.ParseInbound, reasons: atReasons,
}

func atIn(id, from, to, text string, at time.Time) sms.Inbound {
	return sms.Inbound{Provider: "africastalking", ProviderID: id, From: from, To: to, Text: text, ReceivedAt: at}
}

var atDate = time.Date(2025, 11, 27, 6, 4, 45, 0, time.UTC)

// The first cases follow courier's africastalking tests and the community
// samples quoted in PROVIDERS.md (form fields id, from, to, text, date,
// linkId, networkCode); the rest are quirks lumbung has to survive.
var atInboundCases = []adapterCase[sms.Inbound]{
	{
		label: "documented callback",
		body:  "linkId=SampleLinkId123&text=SALDO&to=21525&id=ec5e6a2d-2b2d-4b39-8a54-f5e6d6d0b4c1&date=2025-11-27T06%3A04%3A45Z&from=%2B6281234567890&networkCode=51010",
		want:  atIn("ec5e6a2d-2b2d-4b39-8a54-f5e6d6d0b4c1", "+6281234567890", "21525", "SALDO", atDate),
	},
	{
		label: "date with a space",
		body:  "id=m1&from=%2B6281234567890&to=21525&text=BAL&date=2025-11-27+06%3A04%3A45",
		want:  atIn("m1", "+6281234567890", "21525", "BAL", atDate),
	},
	{
		label: "unreadable date is ignored",
		body:  "id=m1&from=%2B6281234567890&to=21525&text=BAL&date=27%2F11%2F2025",
		want:  atIn("m1", "+6281234567890", "21525", "BAL", time.Time{}),
	},
	{
		label: "no date",
		body:  "id=m1&from=%2B6281234567890&to=21525&text=BAL",
		want:  atIn("m1", "+6281234567890", "21525", "BAL", time.Time{}),
	},
	{
		label: "sender 0812",
		body:  "id=m2&from=081234567890&to=21525&text=saldo",
		want:  atIn("m2", "081234567890", "21525", "saldo", time.Time{}),
	},
	{
		label: "sender 62812",
		body:  "id=m3&from=6281234567890&to=21525&text=saldo",
		want:  atIn("m3", "6281234567890", "21525", "saldo", time.Time{}),
	},
	{
		label: "unencoded plus decodes as a space and is trimmed",
		body:  "id=m4&from=+6281234567890&to=21525&text=saldo",
		want:  atIn("m4", "6281234567890", "21525", "saldo", time.Time{}),
	},
	{
		label: "empty text",
		body:  "id=m5&from=%2B6281234567890&to=21525&text=",
		want:  atIn("m5", "+6281234567890", "21525", "", time.Time{}),
	},
	{
		label: "curly quotes arrive as UTF-8",
		body:  "id=m6&from=%2B6281234567890&to=21525&text=SALDO+%E2%80%9Cx%E2%80%9D",
		want:  atIn("m6", "+6281234567890", "21525", "SALDO “x”", time.Time{}),
	},
	{
		label: "pin in the text",
		body:  "id=m7&from=%2B6281234567890&to=21525&text=SALDO+482913",
		want:  atIn("m7", "+6281234567890", "21525", "SALDO 482913", time.Time{}),
	},
	{
		label:       "charset in the content type",
		contentType: formMIME + "; charset=UTF-8",
		body:        "id=m8&from=%2B6281234567890&to=21525&text=LOAN",
		want:        atIn("m8", "+6281234567890", "21525", "LOAN", time.Time{}),
	},
	{
		label:  "the query (token) is not the form",
		target: "/sms/africastalking?token=s3cret&id=q1&from=q",
		body:   "id=m9&from=%2B6281234567890&to=21525&text=LOAN",
		want:   atIn("m9", "+6281234567890", "21525", "LOAN", time.Time{}),
	},

	// 400s.
	{label: "missing id", body: "from=%2B6281234567890&to=21525&text=SALDO", reason: "missing id"},
	{label: "empty id", body: "id=&from=%2B6281234567890&to=21525&text=SALDO", reason: "missing id"},
	{label: "id only in the query", target: "/sms/africastalking?id=m1", body: "from=%2B6281234567890&text=SALDO", reason: "missing id"},
	{label: "id with a newline", body: "id=m1%0Aforged&from=%2B6281234567890&text=SALDO", reason: "id must be at most 128 printable ascii characters without spaces"},
	{label: "missing from", body: "id=m1&to=21525&text=SALDO", reason: "missing from"},
	{label: "from with a control character", body: "id=m1&from=0812%00&text=SALDO", reason: "from must be at most 64 characters without control characters"},
	{label: "text over 8 KiB", body: "id=m1&from=0812&text=" + strings.Repeat("x", 8<<10+1), reason: "text is longer than 8 KiB"},
	{label: "text with a NUL byte", body: "id=m1&from=0812&text=SALDO%00", reason: "text must not hold a NUL byte"},
	{label: "body over 64 KiB", body: "id=m1&from=0812&pad=" + strings.Repeat("x", 64<<10), reason: "request body is larger than 64 KiB"},
	{label: "bad escape", body: "id=m1&from=0812&text=482913%zz", reason: "request body is not a valid form"},
	{label: "json body", contentType: "application/json", body: `{"id":"m1"}`, reason: "content type must be application/x-www-form-urlencoded"},
	{label: "no content type", contentType: "-", body: "id=m1&from=0812&text=SALDO", reason: "content type must be application/x-www-form-urlencoded"},
	{label: "GET", method: http.MethodGet, target: "/sms/africastalking?id=m1&from=0812&text=SALDO", reason: "request method must be POST"},
}

func TestAfricasTalkingParseInbound(t *testing.T) { atInbound.run(t, atInboundCases) }

var atReport = callbackEndpoint[sms.Report]{
	method: http.MethodPost, path: "/sms/africastalking/dlr", contentType: formMIME,
	parse: sms.AfricasTalking{}.ParseReport, reasons: atReasons,
}

func atRep(id string, s sms.Status, detail string) sms.Report {
	return sms.Report{ProviderID: id, Status: s, Detail: detail}
}

var atReportCases = []adapterCase[sms.Report]{
	{label: "Sent", body: "id=ATXid_1&status=Sent&phoneNumber=%2B6281234567890&networkCode=51010&retryCount=0", want: atRep("ATXid_1", sms.StatusSent, "")},
	{label: "Submitted", body: "id=ATXid_1&status=Submitted&phoneNumber=%2B6281234567890", want: atRep("ATXid_1", sms.StatusSent, "")},
	{label: "Buffered", body: "id=ATXid_1&status=Buffered&phoneNumber=%2B6281234567890", want: atRep("ATXid_1", sms.StatusSent, "")},
	{label: "Success", body: "id=ATXid_1&status=Success&phoneNumber=%2B6281234567890&networkCode=51010", want: atRep("ATXid_1", sms.StatusDelivered, "")},
	{label: "Rejected", body: "id=ATXid_1&status=Rejected&failureReason=UserInBlacklist", want: atRep("ATXid_1", sms.StatusFailed, "UserInBlacklist")},
	{label: "Failed", body: "id=ATXid_1&status=Failed&failureReason=DeliveryFailure&retryCount=3", want: atRep("ATXid_1", sms.StatusFailed, "DeliveryFailure")},
	{label: "Expired", body: "id=ATXid_1&status=Expired&failureReason=AbsentSubscriber", want: atRep("ATXid_1", sms.StatusFailed, "AbsentSubscriber")},
	{label: "unknown status says nothing", body: "id=ATXid_1&status=Pending", want: atRep("ATXid_1", "", "")},
	{label: "status is case-sensitive as documented", body: "id=ATXid_1&status=success", want: atRep("ATXid_1", "", "")},
	{label: "no id in the query matters", target: "/sms/africastalking/dlr?token=s3cret&mid=5", body: "id=ATXid_1&status=Success", want: atRep("ATXid_1", sms.StatusDelivered, "")},
	{label: "missing id", body: "status=Success", reason: "missing id"},
	{label: "missing status", body: "id=ATXid_1", reason: "missing status"},
	{label: "GET", method: http.MethodGet, target: "/sms/africastalking/dlr?id=ATXid_1&status=Success", reason: "request method must be POST"},
	{label: "bad escape", body: "id=ATXid_1&status=Success%", reason: "request body is not a valid form"},
}

func TestAfricasTalkingParseReport(t *testing.T) { atReport.run(t, atReportCases) }

func TestAfricasTalkingAck(t *testing.T) {
	w := httptest.NewRecorder()
	if err := (sms.AfricasTalking{}).Ack(w); err != nil || w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("Ack() = %v, %d %q; want 200 with an empty body", err, w.Code, w.Body.String())
	}
}

const atSuccess = `{"SMSMessageData":{"Message":"Sent to 1/1 Total Cost: IDR 250","Recipients":[{"statusCode":101,"number":"+6281234567890","status":"Success","cost":"IDR 250","messageId":"ATXid_0b1c2d"}]}}`

func atRecipient(code int, status string) string {
	return `{"SMSMessageData":{"Message":"Sent to 0/1","Recipients":[{"statusCode":` + strconv.Itoa(code) + `,"number":"+6281234567890","status":"` + status + `","cost":"0","messageId":"None"}]}}`
}

func TestAfricasTalkingSendRequest(t *testing.T) {
	for _, tc := range []struct {
		label string
		from  string
		m     sms.Outgoing
		want  map[string]string
	}{
		{"with sender id", "KSP1", depositMsg, map[string]string{"username": "koperasi", "to": "+6281234567890", "message": depositMsg.Text, "from": "KSP1"}},
		{"ucs2 without sender id", "", ucs2Msg, map[string]string{"username": "koperasi", "to": "+6281234567890", "message": ucs2Msg.Text}},
	} {
		t.Run(tc.label, func(t *testing.T) {
			srv, got := fakeGateway(t, http.StatusCreated, "application/json", atSuccess)
			a := sms.AfricasTalking{Username: "koperasi", APIKey: "atsk_0123456789", BaseURL: srv.URL + "/", From: tc.from, HTTP: loopbackClient()}
			res, err := a.Send(t.Context(), tc.m)
			if err != nil || res != (sms.SendResult{ProviderID: "ATXid_0b1c2d", Status: sms.StatusSubmitted}) {
				t.Fatalf("Send() = %+v, %v; want submitted ATXid_0b1c2d", res, err)
			}
			c := (*got)[0]
			if c.method != http.MethodPost || c.path != "/version1/messaging" || len(c.query) != 0 {
				t.Fatalf("request %s %s?%v; want POST /version1/messaging", c.method, c.path, c.query)
			}
			for k, v := range map[string]string{"apiKey": "atsk_0123456789", "Accept": "application/json", "Content-Type": formMIME} {
				if c.header.Get(k) != v {
					t.Errorf("header %s = %q; want %q", k, c.header.Get(k), v)
				}
			}
			wantValues(t, c.form, tc.want)
		})
	}
}

func TestAfricasTalkingSendAnswers(t *testing.T) {
	tests := []struct {
		label     string
		status    int
		body      string
		permanent bool
		ok        bool
	}{
		{"101 Success", http.StatusCreated, atSuccess, false, true},
		{"100 Processed", http.StatusCreated, strings.Replace(atSuccess, "101", "100", 1), false, true},
		{"102 Queued", http.StatusOK, strings.Replace(atSuccess, "101", "102", 1), false, true},
		{"401 RiskHold", http.StatusCreated, atRecipient(401, "RiskHold"), true, false},
		{"402 InvalidSenderId", http.StatusCreated, atRecipient(402, "InvalidSenderId"), true, false},
		{"403 InvalidPhoneNumber", http.StatusCreated, atRecipient(403, "InvalidPhoneNumber"), true, false},
		{"404 UnsupportedNumberType", http.StatusCreated, atRecipient(404, "UnsupportedNumberType"), true, false},
		{"405 InsufficientBalance", http.StatusCreated, atRecipient(405, "InsufficientBalance"), false, false},
		{"406 UserInBlacklist", http.StatusCreated, atRecipient(406, "UserInBlacklist"), true, false},
		{"407 CouldNotRoute", http.StatusCreated, atRecipient(407, "CouldNotRoute"), true, false},
		{"500 InternalServerError", http.StatusCreated, atRecipient(500, "InternalServerError"), false, false},
		{"501 GatewayError", http.StatusCreated, atRecipient(501, "GatewayError"), false, false},
		{"502 RejectedByGateway", http.StatusCreated, atRecipient(502, "RejectedByGateway"), true, false},
		{"HTTP 401 bad key", http.StatusUnauthorized, "The supplied authentication is invalid", true, false},
		{"HTTP 400", http.StatusBadRequest, "Invalid phone number: +6281234567890", true, false},
		{"HTTP 429", http.StatusTooManyRequests, "Too many requests", false, false},
		{"HTTP 500", http.StatusInternalServerError, "", false, false},
		{"HTTP 503", http.StatusServiceUnavailable, "upstream down", false, false},
		{"unparsable 2xx", http.StatusCreated, "<html>ok</html>", false, false},
		{"no recipients", http.StatusCreated, `{"SMSMessageData":{"Message":"InvalidSenderId","Recipients":[]}}`, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			srv, _ := fakeGateway(t, tc.status, "application/json", tc.body)
			a := sms.AfricasTalking{Username: "koperasi", APIKey: "atsk_0123456789", BaseURL: srv.URL, HTTP: loopbackClient()}
			res, err := a.Send(t.Context(), depositMsg)
			if tc.ok {
				if err != nil || res.Status != sms.StatusSubmitted || res.ProviderID != "ATXid_0b1c2d" {
					t.Fatalf("Send() = %+v, %v; want submitted ATXid_0b1c2d", res, err)
				}
				return
			}
			wantSendError(t, err, tc.permanent, "atsk_0123456789", depositMsg.Text, "6281234567890")
		})
	}
}

func TestAfricasTalkingSendNetwork(t *testing.T) {
	for _, tc := range []struct{ label, base, contains string }{
		{"nothing listens", closedURL(t), "connection refused"},
		{"default base URL is not reached in tests", "", "api.africastalking.com"},
	} {
		t.Run(tc.label, func(t *testing.T) {
			a := sms.AfricasTalking{Username: "koperasi", APIKey: "atsk_0123456789", BaseURL: tc.base, HTTP: loopbackClient()}
			_, err := a.Send(t.Context(), depositMsg)
			se := wantSendError(t, err, false, "atsk_0123456789", "482913")
			if !strings.Contains(se.Reason, tc.contains) {
				t.Fatalf("reason %q; want it to mention %q", se.Reason, tc.contains)
			}
		})
	}
}

func FuzzATInbound(f *testing.F) {
	for _, c := range atInboundCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := sms.AfricasTalking{}.ParseInbound(atInbound.request(adapterCase[sms.Inbound]{body: string(body)}))
		atInbound.checkFuzzed(t, err)
		if err == nil {
			checkInboundInvariants(t, "africastalking", in)
		}
	})
}

func FuzzATReport(f *testing.F) {
	for _, c := range atReportCases {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rep, err := sms.AfricasTalking{}.ParseReport(atReport.request(adapterCase[sms.Report]{body: string(body)}))
		atReport.checkFuzzed(t, err)
		if err == nil && (rep.ProviderID == "" || rep.MessageID != 0 || len(rep.Detail) > 160+len("…")) {
			t.Fatalf("report %+v", rep)
		}
	})
}
