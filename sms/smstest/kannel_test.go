package smstest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// standIn plays the lumbung app: it records every request Kannel makes and
// answers with whatever status respond chooses (200 by default).
type standIn struct {
	addr string

	mu      sync.Mutex
	srv     *http.Server
	reqs    []appRequest
	changed chan struct{}
	respond func(r appRequest) int
}

type appRequest struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
	At     time.Time
	Status int // what the stand-in answered
}

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	a := &standIn{changed: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.addr = ln.Addr().String()
	a.serve(ln)
	t.Cleanup(a.close)
	return a
}

func (a *standIn) serve(ln net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(a.handle), ReadHeaderTimeout: 10 * time.Second}
	a.mu.Lock()
	a.srv = srv
	a.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// close takes the app down: the listener and every keep-alive connection.
func (a *standIn) close() {
	a.mu.Lock()
	srv := a.srv
	a.srv = nil
	a.mu.Unlock()
	if srv != nil {
		_ = srv.Close()
	}
}

// reopen brings the app back on the same address.
func (a *standIn) reopen(t *testing.T) {
	t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", a.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("reopening the stand-in app on %s: %v", a.addr, err)
	}
	a.serve(ln)
}

func (a *standIn) url(pathAndQuery string) string { return "http://" + a.addr + pathAndQuery }

func (a *standIn) setRespond(f func(appRequest) int) {
	a.mu.Lock()
	a.respond = f
	a.mu.Unlock()
}

func (a *standIn) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := appRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: string(body), At: time.Now(), Status: 200}
	a.mu.Lock()
	if a.respond != nil {
		req.Status = a.respond(req)
	}
	a.reqs = append(a.reqs, req)
	close(a.changed)
	a.changed = make(chan struct{})
	a.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(req.Status)
}

func (a *standIn) requests(match func(appRequest) bool) []appRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requestsLocked(match)
}

// requestsLocked is requests for respond funcs, which run under a.mu.
func (a *standIn) requestsLocked(match func(appRequest) bool) []appRequest {
	var out []appRequest
	for _, r := range a.reqs {
		if match(r) {
			out = append(out, r)
		}
	}
	return out
}

// wait returns the matching requests once there are at least n of them.
func (a *standIn) wait(t *testing.T, n int, timeout time.Duration, match func(appRequest) bool) []appRequest {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		a.mu.Lock()
		ch := a.changed
		a.mu.Unlock()
		if got := a.requests(match); len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			got := a.requests(match)
			var all []string
			for _, r := range a.requests(func(appRequest) bool { return true }) {
				all = append(all, fmt.Sprintf("  %s %s?%s -> %d", r.Method, r.Path, r.Query.Encode(), r.Status))
			}
			t.Fatalf("want %d matching requests within %v, got %d; all requests:\n%s", n, timeout, len(got), strings.Join(all, "\n"))
			return nil
		}
	}
}

func moWithText(text string) func(appRequest) bool {
	return func(r appRequest) bool {
		return r.Path == "/sms/kannel" && (r.Query.Get("text") == text || r.Body == text)
	}
}

func dlrFor(mid string) func(appRequest) bool {
	return func(r appRequest) bool { return r.Path == "/sms/kannel/dlr" && r.Query.Get("mid") == mid }
}

var reUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

const (
	moTemplate  = "/sms/kannel?from=%p&to=%P&text=%a&id=%I&token=T&coding=%c&charset=%C&smsc=%i"
	dlrTemplate = "/sms/kannel/dlr?mid=%s&type=%%d&reply=%%A&fid=%%F&p=%%p&P=%%P&I=%%I&smsc=%%i&ts=%%T"
	shortCode   = "1234"
	mtTimeout   = 10 * time.Second
)

func (a *standIn) dlrURL(mid string) string { return a.url(fmt.Sprintf(dlrTemplate, mid)) }

func sendSMS(t *testing.T, k *Kannel, q url.Values) (int, string) {
	t.Helper()
	status, body, err := k.SendSMS(q)
	if err != nil {
		t.Fatalf("sendsms: %v", err)
	}
	return status, body
}

func mtTo(to, text string) func(MT) bool {
	return func(m MT) bool { return m.To == to && m.Text == text }
}

