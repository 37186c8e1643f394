package main

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// TestClusterOutagesAnsweredFast is TestOutagesAnsweredFast on a
// three-master Redis Cluster without replicas, lumbung opened the way
// `lumbung serve` opens a redis+cluster:// URL: one master black-holed
// (SIGSTOP) or killed. Before anything has failed, a hop whose session and
// phone count live on the other masters is served; a hop whose session
// lives on the lost master gets the polite END within answeredWithin, and
// /readyz says the sessions are "degraded" but stays 200: every instance
// shares the cluster, and a load balancer that took them all out would lose
// the sessions still served. Hops on the masters still up go on being
// served (the backend is not "known down"), those on the lost master keep
// getting the polite END within answeredWithin. Once the master is back
// (SIGCONT, or restarted with its nodes.conf), /readyz says "ok" and
// journeys on every master complete, lumbung not restarted.
//
// The outage is shorter than the cluster's node timeout (5 s), so the
// masters still up never declare the cluster down (CLUSTERDOWN for every
// key) and a master that comes back is taken back at once.
func TestClusterOutagesAnsweredFast(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cut, back func(t *testing.T, c *ussdtest.RedisCluster, i int)
		// kept: the lost master's sessions are still there when it is back
		// (a paused process keeps its memory; a killed one, without
		// persistence or replica, loses them).
		kept bool
	}{
		{"a master black-holed", func(t *testing.T, c *ussdtest.RedisCluster, i int) { c.Pause(t, i) },
			func(t *testing.T, c *ussdtest.RedisCluster, i int) { c.Resume(t, i) }, true},
		{"a master killed", func(t *testing.T, c *ussdtest.RedisCluster, i int) { c.Kill(i) },
			func(t *testing.T, c *ussdtest.RedisCluster, i int) { c.Restart(t, c.Addrs[i]) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cluster := ussdtest.StartRedisCluster(t)
			env := &outageEnv{testEnv: startAppOnRedisURL(t, "redis+cluster://"+strings.Join(cluster.Addrs, ","), func(c *config.Config) {
				c.USSDHopDeadline = outageDeadline
				c.USSDRateLimit = 1000
			})}
			ctx := context.Background()
			code, status := env.readyz(t)
			require.Equal(t, http.StatusOK, code, status)

			// The master to lose is not the one counting Maria's hops (a
			// count it cannot take would hold up the hops on the others).
			lost := (cluster.MasterOf(t, "{+62"+phoneMaria[1:]+"}") + 1) % 3
			onLost, onOthers := sessionsOn(t, cluster, lost)

			// Sessions open when the master goes, on it and on another, and
			// the goroutines of a lumbung that has served.
			journey(t, env.phone(phoneMaria), "1", pinMaria)
			pLost, pOther := env.phone(phoneMaria), env.phone(phoneMaria)
			for _, o := range []struct {
				p  *ussdtest.Phone
				id string
			}{{pLost, onLost[0]}, {pOther, onOthers[0]}} {
				_, err := o.p.DialSession(ctx, o.id)
				require.NoError(t, err)
				s, err := o.p.Send(ctx, "1")
				require.NoError(t, err)
				require.Equal(t, "Masukkan PIN (6 angka):\n0 Kembali", s.Text)
			}
			before := runtime.NumGoroutine()

			tc.cut(t, cluster, lost)
			s := timed(t, "the PIN hop of a session on another master", func() ussdtest.Screen {
				s, err := pOther.Send(ctx, pinMaria)
				require.NoError(t, err)
				return s
			})
			assert.True(t, strings.HasPrefix(s.Text, "Saldo Maria G."), "a session on a master still up is served: %q", s.Text)
			s = timed(t, "the PIN hop of a session on the lost master", func() ussdtest.Screen {
				s, err := pLost.Send(ctx, pinMaria)
				require.NoError(t, err)
				return s
			})
			assert.Equal(t, ussdtest.Screen{End: true, Text: failureText}, s)
			s = timed(t, "a first hop of a session on the lost master", func() ussdtest.Screen {
				s, err := env.phone(phoneMaria).DialSession(ctx, onLost[1])
				require.NoError(t, err)
				return s
			})
			assert.Equal(t, ussdtest.Screen{End: true, Text: failureText}, s)
			timed(t, "/readyz", func() bool { code, status = env.readyz(t); return true })
			assert.Equal(t, http.StatusOK, code, "one lost master does not take the instance out of the load balancer")
			assert.Equal(t, "degraded", status["sessions"], "%v", status)
			assert.Equal(t, "ok", status["database"], "%v", status)
			// Partly down is not down: sessions on the masters still up are
			// served, those on the lost one still answered within the bound.
			for i := range 3 {
				s = timed(t, "a first hop of a session on another master, one master lost", func() ussdtest.Screen {
					s, err := env.phone(phoneMaria).DialSession(ctx, onOthers[1])
					require.NoError(t, err)
					return s
				})
				assert.Contains(t, s.Text, "1 Cek Saldo", "hop %d", i)
				s = timed(t, "a first hop of a session on the lost master, known partly down", func() ussdtest.Screen {
					s, err := env.phone(phoneMaria).DialSession(ctx, onLost[1])
					require.NoError(t, err)
					return s
				})
				assert.Equal(t, ussdtest.Screen{End: true, Text: failureText}, s, "hop %d", i)
			}
			assert.NotContains(t, env.metrics(t), `outcome="unavailable"`, "no hop was ENDed for a backend known down")

			// The master is back: lumbung is, without a restart.
			tc.back(t, cluster, lost)
			require.Eventually(t, func() bool {
				code, status := env.readyz(t)
				return code == http.StatusOK && status["sessions"] == "ok"
			}, 30*time.Second, 50*time.Millisecond, "/readyz never recovered")
			state, err := env.app.sessions.Get(ctx, "africastalking:"+onLost[0])
			require.NoError(t, err)
			assert.Equal(t, tc.kept, state != nil, "the lost master's session is kept: %v", tc.kept)
			for _, id := range []string{onLost[2], onOthers[2]} {
				p := env.phone(phoneMaria)
				s, err := p.DialSession(ctx, id)
				require.NoError(t, err)
				require.Contains(t, s.Text, "1 Cek Saldo", "session %s", id)
				_, err = p.Send(ctx, "1")
				require.NoError(t, err)
				s, err = p.Send(ctx, pinMaria)
				require.NoError(t, err)
				assert.Equal(t, ussdtest.Screen{End: true, Text: "Saldo Maria G.\nPokok Rp500.000\nWajib Rp1.200.000\nSukarela Rp1.250.000\nPinjaman Rp0"}, s, "session %s", id)
			}

			// What waited on the lost master has finished.
			assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+10 }, 10*time.Second, 50*time.Millisecond,
				"goroutines: %d before the outage, %d after", before, runtime.NumGoroutine())
		})
	}
}

// sessionsOn returns three Africa's Talking session ids whose state lives
// on master i of cluster (under lumbung's key prefix) and three whose state
// lives on the others.
func sessionsOn(t *testing.T, cluster *ussdtest.RedisCluster, i int) (on, others []string) {
	t.Helper()
	for n := 0; len(on) < 3 || len(others) < 3; n++ {
		id := fmt.Sprintf("ATUid_cluster_%d", n)
		if cluster.MasterOf(t, "lumbung:ussd:s:{africastalking:"+id+"}") == i {
			if len(on) < 3 {
				on = append(on, id)
			}
		} else if len(others) < 3 {
			others = append(others, id)
		}
	}
	return on, others
}
