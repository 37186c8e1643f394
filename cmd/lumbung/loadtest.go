package main

// `lumbung loadtest`: drives USSD journeys against a running lumbung, the
// way a telco gateway would under load, checks every reply and reports
// hops/s, flows/s, latency percentiles per hop and errors by kind. It is
// what an operator runs before a telco goes live (README: "Load testing
// before a telco goes live").

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"

	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/ussd/handset"
)

const loadtestUsage = `lumbung loadtest --url URL [--flow nav|balance|deposit] [-c N] [-d 30s] [--provider africastalking|hubtel|freeflow]
                 [--service-code '*789#'] [--pin PIN] [--phones N] [--phone-prefix +62812] [--warmup 3s] [--json]
                 [--seed-members N [--coop LOADTEST] [--staff N] [--config FILE]]`

// Error kinds of a load test, in the order they are reported.
const (
	ltTransport = "transport" // no answer: connection refused or reset
	ltStatus    = "status"    // an HTTP status other than 200
	ltPrefix    = "prefix"    // not a screen of the wire format, or CON where END was due (or the reverse)
	ltContent   = "content"   // a screen, but not the one expected
	ltTimeout   = "timeout"   // no answer within --timeout
)

var ltKinds = []string{ltTransport, ltStatus, ltPrefix, ltContent, ltTimeout}

// step is one hop of a journey: what is typed and what must come back.
type step struct {
	name  string   // the screen expected, as reported per hop
	input string   // typed before this hop (ignored on the first: the dial)
	end   bool     // END (the session ends) rather than CON
	want  []string // landmarks the screen must contain
}

// fixed returns the literal parts of a catalogue text, without its %s/%d
// arguments: the landmarks of a screen whatever the data.
func fixed(key string) []string {
	var out []string
	for _, line := range strings.Split(menus.T("id", key), "\n") {
		for _, part := range strings.FieldsFunc(strings.NewReplacer("%s", "\x00", "%d", "\x00").Replace(line), func(r rune) bool { return r == 0 }) {
			if p := strings.TrimSpace(part); len(p) > 1 {
				out = append(out, p)
			}
		}
	}
	return out
}

func firstLine(key string) string { return strings.SplitN(menus.T("id", key), "\n", 2)[0] }

// journeyFor is the journey of one flow: the member (or, for deposit, the
// member the teller takes cash for) numbered memberNo.
func journeyFor(flow, pin, memberNo string, amount int64) []step {
	nav := []step{
		{name: "menu", want: []string{menus.T("id", "main.1"), menus.T("id", "main.7")}},
		{name: "pin", input: "1", want: []string{menus.T("id", "pin.ask")}},
	}
	switch flow {
	case "nav":
		return nav
	case "balance":
		return append(nav, step{name: "balance", input: pin, end: true,
			want: append(fixed("balance.head"), fixed("balance.body")...)})
	case "deposit":
		return []step{
			{name: "staff_menu", want: append(fixed("staff.head"), firstLine("staff.menu"))},
			{name: "staff_pin", input: "1", want: []string{menus.T("id", "pin.ask")}},
			{name: "member_no", input: pin, want: []string{menus.T("id", "staff.member_no")}},
			{name: "account", input: memberNo, want: []string{"(" + memberNo + ")", firstLine("staff.dep_account")}},
			{name: "amount", input: "2", want: []string{menus.T("id", "staff.amount")}},
			{name: "confirm", input: strconv.FormatInt(amount, 10), want: append(fixed("staff.dep_summary"), firstLine("confirm.yesno"), "("+memberNo+")")},
			{name: "receipt", input: "1", end: true, want: append(fixed("staff.dep_done"), "("+memberNo+")")},
		}
	}
	return nil
}

// politeEnds are the service's own refusals, named in error samples so that
// the operator knows what to change.
var politeEnds = []struct{ key, hint string }{
	{"error.rate_limited", "lumbung's per-phone rate limit: run the server under test with LUMBUNG_USSD_RATE_LIMIT=0, or use more --phones"},
	{"error.internal", "lumbung could not reach its database or session store in time: see its log"},
	{"error.busy", "two hops of one session at once"},
	{"error.unknown_code", "the service code is bound to no cooperative: check --service-code (seed with --seed-members)"},
	{"pin.locked", "the PIN is locked: seed again (--seed-members) to reset the load-test PINs"},
}

