package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/ussd/handset"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// Two `lumbung serve` on PostgreSQL and Redis behind a real haproxy, under
// the load test; one is killed with SIGKILL in the middle.

const (
	scaleSecret = "scale-out-test-secret-0123456789abcdef"
	scaleToken  = "scale-out-callback-token-0123456789abcdef"
	scalePIN    = "135792"
	scaleCode   = "*789#"
)

// haproxyPath finds Debian's haproxy: missing is a skip, or a failure when
// the backends are required (CI installs it).
func haproxyPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"haproxy", "/usr/sbin/haproxy"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if ledgertest.BackendsRequired() {
		t.Fatal("haproxy is required for this test run (CI=true or LUMBUNG_TEST_REQUIRE_BACKENDS=1) but not installed: apt-get install haproxy")
	}
	t.Skip("haproxy not installed (apt-get install haproxy); set LUMBUNG_TEST_REQUIRE_BACKENDS=1 to make this a failure")
	return ""
}

// buildLumbung builds the real binary into a temporary directory.
func buildLumbung(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lumbung")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// process is a child the test started, with its output kept for a failure.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
}

func startProcess(t *testing.T, name string, env []string, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, cmd: exec.Command(bin, args...), out: &syncBuffer{}}
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	require.NoError(t, p.cmd.Start(), name)
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = p.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = p.cmd.Process.Kill()
				<-done
			}
		}
		if t.Failed() {
			out := p.out.String()
			if p.name == "haproxy" { // its request log: only what did not end in a 200
				var keep []string
				for _, line := range strings.Split(out, "\n") {
					if !strings.Contains(line, " 200 ") || !strings.Contains(line, " ---- ") {
						keep = append(keep, line)
					}
				}
				out = strings.Join(keep, "\n")
			}
			t.Logf("%s (pid %d) output:\n%s", p.name, p.cmd.Process.Pid, clipLog(out))
		}
	})
	return p
}

func clipLog(s string) string {
	if len(s) > 6000 {
		return "…" + s[len(s)-6000:]
	}
	return s
}

// waitOK waits until GET url answers 200.
func waitOK(t *testing.T, url string, within time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		require.True(t, time.Now().Before(deadline), "%s not ready within %s (last: %v)", url, within, err)
		time.Sleep(50 * time.Millisecond)
	}
}

// ussdHops is the sum of lumbung_ussd_hops_total on one instance.
func ussdHops(t *testing.T, base string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "lumbung_ussd_hops_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		require.NoError(t, err, line)
		sum += v
	}
	return sum
}

const haproxyConfig = `global
    maxconn 4096
    log stderr format raw local0 notice
defaults
    mode http
    log global
    option httplog
    option log-separate-errors
    timeout connect 1s
    timeout client 30s
    timeout server 15s
    # A hop that reached no instance, or whose instance died before
    # answering, goes to the other one: lumbung answers a repeated hop with
    # the identical reply and posts nothing twice (Africa's Talking and
    # Hubtel number their hops; see README "Two instances or more").
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response
    # The whole request (a small form) is read before it is forwarded, so
    # that haproxy still holds it to send again when the instance dies
    # with it (without this, such a hop was dropped: "SD--", no retry).
    option http-buffer-request
frontend ussd
    bind 127.0.0.1:%d
    default_backend lumbung
backend lumbung
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    # /readyz answers within its own 500 ms probe timeout; a check given
    # up earlier would be counted by lumbung as a backend down.
    timeout check 2s
    default-server check inter 300ms fall 2 rise 2
    server a %s
    server b %s
`

// witness runs deposit journeys one after another through the balancer as a
// teller and records how each ended: completed, ended politely, or not.
type witness struct {
	mu        sync.Mutex
	completed []string // session ids of the deposits acknowledged
	polite    []string // "session: screen" of the journeys that ended with a polite END
	rude      []string // anything else
}

func (w *witness) run(ctx context.Context, base, teller string, memberNos []string, until time.Time, id string) {
	client := &http.Client{Timeout: 10 * time.Second}
	for n := 0; time.Now().Before(until) && ctx.Err() == nil; n++ {
		p := handset.NewPhone(base, teller, scaleCode)
		p.Provider, p.Client, p.Token = handset.ProviderAfricasTalking, client, scaleToken
		member := memberNos[n%len(memberNos)]
		session := fmt.Sprintf("witness-%s-%d", id, n)
		steps := journeyFor("deposit", scalePIN, member, 5000)
		var outcome string
		for i, s := range steps {
			var scr handset.Screen
			var err error
			if i == 0 {
				scr, err = p.DialSession(ctx, session)
			} else {
				scr, err = p.Send(ctx, s.input)
			}
			kind, detail := check(s, scr, err)
			if kind == "" {
				if i == len(steps)-1 {
					outcome = "completed"
				}
				continue
			}
			if err == nil && scr.End && isPoliteEnd(scr.Text) {
				outcome = "polite: " + scr.Text
			} else {
				outcome = fmt.Sprintf("rude: hop %d (%s) %s: %s", i+1, s.name, kind, detail)
			}
			break
		}
		w.mu.Lock()
		switch {
		case outcome == "completed":
			w.completed = append(w.completed, session)
		case strings.HasPrefix(outcome, "polite"):
			w.polite = append(w.polite, session+": "+outcome)
		default:
			w.rude = append(w.rude, session+": "+outcome)
		}
		w.mu.Unlock()
	}
}

