// Package smstest holds helpers for testing lumbung's SMS gateways.
//
// StartKannel starts a real Kannel 1.4.5 (bearerbox, smsbox and the fakesmsc
// test client playing the operator) on free 127.0.0.1 ports, writes its
// kannel.conf into t.TempDir(), and stops every child process by PID when the
// test ends. A test plays the member with SendMO and sees what the operator
// would deliver with MTs/WaitMT. Kannel's fake SMSC driver produces delivery
// reports on its own: dlr-mask bit 8 gives type 8 ("delivered to SMSC") and
// bit 1 gives type 1 ("delivered to phone") as soon as bearerbox has written
// the message to fakesmsc (often before fakesmsc prints it), in either
// order; failure reports (2, 16) and buffered (4) never happen with it.
//
// Kannel is slow in small ways (Nagle stalls, fakesmsc reads its socket at
// most once a second when idle): assert with WaitMT or polling, never with
// fixed sleeps of a few milliseconds.
package smstest

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
	"unicode/utf16"
	"unicode/utf8"
)

// Where Debian's kannel and kannel-extras packages put the binaries (a
// variable only so that the harness's own test can pretend they are gone).
var (
	defaultBearerbox = "/usr/sbin/bearerbox"
	defaultSmsbox    = "/usr/sbin/smsbox"
	defaultFakesmsc  = "/usr/lib/kannel/test/fakesmsc"
)

// Timings of the harness itself (not of Kannel).
const (
	startTimeout = 20 * time.Second // bearerbox+smsbox+fakesmsc up and connected
	stopGrace    = 5 * time.Second  // SIGTERM → SIGKILL
	moAckTimeout = 5 * time.Second  // fakesmsc confirms it sent a line to bearerbox
	pollEvery    = 25 * time.Millisecond
)

// fakesmsc reads stdin with fgets into a 256-byte buffer: a longer line is
// cut into pieces that bearerbox sees as separate (broken) messages.
const maxFakesmscLine = 250

// KannelOptions configures StartKannel. The zero value of every field except
// MOURL gives the defaults documented on the field.
type KannelOptions struct {
	// MOURL is the sms-service URL template Kannel calls for every message a
	// member sends, e.g.
	// "http://127.0.0.1:PORT/sms/kannel?from=%p&to=%P&text=%a&id=%I&token=T".
	// Required.
	MOURL string
	// UsePostURL configures post-url instead of get-url: Kannel POSTs the
	// text as the body (text/plain) with X-Kannel-* headers; escapes in the
	// URL's query are still expanded.
	UsePostURL bool
	// SendSender sets send-sender = true on the sms-service, which adds
	// X-Kannel-From (the member's number) to post-url requests.
	SendSender bool

	// Username and Password of the sendsms-user; random when empty.
	Username, Password string
	// SendSMSMaxMessages is max-messages of the sendsms-user: how many parts
	// a long MT may be split into (surplus text is silently dropped).
	// Default 4.
	SendSMSMaxMessages int
	// NoConcatenation sets concatenation = false on the sendsms-user (long
	// MTs then travel as independent SMS without UDH). Default: concatenation
	// = true.
	NoConcatenation bool
	// SendSMSChars is the smsbox group's sendsms-chars. Default
	// "0123456789+". Note: in 1.4.5 it does NOT stop a space-separated `to`
	// from multi-sending (smsbox splits `to` on spaces before checking).
	SendSMSChars string

	// HTTPRequestRetry is smsbox's http-request-retry: how many times a
	// failed MO (or DLR) fetch is retried. 0 → default 5; negative → no
	// retries (Kannel's own default).
	HTTPRequestRetry int
	// HTTPQueueDelay is smsbox's http-queue-delay in whole seconds between
	// retries. 0 → default 1 (Kannel's own default is 10).
	HTTPQueueDelay int

	// UnifiedPrefix of the fake smsc group. Default "+62,0062,62,0", which
	// turns 0812… and 62812… into +62812… for MO senders and MT receivers.
	// Set to "-" to leave it out.
	UnifiedPrefix string
	// SMSCID is the smsc-id of the fake operator link. Default "fake".
	SMSCID string
	// DLRStorage is the core group's dlr-storage: "internal" (default,
	// in memory) or "spool" (a dlr-spool directory in the temp dir). The
	// Debian 1.4.5 build also links mysql, pgsql, sqlite3 and redis.
	DLRStorage string
	// NoMORecode leaves mo-recode off. By default mo-recode = true, so a
	// UCS-2 MO reaches the app as UTF-8 with coding 0.
	NoMORecode bool

	// Extra lines appended verbatim to the groups of the generated
	// kannel.conf, one "key = value" per line.
	ExtraCore, ExtraSMSC, ExtraSMSBox, ExtraService, ExtraSendSMSUser []string

	// LogLevel of the bearerbox and smsbox log files (0 = debug … 4 =
	// panic). Default 0: the files are only dumped when the test fails.
	LogLevel int
}

