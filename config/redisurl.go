package config

import (
	"errors"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// RedisMode is the kind of Redis deployment LUMBUNG_REDIS_URL names.
type RedisMode int

const (
	RedisServer   RedisMode = iota + 1 // one server: redis://host:port/db
	RedisCluster                       // Redis Cluster: redis+cluster://h1:p1,h2:p2,h3:p3
	RedisSentinel                      // Sentinel: redis+sentinel://s1:p1,s2:p2/db?master_name=NAME
)

func (m RedisMode) String() string {
	switch m {
	case RedisServer:
		return "server"
	case RedisCluster:
		return "cluster"
	case RedisSentinel:
		return "sentinel"
	}
	return "RedisMode(" + strconv.Itoa(int(m)) + ")"
}

// RedisTarget is LUMBUNG_REDIS_URL parsed into go-redis's options: the one
// of Server, Cluster and Sentinel that Mode names is set.
type RedisTarget struct {
	Mode     RedisMode
	Server   *redis.Options         // RedisServer
	Cluster  *redis.ClusterOptions  // RedisCluster
	Sentinel *redis.FailoverOptions // RedisSentinel
}

// redisURLForms is what every refusal of a scheme shows.
const redisURLForms = "redis://host:6379/0 for one server, redis+cluster://h1:7000,h2:7001,h3:7002 for Redis Cluster, " +
	"redis+sentinel://s1:26379,s2:26379,s3:26379/0?master_name=mymaster for Sentinel (rediss… for TLS)"

// ParseRedisURL parses LUMBUNG_REDIS_URL. Three forms:
//
//	redis://[user:password@]host[:port][/db][?option=value…]
//	redis+cluster://[user:password@]host:port[,host:port…][?option=value…]
//	redis+sentinel://[user:password@]host:port[,host:port…][/db]?master_name=NAME[&password=…][&option=value…]
//
// each also as rediss… for TLS. The address list after the credentials is
// comma-separated; go-redis's own ?addr=host:port parameters are accepted
// as well. The options are go-redis's (snake_case field names, e.g.
// dial_timeout=1s, pool_size=50), parsed by go-redis itself: ParseURL,
// ParseClusterURL and ParseFailoverURL. In the Sentinel form the user and
// password are the Sentinels' and the master's password is
// ?password=… (as go-redis has it). A cluster has only database 0, so its
// URL takes no other. Errors never repeat the password.
func ParseRedisURL(raw string) (RedisTarget, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return RedisTarget{}, errors.New("must start with redis://, rediss://, redis+cluster:// or redis+sentinel:// (e.g. " + redisURLForms + "); leave it unset for the in-process session store")
	}
	var mode RedisMode
	base := strings.ToLower(scheme)
	switch base {
	case "redis", "rediss":
		mode = RedisServer
	case "redis+cluster", "rediss+cluster":
		mode, base = RedisCluster, strings.TrimSuffix(base, "+cluster")
	case "redis+sentinel", "rediss+sentinel":
		mode, base = RedisSentinel, strings.TrimSuffix(base, "+sentinel")
	default:
		return RedisTarget{}, errors.New("must start with redis://, rediss://, redis+cluster:// or redis+sentinel:// (e.g. " + redisURLForms + "); leave it unset for the in-process session store")
	}
	if strings.ContainsAny(raw, "#") {
		return RedisTarget{}, errors.New("must not contain # (percent-encode it in a password as %23)")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return RedisTarget{}, errors.New("must not contain spaces or control characters (percent-encode them in a password)")
	}

	// authority: [userinfo@]hosts, up to the path or the query.
	authority, tail := rest, ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		authority, tail = rest[:i], rest[i:]
	}
	if strings.Contains(tail, "@") {
		// An unencoded / or ? in the user name or password ended the
		// authority early: what follows would be read (and shown in
		// errors) as a path or options.
		return RedisTarget{}, errors.New("has an @ after the host: percent-encode / as %2F, ? as %3F and @ as %40 in the user name and password")
	}
	userinfo, hostList := "", authority
	if i := strings.LastIndex(authority, "@"); i >= 0 {
		userinfo, hostList = authority[:i+1], authority[i+1:]
	}
	hosts := strings.Split(hostList, ",")
	for i, h := range hosts {
		if h == "" {
			if len(hosts) == 1 {
				return RedisTarget{}, errors.New("has no host (e.g. " + redisURLForms + ")")
			}
			return RedisTarget{}, errors.New("has an empty entry in its address list (e.g. redis+cluster://h1:7000,h2:7001,h3:7002)")
		}
		if err := checkRedisHost(h, i, len(hosts), mode != RedisServer); err != nil {
			return RedisTarget{}, err
		}
	}
	if mode == RedisServer && len(hosts) > 1 {
		return RedisTarget{}, errors.New("lists several hosts: use redis+cluster://… for Redis Cluster or redis+sentinel://…?master_name=NAME for Sentinel")
	}

	u, err := url.Parse(base + "://" + userinfo + hosts[0] + tail)
	if err != nil {
		// url's error repeats the URL, password included: do not show it.
		return RedisTarget{}, errors.New("is not a valid URL (percent-encode special characters in the password, e.g. / as %2F, # as %23, @ as %40)")
	}
	if u.Opaque != "" || u.Host == "" {
		return RedisTarget{}, errors.New("has no host (e.g. " + redisURLForms + ")")
	}
	if len(hosts) > 1 {
		q := u.Query()
		for _, h := range hosts[1:] {
			q.Add("addr", h)
		}
		u.RawQuery = q.Encode()
	}

	t := RedisTarget{Mode: mode}
	switch mode {
	case RedisServer:
		t.Server, err = redis.ParseURL(u.String())
	case RedisCluster:
		if p := strings.Trim(u.Path, "/"); p != "" && p != "0" {
			return RedisTarget{}, errors.New("names database " + strconv.Quote(p) + ", but Redis Cluster has only database 0: leave the path off")
		}
		u.Path, u.RawPath = "", ""
		t.Cluster, err = redis.ParseClusterURL(u.String())
	case RedisSentinel:
		if !u.Query().Has("master_name") || u.Query().Get("master_name") == "" {
			return RedisTarget{}, errors.New("needs ?master_name=NAME, the name of the master in the Sentinels' \"sentinel monitor\" line (e.g. redis+sentinel://s1:26379,s2:26379,s3:26379/0?master_name=mymaster)")
		}
		t.Sentinel, err = redis.ParseFailoverURL(u.String())
	}
	if err != nil {
		// go-redis names options and values as decoded from the query:
		// keep the message on one line.
		msg := strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return '?'
			}
			return r
		}, strings.TrimPrefix(err.Error(), "redis: "))
		return RedisTarget{}, errors.New(msg)
	}
	return t, nil
}

// checkRedisHost checks one host[:port] of the address list; an entry of a
// cluster or Sentinel list (inList) needs its port. The message names the
// entry by its place, never by its text: a password with an unencoded / or
// ? ends the authority early and would otherwise be shown.
func checkRedisHost(h string, i, of int, inList bool) error {
	which := "the host"
	if of > 1 {
		which = "address " + strconv.Itoa(i+1) + " of " + strconv.Itoa(of)
	}
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		if inList {
			return errors.New(which + " is not host:port (e.g. 10.0.0.1:7000 or [2001:db8::1]:7000; percent-encode / and ? in a password)")
		}
		if strings.ContainsAny(h, "[]:") {
			return errors.New(which + " is not host[:port] (e.g. localhost:6379 or [2001:db8::1]:6379; percent-encode / and ? in a password)")
		}
		return nil // a host name without a port: 6379
	}
	if host == "" {
		return errors.New(which + " has no host name (percent-encode / and ? in a password)")
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return errors.New(which + " has no valid port number (1 to 65535)")
	}
	return nil
}
