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
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a throwaway Redis Cluster of three masters, with or
// without one replica each, that the test harness started:
// `redis-server --cluster-enabled yes` processes on free loopback ports in a
// temporary directory, joined with `redis-cli --cluster create`. The test's
// cleanup stops them.
type RedisCluster struct {
	// Addrs are the masters' host:port, Addrs[0] holding slot 0; after a
	// Failover or KillAndFailOver, Addrs[i] is the master now serving the
	// slots of the first Addrs[i].
	Addrs []string
	// Replicas[i] is the replica following Addrs[i] ("" when it has none:
	// always without replicas, and after KillAndFailOver until Restart).
	Replicas []string

	server      string
	nodeTimeout time.Duration
	nodes       map[string]*clusterNode // by host:port, dead ones too
	orphans     map[string]int          // killed masters whose replica took over Addrs[i], by host:port
}

// clusterNode is one redis-server of a RedisCluster, as started.
type clusterNode struct {
	dir  string
	args []string
	proc *redisProcess
}

// ClusterOptions shape a RedisCluster.
type ClusterOptions struct {
	// Replicas gives each master one replica (six redis-server processes,
	// `--cluster-replicas 1`).
	Replicas bool
	// NodeTimeout is --cluster-node-timeout (0 selects 5 s): how long a
	// node may be silent before the others fail it and, with replicas,
	// promote its replica.
	NodeTimeout time.Duration
}

// Kill stops the master at Addrs[i] with SIGKILL, as a machine that dies.
func (c *RedisCluster) Kill(i int) { c.nodes[c.Addrs[i]].proc.stop() }

// Pause stops the master at Addrs[i] with SIGSTOP: its connections stay
// open and its port accepts, but it answers nothing (a black-holed node),
// until Resume.
func (c *RedisCluster) Pause(t testing.TB, i int) { c.signal(t, i, syscall.SIGSTOP) }

// Resume lets a paused master at Addrs[i] go on (SIGCONT).
func (c *RedisCluster) Resume(t testing.TB, i int) { c.signal(t, i, syscall.SIGCONT) }

func (c *RedisCluster) signal(t testing.TB, i int, sig syscall.Signal) {
	t.Helper()
	if err := c.nodes[c.Addrs[i]].proc.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to redis at %s: %v", sig, c.Addrs[i], err)
	}
}

// Restart starts the killed node at addr again, with its own directory and
// nodes.conf (so with its identity and, unless another took them over, its
// slots, but none of its keys), and waits until the cluster has settled
// with it: a master that KillAndFailOver replaced comes back as the
// replica of the one that took over (Replicas[i] is addr again).
func (c *RedisCluster) Restart(t testing.TB, addr string) {
	t.Helper()
	n := c.nodes[addr]
	if n == nil {
		t.Fatalf("restart %s: not a node of the cluster", addr)
	}
	select {
	case <-n.proc.exited:
	default:
		t.Fatalf("restart %s: it is still running", addr)
	}
	proc, err := startRedisProcess(t, c.server, n.dir, n.args...)
	if err != nil {
		t.Fatalf("restart redis at %s: %v", addr, err)
	}
	n.proc = proc
	ctx, cancel := context.WithTimeout(context.Background(), c.settleTimeout())
	defer cancel()
	if err := waitPing(addr); err != nil {
		t.Fatal(err)
	}
	if i, ok := c.orphans[addr]; ok { // a master whose replica took over comes back following it
		delete(c.orphans, addr)
		c.Replicas[i] = addr
	}
	if err := c.waitSettled(ctx); err != nil {
		t.Fatal(err)
	}
}