// MT is one message bearerbox delivered to the operator (fakesmsc), with
// the parts of a concatenated message joined.
type MT struct {
	Seq    int    // 1, 2, … in order of arrival, over SMSC restarts
	From   string // sender as bearerbox sent it (sendsms `from`)
	To     string // receiver after unified-prefix, e.g. +62812…
	Text   string // decoded text (UCS-2 decoded to UTF-8; 8-bit data raw)
	Coding int    // 0 = 7-bit text, 1 = 8-bit data, 2 = UCS-2 (guessed for concatenated parts)
	Parts  int    // 1, or the number of concatenated parts
	UDH    []byte // UDH of the first part; nil without UDH
	Raw    []string
	At     time.Time // when the harness read the (last) line
}

// proc is one child process.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // Wait's result, valid after done
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Kannel is a running Kannel started by StartKannel. Methods without a
// testing.TB argument report failures to the test that started Kannel; in a
// subtest, use k.With(t) so that they fail the subtest instead.
type Kannel struct {
	t testing.TB
	*state
}

// state is shared by every view (With) of one Kannel.
type state struct {
	owner testing.TB // the test that started Kannel: cleanup and logs
	opts  KannelOptions

	// Dir is the temp directory holding kannel.conf, logs, store and FIFO.
	Dir string
	// ConfPath is the generated kannel.conf.
	ConfPath string
	// Ports (all on 127.0.0.1).
	AdminPort, SMSBoxPort, SMSCPort, SendSMSPort int

	username, password, adminPassword string
	bin                               binaries

	fifoPath string
	fifo     *os.File // held open (read-write) so fakesmsc never sees EOF

	procMu    sync.Mutex
	bearerbox *proc
	smsbox    *proc
	fakesmsc  *proc

	moMu sync.Mutex // serialises SendMO, StopSMSC and StartSMSC

	mu      sync.Mutex
	changed chan struct{} // closed and replaced on every new fakesmsc event
	mts     []*MT
	partial map[string]*partialMT
	run     int // fakesmsc processes started so far; the current one's number
	moSent  int // "sent message N" of the current fakesmsc run
	lastMT  *MT // for continuation lines (text containing a newline)
}

// With returns a view of k whose methods report failures to t (e.g. a
// subtest). It shares the processes and the MTs seen with k.
func (k *Kannel) With(t testing.TB) *Kannel { return &Kannel{t: t, state: k.state} }

type partialMT struct {
	mt    *MT
	total int
	parts map[int][]byte
	raw   map[int]string
}

type binaries struct{ bearerbox, smsbox, fakesmsc string }

