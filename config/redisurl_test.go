package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseRedisURL(t *testing.T) {
	t.Run("one server", func(t *testing.T) {
		r, err := ParseRedisURL("redis://:pw@cache:6380/3?dial_timeout=2s")
		require.NoError(t, err)
		require.Equal(t, RedisServer, r.Mode)
		require.NotNil(t, r.Server)
		assert.Nil(t, r.Cluster)
		assert.Nil(t, r.Sentinel)
		assert.Equal(t, "cache:6380", r.Server.Addr)
		assert.Equal(t, 3, r.Server.DB)
		assert.Equal(t, "pw", r.Server.Password)
		assert.Equal(t, 2*time.Second, r.Server.DialTimeout)

		r, err = ParseRedisURL("REDISS://cache")
		require.NoError(t, err)
		assert.Equal(t, "cache:6379", r.Server.Addr)
		assert.NotNil(t, r.Server.TLSConfig)
	})

	t.Run("cluster", func(t *testing.T) {
		for _, raw := range []string{
			"redis+cluster://u:pw@10.0.0.1:7000,10.0.0.2:7001,[2001:db8::3]:7002?read_timeout=1s",
			"redis+cluster://u:pw@10.0.0.1:7000?addr=10.0.0.2:7001&addr=[2001:db8::3]:7002&read_timeout=1s", // go-redis's own form
			"redis+cluster://u:pw@10.0.0.1:7000,10.0.0.2:7001/0?addr=[2001:db8::3]:7002&read_timeout=1s",
		} {
			r, err := ParseRedisURL(raw)
			require.NoError(t, err, raw)
			require.Equal(t, RedisCluster, r.Mode, raw)
			require.NotNil(t, r.Cluster, raw)
			assert.Nil(t, r.Server, raw)
			assert.ElementsMatch(t, []string{"10.0.0.1:7000", "10.0.0.2:7001", "[2001:db8::3]:7002"}, r.Cluster.Addrs, raw)
			assert.Equal(t, "u", r.Cluster.Username)
			assert.Equal(t, "pw", r.Cluster.Password)
			assert.Equal(t, time.Second, r.Cluster.ReadTimeout)
			assert.Nil(t, r.Cluster.TLSConfig)
		}
		r, err := ParseRedisURL("rediss+cluster://one:7000")
		require.NoError(t, err)
		assert.Equal(t, []string{"one:7000"}, r.Cluster.Addrs, "one seed address finds the rest")
		assert.NotNil(t, r.Cluster.TLSConfig)
	})

	t.Run("sentinel", func(t *testing.T) {
		r, err := ParseRedisURL("redis+sentinel://su:spw@s1:26379,s2:26380,s3:26381/4?master_name=lumbung&password=mpw")
		require.NoError(t, err)
		require.Equal(t, RedisSentinel, r.Mode)
		require.NotNil(t, r.Sentinel)
		assert.Equal(t, []string{"s1:26379", "s2:26380", "s3:26381"}, r.Sentinel.SentinelAddrs)
		assert.Equal(t, "lumbung", r.Sentinel.MasterName)
		assert.Equal(t, 4, r.Sentinel.DB)
		assert.Equal(t, "su", r.Sentinel.SentinelUsername)
		assert.Equal(t, "spw", r.Sentinel.SentinelPassword)
		assert.Equal(t, "mpw", r.Sentinel.Password)
	})

	for _, tc := range []struct{ raw, want string }{
		{"cache:6379", "must start with redis://"},
		{"http://cache", "must start with redis://"},
		{"redis+cluster://", "has no host"},
		{"redis+cluster://a:7000,,b:7001", "has an empty entry in its address list"},
		{"redis+cluster://a:7000,b", "address 2 of 2 is not host:port"},
		{"redis+cluster://a:7000,b:0", "address 2 of 2 has no valid port number (1 to 65535)"},
		{"redis+cluster://a:7000,b:99999", "address 2 of 2 has no valid port number"},
		{"redis+cluster://a:7000,:7001", "address 2 of 2 has no host name"},
		{"redis+cluster://a:7000/3", `names database "3", but Redis Cluster has only database 0`},
		{"redis+cluster://a:7000?master_name=x", "unexpected option: master_name"},
		{"redis+cluster://a:7000?addr=b", "unable to parse addr param: b"},
		{"redis+sentinel://s1:26379", "needs ?master_name=NAME"},
		{"redis+sentinel://s1:26379?master_name=", "needs ?master_name=NAME"},
		{"redis+sentinel://s1:26379/x?master_name=m", `invalid database number: "x"`},
		{"redis://a:1,b:2", "lists several hosts"},
		{"redis://cache:http", "the host has no valid port number"},
		{"redis://cache?pool_size=many", "invalid pool_size number"},
		{"redis://cache?nonsense=1", "unexpected option: nonsense"},
		{"redis://cache?x%0Ay=1", "unexpected option: x?y"},
		{"redis://ca che", "must not contain spaces or control characters"},
		{"redis://:pa#ss@cache", "must not contain #"},
	} {
		_, err := ParseRedisURL(tc.raw)
		if assert.Error(t, err, tc.raw) {
			assert.Contains(t, err.Error(), tc.want, tc.raw)
		}
	}
}

