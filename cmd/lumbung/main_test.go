package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// TestServe starts the real program with embedded defaults, as the README
// tells a newcomer to, dials it, and stops it the way a deploy does.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	t.Setenv("LUMBUNG_DATA_DIR", filepath.Join(dir, "data"))
	t.Setenv("LUMBUNG_HTTP_ADDR", addr)
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer // written by serve while the test reads them
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, nil, &stdout, &stderr) }()

	base := "http://" + addr
	require.Eventually(t, func() bool {
		resp, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, "serve never became ready: %s", stderr.String())

	p := ussdtest.NewPhone(base, "081234567890", "*123#")
	s, err := p.Dial(ctx)
	require.NoError(t, err)
	assert.Contains(t, s.Text, "1 Cek Saldo")
	_, err = p.Send(ctx, "1")
	require.NoError(t, err)
	s, err = p.Send(ctx, "246810")
	require.NoError(t, err)
	assert.True(t, s.End)
	assert.Contains(t, s.Text, "Sukarela Rp1.250.000")
	resp, err := http.Get(base + "/counter/login")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the counter pages are served")

	stop() // what SIGTERM does
	select {
	case code := <-done:
		assert.Equal(t, 0, code, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after its context was cancelled")
	}
	out := stdout.String()
	assert.Contains(t, out, "phone --url http://"+addr+" --msisdn 081234567890 --code '*123#'")
	assert.Contains(t, out, "246810", "the demo PINs are printed for the newcomer")
	assert.Contains(t, out, "web password demo-teller-2026", "and the demo staff's counter password")
	assert.NotContains(t, stderr.String(), "246810", "PINs never reach the log")
	assert.Contains(t, stderr.String(), "stopped")

	// A second start finds the data and seeds nothing again.
	ctx2, stop2 := context.WithCancel(context.Background())
	var out2, err2 syncBuffer
	go func() { done <- run(ctx2, []string{"serve"}, nil, &out2, &err2) }()
	require.Eventually(t, func() bool { return strings.Contains(err2.String(), "listening") }, 20*time.Second, 50*time.Millisecond)
	stop2()
	assert.Equal(t, 0, <-done)
	assert.NotContains(t, out2.String(), "Demo cooperative", "demo data is seeded only into an empty database")
}

func TestBadConfigStopsStartWithOneLine(t *testing.T) {
	for name, env := range map[string][3]string{ // variable, value, the variable the error names
		"deadline": {"LUMBUNG_USSD_HOP_DEADLINE", "abc", "LUMBUNG_USSD_HOP_DEADLINE"},
		"postgres": {"LUMBUNG_DATABASE_URL", "postgres://127.0.0.1:1/x", "LUMBUNG_SECRET"},
		"provider": {"LUMBUNG_SMS_PROVIDER", "pigeon", "LUMBUNG_SMS_PROVIDER"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(env[0], env[1])
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"serve"}, nil, &stdout, &stderr)
			assert.Equal(t, 1, code)
			msg := stderr.String()
			assert.Equal(t, 1, strings.Count(msg, "\n"), "one line: %q", msg)
			assert.True(t, strings.HasPrefix(msg, "lumbung serve: "+env[2]), msg)
		})
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run(context.Background(), nil, nil, &out, &errb))
	assert.Contains(t, errb.String(), "lumbung serve")
	errb.Reset()
	assert.Equal(t, 2, run(context.Background(), []string{"fly"}, nil, &out, &errb))
	assert.Contains(t, errb.String(), `unknown command "fly"`)
}

func TestPhoneCommand(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		var out, errb bytes.Buffer
		in := strings.NewReader("1\n246810\n")
		code := run(context.Background(), []string{"phone", "--url", env.srv.URL, "--msisdn", "081234567890", "--code", "*123#"}, in, &out, &errb)
		require.Equal(t, 0, code, errb.String())
		assert.Contains(t, out.String(), "│ Masukkan PIN (6 angka):")
		assert.Contains(t, out.String(), "│ Sukarela Rp1.250.000")
		assert.Contains(t, out.String(), "(session ended)")
	})
}