func findBinaries() (binaries, []string) {
	var b binaries
	var missing []string
	look := func(def, name string) string {
		if _, err := os.Stat(def); err == nil {
			return def
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		missing = append(missing, def)
		return ""
	}
	b.bearerbox = look(defaultBearerbox, "bearerbox")
	b.smsbox = look(defaultSmsbox, "smsbox")
	b.fakesmsc = look(defaultFakesmsc, "fakesmsc")
	return b, missing
}

// backendsRequired reports whether a missing backend must fail the test
// instead of skipping it: in CI, or when LUMBUNG_TEST_REQUIRE_BACKENDS=1.
func backendsRequired() bool {
	return os.Getenv("LUMBUNG_TEST_REQUIRE_BACKENDS") == "1" || os.Getenv("CI") == "true"
}

// RequireKannel skips the test when the Kannel binaries are not installed,
// or fails it when LUMBUNG_TEST_REQUIRE_BACKENDS=1 or CI=true (CI installs
// kannel; a skipped backend there is a defect).
func RequireKannel(t testing.TB) {
	t.Helper()
	if _, missing := findBinaries(); len(missing) > 0 {
		msg := fmt.Sprintf("Kannel not installed (missing %s); install the Debian packages "+
			"`kannel` and `kannel-extras` (fakesmsc)", strings.Join(missing, ", "))
		if backendsRequired() {
			t.Fatalf("%s; LUMBUNG_TEST_REQUIRE_BACKENDS=1 or CI=true forbids skipping", msg)
		}
		t.Skip(msg)
	}
}

// StartKannel writes a kannel.conf into t.TempDir() and starts bearerbox,
// smsbox and fakesmsc on free 127.0.0.1 ports. It returns when smsbox is
// connected, the sendsms port answers and the fake operator link is online.
// Every child is stopped (SIGTERM, SIGKILL after a grace period) in
// t.Cleanup; when the test failed, the logs are dumped with t.Logf.
func StartKannel(t testing.TB, opts KannelOptions) *Kannel {
	t.Helper()
	RequireKannel(t)
	if opts.MOURL == "" {
		t.Fatal("smstest: KannelOptions.MOURL is required")
	}
	bin, _ := findBinaries()
	k := &Kannel{t: t, state: &state{
		owner:         t,
		opts:          withDefaults(opts),
		Dir:           t.TempDir(),
		bin:           bin,
		adminPassword: randomString(12),
		changed:       make(chan struct{}),
		partial:       map[string]*partialMT{},
	}}
	k.username, k.password = k.opts.Username, k.opts.Password
	k.ConfPath = filepath.Join(k.Dir, "kannel.conf")
	if k.opts.DLRStorage == "spool" {
		if err := os.MkdirAll(k.path("dlr-spool"), 0o700); err != nil {
			t.Fatalf("smstest: %v", err)
		}
	}
	k.fifoPath = k.path("fakesmsc.in")
	if err := syscall.Mkfifo(k.fifoPath, 0o600); err != nil {
		t.Fatalf("smstest: mkfifo: %v", err)
	}
	// Read-write: opening does not block, and as long as we hold it the
	// FIFO always has a writer, so fakesmsc (which crashes on stdin EOF)
	// never sees EOF while the harness lives. If the test binary dies, the
	// kernel closes it and fakesmsc exits on its own.
	fifo, err := os.OpenFile(k.fifoPath, os.O_RDWR, 0)
	if err != nil {
		t.Fatalf("smstest: opening FIFO: %v", err)
	}
	k.fifo = fifo

	t.Cleanup(k.cleanup)

	// A port picked free may be taken by someone else before bearerbox binds
	// it; then start again on new ports.
	const attempts = 3
	for attempt := 1; ; attempt++ {
		ports, err := freePorts(4)
		if err != nil {
			t.Fatalf("smstest: picking free ports: %v", err)
		}
		k.AdminPort, k.SMSBoxPort, k.SMSCPort, k.SendSMSPort = ports[0], ports[1], ports[2], ports[3]
		if err := os.WriteFile(k.ConfPath, []byte(k.config()), 0o600); err != nil {
			t.Fatalf("smstest: writing kannel.conf: %v", err)
		}
		err = k.start()
		if err == nil {
			return k
		}
		if attempt == attempts {
			k.stopAll()
			k.dumpLogs()
			t.Fatalf("smstest: starting Kannel (%d attempts): %v", attempts, err)
		}
		t.Logf("smstest: starting Kannel failed (attempt %d), retrying on new ports: %v", attempt, err)
		k.stopAll()
	}
}

func withDefaults(o KannelOptions) KannelOptions {
	if o.Username == "" {
		o.Username = "lumbung-" + randomString(4)
	}
	if o.Password == "" {
		o.Password = randomString(16)
	}
	if o.SendSMSMaxMessages == 0 {
		o.SendSMSMaxMessages = 4
	}
	if o.SendSMSChars == "" {
		o.SendSMSChars = "0123456789+"
	}
	if o.HTTPRequestRetry == 0 {
		o.HTTPRequestRetry = 5
	}
	if o.HTTPQueueDelay == 0 {
		o.HTTPQueueDelay = 1
	}
	if o.UnifiedPrefix == "" {
		o.UnifiedPrefix = "+62,0062,62,0"
	}
	if o.SMSCID == "" {
		o.SMSCID = "fake"
	}
	if o.DLRStorage == "" {
		o.DLRStorage = "internal"
	}
	return o
}

func randomString(nbytes int) string {
	b := make([]byte, nbytes)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// freePorts finds n distinct free TCP ports on 127.0.0.1 by listening on :0
// (all at once, so they differ) and closing again.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// quote makes a kannel.conf string value.
func quote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func (k *Kannel) path(name string) string { return filepath.Join(k.Dir, name) }

func (k *Kannel) config() string {
	o := k.opts
	var b strings.Builder
	line := func(key string, val any) {
		switch v := val.(type) {
		case string:
			fmt.Fprintf(&b, "%s = %s\n", key, quote(v))
		default:
			fmt.Fprintf(&b, "%s = %v\n", key, v)
		}
	}
	extra := func(lines []string) {
		for _, l := range lines {
			b.WriteString(l + "\n")
		}
	}
	b.WriteString("# generated by lumbung sms/smstest\n\ngroup = core\n")
	line("admin-port", k.AdminPort)
	line("admin-interface", "127.0.0.1")
	line("admin-password", k.adminPassword)
	line("smsbox-port", k.SMSBoxPort)
	line("smsbox-interface", "127.0.0.1")
	line("box-allow-ip", "127.0.0.1")
	line("log-file", k.path("bearerbox.log"))
	line("log-level", o.LogLevel)
	line("access-log", k.path("bearerbox-access.log"))
	line("store-type", "file")
	line("store-location", k.path("store"))
	line("store-dump-freq", 1)
	line("dlr-storage", o.DLRStorage)
	if o.DLRStorage == "spool" {
		line("dlr-spool", k.path("dlr-spool"))
	}
	extra(o.ExtraCore)

	b.WriteString("\ngroup = smsc\n")
	line("smsc", "fake")
	line("smsc-id", o.SMSCID)
	line("our-host", "127.0.0.1")
	line("port", k.SMSCPort)
	line("connect-allow-ip", "127.0.0.1")
	if o.UnifiedPrefix != "-" {
		line("unified-prefix", o.UnifiedPrefix)
	}
	extra(o.ExtraSMSC)

	b.WriteString("\ngroup = smsbox\n")
	line("bearerbox-host", "127.0.0.1")
	line("bearerbox-port", k.SMSBoxPort)
	line("sendsms-port", k.SendSMSPort)
	line("sendsms-interface", "127.0.0.1")
	line("sendsms-chars", o.SendSMSChars)
	line("log-file", k.path("smsbox.log"))
	line("log-level", o.LogLevel)
	line("access-log", k.path("smsbox-access.log"))
	if o.HTTPRequestRetry > 0 {
		line("http-request-retry", o.HTTPRequestRetry)
		line("http-queue-delay", o.HTTPQueueDelay)
	}
	if !o.NoMORecode {
		line("mo-recode", true)
	}
	line("reply-couldnotfetch", "Maaf, layanan sedang sibuk. Silakan coba lagi nanti.")
	line("reply-couldnotrepresent", "Maaf, balasan tidak dapat dikirim sebagai SMS.")
	line("reply-requestfailed", "Maaf, layanan sedang gangguan. Silakan coba lagi nanti.")
	line("reply-emptymessage", "")
	extra(o.ExtraSMSBox)

	b.WriteString("\ngroup = sms-service\n")
	line("keyword", "default")
	line("catch-all", true)
	if o.UsePostURL {
		line("post-url", o.MOURL)
	} else {
		line("get-url", o.MOURL)
	}
	line("max-messages", 0)
	line("omit-empty", true)
	if o.SendSender {
		line("send-sender", true)
	}
	extra(o.ExtraService)

	b.WriteString("\ngroup = sendsms-user\n")
	line("username", o.Username)
	line("password", o.Password)
	line("max-messages", o.SendSMSMaxMessages)
	line("concatenation", !o.NoConcatenation)
	extra(o.ExtraSendSMSUser)
	return b.String()
}

// spawn starts a child with stdout and stderr going to out. Closing the
// caller's copy of out (and stdin) after Start is the caller's job.
func (k *Kannel) spawn(name string, stdin, out *os.File, path string, args ...string) (*proc, error) {
	cmd := exec.Command(path, args...)
	cmd.Dir = k.Dir
	if stdin != nil {
		cmd.Stdin = stdin
	}
	cmd.Stdout = out
	cmd.Stderr = out
	// If the test binary is killed (e.g. go test -timeout), the kernel kills
	// the children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop ends one child by its PID: SIGTERM, then SIGKILL after the grace
// period, and waits until it has been reaped.
func (k *Kannel) stop(p *proc) {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(stopGrace):
	}
	k.owner.Logf("smstest: %s (pid %d) ignored SIGTERM for %v; killing", p.name, p.cmd.Process.Pid, stopGrace)
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stopAll stops smsbox, fakesmsc and bearerbox, in that order.
func (k *Kannel) stopAll() {
	k.procMu.Lock()
	procs := []*proc{k.smsbox, k.fakesmsc, k.bearerbox}
	k.procMu.Unlock()
	for _, p := range procs {
		k.stop(p)
	}
}

func (k *Kannel) cleanup() {
	begin := time.Now()
	k.stopAll()
	if d := time.Since(begin); d > 2*time.Second {
		k.owner.Logf("smstest: stopping Kannel took %v", d.Round(time.Millisecond))
	}
	if k.fifo != nil {
		k.fifo.Close()
	}
	if k.owner.Failed() {
		k.dumpLogs()
	}
}

func (k *Kannel) openLog(name string) (*os.File, error) {
	return os.OpenFile(k.path(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}

// startBox starts bearerbox or smsbox on the generated config, its stderr
// in <name>.stderr, and waits until it listens on ports.
func (k *Kannel) startBox(name, bin string, deadline time.Time, ports ...int) (*proc, error) {
	out, err := k.openLog(name + ".stderr")
	if err != nil {
		return nil, err
	}
	// -v 2: only warnings and worse on stderr; the full log is in log-file.
	p, err := k.spawn(name, nil, out, bin, "-v", "2", k.ConfPath)
	out.Close()
	if err != nil {
		return nil, err
	}
	for _, port := range ports {
		if err := k.waitPort(port, deadline, p); err != nil {
			return p, fmt.Errorf("%s: %w", name, err)
		}
	}
	return p, nil
}

func (k *Kannel) start() error {
	deadline := time.Now().Add(startTimeout)
	// Each process is recorded before its error is looked at, so that
	// cleanup stops one that started but never listened.
	bb, err := k.startBox("bearerbox", k.bin.bearerbox, deadline, k.AdminPort, k.SMSBoxPort, k.SMSCPort)
	k.procMu.Lock()
	k.bearerbox = bb
	k.procMu.Unlock()
	if err != nil {
		return err
	}
	sb, err := k.startBox("smsbox", k.bin.smsbox, deadline, k.SendSMSPort)
	k.procMu.Lock()
	k.smsbox = sb
	k.procMu.Unlock()
	if err != nil {
		return err
	}
	if err := k.startFakesmsc(deadline); err != nil {
		return err
	}
	return k.waitStatus(deadline, func(s string) bool {
		return strings.Contains(boxSection(s), "smsbox:") && smscOnline(s)
	}, "smsbox connected and the fake SMSC online", bb, sb, k.currentFakesmsc())
}

func (k *Kannel) currentFakesmsc() *proc {
	k.procMu.Lock()
	defer k.procMu.Unlock()
	return k.fakesmsc
}

func (k *Kannel) waitPort(port int, deadline time.Time, p *proc) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if p.exited() {
			return fmt.Errorf("%s exited before listening on %d: %v", p.name, port, p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening on %d after %v: %v", p.name, port, startTimeout, err)
		}
		time.Sleep(pollEvery)
	}
}

// AdminStatus returns bearerbox's /cgi-bin/status.txt.
func (k *Kannel) AdminStatus() (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/status.txt?password=%s",
		k.AdminPort, url.QueryEscape(k.adminPassword)))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func boxSection(status string) string {
	i := strings.Index(status, "Box connections:")
	j := strings.Index(status, "SMSC connections:")
	if i < 0 || j < i {
		return ""
	}
	return status[i:j]
}

func smscSection(status string) string {
	if i := strings.Index(status, "SMSC connections:"); i >= 0 {
		return status[i:]
	}
	return ""
}

// smscOnline: the fake link's line reads "fake[fake] FAKE:port (online 2s, …"
// and "(re-connecting, …" while no fakesmsc is connected.
func smscOnline(status string) bool { return strings.Contains(smscSection(status), "(online") }

// SMSCOnline reports whether bearerbox sees the fake operator link as online.
func (k *Kannel) SMSCOnline() bool {
	s, err := k.AdminStatus()
	return err == nil && smscOnline(s)
}

// waitStatus polls the admin status until ok; it gives up early when one of
// the watched processes exits.
func (k *Kannel) waitStatus(deadline time.Time, ok func(string) bool, what string, watch ...*proc) error {
	var last string
	for {
		s, err := k.AdminStatus()
		if err == nil && ok(s) {
			return nil
		}
		if err != nil {
			last = err.Error()
		} else {
			last = s
		}
		for _, p := range watch {
			if p != nil && p.exited() {
				return fmt.Errorf("waiting for %s: %s exited: %v", what, p.name, p.err)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s; last status:\n%s", what, last)
		}
		time.Sleep(pollEvery)
	}
}

// startFakesmsc starts a fakesmsc reading the FIFO and waits until
// bearerbox reports the link online.
func (k *Kannel) startFakesmsc(deadline time.Time) error {
	in, err := os.OpenFile(k.fifoPath, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("opening FIFO for fakesmsc: %w", err)
	}
	defer in.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	logf, err := k.openLog("fakesmsc.log")
	if err != nil {
		r.Close()
		w.Close()
		return err
	}
	// -i 0: no pause between sent lines. Without message arguments fakesmsc
	// is interactive: one MO per stdin line; every MT it receives is logged
	// at debug level as "Got message N: <from to type …>".
	p, err := k.spawn("fakesmsc", in, w, k.bin.fakesmsc,
		"-H", "127.0.0.1", "-r", strconv.Itoa(k.SMSCPort), "-i", "0")
	w.Close()
	if err != nil {
		r.Close()
		logf.Close()
		return err
	}
	k.mu.Lock()
	k.run++
	run := k.run
	k.moSent = 0
	k.mu.Unlock()
	k.procMu.Lock()
	k.fakesmsc = p
	bb := k.bearerbox
	k.procMu.Unlock()
	go k.readFakesmsc(r, logf, run)
	return k.waitStatus(deadline, smscOnline, "the fake SMSC online", bb, p)
}

// StopSMSC takes the operator link down: it kills fakesmsc by PID and waits
// until bearerbox sees the link as re-connecting. sendsms then answers
// 202 "3: Queued for later delivery" and bearerbox keeps the MTs (in its
// store) until StartSMSC.
func (k *Kannel) StopSMSC() {
	k.t.Helper()
	k.moMu.Lock()
	defer k.moMu.Unlock()
	k.procMu.Lock()
	p := k.fakesmsc
	k.procMu.Unlock()
	k.stop(p)
	k.procMu.Lock()
	bb := k.bearerbox
	k.procMu.Unlock()
	if err := k.waitStatus(time.Now().Add(startTimeout), func(s string) bool {
		return strings.Contains(smscSection(s), "FAKE:") && !smscOnline(s)
	}, "the fake SMSC offline", bb); err != nil {
		k.t.Fatalf("smstest: StopSMSC: %v", err)
	}
}

// StartSMSC brings the operator link back with a new fakesmsc and waits
// until it is online; queued MTs then flow to it.
func (k *Kannel) StartSMSC() {
	k.t.Helper()
	k.moMu.Lock()
	defer k.moMu.Unlock()
	k.procMu.Lock()
	p := k.fakesmsc
	k.procMu.Unlock()
	if p != nil && !p.exited() {
		k.t.Fatal("smstest: StartSMSC: fakesmsc is still running")
	}
	if err := k.startFakesmsc(time.Now().Add(startTimeout)); err != nil {
		k.t.Fatalf("smstest: StartSMSC: %v", err)
	}
}

var (
	reGot  = regexp.MustCompile(`DEBUG: Got message \d+: <(.*)>$`)
	reSent = regexp.MustCompile(`fakesmsc: sent message (\d+)$`)
)

func (k *Kannel) readFakesmsc(r io.ReadCloser, logf *os.File, run int) {
	defer r.Close()
	defer logf.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintf(logf, "[run %d] %s\n", run, line)
		if m := reGot.FindStringSubmatch(line); m != nil {
			k.addMTLine(m[1])
		} else if m := reSent.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			k.mu.Lock()
			if run == k.run { // a late line of a stopped run must not count
				k.moSent = n
				k.notifyLocked()
			}
			k.mu.Unlock()
		}
	}
}

func (k *Kannel) notifyLocked() {
	close(k.changed)
	k.changed = make(chan struct{})
}

// addMTLine parses one line fakesmsc printed for a message from bearerbox:
//
//	from to text <raw text>
//	from to data <url-encoded 8-bit data>
//	from to ucs-2 <url-encoded UTF-16BE>
//	from to udh <url-encoded UDH> data <url-encoded payload>   (any coding)
//
// A newline in an MT text breaks the line protocol: the rest arrives as a
// line of its own, which is appended to the previous text MT.
func (k *Kannel) addMTLine(payload string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	defer k.notifyLocked()
	now := time.Now()
	f := strings.SplitN(payload, " ", 4)
	if len(f) < 4 || !isMTType(f[2]) {
		if k.lastMT != nil && k.lastMT.Coding == 0 && k.lastMT.Parts == 1 {
			k.lastMT.Text += "\n" + payload
			k.lastMT.Raw = append(k.lastMT.Raw, payload)
			k.lastMT.At = now
			return
		}
		k.appendMTLocked(&MT{Text: payload, Raw: []string{payload}, Parts: 1, At: now})
		return
	}
	mt := &MT{From: f[0], To: f[1], Parts: 1, Raw: []string{payload}, At: now}
	switch f[2] {
	case "text":
		mt.Text = f[3]
	case "data":
		b, _ := url.QueryUnescape(f[3])
		mt.Text, mt.Coding = b, 1
	case "ucs-2":
		b, _ := url.QueryUnescape(f[3])
		mt.Text, mt.Coding = decodeUTF16BE([]byte(b)), 2
	case "udh":
		g := strings.SplitN(f[3], " ", 3)
		if len(g) != 3 {
			mt.Text = f[3]
			break
		}
		udh, _ := url.QueryUnescape(g[0])
		data, _ := url.QueryUnescape(g[2])
		mt.UDH = []byte(udh)
		ref, total, seq, ok := concatInfo(mt.UDH)
		if !ok || total < 2 {
			mt.Text, mt.Coding = guessDecode([]byte(data))
			break
		}
		key := fmt.Sprintf("%s|%s|%d|%d", mt.From, mt.To, ref, total)
		pm := k.partial[key]
		if pm == nil {
			pm = &partialMT{mt: mt, total: total, parts: map[int][]byte{}, raw: map[int]string{}}
			k.partial[key] = pm
		}
		if seq == 1 {
			pm.mt.UDH = mt.UDH
		}
		pm.parts[seq] = []byte(data)
		pm.raw[seq] = payload
		if len(pm.parts) < total {
			return
		}
		delete(k.partial, key)
		var all []byte
		mt = pm.mt
		mt.Raw = nil
		for i := 1; i <= total; i++ {
			all = append(all, pm.parts[i]...)
			mt.Raw = append(mt.Raw, pm.raw[i])
		}
		mt.Parts, mt.At = total, now
		mt.Text, mt.Coding = guessDecode(all)
	}
	k.appendMTLocked(mt)
}

func (k *Kannel) appendMTLocked(mt *MT) {
	mt.Seq = len(k.mts) + 1
	k.mts = append(k.mts, mt)
	k.lastMT = mt
}

func isMTType(s string) bool {
	switch s {
	case "text", "data", "ucs-2", "udh":
		return true
	}
	return false
}

// concatInfo reads a concatenation element (IEI 0x00, 8-bit reference, or
// 0x08, 16-bit reference) from a UDH.
func concatInfo(udh []byte) (ref, total, seq int, ok bool) {
	if len(udh) < 1 || int(udh[0]) != len(udh)-1 {
		return 0, 0, 0, false
	}
	for i := 1; i+1 < len(udh); {
		iei, l := udh[i], int(udh[i+1])
		v := udh[i+2:]
		if len(v) < l {
			return 0, 0, 0, false
		}
		v = v[:l]
		switch {
		case iei == 0x00 && l == 3:
			return int(v[0]), int(v[1]), int(v[2]), true
		case iei == 0x08 && l == 4:
			return int(v[0])<<8 | int(v[1]), int(v[2]), int(v[3]), true
		}
		i += 2 + l
	}
	return 0, 0, 0, false
}

// guessDecode decodes a concatenated payload, whose coding fakesmsc does not
// print: UTF-16BE if it has NUL bytes or is not UTF-8 (Kannel keeps 7-bit
// text as UTF-8 internally, which never contains NUL), else text.
func guessDecode(b []byte) (string, int) {
	if len(b)%2 == 0 && (bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b)) {
		return decodeUTF16BE(b), 2
	}
	return string(b), 0
}

func decodeUTF16BE(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+1 < len(b); i += 2 {
		u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return string(utf16.Decode(u))
}

// MTs returns a copy of every message delivered to the operator so far, in
// order of arrival (concatenated parts joined; incomplete ones left out).
func (k *Kannel) MTs() []MT {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]MT, len(k.mts))
	for i, m := range k.mts {
		out[i] = *m
		out[i].Raw = append([]string(nil), m.Raw...)
		out[i].UDH = append([]byte(nil), m.UDH...)
	}
	return out
}

