package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/sms"
	"github.com/lumbung-id/lumbung/ussd"
)

// fakeAT plays Africa's Talking's messaging API on loopback.
type fakeAT struct {
	mu   sync.Mutex
	srv  *httptest.Server
	sent []url.Values
}

func newFakeAT(t *testing.T) *fakeAT {
	f := &fakeAT{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version1/messaging" || r.Header.Get("apiKey") != "at-key" {
			http.Error(w, "wrong request", http.StatusBadRequest)
			return
		}
		require.NoError(t, r.ParseForm())
		f.mu.Lock()
		f.sent = append(f.sent, r.PostForm)
		n := len(f.sent)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"SMSMessageData":{"Message":"Sent to 1/1","Recipients":[{"statusCode":101,"number":%q,"status":"Success","cost":"KES 0.8","messageId":"ATXid_%d"}]}}`,
			r.PostForm.Get("to"), n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAT) messages() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.sent...)
}

// fakeGateway answers every request with status and body and keeps each
// request's query and form: a loopback Kannel sendsms or Twilio API.
type fakeGateway struct {
	mu   sync.Mutex
	srv  *httptest.Server
	reqs []url.Values
}

func newFakeGateway(t *testing.T, status int, body string) *fakeGateway {
	f := &fakeGateway{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		f.mu.Lock()
		f.reqs = append(f.reqs, r.Form)
		f.mu.Unlock()
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGateway) requests() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]url.Values(nil), f.reqs...)
}

// withKannel configures the Kannel provider against a fake sendsms.
func withKannel(k *fakeGateway) func(*config.Config) {
	return func(c *config.Config) {
		c.SMSProvider = config.SMSKannel
		c.KannelSendSMSURL, c.KannelUsername, c.KannelPassword = k.srv.URL+"/cgi-bin/sendsms", "lumbung", "kannel-pass"
		c.PublicURL, c.SMSFrom = "https://lumbung.example.org", "1234"
	}
}

const twilioPublic = "https://lumbung.example.org"

// withTwilio configures the Twilio provider against a fake Twilio API.
func withTwilio(tw *fakeGateway) func(*config.Config) {
	return func(c *config.Config) {
		c.SMSProvider = config.SMSTwilio
		c.TwilioAccountSID, c.TwilioAuthToken, c.TwilioBaseURL = "AC1", "twilio-token", tw.srv.URL
		c.PublicURL, c.SMSFrom = twilioPublic, "+15005550006"
	}
}

// postTwilio posts form to path signed as Twilio signs it.
func postTwilio(t *testing.T, env *testEnv, path string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, env.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sms.TwilioSignature("twilio-token", twilioPublic+path, form))
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(t *testing.T, env *testEnv, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(env.srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// drain sends everything due through the app's sender.
func drain(t *testing.T, env *testEnv) {
	t.Helper()
	for {
		n, err := env.app.sms.sender.SendDue(context.Background())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
}

func outboxStatus(t *testing.T, env *testEnv, template, phone string) []string {
	t.Helper()
	var st []string
	require.NoError(t, env.app.db.SelectContext(context.Background(), &st, env.app.db.Rebind(
		`SELECT status FROM (SELECT id, template, phone, status FROM outbox
		 UNION ALL SELECT id, template, phone, status FROM sms_replies) AS m WHERE template = ? AND phone = ? ORDER BY id`), template, phone))
	return st
}

func TestSMSBalanceThroughAfricasTalking(t *testing.T) {
	at := newFakeAT(t)
	eachBackend(t, func(c *config.Config) {
		c.SMSProvider, c.ATUsername, c.ATAPIKey, c.ATBaseURL = config.SMSAfricasTalking, "lumbung", "at-key", at.srv.URL
	}, func(t *testing.T, env *testEnv) {
		before := len(at.messages())
		mo := url.Values{"id": {"mo-" + t.Name()}, "from": {"+6281234567890"}, "to": {"12345"}, "text": {"saldo"},
			"date": {"2026-11-27 09:00:00"}, "networkCode": {"51010"}}
		for range 2 { // the gateway retries the same message
			code, body := post(t, env, "/sms/africastalking", mo)
			require.Equal(t, http.StatusOK, code, body)
		}
		drain(t, env)
		sent := at.messages()[before:]
		require.Len(t, sent, 1, "the same message delivered twice is answered once")
		assert.Equal(t, "+6281234567890", sent[0].Get("to"))
		assert.Contains(t, sent[0].Get("message"), "Rp", "the balance")
		assert.Equal(t, []string{"submitted"}, outboxStatus(t, env, "reply", "+6281234567890"))

		atID := fmt.Sprintf("ATXid_%d", len(at.messages())) // what the fake AT answered for this message
		code, body := post(t, env, "/sms/africastalking/dlr", url.Values{"id": {atID}, "status": {"Success"}, "phoneNumber": {"+6281234567890"}})
		require.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, []string{"delivered"}, outboxStatus(t, env, "reply", "+6281234567890"), "matched by AT's message id")

		code, body = post(t, env, "/sms/africastalking", url.Values{"from": {"+6281234567890"}, "text": {"SALDO"}})
		assert.Equal(t, http.StatusBadRequest, code)
		assert.Contains(t, body, "id")
		assertNoSecretsLogged(t, env, "246810")
	})
}

func TestSMSTwilioSignedCallbacks(t *testing.T) {
	const public = twilioPublic
	eachBackend(t, withTwilio(newFakeGateway(t, http.StatusCreated, `{"sid":"SM1","status":"queued"}`)), func(t *testing.T, env *testEnv) {
		form := url.Values{"MessageSid": {"SM" + strings.Repeat("a", 32)}, "AccountSid": {"AC1"}, "From": {"+6281234567890"},
			"To": {"+15005550006"}, "Body": {"PINJAMAN"}, "NumMedia": {"0"}}
		send := func(sig string) *http.Response {
			req, err := http.NewRequest(http.MethodPost, env.srv.URL+"/sms/twilio", strings.NewReader(form.Encode()))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if sig != "" {
				req.Header.Set("X-Twilio-Signature", sig)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			return resp
		}
		resp := send("")
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "unsigned")
		resp = send(sms.TwilioSignature("another-token", public+"/sms/twilio", form))
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, "signed with another token")
		assert.Empty(t, outboxStatus(t, env, "reply", "+6281234567890"), "nothing is answered unsigned")

		resp = send(sms.TwilioSignature("twilio-token", public+"/sms/twilio", form))
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
		assert.Contains(t, string(body), "<Response/>", "no reply in the TwiML: it goes through the outbox")
		assert.Equal(t, []string{"queued"}, outboxStatus(t, env, "reply", "+6281234567890"))
	})
}

func TestSMSKannelCallbacks(t *testing.T) {
	kannel := newFakeGateway(t, http.StatusAccepted, "0: Accepted for delivery")
	eachBackend(t, withKannel(kannel), func(t *testing.T, env *testEnv) {
		code, body := get(t, env, "/sms/kannel?from=081234567891&to=1234&text="+url.QueryEscape("Saldo A-003")+"&id=6b1c2f0e-0000-4000-8000-000000000001")
		require.Equal(t, http.StatusOK, code)
		assert.Empty(t, body, "Kannel would send a non-empty answer as a reply SMS")
		assert.Equal(t, []string{"queued"}, outboxStatus(t, env, "reply", "+6281234567891"))

		var id int64
		require.NoError(t, env.app.db.GetContext(context.Background(), &id, env.app.db.Rebind(`SELECT id FROM outbox WHERE template = 'reply' AND phone = ?`), "+6281234567891"))
		before := len(kannel.requests())
		drain(t, env)
		sent := kannel.requests()[before:]
		require.Len(t, sent, 1)
		assert.Equal(t, []string{"submitted"}, outboxStatus(t, env, "reply", "+6281234567891"))
		dlr, err := url.Parse(sent[0].Get("dlr-url"))
		require.NoError(t, err)
		assert.Equal(t, "/sms/kannel/dlr", dlr.Path)
		token := dlr.Query().Get("t")
		assert.Len(t, token, 32, "the message's own token: %s", dlr)
		assert.Equal(t, fmt.Sprint(id), dlr.Query().Get("mid"))
		report := func(typ string) string { // the dlr-url as Kannel expands it
			return strings.NewReplacer("%d", typ, "%A", "x", "%F", "").Replace(dlr.RequestURI())
		}

		// Forged: the ids are sequential, the tokens are not.
		for _, forged := range []string{
			fmt.Sprintf("/sms/kannel/dlr?mid=%d&type=1", id),
			fmt.Sprintf("/sms/kannel/dlr?mid=%d&type=2&t=%s", id, strings.Repeat("0", 32)),
			fmt.Sprintf("/sms/kannel/dlr?mid=%d&type=1&t=%s", id+1, token),
		} {
			code, _ = get(t, env, forged)
			assert.Equal(t, http.StatusForbidden, code, forged)
			assert.Equal(t, []string{"submitted"}, outboxStatus(t, env, "reply", "+6281234567891"), "a forged report changes nothing")
		}
		for _, c := range []struct{ typ, want string }{{"8", "sent"}, {"1", "delivered"}, {"2", "delivered"}} {
			code, _ = get(t, env, report(c.typ))
			require.Equal(t, http.StatusOK, code)
			assert.Equal(t, []string{c.want}, outboxStatus(t, env, "reply", "+6281234567891"), "type %s", c.typ)
		}
		code, _ = get(t, env, "/sms/kannel/dlr?type=1")
		assert.Equal(t, http.StatusBadRequest, code)

		// Metrics tell the operator what the SMS side does.
		code, body = get(t, env, "/metrics")
		require.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, `lumbung_sms_inbound_total{outcome="balance",provider="kannel"} 1`)
		assert.Contains(t, body, `lumbung_sms_outbox_messages{status="delivered"}`)
		assertNoSecretsLogged(t, env, token)
	})
}

// The log provider never writes a message's text: a deposit code is a secret.
func TestSMSLogProviderRedacts(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		code, body := post(t, env, "/sms/africastalking", url.Values{"id": {"x1"}, "from": {"+6281234567890"}, "text": {"MUTASI"}})
		require.Equal(t, http.StatusOK, code, body)
		drain(t, env)
		var params string
		require.NoError(t, env.app.db.GetContext(context.Background(), &params, `SELECT params FROM outbox WHERE template = 'reply'`))
		var p map[string]string
		require.NoError(t, json.Unmarshal([]byte(params), &p))
		require.NotEmpty(t, p["text"])
		assert.NotContains(t, env.logs.String(), p["text"])
		assert.Contains(t, env.logs.String(), "sms not sent: log provider")
	})
}

func TestSMSWarnings(t *testing.T) {
	cfg := config.Config{SMSProvider: config.SMSKannel}
	assert.Len(t, smsWarnings(cfg), 2)
	cfg.SMSFrom, cfg.PublicURL = "1234", "https://lumbung.example.org"
	assert.Empty(t, smsWarnings(cfg))
	assert.Empty(t, smsWarnings(config.Config{SMSProvider: config.SMSLog}))
}

func TestSMSTwilioStatusCallback(t *testing.T) {
	twilio := newFakeGateway(t, http.StatusCreated, `{"sid":"SM1","status":"queued"}`)
	eachBackend(t, withTwilio(twilio), func(t *testing.T, env *testEnv) {
		code, body := postTwilio(t, env, "/sms/twilio", url.Values{"MessageSid": {"SM" + strings.Repeat("b", 32)}, "AccountSid": {"AC1"},
			"From": {"+6281234567890"}, "To": {"+15005550006"}, "Body": {"SALDO"}, "NumMedia": {"0"}})
		require.Equal(t, http.StatusOK, code, body)
		drain(t, env)
		var id int64
		require.NoError(t, env.app.db.GetContext(context.Background(), &id, `SELECT id FROM outbox WHERE template = 'reply'`))
		require.NotEmpty(t, twilio.requests())
		assert.Equal(t, fmt.Sprintf("%s/sms/twilio/status?mid=%d", twilioPublic, id), twilio.requests()[0].Get("StatusCallback"))
		path := fmt.Sprintf("/sms/twilio/status?mid=%d", id)
		for _, c := range []struct{ status, want string }{{"sent", "sent"}, {"delivered", "delivered"}, {"failed", "delivered"}} {
			code, body := postTwilio(t, env, path, url.Values{"MessageSid": {"SM1"}, "MessageStatus": {c.status}, "AccountSid": {"AC1"}})
			require.Equal(t, http.StatusOK, code, body)
			assert.Equal(t, []string{c.want}, outboxStatus(t, env, "reply", "+6281234567890"), "after %s", c.status)
		}
	})
}

// Only the configured provider's callbacks are mounted: another gateway's
// paths are 404, so none of them can bypass the configured one's checks
// (Twilio's signature) or forge its delivery reports. The log provider
// sends nothing: no delivery reports, and only the Kannel and Africa's
// Talking inbound paths for trying lumbung out.
func TestSMSRoutesPerProvider(t *testing.T) {
	gw := newFakeGateway(t, http.StatusAccepted, "0: Accepted for delivery")
	routes := []struct{ method, path string }{
		{http.MethodGet, "/sms/kannel"}, {http.MethodPost, "/sms/kannel"}, {http.MethodGet, "/sms/kannel/dlr?mid=1&type=1"},
		{http.MethodPost, "/sms/africastalking"}, {http.MethodPost, "/sms/africastalking/dlr"},
		{http.MethodPost, "/sms/twilio"}, {http.MethodPost, "/sms/twilio/status?mid=1"},
	}
	for _, c := range []struct {
		provider config.SMSProvider
		mutate   func(*config.Config)
		mounted  []int // indexes into routes
	}{
		{config.SMSLog, nil, []int{0, 1, 3}},
		{config.SMSKannel, withKannel(gw), []int{0, 1, 2}},
		{config.SMSAfricasTalking, func(c *config.Config) {
			c.SMSProvider, c.ATUsername, c.ATAPIKey, c.ATBaseURL = config.SMSAfricasTalking, "lumbung", "at-key", gw.srv.URL
		}, []int{3, 4}},
		{config.SMSTwilio, withTwilio(gw), []int{5, 6}},
	} {
		t.Run(string(c.provider), func(t *testing.T) {
			env := startApp(t, c.mutate, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter())
			require.Equal(t, c.provider, env.app.cfg.SMSProvider)
			for i, r := range routes {
				req, err := http.NewRequest(r.method, env.srv.URL+r.path, strings.NewReader(""))
				require.NoError(t, err)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				resp.Body.Close()
				if slices.Contains(c.mounted, i) {
					assert.NotEqual(t, http.StatusNotFound, resp.StatusCode, "%s %s is served", r.method, r.path)
				} else {
					assert.Equal(t, http.StatusNotFound, resp.StatusCode, "%s %s is not", r.method, r.path)
				}
			}
		})
	}
}

// A number outside LUMBUNG_SMS_REPLY_COUNTRIES (default 62) gets no reply:
// stored, marked processed "foreign", counted.
func TestSMSForeignNumberGetsNoReply(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		code, body := get(t, env, "/sms/kannel?from=%2B15005550009&to=1234&text=HELP&id=foreign-1")
		require.Equal(t, http.StatusOK, code, body)
		assert.Empty(t, outboxStatus(t, env, "reply", "+15005550009"), "no reply abroad")
		var outcome string
		require.NoError(t, env.app.db.GetContext(context.Background(), &outcome, `SELECT outcome FROM sms_inbound WHERE provider_msg_id = 'foreign-1'`))
		assert.Equal(t, "foreign", outcome)
		code, body = get(t, env, "/sms/kannel?from=%2B6281399999999&to=1234&text=HELP&id=stranger-1")
		require.Equal(t, http.StatusOK, code, body)
		assert.Equal(t, []string{"queued"}, outboxStatus(t, env, "reply", "+6281399999999"), "an Indonesian stranger gets the polite answer")
		_, body = get(t, env, "/metrics")
		assert.Contains(t, body, `lumbung_sms_inbound_total{outcome="foreign",provider="kannel"} 1`)
	})
}
