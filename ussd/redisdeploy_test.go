package ussd_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// TestRedisClusterStore runs everything TestRedisStore checks on a real
// three-master Redis Cluster the harness starts (redis-server
// --cluster-enabled yes), through go-redis's cluster client: the commit
// and release scripts find both their keys in one slot, and the pipeline
// that carries the phone's count beside the session's hold spans two.
func TestRedisClusterStore(t *testing.T) {
	cluster := ussdtest.StartRedisCluster(t)
	testRedisStore(t, cluster.Client)

	t.Run("sessions and phones spread over every master", func(t *testing.T) {
		client, prefix := cluster.Client(t)
		s := ussd.NewRedisStore(client, prefix, noLapse)
		l := ussd.NewRedisRateLimiter(client, prefix)
		ctx := t.Context()
		for i := range 30 {
			key := "africastalking:ATUid_" + strings.Repeat("x", i)
			phone := "+62812" + strings.Repeat("1", i%10) + "0000"
			require.NoError(t, s.UpdateLimited(ctx, key, longTTL, ussd.Limit{Limiter: l, Phone: phone, PerMinute: 100}, increment))
		}
		perMaster := keysPerMaster(t, client, prefix+"*")
		require.Len(t, perMaster, 3)
		for addr, keys := range perMaster {
			assert.NotEmpty(t, keys, "no session or counter on master %s", addr)
			for _, k := range keys {
				assert.NotContains(t, k, prefix+"l:", "a hold left behind on %s", addr)
			}
		}
	})
}

// A master of the cluster that dies fails the store's Ping (it pings every
// master), though the other masters still answer.
func TestRedisClusterStorePingFindsADeadMaster(t *testing.T) {
	cluster := ussdtest.StartRedisCluster(t)
	client, prefix := cluster.Client(t)
	s := ussd.NewRedisStore(client, prefix, noLapse)
	require.NoError(t, s.Ping(t.Context()))
	cluster.Kill(1)
	err := s.Ping(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), cluster.Addrs[1], "the error names the master that is down")
	assert.ErrorIs(t, err, ussd.ErrSomeMastersDown, "the others answer: partly down")
	cluster.Kill(0)
	cluster.Kill(2)
	err = s.Ping(t.Context())
	require.Error(t, err)
	assert.NotErrorIs(t, err, ussd.ErrSomeMastersDown, "none answers: down")
}

// TestRedisClusterFailover: on a cluster whose masters have one replica
// each, a live session and its phone's rate-limit count, both on one
// master, go on with their state when the replica takes over, first by a
// manual CLUSTER FAILOVER (the old master stays up and answers MOVED) and
// then by the cluster itself once the new master is killed (nothing
// answers where the store's client last found the slot). After at most a
// few failed hops during the switch, the store reaches the new master by
// itself (in the second case because a failed command has go-redis reload
// the slots: without it, go-redis went on dialling the dead master until
// its periodic reload, 60 s later).
func TestRedisClusterFailover(t *testing.T) {
	cluster := ussdtest.StartRedisClusterWithReplicas(t)
	client, prefix := cluster.Client(t)
	s := ussd.NewRedisStore(client, prefix, noLapse)
	l := ussd.NewRedisRateLimiter(client, prefix)
	now := time.Now()
	l.SetClock(func() time.Time { return now }) // one minute's count throughout
	ctx := t.Context()

	// The session and the phone's counter on one master.
	const m = 1
	key, phone := "", ""
	for i := 0; key == "" || phone == ""; i++ {
		if _, state := ussd.RedisKeys(prefix, fmt.Sprintf("africastalking:ATUid_%d", i)); key == "" && cluster.MasterOf(t, state) == m {
			key = fmt.Sprintf("africastalking:ATUid_%d", i)
		}
		if p := fmt.Sprintf("+628123%07d", i); phone == "" && cluster.MasterOf(t, "{"+p+"}") == m {
			phone = p
		}
	}
	limit := ussd.Limit{Limiter: l, Phone: phone, PerMinute: 1000}
	hops, stored := 0, 0 // hops tried, hops that stored their state
	hop := func() error {
		hops++
		err := s.UpdateLimited(ctx, key, longTTL, limit, increment)
		if err == nil {
			stored++
		}
		return err
	}
	count := func() int {
		t.Helper()
		keys := keysPerMaster(t, client, prefix+"rate:*")
		require.Len(t, keys[cluster.Addrs[m]], 1, "the phone's counter is on master %s: %v", cluster.Addrs[m], keys)
		n, err := client.Get(ctx, keys[cluster.Addrs[m]][0]).Int()
		require.NoError(t, err)
		return n
	}
	for range 3 {
		require.NoError(t, hop())
	}
	assertState(t, s, key, "3")
	assert.Equal(t, 3, count())

	for _, sw := range []struct {
		name string
		do   func()
		// failures: how many hops may fail while the client finds the new
		// master (each is answered politely by the handler).
		failures int
	}{
		// The old master answers MOVED, which go-redis follows at once.
		{"manual CLUSTER FAILOVER", func() { cluster.Failover(t, m) }, 0},
		// Nothing answers at the old address: a hop fails within the
		// client's timeouts, and the next ones find the new master.
		{"the master killed", func() { cluster.KillAndFailOver(t, m) }, 3},
	} {
		// What the master acknowledged has reached the replica.
		cluster.WaitReplicated(t, m)
		old, replica := cluster.Addrs[m], cluster.Replicas[m]
		sw.do()
		require.Equal(t, replica, cluster.Addrs[m], "%s: the replica is the master", sw.name)
		require.NotEqual(t, old, cluster.Addrs[m])

		failed := 0
		require.Eventually(t, func() bool {
			err := hop()
			if err != nil {
				failed++
				t.Logf("%s: hop failed: %v", sw.name, err)
			}
			return err == nil
		}, eventually, 50*time.Millisecond, "%s: the store never reached the new master", sw.name)
		t.Logf("%s: %d hops failed during the switch", sw.name, failed)
		assert.LessOrEqual(t, failed, sw.failures, "%s: hops failed during the switch", sw.name)
		// The session went on from its state (a failed hop stored
		// nothing), on the new master, which the store's client now uses.
		assertState(t, s, key, strconv.Itoa(stored))
		_, stateKey := ussd.RedisKeys(prefix, key)
		direct := redis.NewClient(&redis.Options{Addr: cluster.Addrs[m]})
		got, err := direct.Get(ctx, stateKey).Result()
		_ = direct.Close()
		require.NoError(t, err, "%s: the state on the new master %s", sw.name, cluster.Addrs[m])
		assert.Equal(t, strconv.Itoa(stored), got)
		on, err := client.(*redis.ClusterClient).MasterForKey(ctx, stateKey)
		require.NoError(t, err)
		assert.Equal(t, cluster.Addrs[m], on.Options().Addr, "%s: the client is on the new master", sw.name)
		// The count went on too: every hop that stored was counted, a
		// failed one may have been.
		n := count()
		assert.GreaterOrEqual(t, n, stored, "%s: the phone's count survived", sw.name)
		assert.LessOrEqual(t, n, hops)
	}
}

