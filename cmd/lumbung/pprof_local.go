//go:build pprof

// Profiling a running server, for whoever measures the hot path: built with
// -tags pprof only (the default build carries no profiler), and listening
// only when LUMBUNG_PPROF_ADDR names an address (keep it on loopback):
//
//	go build -tags pprof -o /tmp/lumbung ./cmd/lumbung
//	LUMBUNG_PPROF_ADDR=127.0.0.1:6060 /tmp/lumbung serve
//	go tool pprof -top /tmp/lumbung 'http://127.0.0.1:6060/debug/pprof/profile?seconds=8'

package main

import (
	"net/http"
	_ "net/http/pprof" // registers /debug/pprof/ on http.DefaultServeMux, served only here
	"os"
)

func init() {
	if addr := os.Getenv("LUMBUNG_PPROF_ADDR"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