// isPoliteEnd: the service's own END for a hop it could not serve.
func isPoliteEnd(text string) bool {
	for _, key := range []string{"error.internal", "error.busy"} {
		if strings.Contains(text, menus.T("id", key)) {
			return true
		}
	}
	return false
}

// replyLog sits between one load test and haproxy and reads every reply:
// the load test counts a journey cut short only as an error of its kind
// (and keeps one sample); this sees each reply, so that every one is
// known to be a screen, and every END but the flow's own a polite one.
type replyLog struct {
	success string // in the flow's last screen
	mu      sync.Mutex
	replies int
	polite  int
	rude    []string
}

func newReplyLog(t *testing.T, target, success string) (*replyLog, string) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	l := &replyLog{success: success}
	proxy := httputil.NewSingleHostReverseProxy(u)
	// Connections kept alive as the load test's own, one per phone: no
	// churn of connections to haproxy that the load test would not cause.
	tr := loadTransport(16)
	t.Cleanup(tr.CloseIdleConnections)
	proxy.Transport = tr
	proxy.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		text := string(body)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.replies++
		switch {
		case resp.StatusCode != http.StatusOK:
			l.rude = append(l.rude, fmt.Sprintf("%d %s", resp.StatusCode, clip(text)))
		case strings.HasPrefix(text, "CON "):
		case strings.HasPrefix(text, "END ") && strings.Contains(text, l.success):
		case strings.HasPrefix(text, "END ") && isPoliteEnd(text):
			l.polite++
		default:
			l.rude = append(l.rude, clip(text))
		}
		return nil
	}
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		l.mu.Lock()
		l.rude = append(l.rude, "haproxy unreachable: "+err.Error())
		l.mu.Unlock()
		w.WriteHeader(http.StatusBadGateway)
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return l, srv.URL
}

// sessionOfKey finds the USSD session id in a journal's idempotency key.
var sessionOfKey = regexp.MustCompile(`(?:lt|witness)-[0-9a-z]+-[0-9]+-[0-9]+`)