func TestKannelGetURL(t *testing.T) {
	RequireKannel(t)
	app := newStandIn(t)
	start := time.Now()
	k := StartKannel(t, KannelOptions{MOURL: app.url(moTemplate)})
	t.Logf("Kannel up in %v: sendsms %s, pids %v", time.Since(start).Round(time.Millisecond), k.SendSMSURL(), k.PIDs())

	t.Run("MO via get-url", func(t *testing.T) {
		k := k.With(t)
		k.SendMO("0812000001", shortCode, "SALDO   123")
		r := app.wait(t, 1, mtTimeout, moWithText("SALDO 123"))[0]
		q := r.Query
		if r.Method != http.MethodGet || q.Get("from") != "+62812000001" || q.Get("to") != shortCode ||
			q.Get("token") != "T" || !reUUID.MatchString(q.Get("id")) {
			t.Errorf("MO request: %s %v", r.Method, q)
		}
		if q.Get("coding") != "0" || q.Get("charset") != "UTF-8" || q.Get("smsc") != "fake" {
			t.Errorf("coding/charset/smsc: %v", q)
		}
		t.Logf("MO query: %v", q)

		// 62… and 0062… are rewritten the same way; +62… stays.
		for from, text := range map[string]string{"62812000011": "A one", "0062812000011": "A two", "+62812000011": "A three"} {
			k.SendMO(from, shortCode, text)
			if got := app.wait(t, 1, mtTimeout, moWithText(text))[0].Query.Get("from"); got != "+62812000011" {
				t.Errorf("from %s arrived as %s", from, got)
			}
		}

		// Longer than one fakesmsc line: sent as concatenated udh-text parts,
		// joined by Kannel into one request.
		long := strings.Repeat("MUTASI panjang sekali ", 20)
		k.SendMO("0812000001", shortCode, long)
		app.wait(t, 1, mtTimeout, moWithText(strings.Join(strings.Fields(long), " ")))

		// UCS-2 from the phone reaches the app as UTF-8 (mo-recode).
		k.SendMOUCS2("0812000001", shortCode, "SALDO “A-001” é")
		r = app.wait(t, 1, mtTimeout, moWithText("SALDO “A-001” é"))[0]
		if r.Query.Get("coding") != "0" || r.Query.Get("charset") != "UTF-8" {
			t.Errorf("UCS-2 MO after mo-recode: %v", r.Query)
		}
		// UTF-8 on a plain text line (what a GSM-7 é looks like inside Kannel).
		k.SendMO("0812000001", shortCode, "saldo é")
		app.wait(t, 1, mtTimeout, moWithText("saldo é"))
	})

	t.Run("sendsms with DLR", func(t *testing.T) {
		k := k.With(t)
		status, body := sendSMS(t, k, url.Values{"to": {"0812000003"}, "from": {shortCode},
			"text": {"Saldo Anda Rp 1.250.000"}, "dlr-mask": {"27"}, "dlr-url": {app.dlrURL("m3")}})
		if status != http.StatusAccepted || body != "0: Accepted for delivery" {
			t.Fatalf("sendsms: %d %q", status, body)
		}
		mt := k.WaitMT(t, mtTimeout, mtTo("+62812000003", "Saldo Anda Rp 1.250.000"))
		if mt.From != shortCode || mt.Coding != 0 || mt.Parts != 1 {
			t.Errorf("MT: %+v", mt)
		}
		dlrs := app.wait(t, 2, mtTimeout, dlrFor("m3"))
		types := map[string]url.Values{}
		for _, d := range dlrs {
			types[d.Query.Get("type")] = d.Query
			t.Logf("DLR: %v", d.Query)
		}
		if types["1"] == nil || types["8"] == nil {
			t.Fatalf("want DLR types 1 and 8, got %v", dlrs)
		}
		if d := types["1"]; d.Get("p") != "+62812000003" || d.Get("P") != shortCode || !reUUID.MatchString(d.Get("fid")) || d.Get("smsc") != "fake" {
			t.Errorf("type 1 escapes: %v", d)
		}
		if d := types["8"]; d.Get("reply") != "ACK/" {
			t.Errorf("type 8 %%A: %v", d)
		}

		// Concatenated (GSM-7, 200 chars) and UCS-2 MTs, parsed back.
		long := strings.Repeat("0123456789", 20)
		status, body = sendSMS(t, k, url.Values{"to": {"+62812000004"}, "from": {shortCode},
			"text": {long}, "dlr-mask": {"27"}, "dlr-url": {app.dlrURL("m4")}})
		if status != http.StatusAccepted {
			t.Fatalf("sendsms long: %d %q", status, body)
		}
		mt = k.WaitMT(t, mtTimeout, mtTo("+62812000004", long))
		if mt.Parts != 2 || mt.Coding != 0 || len(mt.UDH) != 6 {
			t.Errorf("long MT: parts %d coding %d udh % x", mt.Parts, mt.Coding, mt.UDH)
		}
		uni := "Saldo “Rp” 1.000 é"
		sendSMS(t, k, url.Values{"to": {"+62812000004"}, "from": {shortCode}, "text": {uni},
			"coding": {"2"}, "charset": {"UTF-8"}})
		if mt = k.WaitMT(t, mtTimeout, mtTo("+62812000004", uni)); mt.Coding != 2 {
			t.Errorf("UCS-2 MT coding %d", mt.Coding)
		}
		uniLong := strings.Repeat("Saldo “Rp” é ", 8)
		sendSMS(t, k, url.Values{"to": {"+62812000004"}, "from": {shortCode}, "text": {uniLong},
			"coding": {"2"}, "charset": {"UTF-8"}})
		if mt = k.WaitMT(t, mtTimeout, mtTo("+62812000004", uniLong)); mt.Coding != 2 || mt.Parts != 2 {
			t.Errorf("long UCS-2 MT: coding %d parts %d", mt.Coding, mt.Parts)
		}
		// A newline breaks fakesmsc's line protocol; the harness rejoins it.
		sendSMS(t, k, url.Values{"to": {"+62812000004"}, "from": {shortCode}, "text": {"baris1\nbaris2"}})
		k.WaitMT(t, mtTimeout, mtTo("+62812000004", "baris1\nbaris2"))

		// One DLR per type for the two-part message, in no fixed order.
		time.Sleep(time.Second)
		var got []string
		for _, d := range app.requests(dlrFor("m4")) {
			got = append(got, d.Query.Get("type"))
		}
		t.Logf("DLR types for a 2-part MT, in arrival order: %v", got)
		if len(got) != 2 {
			t.Errorf("2-part MT: DLR types %v", got)
		}
	})

	t.Run("sendsms to", func(t *testing.T) {
		k := k.With(t)
		// sendsms-chars does not stop a space-separated multi-send in 1.4.5:
		// smsbox splits `to` on spaces first and checks each number.
		status, body := sendSMS(t, k, url.Values{"to": {"0812000006 0812000007"}, "from": {shortCode}, "text": {"multi"}})
		t.Logf("to with a space: %d %q", status, body)
		k.WaitMT(t, mtTimeout, mtTo("+62812000006", "multi"))
		k.WaitMT(t, mtTimeout, mtTo("+62812000007", "multi"))
		// A number with a character outside sendsms-chars is refused.
		status, body = sendSMS(t, k, url.Values{"to": {"0812-000008"}, "from": {shortCode}, "text": {"dash"}})
		if status != http.StatusBadRequest || !strings.Contains(body, "denied") {
			t.Errorf("to with '-': %d %q", status, body)
		}
		resp, err := http.Get(k.SendSMSURL() + "?" + url.Values{"username": {k.Username()}, "password": {"wrong"},
			"to": {"0812000009"}, "from": {shortCode}, "text": {"x"}}.Encode())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || string(b) != "Authorization failed for sendsms" {
			t.Errorf("wrong password: %d %q", resp.StatusCode, b)
		}
	})

	t.Run("SMSC down: queued, then delivered", func(t *testing.T) {
		k := k.With(t)
		k.StopSMSC()
		status, body := sendSMS(t, k, url.Values{"to": {"0812000005"}, "from": {shortCode},
			"text": {"PIN Anda diubah"}, "dlr-mask": {"27"}, "dlr-url": {app.dlrURL("m5")}})
		if status != http.StatusAccepted || body != "3: Queued for later delivery" {
			t.Fatalf("sendsms with the SMSC down: %d %q", status, body)
		}
		time.Sleep(500 * time.Millisecond)
		if _, ok := k.waitMT(0, mtTo("+62812000005", "PIN Anda diubah")); ok {
			t.Fatal("MT delivered while the SMSC was down")
		}
		if n := len(app.requests(dlrFor("m5"))); n != 0 {
			t.Fatalf("%d DLRs while the SMSC was down", n)
		}
		restarted := time.Now()
		k.StartSMSC()
		mt := k.WaitMT(t, mtTimeout, mtTo("+62812000005", "PIN Anda diubah"))
		dl := app.wait(t, 2, mtTimeout, dlrFor("m5"))
		t.Logf("queued MT reached the operator %v and its DLRs %v after StartSMSC began",
			mt.At.Sub(restarted).Round(time.Millisecond), dl[len(dl)-1].At.Sub(restarted).Round(time.Millisecond))
		if dl[0].Query.Get("type")+dl[1].Query.Get("type") != "18" && dl[0].Query.Get("type")+dl[1].Query.Get("type") != "81" {
			t.Errorf("DLR types after requeue: %v / %v", dl[0].Query, dl[1].Query)
		}
		// The new fakesmsc carries MOs as well.
		k.SendMO("0812000005", shortCode, "SALDO lagi")
		app.wait(t, 1, mtTimeout, moWithText("SALDO lagi"))
	})

	t.Run("DLR callback retried on 500", func(t *testing.T) {
		app.setRespond(func(r appRequest) int {
			if r.Query.Get("mid") == "m9" && r.Query.Get("type") == "1" && len(app.requestsLocked(dlrFor("m9"))) < 2 {
				return 500
			}
			return 200
		})
		defer app.setRespond(nil)
		k := k.With(t)
		sendSMS(t, k, url.Values{"to": {"0812000009"}, "from": {shortCode}, "text": {"dlr retry"},
			"dlr-mask": {"27"}, "dlr-url": {app.dlrURL("m9")}})
		got := app.wait(t, 3, 10*time.Second, dlrFor("m9"))
		var seen []string
		for _, d := range got {
			seen = append(seen, fmt.Sprintf("type %s -> %d", d.Query.Get("type"), d.Status))
		}
		t.Logf("DLR callbacks: %v", seen)
	})

	t.Run("app down: MO retried", func(t *testing.T) {
		k := k.With(t)
		app.close()
		down := time.Now()
		k.SendMO("0812000010", shortCode, "SALDO saat mati")
		time.Sleep(2500 * time.Millisecond)
		app.reopen(t)
		r := app.wait(t, 1, 10*time.Second, moWithText("SALDO saat mati"))[0]
		t.Logf("MO arrived %v after the app went down (reopened after 2.5s)", r.At.Sub(down).Round(time.Millisecond))
		// Each retry re-sends the URL expanded the first time: same %I.
		log, _ := os.ReadFile(k.LogFiles()["smsbox.log"])
		id := r.Query.Get("id")
		retries := regexp.MustCompile(`Retrying request <[^>]*id=`+regexp.QuoteMeta(id)+`[&>]`).FindAll(log, -1)
		t.Logf("smsbox retried %d times with the same id %s", len(retries), id)
		if len(retries) == 0 {
			t.Error("no retry with the same id in smsbox.log")
		}
		if n := len(app.requests(moWithText("SALDO saat mati"))); n != 1 {
			t.Errorf("MO arrived %d times", n)
		}
	})

	t.Run("HTTP 503 and 204 retried with the same id", func(t *testing.T) {
		app.setRespond(func(r appRequest) int {
			if r.Query.Get("text") == "SALDO 503" && len(app.requestsLocked(moWithText("SALDO 503"))) == 0 {
				return 503
			}
			return 200
		})
		defer app.setRespond(nil)
		k.With(t).SendMO("0812000012", shortCode, "SALDO 503")
		got := app.wait(t, 2, 10*time.Second, moWithText("SALDO 503"))
		if got[0].Status != 503 || got[1].Status != 200 || got[0].Query.Get("id") != got[1].Query.Get("id") {
			t.Errorf("attempts: %d %s / %d %s", got[0].Status, got[0].Query.Get("id"), got[1].Status, got[1].Query.Get("id"))
		}
		t.Logf("503 then retry after %v, same id %s", got[1].At.Sub(got[0].At).Round(time.Millisecond), got[1].Query.Get("id"))

		// Only 200 and 202 count as success: even 204 No Content is retried.
		app.setRespond(func(r appRequest) int {
			if r.Query.Get("text") == "SALDO 204" && len(app.requestsLocked(moWithText("SALDO 204"))) == 0 {
				return 204
			}
			return 200
		})
		k.With(t).SendMO("0812000012", shortCode, "SALDO 204")
		got = app.wait(t, 2, 10*time.Second, moWithText("SALDO 204"))
		if got[0].Query.Get("id") != got[1].Query.Get("id") {
			t.Errorf("204 retry changed the id")
		}
	})

	t.Run("HTTP 403 retried, then dropped without a reply", func(t *testing.T) {
		app.setRespond(func(r appRequest) int {
			if r.Query.Get("text") == "SALDO 403" {
				return 403
			}
			return 200
		})
		defer app.setRespond(nil)
		k := k.With(t)
		k.SendMO("0812000013", shortCode, "SALDO 403")
		got := app.wait(t, 6, 15*time.Second, moWithText("SALDO 403"))
		t.Logf("403 answered %d times over %v", len(got), got[len(got)-1].At.Sub(got[0].At).Round(time.Millisecond))
		time.Sleep(2 * time.Second)
		if n := len(app.requests(moWithText("SALDO 403"))); n != 6 {
			t.Errorf("want 1 try + 5 retries, got %d", n)
		}
		// max-messages = 0: reply-couldnotfetch never reaches the member.
		k.NoMT(t, 0, func(m MT) bool { return m.To == "+62812000013" })
	})

	// No MO answer ever travels back as an SMS (max-messages = 0).
	for _, m := range k.MTs() {
		if m.From != shortCode {
			t.Errorf("unexpected MT: %+v", m)
		}
	}
	for _, m := range k.MTs() {
		if strings.HasPrefix(m.To, "+6281200001") {
			t.Errorf("reply to an MO sender: %+v", m)
		}
	}
}