// Failover has the replica of Addrs[i] take over from its master (CLUSTER
// FAILOVER, run on the replica: the master stops taking writes, the replica
// catches up and is promoted), and waits until every node names it as the
// master of the slots, the old master follows it in sync, and every node
// reports cluster_state:ok. Addrs[i] and Replicas[i] swap.
func (c *RedisCluster) Failover(t testing.TB, i int) {
	t.Helper()
	master, replica := c.Addrs[i], c.Replicas[i]
	if replica == "" {
		t.Fatalf("failover of %s: it has no replica", master)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.settleTimeout())
	defer cancel()
	r := redis.NewClient(&redis.Options{Addr: replica})
	defer r.Close()
	if err := r.Do(ctx, "CLUSTER", "FAILOVER").Err(); err != nil {
		t.Fatalf("CLUSTER FAILOVER on %s: %v", replica, err)
	}
	c.Addrs[i], c.Replicas[i] = replica, master
	if err := c.waitSettled(ctx); err != nil {
		t.Fatal(err)
	}
}

// KillAndFailOver kills the master at Addrs[i] (SIGKILL) and waits until
// the cluster has failed it and promoted its replica: every live node names
// the replica as the master of the slots and reports cluster_state:ok.
// Addrs[i] becomes the replica and Replicas[i] "" (Restart brings the old
// master back as its replica).
func (c *RedisCluster) KillAndFailOver(t testing.TB, i int) {
	t.Helper()
	master, replica := c.Addrs[i], c.Replicas[i]
	if replica == "" {
		t.Fatalf("failover of %s: it has no replica", master)
	}
	c.Kill(i)
	c.Addrs[i], c.Replicas[i] = replica, ""
	c.orphans[master] = i
	ctx, cancel := context.WithTimeout(context.Background(), c.settleTimeout())
	defer cancel()
	if err := c.waitSettled(ctx); err != nil {
		t.Fatal(err)
	}
}

