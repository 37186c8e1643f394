package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
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

// TestForgedHopsCannotStealASession: a stranger who knows a live session's
// id and the member's phone, but not what the member typed (the PIN among
// it), can neither read the session's last screen by replaying its hop
// number nor steer it with a hop of the next number; nor can a hop that
// skips or goes back a number (Hubtel's Sequence). Each forged hop is told
// the session is over, and the member's session goes on untouched.
func TestForgedHopsCannotStealASession(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		const expired = "Sesi Anda sudah berakhir. Silakan tekan kode layanan lagi."
		at := func(sessionID, text string) string {
			t.Helper()
			code, body := post(t, env, "/ussd/africastalking", url.Values{"sessionId": {sessionID}, "serviceCode": {"*123#"},
				"phoneNumber": {"+6281234567890"}, "networkCode": {"99999"}, "text": {text}})
			require.Equal(t, http.StatusOK, code, body)
			return body
		}

		t.Run("africastalking replay of the balance hop", func(t *testing.T) {
			p := env.phone("081234567890")
			balance := last(journey(t, p, "1", "246810"))
			require.True(t, strings.HasPrefix(balance.Text, "Saldo Maria G."), balance.Text)
			// The same hop number with another PIN: not the telco's retry.
			assert.Equal(t, "END "+expired, at(p.SessionID(), "1*000000"))
			assert.Equal(t, "END "+expired, at(p.SessionID(), "2*246810"), "the same number of inputs, other inputs")
			// The telco's own retry still gets the balance.
			again, err := p.Retry(ctx)
			require.NoError(t, err)
			assert.Equal(t, balance, again)
		})

		t.Run("hubtel sequence that skips or goes back", func(t *testing.T) {
			hubtel := func(sessionID string, seq int, msg string) (string, string) {
				t.Helper()
				b, _ := json.Marshal(map[string]any{"Mobile": "6281234567890", "SessionId": sessionID, "ServiceCode": "123",
					"Type": "Response", "Message": msg, "Operator": "mtn", "Sequence": seq})
				resp, err := env.srv.Client().Post(env.srv.URL+"/ussd/hubtel", "application/json", bytes.NewReader(b))
				require.NoError(t, err)
				defer resp.Body.Close()
				var reply struct{ Type, Message string }
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&reply))
				return reply.Type, reply.Message
			}
			p := env.phone("081234567890")
			p.Provider = ussdtest.Hubtel
			s := last(journey(t, p, "1"))
			require.Contains(t, s.Text, "Masukkan PIN")
			for _, seq := range []int{4, 9, 1} { // the session answered Sequence 2; 3 is next
				typ, msg := hubtel(p.SessionID(), seq, "246810")
				assert.Equal(t, []string{"Release", expired}, []string{typ, msg}, "Sequence %d", seq)
			}
			s, err := p.Send(ctx, "246810")
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(s.Text, "Saldo Maria G."), s.Text)
		})
		t.Run("africastalking hop of the next number", func(t *testing.T) { // last: it changes the PIN
			p := env.phone("081234567890")
			s := last(journey(t, p, "6", "246810"))
			require.Contains(t, s.Text, "Buat PIN baru")
			// A guess at the PIN the member typed, and the new PIN twice.
			assert.Equal(t, "END "+expired, at(p.SessionID(), "6*000000*111111"))
			assert.Equal(t, "END "+expired, at(p.SessionID(), "6*111111*111111*111111"), "a hop ahead of the session")
			assert.Equal(t, "END "+expired, at(p.SessionID(), "6"), "a hop behind it")
			// The member's session is where it was: the change goes through.
			s, err := p.Send(ctx, "135792")
			require.NoError(t, err)
			assert.Contains(t, s.Text, "Ulangi PIN")
			s, err = p.Send(ctx, "135792")
			require.NoError(t, err)
			assert.Equal(t, ussdtest.Screen{End: true, Text: "PIN berhasil diganti."}, s)
			assert.True(t, strings.HasPrefix(last(journey(t, env.phone("081234567890"), "1", "135792")).Text, "Saldo Maria G."),
				"the new PIN is the member's")
			resp, err := env.srv.Client().Get(env.srv.URL + "/metrics")
			require.NoError(t, err)
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Contains(t, string(metrics), `outcome="foreign"`)
		})

		assert.NotContains(t, env.logs.String(), "246810", "no PIN in the log")
	})
}
