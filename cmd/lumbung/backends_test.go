package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A look begun during an outage that finishes after the backend came back
// (its probe timed out) must not mark the backend down over a newer look
// that found it up: hops would get the polite END with everything working.
func TestBackendWatchKeepsTheNewestFinding(t *testing.T) {
	release := make(chan struct{})
	calls := 0
	var w *backendWatch
	w = newBackendWatch(slog.New(slog.NewTextHandler(io.Discard, nil)), map[string]func(context.Context) error{
		"sessions": func(ctx context.Context) error {
			w.mu.Lock()
			calls++
			first := calls == 1
			w.mu.Unlock()
			if first { // the probe sent while Redis was away
				<-release
				return errors.New("i/o timeout")
			}
			return nil
		},
	})
	old := make(chan map[string]error)
	go func() { old <- w.look(context.Background()) }()
	assert.Eventually(t, func() bool { w.mu.Lock(); defer w.mu.Unlock(); return calls == 1 }, time.Second, time.Millisecond)

	assert.NoError(t, w.look(context.Background())["sessions"], "the newer look finds Redis back")
	assert.False(t, w.Down())
	close(release)
	assert.Error(t, (<-old)["sessions"], "the older look still reports its own finding")
	assert.False(t, w.Down(), "but does not undo the newer one")

	// A newer look that fails does mark it down.
	calls = 0
	release = make(chan struct{})
	close(release)
	assert.Error(t, w.look(context.Background())["sessions"])
	assert.True(t, w.Down())
}

// A /readyz whose client hangs up before the probes answer (a load
// balancer's check timeout) records no outage: hops go on as usual.
func TestReadyzClientHangingUpRecordsNoOutage(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the checker has already given up
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/readyz", nil)
		rec := httptest.NewRecorder()
		require.NoError(t, env.app.ready(env.app.echo.NewContext(req, rec)))
		assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.False(t, env.app.watch.Down(), "no backend marked down")
	})
}
