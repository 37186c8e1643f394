package smstest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// LoopbackOnly returns a transport like http.DefaultTransport that refuses
// every connection to a host that is not a loopback address (127.0.0.0/8,
// ::1 or "localhost"), with an error naming the host, before any DNS lookup
// or dial: in tests, outbound HTTP to any non-loopback host fails. It uses no
// proxy, so the error names the real target. A name that resolves is checked
// again at connect time against the address actually dialled.
func LoopbackOnly() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	dialer := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil || !isLoopbackIP(host) {
				return refused(address)
			}
			return nil
		},
	}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			host = addr
		}
		if !isLoopbackHost(host) {
			return nil, refused(host)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	t.DialTLSContext = nil
	return t
}

// InstallLoopbackOnly sets http.DefaultTransport to LoopbackOnly(), for the
// TestMain of a package whose tests must never reach a real gateway.
func InstallLoopbackOnly() {
	http.DefaultTransport = LoopbackOnly()
}

func refused(host string) error {
	return fmt.Errorf("smstest: connection to %q refused: tests may only reach loopback hosts", host)
}

func isLoopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost") || isLoopbackIP(host)
}

func isLoopbackIP(host string) bool {
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}