// WaitMT waits until an MT matching match has reached the operator and
// returns the first such MT; it fails t (listing the MTs seen) after
// timeout. fakesmsc reads its socket about once a second when idle, so
// allow a few seconds.
func (k *Kannel) WaitMT(t testing.TB, timeout time.Duration, match func(MT) bool) MT {
	t.Helper()
	mt, ok := k.waitMT(timeout, match)
	if !ok {
		t.Fatalf("smstest: no matching MT within %v; MTs seen:\n%s", timeout, formatMTs(k.MTs()))
	}
	return mt
}

func (k *Kannel) waitMT(timeout time.Duration, match func(MT) bool) (MT, bool) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		k.mu.Lock()
		ch := k.changed
		k.mu.Unlock()
		for _, m := range k.MTs() {
			if match(m) {
				return m, true
			}
		}
		select {
		case <-ch:
		case <-deadline.C:
			return MT{}, false
		}
	}
}

// NoMT waits for d and fails t if an MT matching match reached the operator
// (before or during the wait), e.g. to check that a member got no reply.
func (k *Kannel) NoMT(t testing.TB, d time.Duration, match func(MT) bool) {
	t.Helper()
	time.Sleep(d)
	if mt, ok := k.waitMT(0, match); ok {
		t.Fatalf("smstest: unexpected MT #%d from=%q to=%q text=%q", mt.Seq, mt.From, mt.To, mt.Text)
	}
}