func hint(text string) string {
	if strings.HasPrefix(text, "PIN salah") {
		return " (wrong PIN: check --pin)"
	}
	if p := fixed("error.unknown_phone"); len(p) > 0 && strings.Contains(text, p[0]) {
		return " (unknown phone: check --phones/--phone-prefix against the seeded cooperative)"
	}
	for _, p := range politeEnds {
		if strings.Contains(text, menus.T("id", p.key)) {
			return " (" + p.hint + ")"
		}
	}
	return ""
}

// check is the kind of error of a reply to s, "" if it is the screen due.
func check(s step, scr handset.Screen, err error) (kind, detail string) {
	if err != nil {
		var he *handset.HopError
		if errors.As(err, &he) {
			switch he.Kind {
			case handset.HopTimeout:
				return ltTimeout, err.Error()
			case handset.HopStatus:
				return ltStatus, err.Error()
			case handset.HopFormat:
				return ltPrefix, err.Error()
			}
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return ltTimeout, err.Error()
		}
		return ltTransport, err.Error()
	}
	for _, w := range s.want {
		if !strings.Contains(scr.Text, w) {
			return ltContent, fmt.Sprintf("missing %q in %q%s", w, clip(scr.Text), hint(scr.Text))
		}
	}
	if scr.End != s.end {
		want, got := "CON", "END"
		if s.end {
			want, got = "END", "CON"
		}
		return ltPrefix, fmt.Sprintf("want %s, got %s %q", want, got, clip(scr.Text))
	}
	return "", ""
}

func clip(s string) string {
	if len(s) > 160 {
		return s[:160] + "…"
	}
	return s
}

type loadtestConfig struct {
	url, flow, provider, serviceCode, pin, phonePrefix, staffPrefix, token string
	c, phones, staff                                                       int
	d, warmup, timeout                                                     time.Duration
	amount                                                                 int64
	maxErrors                                                              float64
}

// vuStats is what one virtual user saw; merged at the end.
type vuStats struct {
	lat       [][]int64 // per hop, ns, in the window
	flows     int64     // in the window
	hops      int64
	completed int64 // every flow that reached its last screen, warm-up and drain included
	errs      map[string]int64
	samples   map[string]string
}

