package ussdtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a throwaway Redis Cluster of three masters (no replicas)
// that the test harness started: three `redis-server --cluster-enabled yes`
// processes on free loopback ports in a temporary directory, joined with
// `redis-cli --cluster create`. The test's cleanup stops them.
type RedisCluster struct {
	// Addrs are the masters' host:port.
	Addrs []string
	stop  []func() // kills the master at Addrs[i]
}

// Kill stops the master at Addrs[i] with SIGKILL, as a machine that dies.
func (c *RedisCluster) Kill(i int) { c.stop[i]() }

// RedisSentinel is a throwaway Redis master with one replica, watched by
// one Sentinel (`redis-server --sentinel`), all started by the test harness.
type RedisSentinel struct {
	MasterName  string // the name Sentinel knows the master by
	MasterAddr  string // host:port of the master
	ReplicaAddr string // host:port of its replica
	Addr        string // host:port of the Sentinel
}

// Failover has the Sentinel promote the replica (SENTINEL FAILOVER) and
// waits until it names the replica as the master and the old master
// follows it; MasterAddr and ReplicaAddr swap.
func (s *RedisSentinel) Failover(t testing.TB) {
	t.Helper()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
	defer sc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := sc.Failover(ctx, s.MasterName).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER %s: %v", s.MasterName, err)
	}
	if err := waitMaster(ctx, sc, s.MasterName, s.ReplicaAddr); err != nil {
		t.Fatal(err)
	}
	// Sentinel names the new master before the old one is told to follow
	// it; until then the old master still takes writes (which its resync
	// then drops). Wait until it follows.
	old := redis.NewClient(&redis.Options{Addr: s.MasterAddr})
	defer old.Close()
	for {
		info, err := old.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "role:slave") && strings.Contains(info, "master_link_status:up") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("old master %s never follows the new one: %s %v", s.MasterAddr, info, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	s.MasterAddr, s.ReplicaAddr = s.ReplicaAddr, s.MasterAddr
}