func formatMTs(mts []MT) string {
	if len(mts) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for _, m := range mts {
		fmt.Fprintf(&b, "  #%d from=%q to=%q coding=%d parts=%d text=%q\n", m.Seq, m.From, m.To, m.Coding, m.Parts, m.Text)
	}
	return b.String()
}

// SendMO makes a member send a message: fakesmsc hands it to bearerbox as
// coming from `from` (e.g. "0812…", which unified-prefix turns into
// "+62812…") to our number `to`. It returns once fakesmsc has written it to
// bearerbox. Text longer than one fakesmsc line is sent as a concatenated
// message (udh-text parts), which bearerbox joins. Errors fail k's test
// (use k.With(t) in a subtest).
func (k *Kannel) SendMO(from, to, text string) {
	k.t.Helper()
	if err := k.sendMO(from, to, text); err != nil {
		k.t.Fatalf("smstest: SendMO: %v", err)
	}
}

var moRef = struct {
	sync.Mutex
	n int
}{}

func (k *Kannel) sendMO(from, to, text string) error {
	if strings.ContainsAny(from+to, " \r\n") || from == "" || to == "" {
		return fmt.Errorf("from %q / to %q must be non-empty without spaces", from, to)
	}
	for _, r := range text {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("text %q has control characters, which fakesmsc's line protocol cannot carry as text; use SendMOUCS2 or SendMOLine", text)
		}
	}
	line := from + " " + to + " text " + text
	if len(line) <= maxFakesmscLine {
		return k.SendMOLine(line)
	}
	// Concatenated: fakesmsc's "udh-text" type takes a url-encoded UDH and
	// plain text. Split on rune boundaries so that every line fits.
	moRef.Lock()
	moRef.n++
	ref := moRef.n & 0xff
	moRef.Unlock()
	room := maxFakesmscLine - len(from+" "+to+" udh-text %05%00%03%00%00%00 ")
	var parts []string
	for rest := text; rest != ""; {
		n := min(len(rest), room)
		for n > 0 && n < len(rest) && !utf8.RuneStart(rest[n]) {
			n--
		}
		parts = append(parts, rest[:n])
		rest = rest[n:]
	}
	if len(parts) > 255 {
		return fmt.Errorf("text too long (%d bytes)", len(text))
	}
	for i, p := range parts {
		udh := fmt.Sprintf("%%05%%00%%03%%%02X%%%02X%%%02X", ref, len(parts), i+1)
		if err := k.SendMOLine(from + " " + to + " udh-text " + udh + " " + p); err != nil {
			return err
		}
	}
	return nil
}

