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
