package main

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestServeGCKeepsAnOperatorsGOGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	env := map[string]string{"GOGC": "150"}
	assert.False(t, serveGC(func(k string) string { return env[k] }))
	assert.Equal(t, 100, debug.SetGCPercent(100), "GOGC set: the collector was left alone")

	assert.True(t, serveGC(func(string) string { return "" }))
	assert.Equal(t, serveGCPercent, debug.SetGCPercent(100), "GOGC unset: serve's own target")
}