func TestKannelPostURL(t *testing.T) {
	RequireKannel(t)
	var steps []string
	app := newStandIn(t)
	begin := time.Now()
	defer func() { t.Logf("timings: %s", strings.Join(steps, ", ")) }()
	step := func(name string) {
		steps = append(steps, fmt.Sprintf("%s %v", name, time.Since(begin).Round(time.Millisecond)))
	}
	k := StartKannel(t, KannelOptions{
		MOURL:      app.url("/sms/kannel?from=%p&to=%P&id=%I&token=T"),
		UsePostURL: true,
		SendSender: true,
		DLRStorage: "spool",
		// unified-prefix in the core group (for every link) works as well.
		UnifiedPrefix: "-",
		ExtraCore:     []string{`unified-prefix = "+62,0062,62,0"`},
	})
	step("started")
	k.SendMO("0812000020", shortCode, "SALDO  A-001")
	step("MO sent")
	r := app.wait(t, 1, mtTimeout, func(r appRequest) bool { return r.Path == "/sms/kannel" })[0]
	step("MO arrived")
	if r.Method != http.MethodPost || r.Body != "SALDO  A-001" {
		t.Errorf("post-url: %s body %q", r.Method, r.Body)
	}
	if q := r.Query; q.Get("from") != "+62812000020" || q.Get("to") != shortCode || !reUUID.MatchString(q.Get("id")) || q.Get("token") != "T" {
		t.Errorf("escapes in the post-url query: %v", q)
	}
	var hs []string
	for name, v := range r.Header {
		if strings.HasPrefix(name, "X-Kannel") || name == "Content-Type" || name == "Date" {
			hs = append(hs, fmt.Sprintf("%s: %s", name, strings.Join(v, ",")))
		}
	}
	t.Logf("post-url headers: %s", strings.Join(hs, " | "))
	if r.Header.Get("X-Kannel-From") != "+62812000020" || r.Header.Get("X-Kannel-To") != shortCode {
		t.Errorf("X-Kannel-From/To: %v", r.Header)
	}

	// dlr-storage = spool works too.
	status, body := sendSMS(t, k, url.Values{"to": {"0812000021"}, "from": {shortCode}, "text": {"spool"},
		"dlr-mask": {"27"}, "dlr-url": {app.dlrURL("s1")}})
	if status != http.StatusAccepted {
		t.Fatalf("sendsms: %d %q", status, body)
	}
	step("sendsms")
	k.WaitMT(t, mtTimeout, mtTo("+62812000021", "spool"))
	step("MT")
	app.wait(t, 2, mtTimeout, dlrFor("s1"))
	step("DLRs")
}