// TestTwoInstancesBehindHAProxyOneKilled runs two `lumbung serve` (the real
// binary) on PostgreSQL and Redis behind Debian's haproxy (round robin,
// health check on /readyz, a hop retried on the other instance when its
// own died), drives the load test's deposit and balance flows through it,
// and kills one instance with SIGKILL mid-run. Every journey completes or
// ends with lumbung's polite END; the books reconcile; there is exactly one
// deposit journal per acknowledged deposit (none lost), never two for one
// journey (none doubled), and exactly one SMS receipt per journal.
func TestTwoInstancesBehindHAProxyOneKilled(t *testing.T) {
	haproxy := haproxyPath(t)
	ctx := context.Background()
	db, dsn := ledgertest.PostgresWithURL(t)
	ussdtest.Redis(t) // reachable (or the test skips or fails here)
	redisURL := os.Getenv("LUMBUNG_TEST_REDIS_URL")
	if redisURL == "" {
		redisURL = ussdtest.DefaultRedisURL
	}
	bin := buildLumbung(t)

	const nMembers, tellers, witnesses = 200, 8, 2
	dir, err := members.NewDirectory(db, []byte(scaleSecret), nil) // keyed like the instances: the PINs must verify
	require.NoError(t, err)
	_, err = seedLoadtestDB(ctx, db, dir, seedSpec{Coop: "LOADTEST", CoopName: "Koperasi Uji Beban", ServiceCode: scaleCode,
		Members: nMembers, PhonePrefix: "+62812", Staff: tellers + witnesses, StaffPrefix: "+62813", PIN: scalePIN}, io.Discard)
	require.NoError(t, err)
	var coopID int64
	require.NoError(t, db.Get(&coopID, `SELECT id FROM cooperatives WHERE code = 'LOADTEST'`))
	var openingJournals int
	require.NoError(t, db.Get(&openingJournals, `SELECT COUNT(*) FROM journals WHERE cooperative_id = $1`, coopID))

	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
		"LUMBUNG_DATABASE_URL=" + dsn, "LUMBUNG_REDIS_URL=" + redisURL, "LUMBUNG_SECRET=" + scaleSecret,
		"LUMBUNG_CALLBACK_TOKEN=" + scaleToken, "LUMBUNG_DEMO=off", "LUMBUNG_USSD_RATE_LIMIT=0", "LUMBUNG_SMS_PROVIDER=log",

		"LUMBUNG_DATA_DIR=" + t.TempDir()}
	addrs := []string{freeAddr(t), freeAddr(t)}
	var inst []*process
	for i, addr := range addrs {
		inst = append(inst, startProcess(t, fmt.Sprintf("lumbung %c", 'a'+i), append(env, "LUMBUNG_HTTP_ADDR="+addr), bin, "serve", "--no-migrate"))
	}
	for _, addr := range addrs {
		waitOK(t, "http://"+addr+"/readyz", 30*time.Second)
	}
	lbAddr := freeAddr(t)
	var lbPort int
	_, err = fmt.Sscanf(lbAddr[strings.LastIndexByte(lbAddr, ':')+1:], "%d", &lbPort)
	require.NoError(t, err)
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	require.NoError(t, os.WriteFile(cfg, []byte(fmt.Sprintf(haproxyConfig, lbPort, addrs[0], addrs[1])), 0o600))
	startProcess(t, "haproxy", []string{"PATH=" + os.Getenv("PATH")}, haproxy, "-db", "-f", cfg)
	lb := "http://" + lbAddr
	waitOK(t, lb+"/readyz", 10*time.Second)
	time.Sleep(500 * time.Millisecond) // both servers past "rise 2"

	const window = 14 * time.Second
	killAfter := 5 * time.Second
	start := time.Now()
	base := loadtestConfig{url: lb, provider: handset.ProviderAfricasTalking, serviceCode: scaleCode, pin: scalePIN,
		phonePrefix: "+62812", staffPrefix: "+62813", phones: nMembers, staff: tellers, c: 4, token: scaleToken,
		d: window, timeout: 10 * time.Second, amount: 10000}
	results := map[string]loadResult{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	replies := map[string]*replyLog{}
	urls := map[string]string{}
	for flow, success := range map[string]string{"deposit": "tercatat", "balance": "Saldo"} {
		replies[flow], urls[flow] = newReplyLog(t, lb, success)
	}
	for i, flow := range []string{"deposit", "balance"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 3 * time.Millisecond) // distinct run ids, so distinct session ids
			lc := base
			lc.flow, lc.url = flow, urls[flow]
			res := runLoad(ctx, lc, nil)
			mu.Lock()
			results[flow] = res
			mu.Unlock()
		}()
	}
	w := &witness{}
	var memberNos []string
	for i := 1; i <= nMembers; i += 7 {
		memberNos = append(memberNos, seedMemberNo(i))
	}
	for i := range witnesses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx, lb, seedPhone("+62813", tellers+i+1), memberNos, start.Add(window), strconv.FormatInt(start.UnixNano(), 36)+"-"+strconv.Itoa(i))
		}()
	}

	time.Sleep(killAfter)
	hopsA, hopsB := ussdHops(t, "http://"+addrs[0]), ussdHops(t, "http://"+addrs[1])
	require.NoError(t, inst[0].cmd.Process.Signal(syscall.SIGKILL))
	err = inst[0].cmd.Wait()
	var exitErr *exec.ExitError
	require.ErrorAs(t, err, &exitErr)
	require.Equal(t, syscall.SIGKILL, exitErr.Sys().(syscall.WaitStatus).Signal(), "instance a died of SIGKILL")
	t.Logf("killed instance a after %s: it had served %.0f hops, b %.0f", time.Since(start).Round(time.Millisecond), hopsA, hopsB)
	w.mu.Lock()
	beforeKill := len(w.completed)
	w.mu.Unlock()
	wg.Wait()
	afterB := ussdHops(t, "http://"+addrs[1])
	t.Logf("the run took %s; b served %.0f hops after the kill", time.Since(start).Round(time.Millisecond), afterB-hopsB)

	assert.Positive(t, hopsA, "round robin: instance a served hops before the kill")
	assert.Positive(t, hopsB, "and so did b")
	assert.Greater(t, afterB-hopsB, 2*hopsB/3, "b carried the load after the kill")

	// Every journey completed or ended politely.
	for flow, res := range results {
		t.Logf("%s: %d flows completed, %.0f hops/s, errors %v, samples %v", flow, res.FlowsCompleted, res.HopsPerS, res.Errors, res.Samples)
		assert.Positive(t, res.FlowsCompleted, flow)
		for _, kind := range []string{ltTransport, ltStatus, ltPrefix, ltTimeout} {
			assert.Zero(t, res.Errors[kind], "%s: %s errors: no journey saw a reset, a 5xx or a broken screen (%s)", flow, kind, res.Samples[kind])
		}
		rl := replies[flow]
		rl.mu.Lock()
		t.Logf("%s: %d replies read, %d polite ENDs", flow, rl.replies, rl.polite)
		assert.Empty(t, rl.rude, "%s: every reply is a screen, and every END but the flow's own lumbung's polite one", flow)
		assert.Equal(t, int64(rl.polite), res.Errors[ltContent], "%s: every journey the load test saw cut short ended with a polite END", flow)
		assert.Greater(t, rl.replies, int(res.FlowsCompleted), flow)
		rl.mu.Unlock()
		// The journeys in flight at the kill, and on a loaded machine a few
		// hops whose Redis or PostgreSQL answered too late (the same polite
		// END): a small share, never a flood.
		assert.LessOrEqual(t, res.Errors[ltContent], max(int64(2*base.c), res.FlowsCompleted/20), "%s: only a few journeys may end early", flow)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Logf("witness journeys: %d completed (%d before the kill), %d ended politely %v", len(w.completed), beforeKill, len(w.polite), w.polite)
	assert.Empty(t, w.rude, "every witness journey completed or ended with the polite END")
	assert.Greater(t, len(w.completed), beforeKill, "witness deposits completed after the kill")

	// The books: reconcile holds.
	t.Setenv("LUMBUNG_DATABASE_URL", dsn)
	t.Setenv("LUMBUNG_SECRET", scaleSecret)
	code, rep, stderr := reconcileJSON(t, "--coop", "LOADTEST")
	require.Equal(t, 0, code, stderr)
	assert.True(t, rep.OK, "%v", rep.Problems)

	// One deposit journal per acknowledged deposit, none for two.
	var keys []string
	require.NoError(t, db.Select(&keys, `SELECT idem_key FROM journals WHERE cooperative_id = $1 AND kind = 'deposit'`, coopID))
	perSession := map[string]int{}
	for _, k := range keys {
		s := sessionOfKey.FindString(k)
		require.NotEmpty(t, s, "journal key %q names its session", k)
		perSession[s]++
	}
	for s, n := range perSession {
		assert.Equal(t, 1, n, "session %s posted %d journals", s, n)
	}
	for _, s := range w.completed {
		assert.Equal(t, 1, perSession[s], "the witness deposit %s acknowledged on the phone is in the books", s)
	}
	acknowledged := results["deposit"].FlowsCompleted + int64(len(w.completed))
	unsure := results["deposit"].ErrTotal + int64(len(w.polite)) // cut short: posted or not, the member was told nothing
	assert.GreaterOrEqual(t, int64(len(keys)), acknowledged, "no acknowledged deposit lost")
	assert.LessOrEqual(t, int64(len(keys)), acknowledged+unsure, "no deposit posted that no journey made")
	t.Logf("%d deposit journals for %d acknowledged deposits and %d journeys cut short", len(keys), acknowledged, unsure)

	// Exactly one SMS receipt per journal, and none without one.
	var receipts []struct {
		Key string `db:"idem_key"`
		N   int    `db:"n"`
	}
	require.NoError(t, db.Select(&receipts, `SELECT j.idem_key, (SELECT COUNT(*) FROM outbox o WHERE o.cooperative_id = j.cooperative_id AND o.idem_key = 'sms:' || j.idem_key) AS n
		FROM journals j WHERE j.cooperative_id = $1 AND j.kind = 'deposit'`, coopID))
	for _, r := range receipts {
		assert.Equal(t, 1, r.N, "journal %s has %d SMS receipts", r.Key, r.N)
	}
	var orphans int
	require.NoError(t, db.Get(&orphans, `SELECT COUNT(*) FROM outbox o WHERE o.cooperative_id = $1 AND o.idem_key LIKE 'sms:ussd:%'
		AND NOT EXISTS (SELECT 1 FROM journals j WHERE j.cooperative_id = o.cooperative_id AND 'sms:' || j.idem_key = o.idem_key)`, coopID))
	assert.Zero(t, orphans, "no SMS receipt without its journal")
	var journals int
	require.NoError(t, db.Get(&journals, `SELECT COUNT(*) FROM journals WHERE cooperative_id = $1`, coopID))
	assert.Equal(t, openingJournals+len(keys), journals, "the run posted deposits only")
}
