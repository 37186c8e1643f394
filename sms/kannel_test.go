package sms_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lumbung-id/lumbung/sms"
)

var kannelReasons = reasonSet(formReasons, fieldReasons("id", "from", "to"), []string{
	"request method must be GET or POST",
	"request method must be GET",
	"query string is longer than 8 KiB",
	"query string is not valid",
	"content type must be text/plain",
	"missing mid",
	"missing type",
	"fid must be at most 128 printable ascii characters without spaces",
})

var kannelInbound = callbackEndpoint[sms.Inbound]{
	method: http.MethodGet, path: "/sms/kannel", contentType: "-",
	parse: sms.Kannel{}.ParseInbound, reasons: kannelReasons,
}

const kannelUUID = "6c3a1f0e-2b7d-4a0c-9a51-0d5e8f6b2c11"

func kannelIn(from, to, text string) sms.Inbound {
	return sms.Inbound{Provider: "kannel", ProviderID: kannelUUID, From: from, To: to, Text: text}
}

// The first cases are get-url callbacks as Kannel 1.4.5 made them for
// from=%p&to=%P&text=%a&id=%I (PROVIDERS.md): %p URL-encoded, %I a UUID.
var kannelInboundCases = []adapterCase[sms.Inbound]{
	{
		label:  "get-url balance check",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "1234", "SALDO"),
	},
	{
		label:  "sender 0812 without unified-prefix",
		target: "/sms/kannel?from=081234567890&to=1234&text=saldo&id=" + kannelUUID,
		want:   kannelIn("081234567890", "1234", "saldo"),
	},
	{
		label:  "sender 62812",
		target: "/sms/kannel?from=6281234567890&to=1234&text=MUTASI&id=" + kannelUUID,
		want:   kannelIn("6281234567890", "1234", "MUTASI"),
	},
	{
		label:  "unencoded plus decodes as a space and is trimmed",
		target: "/sms/kannel?from=+6281234567890&to=1234&text=SALDO&id=" + kannelUUID,
		want:   kannelIn("6281234567890", "1234", "SALDO"),
	},
	{
		label:  "alphanumeric sender kept for the processor",
		target: "/sms/kannel?from=TELKOMSEL&to=1234&text=Paket+anda+aktif&id=" + kannelUUID,
		want:   kannelIn("TELKOMSEL", "1234", "Paket anda aktif"),
	},
	{
		label:  "pin and member number",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO+A-001+482913&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "1234", "SALDO A-001 482913"),
	},
	{
		label:  "empty text",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "1234", ""),
	},
	{
		label:  "no text parameter",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "1234", ""),
	},
	{
		label:  "no to parameter",
		target: "/sms/kannel?from=%2B6281234567890&text=SALDO&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "", "SALDO"),
	},
	{
		label:  "UCS-2 curly quotes after mo-recode arrive as UTF-8",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO+%E2%80%9Cx%E2%80%9D&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "1234", "SALDO “x”"),
	},
	{
		label:  "invalid UTF-8 is repaired, not refused",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO%FF&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "1234", "SALDO\uFFFD"),
	},
	{
		label:  "concatenated message arrives whole",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=" + strings.Repeat("BANTUAN+", 25) + "&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "1234", strings.Repeat("BANTUAN ", 25)),
	},
	{
		label:  "ts=%T gives the time",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO&id=" + kannelUUID + "&ts=1764230400",
		want:   sms.Inbound{Provider: "kannel", ProviderID: kannelUUID, From: "+6281234567890", To: "1234", Text: "SALDO", ReceivedAt: time.Date(2025, 11, 27, 8, 0, 0, 0, time.UTC)},
	},
	{
		label:  "unexpandable ts is ignored",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO&id=" + kannelUUID + "&ts=kemarin",
		want:   kannelIn("+6281234567890", "1234", "SALDO"),
	},
	{
		label:  "token and smsc-id parameters are not the adapter's business",
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO&id=" + kannelUUID + "&smsc=telkomsel&token=s3cret",
		want:   kannelIn("+6281234567890", "1234", "SALDO"),
	},
	{
		label:  "get-url fetched with POST and no body",
		method: http.MethodPost,
		target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO&id=" + kannelUUID,
		want:   kannelIn("+6281234567890", "1234", "SALDO"),
	},

	// post-url: the text is the body.
	{
		label: "post-url with the metadata in the query", method: http.MethodPost,
		target:      "/sms/kannel?from=%2B6281234567890&to=1234&id=" + kannelUUID,
		contentType: "text/plain; charset=UTF-8",
		body:        "SALDO  482913",
		want:        kannelIn("+6281234567890", "1234", "SALDO  482913"),
	},
	{
		label: "post-url with X-Kannel headers (send-sender = true)", method: http.MethodPost,
		target:      "/sms/kannel?id=" + kannelUUID,
		contentType: "text/plain",
		header:      map[string]string{"X-Kannel-From": "+6281234567890", "X-Kannel-To": "1234", "X-Kannel-Coding": "0"},
		body:        "PINJAMAN",
		want:        kannelIn("+6281234567890", "1234", "PINJAMAN"),
	},
	{
		label: "post-url: the query wins over the headers", method: http.MethodPost,
		target:      "/sms/kannel?from=081234567890&to=5678&id=" + kannelUUID,
		contentType: "text/plain",
		header:      map[string]string{"X-Kannel-From": "+6289999999999", "X-Kannel-To": "1234"},
		body:        "SALDO",
		want:        kannelIn("081234567890", "5678", "SALDO"),
	},
	{
		label: "post-url: the body wins over a text in the query", method: http.MethodPost,
		target:      "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO+x&id=" + kannelUUID,
		contentType: "text/plain; charset=utf-8",
		body:        "SALDO   x",
		want:        kannelIn("+6281234567890", "1234", "SALDO   x"),
	},
	{
		label: "post-url curly quotes in UTF-8", method: http.MethodPost,
		target:      "/sms/kannel?from=%2B6281234567890&to=1234&id=" + kannelUUID,
		contentType: "text/plain; charset=UTF-8",
		body:        "SALDO “x”",
		want:        kannelIn("+6281234567890", "1234", "SALDO “x”"),
	},
	{
		label: "post-url raw UCS-2 without mo-recode", method: http.MethodPost,
		target:      "/sms/kannel?from=%2B6281234567890&to=1234&id=" + kannelUUID,
		contentType: "text/plain; charset=UTF-16BE",
		body:        "\x00S\x00A\x00L\x00D\x00O\x00 \x20\x1c\x00x\x20\x1d",
		want:        kannelIn("+6281234567890", "1234", "SALDO “x”"),
	},
	{
		label: "post-url latin-1", method: http.MethodPost,
		target:      "/sms/kannel?from=%2B6281234567890&to=1234&id=" + kannelUUID,
		contentType: "text/plain; charset=ISO-8859-1",
		body:        "caf\xe9",
		want:        kannelIn("+6281234567890", "1234", "café"),
	},
	{
		label: "post-url without a content type", method: http.MethodPost,
		target: "/sms/kannel?from=%2B6281234567890&to=1234&id=" + kannelUUID,
		body:   "BAL",
		want:   kannelIn("+6281234567890", "1234", "BAL"),
	},

	// 400s.
	{label: "missing id", target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO", reason: "missing id"},
	{label: "empty id", target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO&id=", reason: "missing id"},
	{label: "unexpanded %I is not a query", target: "/sms/kannel?from=%2B6281234567890&to=1234&text=SALDO&id=%I", reason: "query string is not valid"},
	{
		label: "post-url id only in a header", method: http.MethodPost,
		target: "/sms/kannel?from=%2B6281234567890&to=1234", contentType: "text/plain",
		header: map[string]string{"X-Kannel-Id": kannelUUID}, body: "SALDO", reason: "missing id",
	},
	{label: "id with a space", target: "/sms/kannel?from=%2B6281234567890&text=SALDO&id=a+b", reason: "id must be at most 128 printable ascii characters without spaces"},
	{label: "id too long", target: "/sms/kannel?from=%2B6281234567890&text=SALDO&id=" + strings.Repeat("a", 129), reason: "id must be at most 128 printable ascii characters without spaces"},
	{label: "missing from", target: "/sms/kannel?to=1234&text=SALDO&id=" + kannelUUID, reason: "missing from"},
	{label: "blank from", target: "/sms/kannel?from=+&to=1234&text=SALDO&id=" + kannelUUID, reason: "missing from"},
	{label: "from with a newline", target: "/sms/kannel?from=0812%0Aforged&text=SALDO&id=" + kannelUUID, reason: "from must be at most 64 characters without control characters"},
	{label: "to too long", target: "/sms/kannel?from=0812&to=" + strings.Repeat("1", 65) + "&text=SALDO&id=" + kannelUUID, reason: "to must be at most 64 characters without control characters"},
	{label: "bad escape in text", target: "/sms/kannel?from=0812&to=1234&text=482913%zz&id=" + kannelUUID, reason: "query string is not valid"},
	{label: "query over 8 KiB", target: "/sms/kannel?from=0812&id=" + kannelUUID + "&text=" + strings.Repeat("x", 8<<10), reason: "query string is longer than 8 KiB"},
	{label: "text with a NUL byte", target: "/sms/kannel?from=0812&to=1234&text=SALDO%00&id=" + kannelUUID, reason: "text must not hold a NUL byte"},
	{
		label: "post-url text over 8 KiB", method: http.MethodPost,
		target: "/sms/kannel?from=0812&id=" + kannelUUID, contentType: "text/plain",
		body: strings.Repeat("x", 8<<10+1), reason: "text is longer than 8 KiB",
	},
	{
		label: "post-url body over 64 KiB", method: http.MethodPost,
		target: "/sms/kannel?from=0812&id=" + kannelUUID, contentType: "text/plain",
		body: strings.Repeat("x", 64<<10+1), reason: "request body is larger than 64 KiB",
	},
	{
		label: "post-url binary message", method: http.MethodPost,
		target: "/sms/kannel?from=0812&id=" + kannelUUID, contentType: "application/octet-stream",
		body: "\x05\x00\x03", reason: "content type must be text/plain",
	},
	{
		label: "form post", method: http.MethodPost,
		target: "/sms/kannel?from=0812&id=" + kannelUUID, contentType: formMIME,
		body: "text=SALDO", reason: "content type must be text/plain",
	},
	{label: "PUT", method: http.MethodPut, target: "/sms/kannel?from=0812&text=SALDO&id=" + kannelUUID, reason: "request method must be GET or POST"},
}

func TestKannelParseInbound(t *testing.T) { kannelInbound.run(t, kannelInboundCases) }

// testReports signs the dlr-urls of these tests; tok4211 and tok7 are the
// tokens of messages 4211 and 7.
var (
	testReports = func() *sms.ReportSigner {
		s, err := sms.NewReportSigner([]byte(strings.Repeat("k", 32)))
		if err != nil {
			panic(err)
		}
		return s
	}()
	tok4211 = testReports.Token(4211)
	tok7    = testReports.Token(7)
)

var kannelReport = callbackEndpoint[sms.Report]{
	method: http.MethodGet, path: "/sms/kannel/dlr", contentType: "-",
	parse: sms.Kannel{Reports: testReports}.ParseReport, reasons: kannelReasons,
}

// The DLR callbacks are the dlr-url Send asks for, as Kannel expands it:
// mid=<outbox id>&t=<token>&type=%d&reply=%A&fid=%F[&token=…].
var kannelReportCases = []adapterCase[sms.Report]{
	{
		label:  "1 delivered to phone, SMPP receipt without the text",
		target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=1&reply=id%3A0A1B2C3D+sub%3A001+dlvrd%3A001+submit+date%3A2511271200+done+date%3A2511271201+stat%3ADELIVRD+err%3A000+text%3AKode+setor+Anda+4829&fid=0A1B2C3D&token=s3cret",
		want:   sms.Report{MessageID: 4211, ProviderID: "0A1B2C3D", Status: sms.StatusDelivered, Detail: "id:0A1B2C3D sub:001 dlvrd:001 submit date:2511271200 done date:2511271201 stat:DELIVRD err:000"},
	},
	{
		label:  "2 not delivered to phone",
		target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=2&reply=id%3A0A1B+stat%3AUNDELIV+err%3A001+Text%3AKode&fid=0A1B",
		want:   sms.Report{MessageID: 4211, ProviderID: "0A1B", Status: sms.StatusFailed, Detail: "id:0A1B stat:UNDELIV err:001"},
	},
	{
		label:  "4 buffered at the SMSC",
		target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=4&reply=&fid=",
		want:   sms.Report{MessageID: 4211, Status: sms.StatusSent},
	},
	{
		label:  "8 accepted by the SMSC",
		target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=8&reply=ACK%2F&fid=0A1B2C3D",
		want:   sms.Report{MessageID: 4211, ProviderID: "0A1B2C3D", Status: sms.StatusSent, Detail: "ACK/"},
	},
	{
		label:  "16 rejected by the SMSC",
		target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=16&reply=NACK%2F0x00000045%2FMessage+submit+failed&fid=",
		want:   sms.Report{MessageID: 4211, Status: sms.StatusFailed, Detail: "NACK/0x00000045/Message submit failed"},
	},
	{
		label:  "a type lumbung did not ask for says nothing",
		target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=32&reply=&fid=0A1B",
		want:   sms.Report{MessageID: 4211, ProviderID: "0A1B"},
	},
	{
		label:  "a non-numeric type says nothing",
		target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=x&fid=0A1B",
		want:   sms.Report{MessageID: 4211, ProviderID: "0A1B"},
	},
	{label: "a non-numeric mid is no mid: fid alone finds nothing", target: "/sms/kannel/dlr?mid=abc&type=1&fid=0A1B", reason: "missing mid"},
	// Outbox ids are sequential: only the token makes a report lumbung's.
	{label: "no token", target: "/sms/kannel/dlr?mid=4211&type=1&reply=&fid=0A1B", badSig: true},
	{label: "empty token", target: "/sms/kannel/dlr?mid=4211&t=&type=1", badSig: true},
	{label: "another message's token", target: "/sms/kannel/dlr?mid=4211&t=" + tok7 + "&type=1", badSig: true},
	{label: "a token one character off", target: "/sms/kannel/dlr?mid=4211&t=" + tok4211[:31] + "x&type=1", badSig: true},
	{label: "the token in upper case", target: "/sms/kannel/dlr?mid=4211&t=" + strings.ToUpper(tok4211) + "&type=1", badSig: true},
	{label: "the callback token is not the report token", target: "/sms/kannel/dlr?mid=4211&token=" + tok4211 + "&type=1", badSig: true},
	{label: "a bad token is refused before anything else is read", target: "/sms/kannel/dlr?mid=4211&t=x&fid=0A%0A1B", badSig: true},
	{
		label:  "a long reply is shortened to one line",
		target: "/sms/kannel/dlr?mid=7&t=" + tok7 + "&type=16&reply=NACK%0A" + strings.Repeat("e", 300),
		want:   sms.Report{MessageID: 7, Status: sms.StatusFailed, Detail: "NACK " + strings.Repeat("e", 155) + "…"},
	},
	{label: "neither mid nor fid", target: "/sms/kannel/dlr?type=1&reply=x", reason: "missing mid"},
	{label: "mid 0 and no fid", target: "/sms/kannel/dlr?mid=0&type=1", reason: "missing mid"},
	{label: "missing type", target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&fid=0A1B", reason: "missing type"},
	{label: "unexpanded %d is not a query", target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=%d&fid=0A1B", reason: "query string is not valid"},
	{label: "fid with a newline", target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=1&fid=0A%0A1B", reason: "fid must be at most 128 printable ascii characters without spaces"},
	{label: "query over 8 KiB", target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=1&reply=" + strings.Repeat("x", 8<<10), reason: "query string is longer than 8 KiB"},
	{label: "POST", method: http.MethodPost, target: "/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=1", reason: "request method must be GET"},
}

func TestKannelParseReport(t *testing.T) { kannelReport.run(t, kannelReportCases) }

func TestKannelAck(t *testing.T) {
	w := httptest.NewRecorder()
	if err := (sms.Kannel{}).Ack(w); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Fatalf("Ack() = %d %q; want 200 with an empty body (no reply SMS)", w.Code, w.Body.String())
	}
}

func TestKannelSendRequest(t *testing.T) {
	tests := []struct {
		label string
		fixed string // fixed parameters of the configured send URL
		k     sms.Kannel
		m     sms.Outgoing
		check func(t *testing.T, c gatewayRequest, raw string)
	}{
		{
			label: "gsm7 with delivery reports and token",
			k:     sms.Kannel{Username: "lumbung", Password: "pa55word", From: "KSP1", CallbackBase: "https://lumbung.example.id/", Token: "tok123", Reports: testReports},
			m:     depositMsg,
			check: func(t *testing.T, c gatewayRequest, raw string) {
				wantValues(t, c.query, map[string]string{
					"username": "lumbung", "password": "pa55word", "to": "+6281234567890", "from": "KSP1",
					"text": depositMsg.Text, "dlr-mask": "27",
					"dlr-url": "https://lumbung.example.id/sms/kannel/dlr?mid=4211&t=" + tok4211 + "&type=%d&reply=%A&fid=%F&token=tok123",
				}, "coding", "charset")
				// One parameter, its own & and % escaped for Kannel to decode once.
				if !strings.Contains(raw, "dlr-url=https%3A%2F%2Flumbung.example.id%2Fsms%2Fkannel%2Fdlr%3Fmid%3D4211%26t%3D"+tok4211+"%26type%3D%25d%26reply%3D%25A%26fid%3D%25F%26token%3Dtok123") {
					t.Errorf("raw query %q does not carry dlr-url as one encoded parameter", raw)
				}
				if !strings.Contains(raw, "to=%2B6281234567890") {
					t.Errorf("raw query %q: the + of to is not encoded", raw)
				}
			},
		},
		{
			label: "ucs2 without callbacks or sender",
			k:     sms.Kannel{Username: "lumbung", Password: "pa55word"},
			m:     ucs2Msg,
			check: func(t *testing.T, c gatewayRequest, raw string) {
				wantValues(t, c.query, map[string]string{
					"username": "lumbung", "password": "pa55word", "to": "+6281234567890",
					"text": ucs2Msg.Text, "coding": "2", "charset": "UTF-8",
				}, "from", "dlr-mask", "dlr-url")
			},
		},
		{
			label: "fixed parameters of the send URL are kept",
			fixed: "?smsc=telkomsel",
			k:     sms.Kannel{Username: "u", Password: "p", CallbackBase: "http://10.0.0.5:8080"},
			m:     sms.Outgoing{ID: 9, To: "+6281234567890", Text: "x", Encoding: sms.GSM7, Segments: 1},
			check: func(t *testing.T, c gatewayRequest, raw string) {
				wantValues(t, c.query, map[string]string{
					"smsc": "telkomsel", "username": "u", "password": "p", "to": "+6281234567890", "text": "x",
					"dlr-mask": "27", "dlr-url": "http://10.0.0.5:8080/sms/kannel/dlr?mid=9&type=%d&reply=%A&fid=%F",
				}, "from", "coding")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			var raw string
			srv, got := fakeGateway(t, http.StatusAccepted, "text/html", "0: Accepted for delivery")
			k := tc.k
			k.SendURL = srv.URL + "/cgi-bin/sendsms" + tc.fixed
			k.HTTP = &http.Client{Transport: rawQueryRecorder{&raw, loopbackClient().Transport}}
			res, err := k.Send(t.Context(), tc.m)
			if err != nil {
				t.Fatalf("Send() error %v", err)
			}
			if res != (sms.SendResult{Status: sms.StatusSubmitted}) {
				t.Fatalf("Send() = %+v; want submitted without an id", res)
			}
			if len(*got) != 1 {
				t.Fatalf("gateway got %d requests; want 1", len(*got))
			}
			c := (*got)[0]
			if c.method != http.MethodGet || c.path != "/cgi-bin/sendsms" {
				t.Fatalf("request %s %s; want GET /cgi-bin/sendsms", c.method, c.path)
			}
			tc.check(t, c, raw)
		})
	}
}

// rawQueryRecorder keeps the raw query of the last request it carried.
type rawQueryRecorder struct {
	raw  *string
	next http.RoundTripper
}

func (r rawQueryRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	*r.raw = req.URL.RawQuery
	return r.next.RoundTrip(req)
}

// wantValues checks vals holds exactly want's keys with one value each (plus
// nothing in absent).
func wantValues(t *testing.T, vals map[string][]string, want map[string]string, absent ...string) {
	t.Helper()
	for k, v := range want {
		if got := vals[k]; len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q; want [%q]", k, got, v)
		}
	}
	for _, k := range absent {
		if _, ok := vals[k]; ok {
			t.Errorf("%s = %q; want it absent", k, vals[k])
		}
	}
	if len(vals) != len(want) {
		t.Errorf("got %d parameters %v; want %d", len(vals), vals, len(want))
	}
}

// Every answer Kannel 1.4.5 gives sendsms (PROVIDERS.md), classified.
func TestKannelSendAnswers(t *testing.T) {
	tests := []struct {
		label     string
		status    int
		body      string
		permanent bool
		ok        bool
	}{
		{"accepted", http.StatusAccepted, "0: Accepted for delivery", false, true},
		{"queued for later", http.StatusAccepted, "3: Queued for later delivery", false, true},
		{"accepted with 200 and a newline", http.StatusOK, "0: Accepted for delivery\n", false, true},
		{"bad credentials", http.StatusForbidden, "Authorization failed for sendsms", true, false},
		{"no receiver", http.StatusBadRequest, "Missing receiver number, rejected", true, false},
		{"denied number", http.StatusBadRequest, "Number(s) has/have been denied by white- and/or black-lists.", true, false},
		{"overloaded", http.StatusServiceUnavailable, "Temporal failure, try again later.", false, false},
		{"internal error", http.StatusInternalServerError, "", false, false},
		{"unexpected 202 body", http.StatusAccepted, "<html>proxy says hi</html>", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			srv, _ := fakeGateway(t, tc.status, "text/html", tc.body)
			k := sms.Kannel{SendURL: srv.URL + "/cgi-bin/sendsms", Username: "lumbung", Password: "pa55word", HTTP: loopbackClient()}
			res, err := k.Send(t.Context(), depositMsg)
			if tc.ok {
				if err != nil || res.Status != sms.StatusSubmitted {
					t.Fatalf("Send() = %+v, %v; want submitted", res, err)
				}
				return
			}
			se := wantSendError(t, err, tc.permanent, "pa55word", depositMsg.Text)
			if tc.body != "" && !strings.Contains(se.Reason, strings.TrimSpace(tc.body)) {
				t.Errorf("reason %q does not carry Kannel's answer", se.Reason)
			}
		})
	}
}

func TestKannelSendFailures(t *testing.T) {
	// A proxy that echoes the whole request URL in its error page.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad request: "+r.URL.String()+" raw "+r.URL.RawQuery, http.StatusBadRequest)
	}))
	t.Cleanup(echo.Close)
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		label     string
		sendURL   string
		ctx       context.Context
		permanent bool
		contains  string
	}{
		{"nothing listens", closedURL(t) + "/cgi-bin/sendsms", t.Context(), false, "connection refused"},
		{"a non-loopback host in tests", "http://kannel.example.net:13013/cgi-bin/sendsms", t.Context(), false, "kannel.example.net"},
		{"cancelled", echo.URL, cancelled, false, "context canceled"},
		{"echoing proxy", echo.URL, t.Context(), true, "HTTP 400"},
		{"no send URL", "", t.Context(), true, "send URL"},
		{"relative send URL", "/cgi-bin/sendsms", t.Context(), true, "send URL"},
	}
	for _, tc := range tests {
		t.Run(tc.label, func(t *testing.T) {
			k := sms.Kannel{SendURL: tc.sendURL, Username: "lumbung", Password: "pa55word", From: "KSP1", HTTP: loopbackClient()}
			_, err := k.Send(tc.ctx, depositMsg)
			se := wantSendError(t, err, tc.permanent, "pa55word", "482913", "Kode+setor", "Kode%20setor", "6281234567890")
			if !strings.Contains(se.Reason, tc.contains) {
				t.Errorf("reason %q; want it to mention %q", se.Reason, tc.contains)
			}
		})
	}
}