// waitMaster waits until the Sentinel names addr as name's master.
func waitMaster(ctx context.Context, sc *redis.SentinelClient, name, addr string) error {
	for {
		got, err := sc.GetMasterAddrByName(ctx, name).Result()
		if err == nil && len(got) == 2 && net.JoinHostPort(got[0], got[1]) == addr {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sentinel does not name %s as master %s: %v %v", addr, name, got, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// StartRedisCluster starts a RedisCluster and waits until every node reports
// cluster_state:ok and knows the two others. If redis-server or redis-cli is
// missing, or the cluster does not come up, the test is skipped, or fails
// when BackendsRequired.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	bins := redisBinaries(t, "redis-server", "redis-cli")
	dir := t.TempDir()
	var err error
	for range 3 { // a free port may be taken between looking and binding
		var c *RedisCluster
		if c, err = startCluster(t, bins, dir); err == nil {
			return c
		}
	}
	backendMissing(t, "a Redis Cluster", err)
	return nil
}

func startCluster(t testing.TB, bins map[string]string, dir string) (*RedisCluster, error) {
	t.Helper()
	ports, err := freePorts(6) // three client ports, three cluster bus ports
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{}
	for i := range 3 {
		port, bus := ports[i], ports[3+i]
		nodeDir := filepath.Join(dir, "node-"+strconv.Itoa(port))
		if err := os.MkdirAll(nodeDir, 0o700); err != nil {
			return nil, err
		}
		stop, err := startRedis(t, bins["redis-server"], nodeDir,
			"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
			"--cluster-node-timeout", "5000",
			"--save", "", "--appendonly", "no")
		if err != nil {
			return nil, err
		}
		c.stop = append(c.stop, stop)
		c.Addrs = append(c.Addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}
	for _, addr := range c.Addrs {
		if err := waitPing(addr); err != nil {
			return nil, err
		}
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bins["redis-cli"], args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range c.Addrs {
		if err := waitClusterOK(ctx, addr, len(c.Addrs)); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Client returns a go-redis cluster client for c (bounded timeouts, like
// lumbung's own) and a key prefix unique to this test; the test's cleanup
// closes the client. The cluster is the test's own: no keys are deleted.
func (c *RedisCluster) Client(t testing.TB) (redis.UniversalClient, string) {
	t.Helper()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs, DialTimeout: 2 * time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := client.ForEachShard(ctx, func(ctx context.Context, shard *redis.Client) error {
		return shard.Ping(ctx).Err()
	}); err != nil {
		t.Fatalf("ping the Redis Cluster at %v: %v", c.Addrs, err)
	}
	return client, "lumbungtest:" + strings.ToLower(rand.Text()) + ":"
}

// StartRedisSentinel starts a Redis master and a Sentinel that monitors it,
// and waits until the Sentinel names the master. Missing binaries or a
// Sentinel that does not come up skip the test, or fail it when
// BackendsRequired.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	bins := redisBinaries(t, "redis-server")
	dir := t.TempDir()
	var err error
	for range 3 {
		var s *RedisSentinel
		if s, err = startSentinel(t, bins["redis-server"], dir); err == nil {
			return s
		}
	}
	backendMissing(t, "a Redis Sentinel", err)
	return nil
}

func startSentinel(t testing.TB, server, dir string) (*RedisSentinel, error) {
	t.Helper()
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	s := &RedisSentinel{MasterName: "lumbungtest",
		MasterAddr:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0])),
		ReplicaAddr: net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])),
		Addr:        net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[2]))}
	masterDir := filepath.Join(dir, "master-"+strconv.Itoa(ports[0]))
	replicaDir := filepath.Join(dir, "replica-"+strconv.Itoa(ports[1]))
	sentinelDir := filepath.Join(dir, "sentinel-"+strconv.Itoa(ports[2]))
	for _, d := range []string{masterDir, replicaDir, sentinelDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	if _, err := startRedis(t, server, masterDir, "--port", strconv.Itoa(ports[0]), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no"); err != nil {
		return nil, err
	}
	if _, err := startRedis(t, server, replicaDir, "--port", strconv.Itoa(ports[1]), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--replicaof", "127.0.0.1", strconv.Itoa(ports[0])); err != nil {
		return nil, err
	}
	for _, addr := range []string{s.MasterAddr, s.ReplicaAddr} {
		if err := waitPing(addr); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The replica in sync before the Sentinel looks, so that the Sentinel's
	// first INFO of the master finds it.
	replica := redis.NewClient(&redis.Options{Addr: s.ReplicaAddr})
	defer replica.Close()
	for {
		info, err := replica.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("replica %s never in sync: %s %v", s.ReplicaAddr, info, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	// Sentinel rewrites its configuration file, so it gets one of its own.
	conf := filepath.Join(sentinelDir, "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 5000\n",
		ports[2], sentinelDir, s.MasterName, ports[0], s.MasterName)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		return nil, err
	}
	if _, err := startRedis(t, server, sentinelDir, conf, "--sentinel"); err != nil {
		return nil, err
	}
	if err := waitPing(s.Addr); err != nil {
		return nil, err
	}
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.Addr})
	defer sc.Close()
	if err := waitMaster(ctx, sc, s.MasterName, s.MasterAddr); err != nil {
		return nil, err
	}
	// A failover needs the Sentinel to know the replica.
	for {
		replicas, err := sc.Replicas(ctx, s.MasterName).Result()
		if err == nil && len(replicas) == 1 && replicas[0]["flags"] == "slave" && replicas[0]["master-link-status"] == "ok" {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("sentinel does not see replica %s: %v %v", s.ReplicaAddr, replicas, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// redisBinaries finds each named program on PATH.
func redisBinaries(t testing.TB, names ...string) map[string]string {
	t.Helper()
	bins := map[string]string{}
	for _, name := range names {
		path, err := exec.LookPath(name)
		if err != nil {
			backendMissing(t, name+" (Debian package redis-server / redis-tools)", err)
		}
		bins[name] = path
	}
	return bins
}

func backendMissing(t testing.TB, what string, err error) {
	t.Helper()
	if BackendsRequired() {
		t.Fatalf("%s is required (CI=true or LUMBUNG_TEST_REQUIRE_BACKENDS=1) but could not be started: %v", what, err)
	}
	t.Skipf("%s could not be started (%v); set LUMBUNG_TEST_REQUIRE_BACKENDS=1 to fail instead of skip", what, err)
}

// startRedis runs redis-server with args in dir, logging to dir/redis.log,
// and stops it when the test ends; stop kills it sooner. A server that exits
// at once (a port taken after all) is reported with the end of its log.
func startRedis(t testing.TB, server, dir string, args ...string) (stop func(), err error) {
	t.Helper()
	logFile := filepath.Join(dir, "redis.log")
	args = append(args, "--dir", dir, "--logfile", logFile, "--daemonize", "no")
	cmd := exec.Command(server, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", server, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	var once sync.Once
	stop = func() {
		once.Do(func() { _ = cmd.Process.Kill() })
		<-exited
	}
	t.Cleanup(stop)
	select {
	case <-exited:
		return nil, fmt.Errorf("%s %s exited at once (%v): %s", server, strings.Join(args, " "), waitErr, tail(logFile))
	case <-time.After(100 * time.Millisecond):
		return stop, nil
	}
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(bytes.TrimSpace(b))
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
	}()
	for len(ports) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		lns = append(lns, ln)
		port := ln.Addr().(*net.TCPAddr).Port
		if port+10000 <= 65535 { // keep clear of Redis's default bus port arithmetic
			ports = append(ports, port)
		}
	}
	return ports, nil
}

// waitPing waits until the server at addr answers PING.
func waitPing(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis at %s does not answer: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitClusterOK waits until the node at addr reports cluster_state:ok and
// knows nodes nodes.
func waitClusterOK(ctx context.Context, addr string, nodes int) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	var info string
	var err error
	for {
		info, err = c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") &&
			strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(nodes)+"\r") {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(fmt.Errorf("redis cluster node %s is not ready: %s", addr, info), err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