// SendMOUCS2 sends an MO as a phone does for text outside GSM-7 (coding 2,
// UTF-16BE). With mo-recode (the default) the app receives UTF-8 and
// coding 0. Only short texts fit one fakesmsc line (about 60 characters).
func (k *Kannel) SendMOUCS2(from, to, text string) {
	k.t.Helper()
	var enc strings.Builder
	for _, u := range utf16.Encode([]rune(text)) {
		for _, c := range []byte{byte(u >> 8), byte(u)} {
			switch {
			case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
				enc.WriteByte(c)
			default:
				fmt.Fprintf(&enc, "%%%02X", c)
			}
		}
	}
	if err := k.SendMOLine(from + " " + to + " ucs2 " + enc.String()); err != nil {
		k.t.Fatalf("smstest: SendMOUCS2: %v", err)
	}
}

// SendMOLine writes one raw line in fakesmsc's format ("sender receiver
// type(text|data|ucs2|udh-data|udh-text|route|dlr-mask) [udh|route|mask]
// msgdata", see `fakesmsc -h`) and waits until fakesmsc reports it sent
// to bearerbox.
func (k *Kannel) SendMOLine(line string) error {
	if strings.ContainsAny(line, "\r\n") {
		return errors.New("line must not contain CR/LF")
	}
	if len(line) > maxFakesmscLine {
		return fmt.Errorf("line of %d bytes is longer than fakesmsc's stdin buffer allows (%d)", len(line), maxFakesmscLine)
	}
	k.moMu.Lock()
	defer k.moMu.Unlock()
	k.procMu.Lock()
	p := k.fakesmsc
	k.procMu.Unlock()
	if p == nil || p.exited() {
		return errors.New("the fake SMSC is stopped (StopSMSC); a member's message cannot reach Kannel")
	}
	k.mu.Lock()
	want := k.moSent + 1
	k.mu.Unlock()
	// One line per write, and only after the previous one was consumed:
	// fakesmsc reads stdin with fgets after select(), so a second line
	// already sitting in its stdio buffer would wait for the next write.
	if _, err := k.fifo.WriteString(line + "\n"); err != nil {
		return fmt.Errorf("writing to fakesmsc: %w", err)
	}
	deadline := time.NewTimer(moAckTimeout)
	defer deadline.Stop()
	for {
		k.mu.Lock()
		sent, ch := k.moSent, k.changed
		k.mu.Unlock()
		if sent >= want {
			return nil
		}
		select {
		case <-ch:
		case <-p.done:
			return fmt.Errorf("fakesmsc exited: %v", p.err)
		case <-deadline.C:
			return fmt.Errorf("fakesmsc did not send %q within %v", line, moAckTimeout)
		}
	}
}