// TestRedisSentinelStore runs the store's contract and the limiter through a
// go-redis failover client that asks a real Sentinel for the master.
func TestRedisSentinelStore(t *testing.T) {
	sentinel := ussdtest.StartRedisSentinel(t)
	backend := func(t testing.TB) (redis.UniversalClient, string) {
		client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinel.MasterName,
			SentinelAddrs: []string{sentinel.Addr}, DialTimeout: 2 * time.Second})
		t.Cleanup(func() { _ = client.Close() })
		require.NoError(t, client.Ping(t.Context()).Err())
		return client, "lumbungtest:" + strings.ToLower(rand.Text()) + ":"
	}
	testRedisStore(t, backend)

	client, _ := backend(t)
	info, err := client.Info(t.Context(), "server").Result()
	require.NoError(t, err)
	assert.Contains(t, info, "tcp_port:"+sentinel.MasterAddr[strings.LastIndex(sentinel.MasterAddr, ":")+1:],
		"the failover client talks to the master Sentinel names")
}

// TestRedisSentinelFailover: the Sentinel promotes the replica while a
// session is live; the store, through the failover client, finds the new
// master by itself and the session goes on with its state.
func TestRedisSentinelFailover(t *testing.T) {
	sentinel := ussdtest.StartRedisSentinel(t)
	client := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: sentinel.MasterName,
		SentinelAddrs: []string{sentinel.Addr}, DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
	t.Cleanup(func() { _ = client.Close() })
	s := ussd.NewRedisStore(client, "lumbungtest:", noLapse)
	l := ussd.NewRedisRateLimiter(client, "lumbungtest:")
	ctx := t.Context()
	limit := ussd.Limit{Limiter: l, Phone: "+6281234567890", PerMinute: 100}
	for range 3 {
		require.NoError(t, s.UpdateLimited(ctx, "africastalking:live", longTTL, limit, increment))
	}
	// What the master acknowledged has reached the replica.
	require.NoError(t, client.Do(ctx, "WAIT", 1, 5000).Err())
	old := sentinel.MasterAddr

	sentinel.Failover(t)
	require.NotEqual(t, old, sentinel.MasterAddr)

	// The client learns of the switch from the Sentinel: hops in the
	// moment of the switch may fail (the handler answers them politely);
	// soon they go through on the new master.
	failed := 0
	require.Eventually(t, func() bool {
		err := s.UpdateLimited(ctx, "africastalking:live", longTTL, limit, increment)
		if err != nil {
			failed++
		}
		return err == nil
	}, eventually, 50*time.Millisecond, "the store never reached the new master")
	t.Logf("%d hops failed during the failover", failed)
	assertState(t, s, "africastalking:live", "4")
	info, err := client.Info(ctx, "server").Result()
	require.NoError(t, err)
	assert.Contains(t, info, "tcp_port:"+sentinel.MasterAddr[strings.LastIndex(sentinel.MasterAddr, ":")+1:], "the client is on the new master")
}

