package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
)

// TestServeRefusesOpenCallbacks: with PostgreSQL, serve will not start
// with callbacks anyone can call, unless told to; then it says so loudly.
func TestServeRefusesOpenCallbacks(t *testing.T) {
	_, dsn := ledgertest.PostgresWithURL(t)
	t.Setenv("LUMBUNG_DATABASE_URL", dsn)
	t.Setenv("LUMBUNG_SECRET", strings.Repeat("s", 32))
	t.Setenv("LUMBUNG_HTTP_ADDR", freeAddr(t))
	t.Setenv("LUMBUNG_DEMO", "off")

	var stdout, stderr syncBuffer
	assert.Equal(t, 1, run(context.Background(), []string{"serve"}, nil, &stdout, &stderr))
	msg := stderr.String()
	assert.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
	assert.True(t, strings.HasPrefix(msg, "lumbung serve: LUMBUNG_CALLBACK_TOKEN: with PostgreSQL"), msg)

	t.Setenv("LUMBUNG_INSECURE_CALLBACKS", "on")
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out2, err2 syncBuffer
	go func() { done <- run(ctx, []string{"serve"}, nil, &out2, &err2) }()
	require.Eventually(t, func() bool { return strings.Contains(err2.String(), "listening") }, 20*time.Second, 50*time.Millisecond, err2.String())
	stop()
	assert.Equal(t, 0, <-done)
	assert.Contains(t, err2.String(), "INSECURE: USSD and SMS callbacks accept anyone")

	t.Setenv("LUMBUNG_INSECURE_CALLBACKS", "off")
	t.Setenv("LUMBUNG_CALLBACK_TOKEN", "short")
	var out3, err3 syncBuffer
	assert.Equal(t, 1, run(context.Background(), []string{"serve"}, nil, &out3, &err3))
	assert.Contains(t, err3.String(), "LUMBUNG_CALLBACK_TOKEN: is 5 characters; use at least 32")
}

func TestCallerBehindTrustedProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}
	for _, c := range []struct {
		peer, xff, want string
		ok              bool
	}{
		{"192.0.2.7:5000", "", "192.0.2.7", true},
		{"192.0.2.7:5000", "198.51.100.9", "192.0.2.7", true}, // not a proxy: its header is not believed
		{"10.0.0.5:5000", "192.0.2.7", "192.0.2.7", true},
		{"10.0.0.5:5000", "198.51.100.9, 192.0.2.7", "192.0.2.7", true}, // the left part may be forged
		{"10.0.0.5:5000", "192.0.2.7, 10.0.0.6", "192.0.2.7", true},     // two proxies
		{"10.0.0.5:5000", "", "10.0.0.5", true},
		{"10.0.0.5:5000", "not-an-ip", "", false},
		{"[::ffff:192.0.2.7]:5000", "", "192.0.2.7", true},
		{"garbage", "", "", false},
	} {
		r := httptest.NewRequest(http.MethodPost, "/ussd/africastalking", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		got, ok := caller(r, proxies)
		assert.Equal(t, c.ok, ok, "%s %s", c.peer, c.xff)
		if c.ok {
			assert.Equal(t, c.want, got.String(), "%s %s", c.peer, c.xff)
		}
	}
}

// TestCallbacksBehindAProxy: the allow-list goes by the caller a trusted
// proxy names, and a forged X-Forwarded-For from anyone else changes
// nothing.
func TestCallbacksBehindAProxy(t *testing.T) {
	env := startApp(t, func(c *config.Config) {
		c.CallbackAllow = []netip.Prefix{netip.MustParsePrefix("192.0.2.7/32")}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
	}, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter())
	f := url.Values{"sessionId": {"s1"}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567890"}, "text": {""}}
	for xff, want := range map[string]int{
		"192.0.2.7":               http.StatusOK,
		"198.51.100.9":            http.StatusForbidden,
		"192.0.2.7, 198.51.100.9": http.StatusForbidden,
		"":                        http.StatusForbidden, // the proxy itself is not the telco
	} {
		req, err := http.NewRequest(http.MethodPost, env.srv.URL+"/ussd/africastalking", strings.NewReader(f.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := env.srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, want, resp.StatusCode, "X-Forwarded-For %q", xff)
	}
}

func TestMetricsAreNotPublic(t *testing.T) {
	get := func(env *testEnv, remote, auth string) int {
		r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		r.RemoteAddr = remote
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		env.app.echo.ServeHTTP(w, r)
		return w.Code
	}
	open := startApp(t, nil, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter())
	assert.Equal(t, http.StatusOK, get(open, "127.0.0.1:4000", ""))
	assert.Equal(t, http.StatusOK, get(open, "[::1]:4000", ""))
	assert.Equal(t, http.StatusForbidden, get(open, "203.0.113.5:4000", ""), "no token: this machine only")

	token := strings.Repeat("m", 32)
	guarded := startApp(t, func(c *config.Config) { c.MetricsToken = token }, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter())
	assert.Equal(t, http.StatusUnauthorized, get(guarded, "127.0.0.1:4000", ""))
	assert.Equal(t, http.StatusUnauthorized, get(guarded, "203.0.113.5:4000", "Bearer wrong"))
	assert.Equal(t, http.StatusOK, get(guarded, "203.0.113.5:4000", "Bearer "+token))
}

// FuzzCaller: no peer address or X-Forwarded-For header makes the
// allow-list check panic, and a caller it names is a valid address.
func FuzzCaller(f *testing.F) {
	for _, s := range [][2]string{{"10.0.0.5:1", "192.0.2.7"}, {"10.0.0.5:1", " , ,"}, {"[::1]:1", "::ffff:1.2.3.4, x"}, {"garbage", ""}} {
		f.Add(s[0], s[1])
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, peer, xff string) {
		r := httptest.NewRequest(http.MethodPost, "/ussd/africastalking", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-For", xff)
		if a, ok := caller(r, proxies); ok && !a.IsValid() {
			t.Fatalf("caller %q %q: ok with an invalid address", peer, xff)
		}
	})
}