// WaitReplicated waits until the replica of Addrs[i] has everything its
// master had taken when WaitReplicated was called (its replication offset
// has reached the master's), so that a failover then loses nothing.
func (c *RedisCluster) WaitReplicated(t testing.TB, i int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := redis.NewClient(&redis.Options{Addr: c.Addrs[i]})
	defer m.Close()
	r := redis.NewClient(&redis.Options{Addr: c.Replicas[i]})
	defer r.Close()
	info, err := m.Info(ctx, "replication").Result()
	if err != nil {
		t.Fatalf("INFO replication of %s: %v", c.Addrs[i], err)
	}
	want, ok := infoInt(info, "master_repl_offset")
	if !ok {
		t.Fatalf("INFO replication of %s has no master_repl_offset: %s", c.Addrs[i], info)
	}
	for {
		info, err = r.Info(ctx, "replication").Result()
		if got, ok := infoInt(info, "slave_repl_offset"); err == nil && ok && got >= want &&
			strings.Contains(info, "master_link_status:up") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("replica %s never reaches offset %d of %s: %s %v", c.Replicas[i], want, c.Addrs[i], info, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// MasterOf returns i such that Addrs[i] serves key's slot.
func (c *RedisCluster) MasterOf(t testing.TB, key string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	n := redis.NewClient(&redis.Options{Addr: c.Addrs[0]})
	defer n.Close()
	slot, err := n.ClusterKeySlot(ctx, key).Result()
	if err != nil {
		t.Fatalf("CLUSTER KEYSLOT %q: %v", key, err)
	}
	slots, err := n.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatalf("CLUSTER SLOTS: %v", err)
	}
	for _, s := range slots {
		if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
			if i := slices.Index(c.Addrs, s.Nodes[0].Addr); i >= 0 {
				return i
			}
			t.Fatalf("slot %d of %q is served by %s, not one of %v", slot, key, s.Nodes[0].Addr, c.Addrs)
		}
	}
	t.Fatalf("no master serves slot %d of %q: %v", slot, key, slots)
	return -1
}

// settleTimeout bounds a wait for the cluster to agree on a new topology: a
// failure is detected after the node timeout, the replica's election waits
// up to a second or two more.
func (c *RedisCluster) settleTimeout() time.Duration { return 10*c.nodeTimeout + 10*time.Second }

// live are the addresses of the nodes whose process runs.
func (c *RedisCluster) live() []string {
	var out []string
	for addr, n := range c.nodes {
		select {
		case <-n.proc.exited:
		default:
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return out
}

// waitSettled waits until every live node reports cluster_state:ok and,
// in its CLUSTER NODES, names each of Addrs as a master serving slots and
// each of Replicas as a replica of it, none of them failing; and until
// every replica is in sync with its master.
func (c *RedisCluster) waitSettled(ctx context.Context) error {
	var last error
	for {
		if last = c.settled(ctx); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redis cluster does not settle on masters %v, replicas %v: %w", c.Addrs, c.Replicas, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *RedisCluster) settled(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	for _, addr := range c.live() {
		n := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		info, err := n.ClusterInfo(ctx).Result()
		var nodes string
		if err == nil {
			nodes, err = n.ClusterNodes(ctx).Result()
		}
		var repl string
		if err == nil && slices.Contains(c.Replicas, addr) {
			repl, err = n.Info(ctx, "replication").Result()
		}
		_ = n.Close()
		if err != nil {
			return fmt.Errorf("node %s: %w", addr, err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return fmt.Errorf("node %s: not cluster_state:ok", addr)
		}
		if repl != "" && !strings.Contains(repl, "master_link_status:up") {
			return fmt.Errorf("replica %s: not in sync with its master", addr)
		}
		view := parseClusterNodes(nodes)
		for i, m := range c.Addrs {
			mv, ok := view[m]
			if !ok || !mv.master || mv.failing || !mv.slots {
				return fmt.Errorf("node %s does not see %s as a healthy master with slots: %+v", addr, m, mv)
			}
			if r := c.Replicas[i]; r != "" {
				if rv, ok := view[r]; !ok || rv.master || rv.failing || rv.follows != mv.id {
					return fmt.Errorf("node %s does not see %s as a healthy replica of %s: %+v", addr, r, m, rv)
				}
			}
		}
	}
	return nil
}

// nodeView is one line of CLUSTER NODES.
type nodeView struct {
	id, follows            string
	master, failing, slots bool
}

func parseClusterNodes(text string) map[string]nodeView {
	out := map[string]nodeView{}
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		addr, _, _ := strings.Cut(f[1], "@")
		flags := strings.Split(f[2], ",")
		out[addr] = nodeView{id: f[0], follows: f[3], master: slices.Contains(flags, "master"),
			failing: slices.Contains(flags, "fail") || slices.Contains(flags, "fail?") || slices.Contains(flags, "noaddr"),
			slots:   len(f) > 8}
	}
	return out
}

// infoInt reads the integer field name of an INFO reply.
func infoInt(info, name string) (int64, bool) {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

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

// StartRedisCluster starts a RedisCluster of three masters without
// replicas (a 5 s node timeout) and waits until every node reports
// cluster_state:ok and knows the others. If redis-server or redis-cli is
// missing, or the cluster does not come up, the test is skipped, or fails
// when BackendsRequired.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	return StartRedisClusterWith(t, ClusterOptions{})
}

// StartRedisClusterWithReplicas starts a RedisCluster of three masters with
// one replica each and a 1.5 s node timeout, so that a master that dies is
// failed over within a few seconds.
func StartRedisClusterWithReplicas(t testing.TB) *RedisCluster {
	t.Helper()
	return StartRedisClusterWith(t, ClusterOptions{Replicas: true, NodeTimeout: 1500 * time.Millisecond})
}

// StartRedisClusterWith starts a RedisCluster shaped by o (see
// StartRedisCluster).
func StartRedisClusterWith(t testing.TB, o ClusterOptions) *RedisCluster {
	t.Helper()
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = 5 * time.Second
	}
	bins := redisBinaries(t, "redis-server", "redis-cli")
	dir := t.TempDir()
	var err error
	for range 3 { // a free port may be taken between looking and binding
		var c *RedisCluster
		if c, err = startCluster(t, bins, dir, o); err == nil {
			return c
		}
	}
	backendMissing(t, "a Redis Cluster", err)
	return nil
}

func startCluster(t testing.TB, bins map[string]string, dir string, o ClusterOptions) (*RedisCluster, error) {
	t.Helper()
	n := 3
	if o.Replicas {
		n = 6
	}
	ports, err := freePorts(2 * n) // client ports, then cluster bus ports
	if err != nil {
		return nil, err
	}
	c := &RedisCluster{server: bins["redis-server"], nodeTimeout: o.NodeTimeout,
		nodes: map[string]*clusterNode{}, orphans: map[string]int{}}
	var addrs []string
	for i := range n {
		port, bus := ports[i], ports[n+i]
		nodeDir := filepath.Join(dir, "node-"+strconv.Itoa(port))
		if err := os.MkdirAll(nodeDir, 0o700); err != nil {
			return nil, err
		}
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--cluster-enabled", "yes", "--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", filepath.Join(nodeDir, "nodes.conf"),
			"--cluster-node-timeout", strconv.FormatInt(o.NodeTimeout.Milliseconds(), 10),
			"--save", "", "--appendonly", "no"}
		proc, err := startRedisProcess(t, c.server, nodeDir, args...)
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		c.nodes[addr] = &clusterNode{dir: nodeDir, args: args, proc: proc}
		addrs = append(addrs, addr)
	}
	for _, addr := range addrs {
		if err := waitPing(addr); err != nil {
			return nil, err
		}
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(n/3-1), "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, bins["redis-cli"], args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, addr := range addrs {
		if err := waitClusterOK(ctx, addr, n); err != nil {
			return nil, err
		}
	}
	// Which node redis-cli made a master and which replica follows it
	// (CLUSTER SLOTS lists a replica once it has joined its master).
	r := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer r.Close()
	for {
		slots, err := r.ClusterSlots(ctx).Result()
		if err != nil {
			return nil, fmt.Errorf("CLUSTER SLOTS: %w", err)
		}
		slices.SortFunc(slots, func(a, b redis.ClusterSlot) int { return a.Start - b.Start })
		c.Addrs, c.Replicas = nil, nil
		for _, s := range slots {
			if len(s.Nodes) == 0 || slices.Contains(c.Addrs, s.Nodes[0].Addr) {
				continue
			}
			c.Addrs = append(c.Addrs, s.Nodes[0].Addr)
			replica := ""
			if len(s.Nodes) > 1 {
				replica = s.Nodes[1].Addr
			}
			c.Replicas = append(c.Replicas, replica)
		}
		if len(c.Addrs) == 3 && (!o.Replicas || !slices.Contains(c.Replicas, "")) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("redis-cli --cluster create made masters %v, replicas %v", c.Addrs, c.Replicas)
		case <-time.After(50 * time.Millisecond):
		}
	}
	settle, cancel2 := context.WithTimeout(context.Background(), c.settleTimeout())
	defer cancel2()
	if err := c.waitSettled(settle); err != nil {
		return nil, err
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
	p, err := startRedisProcess(t, server, dir, args...)
	if err != nil {
		return nil, err
	}
	return p.stop, nil
}

// redisProcess is a running redis-server.
type redisProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once it has exited and been waited for
	stop   func()        // SIGKILL (a paused one too) and wait
}

func startRedisProcess(t testing.TB, server, dir string, args ...string) (*redisProcess, error) {
	t.Helper()
	logFile := filepath.Join(dir, "redis.log")
	args = append(slices.Clip(args), "--dir", dir, "--logfile", logFile, "--daemonize", "no")
	cmd := exec.Command(server, args...)
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", server, err)
	}
	p := &redisProcess{cmd: cmd, exited: make(chan struct{})}
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(p.exited) }()
	var once sync.Once
	p.stop = func() {
		once.Do(func() { _ = cmd.Process.Kill() })
		<-p.exited
	}
	t.Cleanup(p.stop)
	select {
	case <-p.exited:
		return nil, fmt.Errorf("%s %s exited at once (%v): %s", server, strings.Join(args, " "), waitErr, tail(logFile))
	case <-time.After(100 * time.Millisecond):
		return p, nil
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