// The children die with the harness: after the test's cleanup no PID is
// left.
func TestKannelCleanupKillsChildren(t *testing.T) {
	RequireKannel(t)
	var pids map[string]int
	var stopStarted time.Time
	t.Run("inner", func(t *testing.T) {
		app := newStandIn(t)
		k := StartKannel(t, KannelOptions{MOURL: app.url(moTemplate)})
		pids = k.PIDs()
		if len(pids) != 3 {
			t.Fatalf("pids: %v", pids)
		}
		// Leave an MT queued in bearerbox: shutdown must not hang on it.
		k.StopSMSC()
		if status, body := sendSMS(t, k, url.Values{"to": {"0812000030"}, "from": {shortCode}, "text": {"left"}}); status != http.StatusAccepted {
			t.Fatalf("sendsms: %d %q", status, body)
		}
		t.Cleanup(func() { stopStarted = time.Now() })
	})
	t.Logf("cleanup (SIGTERM to all, with a queued MT) took %v", time.Since(stopStarted).Round(time.Millisecond))
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists after cleanup: %v", name, pid, err)
		}
	}
}

func TestParseMTLines(t *testing.T) {
	k := &Kannel{state: &state{changed: make(chan struct{}), partial: map[string]*partialMT{}}}
	for _, l := range []string{
		"1234 +628222 text a@b é € x",
		"1234 +628111 ucs-2 %00S%00a%00l%00d%00o%00++%1C%00R%00p+%1D",
		"1234 +628222 udh %05%00%03%01%02%02 data 34567",
		"1234 +628222 udh %05%00%03%01%02%01 data 012+",
		"1234 +628222 text line1",
		"line2",
		"1234 +628222 data hello%20%C3%A9",
	} {
		k.addMTLine(l)
	}
	want := []MT{
		{From: "1234", To: "+628222", Text: "a@b é € x", Parts: 1},
		{From: "1234", To: "+628111", Text: "Saldo “Rp”", Coding: 2, Parts: 1},
		{From: "1234", To: "+628222", Text: "012 34567", Parts: 2},
		{From: "1234", To: "+628222", Text: "line1\nline2", Parts: 1},
		{From: "1234", To: "+628222", Text: "hello é", Coding: 1, Parts: 1},
	}
	got := k.MTs()
	if len(got) != len(want) {
		t.Fatalf("got %d MTs: %s", len(got), formatMTs(got))
	}
	for i, w := range want {
		g := got[i]
		if g.From != w.From || g.To != w.To || g.Text != w.Text || g.Coding != w.Coding || g.Parts != w.Parts || g.Seq != i+1 {
			t.Errorf("MT %d: got %+v, want %+v", i, g, w)
		}
	}
}