type hopPct struct {
	Hop  string  `json:"hop"`
	N    int64   `json:"n"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
	Mean float64 `json:"mean_ms"`
}

// loadResult is the --json object (field names as in the bench tool's).
type loadResult struct {
	URL            string            `json:"url"`
	Provider       string            `json:"provider"`
	Flow           string            `json:"flow"`
	C              int               `json:"c"`
	Duration       float64           `json:"duration_s"`
	Warmup         float64           `json:"warmup_s"`
	Phones         int               `json:"phones"`
	Flows          int64             `json:"flows"`
	Hops           int64             `json:"hops"`
	FlowsPerS      float64           `json:"flows_per_s"`
	HopsPerS       float64           `json:"hops_per_s"`
	PerHop         []hopPct          `json:"per_hop"`
	All            hopPct            `json:"all_hops"`
	Errors         map[string]int64  `json:"errors"`
	ErrTotal       int64             `json:"errors_total"`
	ErrRate        float64           `json:"error_rate"`
	Samples        map[string]string `json:"error_samples"`
	FlowsCompleted int64             `json:"flows_completed"`
	Start          string            `json:"start"`
	Seed           *seedReport       `json:"seed,omitempty"`
}

func cmdLoadtest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: %s\n", loadtestUsage)
		fs.PrintDefaults()
	}
	var lc loadtestConfig
	fs.StringVar(&lc.url, "url", "", "base URL of the running lumbung, e.g. http://127.0.0.1:8080")
	fs.StringVar(&lc.flow, "flow", "nav", "journey: nav (menu, PIN prompt), balance (nav + PIN → balance) or deposit (a teller's cash deposit)")
	fs.IntVar(&lc.c, "c", 16, "concurrent virtual phones, each running journeys back to back")
	fs.DurationVar(&lc.d, "d", 30*time.Second, "measurement window (after the warm-up)")
	fs.DurationVar(&lc.warmup, "warmup", 3*time.Second, "warm-up before the window (not counted)")
	fs.DurationVar(&lc.timeout, "timeout", 10*time.Second, "per-hop timeout (counted as a timeout error)")
	fs.StringVar(&lc.provider, "provider", handset.ProviderAfricasTalking, "wire format: africastalking, hubtel or freeflow (route /ussd/<provider>)")
	fs.StringVar(&lc.serviceCode, "service-code", "*789#", "USSD service code dialled")
	fs.StringVar(&lc.pin, "pin", "135792", "the members' (and tellers') PIN")
	fs.IntVar(&lc.phones, "phones", 0, "members to dial: phone-prefix + 8-digit index 1…N (default: --seed-members, else 10000)")
	fs.StringVar(&lc.phonePrefix, "phone-prefix", "+62812", "members' phone prefix; the 8-digit member index is appended")
	fs.StringVar(&lc.staffPrefix, "staff-prefix", "+62813", "tellers' phone prefix (deposit flow); the 8-digit teller index is appended")
	fs.IntVar(&lc.staff, "staff", 64, "tellers (deposit flow: virtual phone v is teller v mod N)")
	fs.Int64Var(&lc.amount, "amount", 10000, "rupiah per deposit (deposit flow)")
	fs.StringVar(&lc.token, "token", "", "LUMBUNG_CALLBACK_TOKEN of the server, if it has one")
	fs.Float64Var(&lc.maxErrors, "max-errors", 0.01, "exit non-zero when errors / (hops + errors) is above this")
	jsonOut := fs.Bool("json", false, "print one JSON object on stdout")
	seedN := fs.Int("seed-members", 0, "first create (idempotently) the load-test cooperative with N members on the configured database")
	coop := fs.String("coop", "LOADTEST", "code of the throwaway load-test cooperative (--seed-members)")
	coopName := fs.String("coop-name", "Koperasi Uji Beban", "its name")
	configFile := fs.String("config", "", "config file with LUMBUNG_* keys (--seed-members)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (usage: %s)", fs.Arg(0), loadtestUsage)
	}
	if lc.url == "" && *seedN == 0 {
		return fmt.Errorf("--url is required (usage: %s)", loadtestUsage)
	}
	if journeyFor(lc.flow, "", "", 0) == nil {
		return fmt.Errorf("--flow %q: want nav, balance or deposit", lc.flow)
	}
	if !slices.Contains(handset.Providers, lc.provider) {
		return fmt.Errorf("--provider %q: want africastalking, hubtel or freeflow", lc.provider)
	}
	if lc.c < 1 || lc.d <= 0 || lc.warmup < 0 || lc.timeout <= 0 || lc.staff < 1 || lc.amount < 1 {
		return errors.New("-c, -d, --timeout, --staff and --amount must be positive, --warmup not negative")
	}
	var seed *seedReport
	if *seedN > 0 {
		rep, err := seedLoadtest(ctx, *configFile, seedSpec{Coop: *coop, CoopName: *coopName, ServiceCode: lc.serviceCode,
			Members: *seedN, PhonePrefix: lc.phonePrefix, Staff: lc.staff, StaffPrefix: lc.staffPrefix, PIN: lc.pin}, stderr)
		if err != nil {
			return err
		}
		seed = &rep
		fmt.Fprintf(stderr, "cooperative %s (%s): %d members (%d new), %d tellers (%d new), %d PINs set, in %.1fs; members dial %s from %s00000001…, PIN %s\n",
			rep.Coop, rep.ServiceCode, rep.Members, rep.MembersCreated, rep.Staff, rep.StaffCreated, rep.PINsSet, rep.Seconds, rep.ServiceCode, lc.phonePrefix, lc.pin)
		if lc.phones == 0 {
			lc.phones = *seedN
		}
		if lc.url == "" { // seeding only
			if *jsonOut {
				return writeJSON(stdout, rep)
			}
			return nil
		}
	}
	if lc.phones == 0 {
		lc.phones = 10000
	}
	var progress io.Writer
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = stderr
	}
	res := runLoad(ctx, lc, progress)
	res.Seed = seed
	if *jsonOut {
		if err := writeJSON(stdout, res); err != nil {
			return err
		}
	} else {
		printLoad(stdout, res)
	}
	if res.Hops == 0 {
		return errors.New("no hop was answered in the measurement window")
	}
	if res.ErrRate > lc.maxErrors {
		return fmt.Errorf("error rate %.4f is above --max-errors %g", res.ErrRate, lc.maxErrors)
	}
	return nil
}

// loadTransport keeps one connection per virtual phone alive.
func loadTransport(c int) *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * c,
		MaxIdleConnsPerHost: 2 * c,
		MaxConnsPerHost:     0,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

func runLoad(ctx context.Context, lc loadtestConfig, progress io.Writer) loadResult {
	tr := loadTransport(lc.c)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: lc.timeout}
	start := time.Now()
	from := start.Add(lc.warmup)
	to := from.Add(lc.d)
	runID := strconv.FormatInt(start.UnixNano(), 36)
	hopsDone, errsDone, flowsDone := &atomic.Int64{}, &atomic.Int64{}, &atomic.Int64{}

	stop := make(chan struct{})
	var pwg sync.WaitGroup
	if progress != nil {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			t := time.NewTicker(time.Second)
			defer t.Stop()
			var lastH, lastF int64
			for {
				select {
				case <-stop:
					return
				case now := <-t.C:
					h, f := hopsDone.Load(), flowsDone.Load()
					phase := "measuring"
					if now.Before(from) {
						phase = "warm-up"
					}
					fmt.Fprintf(progress, "%5.0fs %-9s %8d hops/s %7d flows/s %6d errors\n", now.Sub(start).Seconds(), phase, h-lastH, f-lastF, errsDone.Load())
					lastH, lastF = h, f
				}
			}
		}()
	}

	stats := make([]*vuStats, lc.c)
	var wg sync.WaitGroup
	for v := range lc.c {
		st := &vuStats{errs: map[string]int64{}, samples: map[string]string{}}
		stats[v] = st
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := handset.NewPhone(lc.url, "", lc.serviceCode)
			p.Provider, p.Client, p.Token = lc.provider, client, lc.token
			for n := 0; ctx.Err() == nil && time.Now().Before(to); n++ {
				idx := (v + n*lc.c) % lc.phones // each phone its own stripe of members
				memberNo := seedMemberNo(idx + 1)
				p.MSISDN = seedPhone(lc.phonePrefix, idx+1)
				if lc.flow == "deposit" {
					p.MSISDN = seedPhone(lc.staffPrefix, v%lc.staff+1)
				}
				steps := journeyFor(lc.flow, lc.pin, memberNo, lc.amount)
				if st.lat == nil {
					st.lat = make([][]int64, len(steps))
				}
				flowStart := time.Now()
				var lastEnd time.Time
				ok := true
				for i, s := range steps {
					t0 := time.Now()
					if !t0.Before(to) { // window over: abandon the flow, nothing more is sent
						ok = false
						break
					}
					var scr handset.Screen
					var err error
					if i == 0 {
						scr, err = p.DialSession(ctx, "lt-"+runID+"-"+strconv.Itoa(v)+"-"+strconv.Itoa(n))
					} else {
						scr, err = p.Send(ctx, s.input)
					}
					t1 := time.Now()
					if ctx.Err() != nil {
						return
					}
					kind, detail := check(s, scr, err)
					if kind != "" {
						ok = false
						if !t0.Before(from) {
							st.errs[kind]++
							errsDone.Add(1)
							if st.samples[kind] == "" {
								st.samples[kind] = fmt.Sprintf("%s %s hop %d (%s): %s", p.MSISDN, lc.flow, i+1, s.name, detail)
							}
						}
						if kind == ltTransport {
							time.Sleep(10 * time.Millisecond) // do not spin on a dead server
						}
						break
					}
					hopsDone.Add(1)
					if !t0.Before(from) && !t1.After(to) {
						st.lat[i] = append(st.lat[i], int64(t1.Sub(t0)))
						st.hops++
					}
					lastEnd = t1
				}
				if ok {
					st.completed++
					flowsDone.Add(1)
					if !flowStart.Before(from) && !lastEnd.After(to) {
						st.flows++
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	pwg.Wait()

	steps := journeyFor(lc.flow, lc.pin, "", lc.amount)
	res := loadResult{URL: lc.url, Provider: lc.provider, Flow: lc.flow, C: lc.c, Duration: lc.d.Seconds(), Warmup: lc.warmup.Seconds(),
		Phones: lc.phones, Errors: map[string]int64{}, Samples: map[string]string{}, Start: start.UTC().Format(time.RFC3339)}
	for _, k := range ltKinds {
		res.Errors[k] = 0
	}
	perHop := make([][]int64, len(steps))
	for _, st := range stats {
		res.Flows += st.flows
		res.Hops += st.hops
		res.FlowsCompleted += st.completed
		for k, n := range st.errs {
			res.Errors[k] += n
			res.ErrTotal += n
		}
		for k, s := range st.samples {
			if res.Samples[k] == "" {
				res.Samples[k] = s
			}
		}
		for i := range st.lat {
			perHop[i] = append(perHop[i], st.lat[i]...)
		}
	}
	var all []int64
	for i, s := range steps {
		all = append(all, perHop[i]...)
		res.PerHop = append(res.PerHop, percentiles(perHop[i], s.name))
	}
	res.All = percentiles(all, "all")
	res.FlowsPerS = float64(res.Flows) / lc.d.Seconds()
	res.HopsPerS = float64(res.Hops) / lc.d.Seconds()
	if n := res.Hops + res.ErrTotal; n > 0 {
		res.ErrRate = float64(res.ErrTotal) / float64(n)
	}
	return res
}

// percentiles are nearest-rank, in milliseconds.
func percentiles(ns []int64, label string) hopPct {
	p := hopPct{Hop: label, N: int64(len(ns))}
	if len(ns) == 0 {
		return p
	}
	slices.Sort(ns)
	at := func(q float64) float64 {
		i := max(int(math.Ceil(q*float64(len(ns))))-1, 0)
		return float64(ns[i]) / 1e6
	}
	var sum float64
	for _, v := range ns {
		sum += float64(v)
	}
	p.P50, p.P95, p.P99 = at(0.50), at(0.95), at(0.99)
	p.Max = float64(ns[len(ns)-1]) / 1e6
	p.Mean = sum / float64(len(ns)) / 1e6
	return p
}

func printLoad(w io.Writer, r loadResult) {
	fmt.Fprintf(w, "lumbung loadtest %s provider=%s flow=%s c=%d d=%gs warm-up=%gs phones=%d\n", r.URL, r.Provider, r.Flow, r.C, r.Duration, r.Warmup, r.Phones)
	fmt.Fprintf(w, "  flows %d (%.1f/s)   hops %d (%.1f/s)   errors %d (%.2f%%)\n", r.Flows, r.FlowsPerS, r.Hops, r.HopsPerS, r.ErrTotal, 100*r.ErrRate)
	fmt.Fprintf(w, "  %-11s %9s %9s %9s %9s %9s %9s\n", "hop", "n", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms")
	for _, p := range append(slices.Clone(r.PerHop), r.All) {
		fmt.Fprintf(w, "  %-11s %9d %9.2f %9.2f %9.2f %9.2f %9.2f\n", p.Hop, p.N, p.P50, p.P95, p.P99, p.Max, p.Mean)
	}
	for _, k := range ltKinds {
		if n := r.Errors[k]; n > 0 {
			fmt.Fprintf(w, "  %-9s %d, first: %s\n", k, n, r.Samples[k])
		}
	}
}