// SendSMSURL is smsbox's sendsms endpoint, e.g.
// http://127.0.0.1:PORT/cgi-bin/sendsms (LUMBUNG_KANNEL_SENDSMS_URL).
func (k *Kannel) SendSMSURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d/cgi-bin/sendsms", k.SendSMSPort)
}

// Username of the sendsms-user (LUMBUNG_KANNEL_USERNAME).
func (k *Kannel) Username() string { return k.username }

// Password of the sendsms-user (LUMBUNG_KANNEL_PASSWORD).
func (k *Kannel) Password() string { return k.password }

// SMSCID is the smsc-id of the fake operator link (%i in URLs).
func (k *Kannel) SMSCID() string { return k.opts.SMSCID }

// SendSMS calls sendsms with the given parameters plus username and
// password, and returns the HTTP status and body (e.g. 202, "0: Accepted
// for delivery").
func (k *Kannel) SendSMS(params url.Values) (int, string, error) {
	q := url.Values{}
	for key, v := range params {
		q[key] = v
	}
	q.Set("username", k.username)
	q.Set("password", k.password)
	c := &http.Client{Timeout: 30 * time.Second}
	resp, err := c.Get(k.SendSMSURL() + "?" + q.Encode())
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// Env returns lumbung's configuration for this Kannel:
// LUMBUNG_SMS_PROVIDER=kannel and LUMBUNG_KANNEL_SENDSMS_URL, _USERNAME and
// _PASSWORD, ready for exec.Cmd.Env or t.Setenv.
func (k *Kannel) Env() []string {
	return []string{
		"LUMBUNG_SMS_PROVIDER=kannel",
		"LUMBUNG_KANNEL_SENDSMS_URL=" + k.SendSMSURL(),
		"LUMBUNG_KANNEL_USERNAME=" + k.username,
		"LUMBUNG_KANNEL_PASSWORD=" + k.password,
	}
}

// LogFiles maps a short name to each log file the harness keeps in Dir.
func (k *Kannel) LogFiles() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"bearerbox.log", "bearerbox.stderr", "bearerbox-access.log",
		"smsbox.log", "smsbox.stderr", "smsbox-access.log", "fakesmsc.log", "kannel.conf"} {
		m[n] = k.path(n)
	}
	return m
}

