package counter_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
)

// The counter in a real browser: Debian's chromium, headless, with
// JavaScript switched off, driven by chromedp as a teller and a manager
// would use it. LUMBUNG_CHROMIUM names another binary. Without chromium
// the test skips, and fails when backends are required (CI).
//
// LUMBUNG_COUNTER_SCREENSHOTS=1 also writes the README's screenshots to
// counter/testdata/screenshots/ (see the README's "Counter pages").

func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("LUMBUNG_CHROMIUM"), "/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if ledgertest.BackendsRequired() {
		t.Fatal("chromium is required for this test run (LUMBUNG_TEST_REQUIRE_BACKENDS=1 or CI=true) but not installed: apt-get install chromium")
	}
	t.Skip("chromium not installed; set LUMBUNG_TEST_REQUIRE_BACKENDS=1 to make this a failure")
	return ""
}

func TestBrowserJourney(t *testing.T) {
	bin := chromiumPath(t)
	e := newEnv(t, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter(), nil)
	dc, err := e.books.CreateDepositCode(t.Context(), ledger.DepositCodeRequest{CooperativeID: e.coop.ID, MemberID: e.maria.ID,
		Account: ledger.Wajib, Amount: 75_000, Key: "test:browser-code"})
	require.NoError(t, err)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1024, 768))
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	deadline, stop := context.WithTimeout(ctx, 3*time.Minute)
	defer stop()
	// the first Run starts the browser on ctx; JavaScript off from the start
	noJS := func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, t, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
		return chromedp.Void{}, err
	}
	require.NoError(t, chromedp.Do(ctx, noJS))
	ctx = deadline

	u := func(p string) string { return e.srv.URL + p }
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		require.NoError(t, err, sel)
		return s
	}
	location := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Location())
		require.NoError(t, err)
		return s
	}
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		require.NoError(t, chromedp.Do(ctx, steps...))
	}
	shots := os.Getenv("LUMBUNG_COUNTER_SCREENSHOTS") == "1"
	shot := func(name string, width int64) {
		t.Helper()
		if !shots {
			return
		}
		do(chromedp.EmulateViewport(width, 700))
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		require.NoError(t, err)
		dir := filepath.Join("testdata", "screenshots")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
		do(chromedp.EmulateViewport(1024, 768))
	}
	// fitsWidth: at this viewport width nothing sticks out sideways.
	fitsWidth := func(width int64) {
		t.Helper()
		do(chromedp.EmulateViewport(width, 700))
		m, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (cdppage.GetLayoutMetricsResult, error) {
			return cdp.Call(ctx, t, cdppage.GetLayoutMetrics, cdp.Empty{})
		})
		require.NoError(t, err)
		assert.LessOrEqual(t, m.CSSContentSize.Width, float64(width), "page %s is wider than %d px", location(), width)
		do(chromedp.EmulateViewport(1024, 768))
	}
	media := func(m string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
			_, err := cdp.Call(ctx, t, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
			return chromedp.Void{}, err
		}
	}
	display := func(sel string) string {
		t.Helper()
		props, err := chromedp.Run(ctx, chromedp.ComputedStyle(chromedp.CSS(sel)))
		require.NoError(t, err)
		for _, p := range props {
			if p.Name == "display" {
				return p.Value
			}
		}
		return ""
	}

	// a teller signs in
	do(chromedp.Navigate(u("/counter/login")), chromedp.WaitVisible(chromedp.CSS("#phone")))
	shot("login", 360)
	do(chromedp.SendKeys(chromedp.CSS("#phone"), tellerPhone), chromedp.SendKeys(chromedp.CSS("#password"), tellerPass),
		chromedp.Click(chromedp.CSS("form.box button")), chromedp.WaitVisible(chromedp.CSS("#mycash")))
	assert.Contains(t, text("#mycash"), "0 transaksi")
	fitsWidth(360)

	// finds a member by name, without the accent
	do(chromedp.SendKeys(chromedp.CSS("#q"), "maria"), chromedp.Click(chromedp.CSS("form.search button")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/counter/members/A-001"]`)))
	do(chromedp.Click(chromedp.CSS(`a[href="/counter/members/A-001"]`)), chromedp.WaitVisible(chromedp.CSS("#balances")))
	assert.Contains(t, text("#balances"), "Rp1.250.000")
	shot("member", 1024)
	fitsWidth(360)

	// receives a deposit: form → confirm page → receipt
	do(chromedp.Click(chromedp.CSS(`a[href="/counter/members/A-001/deposit"]`)), chromedp.WaitVisible(chromedp.CSS("#amount")),
		chromedp.SendKeys(chromedp.CSS("#amount"), "1.250.000"), chromedp.Click(chromedp.CSS("form.box button")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")))
	confirm := text("#confirm")
	assert.Contains(t, confirm, "María Goreti Bria (A-001)")
	assert.Contains(t, confirm, "Simpanan Sukarela")
	assert.Contains(t, confirm, "Rp1.250.000")
	assert.Contains(t, confirm, "satu juta dua ratus lima puluh ribu rupiah")
	shot("confirm", 360)
	do(chromedp.Click(chromedp.CSS("#confirm-button")), chromedp.WaitVisible(chromedp.CSS("#receipt")))
	receiptURL := location()
	require.Regexp(t, `/counter/receipts/\d+$`, receiptURL)
	assert.Contains(t, text("#receipt"), "Rp2.500.000", "the balance after")
	// a reload of the receipt posts nothing
	do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#receipt")))
	assert.Equal(t, int64(2_500_000), e.balances(e.maria).Sukarela)

	// JavaScript really is off: print.js would have marked the page
	cls, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("html"), "class"))
	require.NoError(t, err)
	assert.NotContains(t, cls.Value, "js")

	// prints the receipt: the print stylesheet hides the page's chrome
	assert.NotEqual(t, "none", display(".top"))
	assert.NotEqual(t, "none", display("#print"))
	shot("receipt", 1024)
	do(media("print"))
	assert.Equal(t, "none", display(".top"), "print: no navigation bar")
	assert.Equal(t, "none", display(".noprint"), "print: no buttons")
	assert.NotEqual(t, "none", display("#receipt"))
	pdf, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		r, err := cdp.Call(ctx, t, cdppage.PrintToPDF, cdppage.PrintToPDFParams{PreferCSSPageSize: ptr(true)})
		if err != nil {
			return nil, err
		}
		return r.Data, nil
	})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(pdf), "%PDF"), "an A4 PDF")
	// on a 58-mm thermal printer (219 CSS px) the page title goes too
	assert.NotEqual(t, "none", display("h1"), "A4 keeps the title")
	do(chromedp.EmulateViewport(219, 700))
	assert.Equal(t, "none", display("h1"), "58 mm: the receipt alone")
	assert.NotEqual(t, "none", display("#receipt"))
	do(chromedp.EmulateViewport(1024, 768), media(""))
	fitsWidth(360)

	// confirms a deposit code
	do(chromedp.Navigate(u("/counter/codes")), chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), dc.Code), chromedp.Click(chromedp.CSS("form.box button")),
		chromedp.WaitVisible(chromedp.CSS("#confirm")))
	assert.Contains(t, text("#confirm"), "Rp75.000")
	do(chromedp.Click(chromedp.CSS("#confirm-button")), chromedp.WaitVisible(chromedp.CSS("#receipt")))
	assert.Contains(t, text("#receipt"), "Rp75.000")
	assert.Equal(t, int64(75_000), e.balances(e.maria).Wajib)

	// signs out; a manager reverses the deposit with a reason
	do(chromedp.Click(chromedp.CSS(".logout button")), chromedp.WaitVisible(chromedp.CSS("#password")))
	do(chromedp.SendKeys(chromedp.CSS("#phone"), managerPhone), chromedp.SendKeys(chromedp.CSS("#password"), managerPass),
		chromedp.Click(chromedp.CSS("form.box button")), chromedp.WaitVisible(chromedp.CSS("#mycash")))
	shot("home-manager", 1024)
	id := regexp.MustCompile(`\d+$`).FindString(receiptURL)
	do(chromedp.Navigate(receiptURL), chromedp.WaitVisible(chromedp.CSS("#receipt")),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/counter/journals/%s/reverse"]`, id))), chromedp.WaitVisible(chromedp.CSS("#reason")),
		chromedp.SendKeys(chromedp.CSS("#reason"), "salah rekening"), chromedp.Click(chromedp.CSS("#confirm-button")),
		chromedp.WaitVisible(chromedp.CSS("#receipt")))
	rev := text("#receipt")
	assert.Contains(t, rev, "Pembatalan")
	assert.Contains(t, rev, "salah rekening")
	assert.NotEqual(t, receiptURL, location())
	assert.Equal(t, int64(1_250_000), e.balances(e.maria).Sukarela)

	// plays a balance check on the training phone
	do(chromedp.Navigate(u("/counter/phone")), chromedp.WaitVisible(chromedp.CSS("#msisdn")))
	do(chromedp.SetValue(chromedp.CSS("#msisdn"), "+6281234567890"), chromedp.Click(chromedp.CSS("#dial")), chromedp.WaitVisible(chromedp.CSS("#input")))
	assert.Contains(t, text("#screen"), "1 Cek Saldo")
	// The old page's #input is visible until the next one replaces it:
	// wait for the screen itself to change.
	waitScreen := func(want string) string {
		t.Helper()
		var s string
		require.Eventually(t, func() bool {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			got, err := chromedp.Run(c, chromedp.Text(chromedp.CSS("#screen")))
			s = got
			return err == nil && strings.Contains(got, want)
		}, 15*time.Second, 50*time.Millisecond, "the phone never showed %q (last: %q)", want, s)
		return s
	}
	do(chromedp.SendKeys(chromedp.CSS("#input"), "1"), chromedp.Click(chromedp.CSS("#send")))
	waitScreen("Masukkan PIN")
	do(chromedp.SendKeys(chromedp.CSS("#input"), "246810"), chromedp.Click(chromedp.CSS("#send")), chromedp.WaitVisible(chromedp.CSS("#dial")))
	screen := waitScreen("Sukarela Rp1.250.000")
	assert.Contains(t, screen, "Sukarela Rp1.250.000")
	assert.Contains(t, screen, "Wajib Rp75.000")
	shot("phone", 360)
	fitsWidth(360)
}

func ptr[T any](v T) *T { return &v }
