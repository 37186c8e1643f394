package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ussd/handset"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// TestPoisonInputIsRefusedAtTheEdge: a NUL byte (or, on USSD, bytes that
// are not UTF-8) is refused with a 400 that says why, on every USSD wire
// format and every SMS callback, on both store pairs. Before, an SMS text
// with a NUL got a 503 from PostgreSQL on every retry of the gateway (a
// poison message), and a USSD hop carried it to the database.
func TestPoisonInputIsRefusedAtTheEdge(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		for _, provider := range []string{ussdtest.AfricasTalking, ussdtest.Hubtel, ussdtest.Freeflow} {
			t.Run(provider, func(t *testing.T) {
				poisons := []string{"1\x00", "A-00\x001"}
				if provider != ussdtest.Hubtel { // JSON itself turns bad bytes into U+FFFD
					poisons = append(poisons, "1\xff")
				}
				for _, poison := range poisons {
					p := env.phone("081234567890")
					p.Provider = provider
					_, err := p.Dial(ctx)
					require.NoError(t, err)
					_, err = p.Send(ctx, poison)
					var he *handset.HopError
					require.True(t, errors.As(err, &he), "%q: %v", poison, err)
					assert.Equal(t, http.StatusBadRequest, he.Status, "%q", poison)
					assert.NotEmpty(t, he.Body, "the 400 says why")
				}
				p := env.phone("081234567890")
				p.Provider = provider
				assert.Contains(t, last(journey(t, p, "1")).Text, "Masukkan PIN", "the service goes on")
			})
		}

		t.Run("sms", func(t *testing.T) {
			stored := func(id string) int {
				var n int
				require.NoError(t, env.app.db.GetContext(ctx, &n, env.app.db.Rebind(`SELECT COUNT(*) FROM sms_inbound WHERE provider_msg_id = ?`), id))
				return n
			}
			do := func(req *http.Request) (int, string) {
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			for range 2 { // a gateway's retry gets the same answer, not a 503
				req, _ := http.NewRequest(http.MethodGet, env.srv.URL+"/sms/kannel?from=081234567890&to=1234&text=SALDO%00&id=6b1c2f0e-0000-4000-8000-0000000000aa", nil)
				code, body := do(req)
				assert.Equal(t, http.StatusBadRequest, code, body)
				assert.Contains(t, body, "text must not hold a NUL byte")
			}
			assert.Zero(t, stored("6b1c2f0e-0000-4000-8000-0000000000aa"), "nothing stored")
			form := url.Values{"id": {"at-poison-1"}, "from": {"+6281234567890"}, "to": {"21525"}, "text": {"SAL\x00DO"}}
			code, body := post(t, env, "/sms/africastalking", form)
			assert.Equal(t, http.StatusBadRequest, code, body)
			assert.Zero(t, stored("at-poison-1"))
		})
	})
}

// TestSessionEndFromAnotherPhoneIsIgnored: a session-end notice (Africa's
// Talking's events callback, a Hubtel Release) that does not name the
// session's own phone leaves the member's live session alone; the real one
// ends it.
func TestSessionEndFromAnotherPhoneIsIgnored(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		p := env.phone("081234567890")
		_, err := p.Dial(ctx)
		require.NoError(t, err)
		for _, forged := range []url.Values{
			{"sessionId": {p.SessionID()}, "phoneNumber": {"+6281299999999"}, "status": {"Success"}},
			{"sessionId": {p.SessionID()}, "status": {"Success"}}, // no phone at all
		} {
			code, _ := post(t, env, "/ussd/africastalking/events", forged)
			assert.Equal(t, http.StatusOK, code)
		}
		s, err := p.Send(ctx, "1")
		require.NoError(t, err)
		assert.Contains(t, s.Text, "Masukkan PIN", "the session lives on")
		logs := env.logs.String()
		assert.Contains(t, logs, "not from the session's phone: ignored")
		assert.NotContains(t, logs, "81299999999", "phones are masked in the log")

		code, _ := post(t, env, "/ussd/africastalking/events", url.Values{"sessionId": {p.SessionID()}, "phoneNumber": {"+6281234567890"}, "status": {"Success"}})
		assert.Equal(t, http.StatusOK, code)
		s, err = p.Send(ctx, "246810")
		require.NoError(t, err)
		assert.True(t, s.End, "the session's own phone ended it: %q", s.Text)
		assert.NotContains(t, s.Text, "Saldo", "no balance after the session ended")
	})
}