// DumpLogs writes the tail of every log file (and kannel.conf) with t.Logf.
// The cleanup does this by itself when the test failed.
func (k *Kannel) DumpLogs() { k.dumpLogs() }

func (k *Kannel) dumpLogs() {
	k.t.Helper()
	for _, n := range []string{"kannel.conf", "bearerbox.stderr", "smsbox.stderr", "fakesmsc.log",
		"smsbox-access.log", "bearerbox-access.log", "smsbox.log", "bearerbox.log"} {
		b, err := os.ReadFile(k.path(n))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		const tail = 80
		skipped := ""
		if len(lines) > tail {
			skipped = fmt.Sprintf(" (last %d of %d lines)", tail, len(lines))
			lines = lines[len(lines)-tail:]
		}
		k.t.Logf("smstest: ==== %s%s ====\n%s", n, skipped, strings.Join(lines, "\n"))
	}
	k.mu.Lock()
	mts := make([]MT, 0, len(k.mts))
	for _, m := range k.mts {
		mts = append(mts, *m)
	}
	k.mu.Unlock()
	k.t.Logf("smstest: ==== MTs at the operator ====\n%s", formatMTs(mts))
}

// PIDs returns the PIDs of the running children (for tests of the harness).
func (k *Kannel) PIDs() map[string]int {
	k.procMu.Lock()
	defer k.procMu.Unlock()
	m := map[string]int{}
	for _, p := range []*proc{k.bearerbox, k.smsbox, k.fakesmsc} {
		if p != nil && !p.exited() {
			m[p.name] = p.cmd.Process.Pid
		}
	}
	return m
}