// recordTB records Skip and Fatal and ends the goroutine like testing does.
type recordTB struct {
	testing.TB
	skipped, fataled string
}

func (r *recordTB) Helper() {}
func (r *recordTB) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recordTB) Fatalf(format string, args ...any) {
	r.fataled = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestRequireKannelMissing(t *testing.T) {
	saved := defaultBearerbox
	defaultBearerbox = "/nonexistent/bearerbox"
	t.Cleanup(func() { defaultBearerbox = saved })
	t.Setenv("PATH", t.TempDir())
	run := func() *recordTB {
		r := &recordTB{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); RequireKannel(r) }()
		<-done
		return r
	}
	t.Setenv("CI", "")
	t.Setenv("LUMBUNG_TEST_REQUIRE_BACKENDS", "")
	if r := run(); r.skipped == "" || r.fataled != "" || !strings.Contains(r.skipped, "/nonexistent/bearerbox") {
		t.Errorf("locally: skipped %q, fataled %q", r.skipped, r.fataled)
	}
	t.Setenv("CI", "true")
	if r := run(); r.fataled == "" || r.skipped != "" {
		t.Errorf("CI=true: skipped %q, fataled %q", r.skipped, r.fataled)
	}
	t.Setenv("CI", "")
	t.Setenv("LUMBUNG_TEST_REQUIRE_BACKENDS", "1")
	if r := run(); r.fataled == "" || r.skipped != "" {
		t.Errorf("LUMBUNG_TEST_REQUIRE_BACKENDS=1: skipped %q, fataled %q", r.skipped, r.fataled)
	} else {
		t.Logf("message: %s", r.fataled)
	}
}