// Keys with braces or a leading '~' keep both of a session's keys in one
// slot (on a cluster the commit script would fail CROSSSLOT otherwise) and
// stay apart from each other.
func testRedisStoreBraces(t *testing.T, backend redisBackend) {
	s, client, _ := newRedisStoreOn(t, backend, noLapse)
	ctx := t.Context()
	keys := []string{"", "}", "}x", "{", "{}", "a}b", "~", "~}", "~~", "hubtel:}{", "freeflow:{x}"}
	for i, k := range keys {
		require.NoError(t, s.Update(ctx, k, longTTL, put([]byte(strings.Repeat("v", i+1)))), "key %q", k)
		require.NoError(t, s.Update(ctx, k, longTTL, put([]byte(strings.Repeat("w", i+1)))), "key %q again", k)
	}
	for i, k := range keys {
		assertState(t, s, k, strings.Repeat("w", i+1))
	}
	for _, k := range keys {
		require.NoError(t, s.Delete(ctx, k))
		assertState(t, s, k, "")
	}
	if cc, ok := client.(*redis.ClusterClient); ok {
		for _, k := range []string{"}", "", "~", "plain"} {
			hold, state := ussd.RedisKeys("p:", k)
			a, err := cc.ClusterKeySlot(ctx, hold).Result()
			require.NoError(t, err)
			b, err := cc.ClusterKeySlot(ctx, state).Result()
			require.NoError(t, err)
			assert.Equal(t, a, b, "slots of %q and %q", hold, state)
		}
	}
}

// testRedisRateLimiter is the limiter's contract on backend, and its
// counters expire by themselves.
func testRedisRateLimiter(t *testing.T, backend redisBackend) {
	client, prefix := backend(t)
	l := ussd.NewRedisRateLimiter(client, prefix)
	var mu sync.Mutex
	now := time.Now()
	l.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	testRateLimiter(t, l, func(t time.Time) { mu.Lock(); now = t; mu.Unlock() })
	var keys []string
	for _, ks := range keysPerMaster(t, client, prefix+"rate:*") {
		keys = append(keys, ks...)
	}
	require.Len(t, keys, 3, "two phones in one minute, one in the next")
	for _, k := range keys {
		ttl, err := client.TTL(context.Background(), k).Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, time.Duration(0), "counters expire by themselves")
	}
}

// keysPerMaster lists the keys matching pattern on each master (one entry,
// "", for a client of a single server).
func keysPerMaster(t *testing.T, client redis.UniversalClient, pattern string) map[string][]string {
	t.Helper()
	ctx := t.Context()
	out := map[string][]string{}
	var mu sync.Mutex
	scan := func(ctx context.Context, c *redis.Client, name string) error {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		slices.Sort(keys)
		mu.Lock()
		out[name] = keys
		mu.Unlock()
		return iter.Err()
	}
	switch c := client.(type) {
	case *redis.ClusterClient:
		require.NoError(t, c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
			return scan(ctx, m, m.Options().Addr)
		}))
	case *redis.Client:
		require.NoError(t, scan(ctx, c, ""))
	default:
		t.Fatalf("keysPerMaster: client %T", client)
	}
	return out
}

// BenchmarkRedisDeployments is one rate-limited hop's Redis work (the held
// update with the count in its pipeline) on the single test server and on
// a three-master cluster the harness starts, where the pipeline is split
// between the session's master and the phone's:
//
//	go test ./ussd -run '^$' -bench RedisDeployments -benchtime 2s
func BenchmarkRedisDeployments(b *testing.B) {
	cluster := ussdtest.StartRedisCluster(b)
	for _, d := range []struct {
		name    string
		backend func(testing.TB) (redis.UniversalClient, string)
	}{{"server", ussdtest.Redis}, {"cluster", cluster.Client}} {
		b.Run(d.name, func(b *testing.B) {
			client, prefix := d.backend(b)
			s := ussd.NewRedisStore(client, prefix, 10*time.Second)
			limit := ussd.Limit{Limiter: ussd.NewRedisRateLimiter(client, prefix), Phone: "+6281234567891", PerMinute: 1 << 30}
			ctx := context.Background()
			for b.Loop() {
				if err := s.UpdateLimited(ctx, "africastalking:bench", time.Minute, limit, increment); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