// A password that breaks the URL (an unencoded / or ?, a stray %) is never
// shown in the error.
func TestParseRedisURLHidesPasswords(t *testing.T) {
	for _, raw := range []string{
		"redis://:Zq9x/WpLmK@cache:6379",
		"redis://:Zq9x?WpLmK@cache:6379",
		"redis+cluster://u:Zq9x/WpLmK@a:7000,b:7001",
		"redis+sentinel://:Zq9x?WpLmK@s1:26379,s2:26379?master_name=m",
		"redis://:Zq9x%WpLmK@cache",
		"redis+cluster://u:Zq9x%zzWpLmK@a:7000,b:7001",
	} {
		_, err := ParseRedisURL(raw)
		require.Error(t, err, raw)
		assert.NotContains(t, err.Error(), "Zq9x", raw)
		assert.NotContains(t, err.Error(), "WpLmK", raw)
	}
}

// FuzzRedisURL: whatever LUMBUNG_REDIS_URL holds, parsing does not panic,
// an error is one line that never shows the password, and a URL that parses
// names its deployment in full.
func FuzzRedisURL(f *testing.F) {
	for _, seed := range []string{
		"redis://cache:6379/0", "rediss://:pw@cache", "redis+cluster://a:7000,b:7001,c:7002",
		"redis+cluster://a:7000?addr=b:7001", "redis+sentinel://s1:26379,s2:26379/1?master_name=m&password=p",
		"redis://a:1,b:2", "redis+cluster://[::1]:7000,[::1]:7001", "redis+cluster://a:7000/5", "redis://:p%zz@x",
		"redis+sentinel://s?master_name=%0A", "redis://h?dial_timeout=x", "redis://@", "redis+cluster://,",
	} {
		f.Add(seed, "user")
	}
	const marker = "Qx7Zr4Wm9Kp2"
	f.Fuzz(func(t *testing.T, raw, user string) {
		check := func(raw string, password string) {
			r, err := ParseRedisURL(raw)
			if err != nil {
				msg := err.Error()
				if strings.ContainsAny(msg, "\r\n") {
					t.Fatalf("error is not one line: %q", msg)
				}
				if password != "" && strings.Contains(msg, password) {
					t.Fatalf("error shows the password: %q", msg)
				}
				return
			}
			set := 0
			switch r.Mode {
			case RedisServer:
				if r.Server == nil || r.Server.Addr == "" {
					t.Fatalf("server target without an address: %+v", r)
				}
			case RedisCluster:
				if r.Cluster == nil || len(r.Cluster.Addrs) == 0 {
					t.Fatalf("cluster target without addresses: %+v", r)
				}
			case RedisSentinel:
				if r.Sentinel == nil || len(r.Sentinel.SentinelAddrs) == 0 || r.Sentinel.MasterName == "" {
					t.Fatalf("sentinel target without addresses or master: %+v", r)
				}
			default:
				t.Fatalf("mode %v", r.Mode)
			}
			for _, p := range []bool{r.Server != nil, r.Cluster != nil, r.Sentinel != nil} {
				if p {
					set++
				}
			}
			if set != 1 {
				t.Fatalf("%d option sets filled in for %q", set, raw)
			}
			if err := checkRedisURL(raw); err != nil {
				t.Fatalf("Load would refuse what parses: %v", err)
			}
		}
		check(raw, "")
		// The same text with a password put in front of its address list.
		if scheme, rest, ok := strings.Cut(raw, "://"); ok {
			check(scheme+"://"+user+":"+marker+"@"+rest, marker)
			check(scheme+"://"+user+":"+marker[:6]+"/"+marker[6:]+"@"+rest, marker[:6])
		}
	})
}
