package smstest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestLoopbackOnlyRefusesRealHosts(t *testing.T) {
	client := &http.Client{Transport: LoopbackOnly(), Timeout: 5 * time.Second}
	for _, tc := range []struct{ url, host string }{
		{"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json", "api.twilio.com"},
		{"https://api.africastalking.com/version1/messaging", "api.africastalking.com"},
		{"http://10.0.0.5:13013/cgi-bin/sendsms", "10.0.0.5"},
		{"http://[2001:db8::1]:8080/", "2001:db8::1"},
		{"http://0.0.0.0:80/", "0.0.0.0"},
		{"http://localhost.evil.example/", "localhost.evil.example"},
	} {
		start := time.Now()
		resp, err := client.Get(tc.url)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s succeeded; want it refused", tc.url)
		}
		if !strings.Contains(err.Error(), `"`+tc.host+`"`) || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("GET %s error %q; want it to name the host and say why", tc.url, err)
		}
		// Refused before any DNS lookup or dial: immediate.
		if d := time.Since(start); d > time.Second {
			t.Errorf("GET %s took %v; want an immediate refusal", tc.url, d)
		}
	}
}

func TestLoopbackOnlyAllowsLoopback(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	client := &http.Client{Transport: LoopbackOnly(), Timeout: 5 * time.Second}
	urls := []string{srv.URL, "http://localhost:" + port + "/", "http://127.0.0.1:" + port + "/x?y=1"}
	for _, u := range urls {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "ok" {
			t.Fatalf("GET %s = %q; want ok", u, body)
		}
	}
}

func TestLoopbackOnlyAllowsIPv6Loopback(t *testing.T) {
	l, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	resp, err := (&http.Client{Transport: LoopbackOnly()}).Get(srv.URL)
	if err != nil {
		t.Fatalf("GET %s: %v", srv.URL, err)
	}
	resp.Body.Close()
}

// InstallLoopbackOnly guards every client that relies on the default
// transport, http.DefaultClient included.
func TestInstallLoopbackOnly(t *testing.T) {
	old := http.DefaultTransport
	t.Cleanup(func() { http.DefaultTransport = old })
	InstallLoopbackOnly()

	_, err := http.Get("https://api.twilio.com/")
	if err == nil || !strings.Contains(err.Error(), `"api.twilio.com"`) {
		t.Fatalf("http.Get to api.twilio.com error %v; want it refused", err)
	}
	_, err = (&http.Client{Timeout: time.Second}).Get("https://api.africastalking.com/")
	if err == nil || !strings.Contains(err.Error(), `"api.africastalking.com"`) {
		t.Fatalf("a client with a nil transport reached api.africastalking.com: %v", err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatalf("loopback GET after InstallLoopbackOnly: %v", err)
	}
	resp.Body.Close()
	// Installing twice still works (the transport is an *http.Transport).
	InstallLoopbackOnly()
}
