package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// TestRedisRoundTripsPerHop is the Redis budget of each kind of hop, counted
// through the HTTP layer with the per-phone rate limit on: a first hop costs
// one pipeline (create the state if there is none, count the phone's hop);
// every later hop one pipeline (take the hold, read the state, count) and
// one script (store the state and let go of the hold, or only let go); a
// retried first hop finds its state and goes the later hops' way; the
// network ending the session costs one DEL.
func TestRedisRoundTripsPerHop(t *testing.T) {
	rc, prefix := ussdtest.Redis(t)
	trips := &ussdtest.RoundTrips{}
	rc.AddHook(trips)
	const limit = 6
	env := startApp(t, func(c *config.Config) { c.USSDRateLimit = limit }, ledgertest.Postgres(t),
		ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
	ctx := context.Background()
	const (
		create   = "pipeline(set incr expire)"     // a new session's state (NX), rate count
		hop      = "pipeline(set get incr expire)" // hold, state, rate count
		commit   = "evalsha"                       // store the state and release, token-checked
		dropping = "del"
	)

	// Warm up (three hops of the family phone): the scripts are loaded and
	// a connection is open, so what follows is the steady state.
	journey(t, env.phone("081234567891"), "1", "1")

	p := env.phone("081234567890")
	budget := func(name string, want []string, do func() ussdtest.Screen) ussdtest.Screen {
		t.Helper()
		trips.Reset()
		s := do()
		assert.Equal(t, want, trips.Trips(), "Redis round trips of %s", name)
		return s
	}
	send := func(in string) func() ussdtest.Screen {
		return func() ussdtest.Screen {
			s, err := p.Send(ctx, in)
			require.NoError(t, err)
			return s
		}
	}

	s := budget("the first hop", []string{create}, func() ussdtest.Screen {
		s, err := p.Dial(ctx)
		require.NoError(t, err)
		return s
	})
	assert.Contains(t, s.Text, "1 Cek Saldo")
	again := budget("a retried first hop", []string{create, hop, commit}, func() ussdtest.Screen {
		s, err := p.Retry(ctx)
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, s, again, "the retried first hop got the stored reply")
	s = budget("a navigation hop", []string{hop, commit}, send("1"))
	assert.Equal(t, "Masukkan PIN (6 angka):\n0 Kembali", s.Text)
	again = budget("a retried hop", []string{hop, commit}, func() ussdtest.Screen {
		s, err := p.Retry(ctx)
		require.NoError(t, err)
		return s
	})
	assert.Equal(t, s, again, "the retry got the stored reply")
	s = budget("the PIN and balance hop", []string{hop, commit}, send("246810"))
	assert.Equal(t, ussdtest.Screen{End: true, Text: "Saldo Maria G.\nPokok Rp500.000\nWajib Rp1.200.000\nSukarela Rp1.250.000\nPinjaman Rp0"}, s)

	budget("the network ending the session", []string{"get", dropping}, func() ussdtest.Screen { // is it the session's phone? then drop
		code, _ := post(t, env, "/ussd/africastalking/events", url.Values{"sessionId": {p.SessionID()}, "phoneNumber": {"+6281234567890"}, "status": {"Success"}})
		assert.Equal(t, http.StatusOK, code)
		return ussdtest.Screen{}
	})

	// The family phone used three of its hops: dial until it is over the
	// limit, then count one more (twice if a new minute began in between).
	limited := ussdtest.Screen{End: true, Text: "Terlalu banyak permintaan. Silakan coba lagi beberapa menit lagi."}
	family := env.phone("081234567891")
	for attempt := 0; attempt < 2 && s != limited; attempt++ {
		for i := 0; ; i++ {
			require.Less(t, i, 3*limit, "the family phone was never limited")
			s, err := family.Dial(ctx)
			require.NoError(t, err)
			if s == limited {
				break
			}
		}
		// Over the limit, the state the first hop created is dropped again.
		s = budget("a rate-limited first hop", []string{create, dropping}, func() ussdtest.Screen {
			s, err := family.Dial(ctx)
			require.NoError(t, err)
			return s
		})
	}
	assert.Equal(t, limited, s)
}