// With HTTP nil, Send uses http.DefaultTransport (which a TestMain may have
// made loopback-only); a loopback fake gateway answers.
func TestKannelSendDefaultClient(t *testing.T) {
	srv, got := fakeGateway(t, http.StatusAccepted, "", "0: Accepted for delivery")
	k := sms.Kannel{SendURL: srv.URL + "/cgi-bin/sendsms", Username: "u", Password: "p"}
	if _, err := k.Send(t.Context(), depositMsg); err != nil || len(*got) != 1 {
		t.Fatalf("Send() error %v, %d requests; want nil, 1", err, len(*got))
	}
}

func FuzzKannelInbound(f *testing.F) {
	for _, c := range kannelInboundCases {
		_, q, _ := strings.Cut(c.target, "?")
		f.Add(q, c.method == http.MethodPost, c.contentType, []byte(c.body))
	}
	f.Fuzz(func(t *testing.T, query string, post bool, contentType string, body []byte) {
		c := adapterCase[sms.Inbound]{method: http.MethodGet, contentType: contentType, body: string(body)}
		if post {
			c.method = http.MethodPost
		}
		if contentType == "" {
			c.contentType = "-"
		}
		r := kannelInbound.request(c)
		r.URL.RawQuery = query // httptest.NewRequest would panic on a bad target
		in, err := sms.Kannel{}.ParseInbound(r)
		kannelInbound.checkFuzzed(t, err)
		if err == nil {
			checkInboundInvariants(t, "kannel", in)
		}
	})
}

func FuzzKannelReport(f *testing.F) {
	for _, c := range kannelReportCases {
		_, q, _ := strings.Cut(c.target, "?")
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		r := kannelReport.request(adapterCase[sms.Report]{})
		r.URL.RawQuery = query
		rep, err := sms.Kannel{Reports: testReports}.ParseReport(r)
		kannelReport.checkFuzzed(t, err)
		if err != nil {
			return
		}
		switch {
		case rep.MessageID < 0:
			t.Fatalf("MessageID %d", rep.MessageID)
		case rep.MessageID == 0 && rep.ProviderID == "":
			t.Fatal("a report that matches nothing")
		case strings.Contains(strings.ToLower(rep.Detail), " text:"):
			t.Fatalf("Detail %q keeps the message text", rep.Detail)
		case len(rep.Detail) > 160+len("…"):
			t.Fatalf("Detail of %d bytes", len(rep.Detail))
		}
	})
}
