package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAdminAPIEndToEnd: a token from `lumbung token add` reaches the
// served /api/v1; a bank transfer posted there shows on the member's USSD
// statement and queues their SMS receipt; answers are JSON, never HTML,
// also for a path the API does not have; /metrics counts the requests.
func TestAdminAPIEndToEnd(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		coop, err := env.app.dir.CooperativeByCode(ctx, demoCoopCode)
		require.NoError(t, err)
		token, _, err := env.app.dir.AddToken(ctx, coop.ID, "bank matcher", false)
		require.NoError(t, err)
		call := func(method, path, key, body string) (int, string, http.Header) {
			req, err := http.NewRequest(method, env.srv.URL+path, strings.NewReader(body))
			require.NoError(t, err)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			if key != "" {
				req.Header.Set("Idempotency-Key", key)
			}
			resp, err := env.srv.Client().Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b), resp.Header
		}
		code, body, _ := call("POST", "/api/v1/deposits", "bri-77", `{"member_no":"A-001","account":"sukarela","amount":25000,"note":"BRI 77"}`)
		require.Equal(t, http.StatusCreated, code, body)
		code, again, h := call("POST", "/api/v1/deposits", "bri-77", `{"member_no":"A-001","account":"sukarela","amount":25000,"note":"BRI 77"}`)
		assert.Equal(t, http.StatusCreated, code)
		assert.Equal(t, body, again)
		assert.Equal(t, "true", h.Get("Idempotent-Replayed"))

		screens := journey(t, env.phone("081234567890"), "4", "246810")
		assert.Contains(t, last(screens).Text, "+Rp25.000", "the transfer is on the member's USSD statement")

		var receipts int
		require.NoError(t, env.app.db.Get(&receipts, env.app.db.Rebind(`SELECT COUNT(*) FROM outbox WHERE cooperative_id = ? AND template = 'receipt.deposit'`), coop.ID))
		assert.Equal(t, 1, receipts)

		code, body, h = call("GET", "/api/v1/no/such/thing", "", "")
		assert.Equal(t, http.StatusNotFound, code)
		assert.Contains(t, h.Get("Content-Type"), "application/json")
		assert.JSONEq(t, `{"error":{"code":"not_found","message":"Not found."}}`, body)

		resp, err := env.srv.Client().Get(env.srv.URL + "/metrics")
		require.NoError(t, err)
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Contains(t, string(m), `lumbung_api_requests_total{method="POST",route="/deposits",status="201"} 2`)
	})
}
