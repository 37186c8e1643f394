package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/menus"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// syncBuffer collects the service's log lines from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testEnv struct {
	srv  *httptest.Server
	app  *app
	logs *syncBuffer
}

var testKey = []byte(strings.Repeat("k", 32))

// backend pairs every end-to-end test runs on: production (PostgreSQL +
// Redis) and embedded (SQLite + in-process).
func eachBackend(t *testing.T, mutate func(*config.Config), fn func(t *testing.T, env *testEnv)) {
	t.Run("postgres+redis", func(t *testing.T) {
		db := ledgertest.Postgres(t)
		rc, prefix := ussdtest.Redis(t)
		fn(t, startApp(t, mutate, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix)))
	})
	t.Run("sqlite+memory", func(t *testing.T) {
		fn(t, startApp(t, mutate, ledgertest.SQLite(t), ussd.NewMemoryStore(10*time.Second), ussd.NewMemoryRateLimiter()))
	})
}

func startApp(t testing.TB, mutate func(*config.Config), db *ledger.DB, sessions ussd.SessionStore, limiter ussd.RateLimiter) *testEnv {
	t.Helper()
	cfg, err := config.Load(func(string) (string, bool) { return "", false }, "")
	require.NoError(t, err)
	cfg.USSDRateLimit = 0 // these journeys dial one phone many times a minute; TestRateLimit turns it on
	// Not what these tests are about (ussd's TestHandlerAnswersWithinTheHopDeadline
	// is): a loaded 2-core CI machine running -race must not turn a slow hop
	// into a failure.
	cfg.USSDHopDeadline = 30 * time.Second
	if mutate != nil {
		mutate(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newApp(cfg, log, testKey, db, sessions, limiter)
	require.NoError(t, err)
	require.NoError(t, seedDemo(context.Background(), a.dir, a.books, time.Now()))
	srv := httptest.NewServer(a.echo)
	t.Cleanup(func() {
		srv.Close()
		sessions.Close()
	})
	return &testEnv{srv: srv, app: a, logs: logs}
}

func (env *testEnv) phone(msisdn string) *ussdtest.Phone {
	p := ussdtest.NewPhone(env.srv.URL, msisdn, "*123#")
	p.Client = env.srv.Client()
	return p
}

// journey dials and sends inputs, returning every screen.
func journey(t *testing.T, p *ussdtest.Phone, inputs ...string) []ussdtest.Screen {
	t.Helper()
	ctx := context.Background()
	s, err := p.Dial(ctx)
	require.NoError(t, err)
	out := []ussdtest.Screen{s}
	for _, in := range inputs {
		s, err = p.Send(ctx, in)
		require.NoError(t, err, "input %q", in)
		out = append(out, s)
	}
	return out
}

func last(s []ussdtest.Screen) ussdtest.Screen { return s[len(s)-1] }

func TestBalanceCheck(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		screens := journey(t, env.phone("081234567890"), "1", "246810")
		assert.False(t, screens[0].End)
		assert.Equal(t, "Kopdit Demo Sejahtera\n1 Cek Saldo\n2 Setor Simpanan\n3 Bayar Angsuran\n4 Mutasi\n5 Info Pinjaman\n6 Ganti PIN\n7 Bahasa/Language", screens[0].Text)
		assert.Equal(t, "Masukkan PIN (6 angka):\n0 Kembali", screens[1].Text)
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Saldo Maria G.\nPokok Rp500.000\nWajib Rp1.200.000\nSukarela Rp1.250.000\nPinjaman Rp0"}, screens[2])

		t.Run("every phone number form is the same member", func(t *testing.T) {
			for _, n := range []string{"6281234567890", "+6281234567890"} {
				assert.Contains(t, last(journey(t, env.phone(n), "1", "246810")).Text, "Sukarela Rp1.250.000", n)
			}
		})
		assertNoSecretsLogged(t, env, "246810")
	})
}

func TestWrongPIN(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		p := env.phone("081234567890")
		screens := journey(t, p, "1", "111112")
		assert.Equal(t, ussdtest.Screen{Text: "PIN salah. Sisa percobaan: 2\nMasukkan PIN (6 angka):\n0 Kembali"}, last(screens))

		// The telco retries the same hop: identical reply, not a second failure.
		again, err := p.Retry(ctx)
		require.NoError(t, err)
		assert.Equal(t, last(screens), again)

		s, err := p.Send(ctx, "12")
		require.NoError(t, err)
		assert.Equal(t, "PIN harus 6 angka.\nMasukkan PIN (6 angka):\n0 Kembali", s.Text, "a malformed PIN is not counted as a try")

		// The right PIN still works and resets the count.
		s, err = p.Send(ctx, "246810")
		require.NoError(t, err)
		assert.True(t, s.End)
		assert.Contains(t, s.Text, "Sukarela Rp1.250.000")

		t.Run("three wrong PINs across sessions lock for 15 minutes", func(t *testing.T) {
			assert.Contains(t, last(journey(t, env.phone("081234567890"), "1", "111112")).Text, "Sisa percobaan: 2")
			assert.Contains(t, last(journey(t, env.phone("081234567890"), "1", "111112")).Text, "Sisa percobaan: 1")
			locked := last(journey(t, env.phone("081234567890"), "1", "111112"))
			assert.True(t, locked.End)
			assert.Regexp(t, `^PIN terkunci sampai \d\d:\d\d karena salah 3 kali\. Silakan coba lagi nanti\.$`, locked.Text)
			again := journey(t, env.phone("081234567890"), "1", "246810")
			assert.Equal(t, locked, last(again), "during the lock even the right PIN is refused")
		})
		assertNoSecretsLogged(t, env, "246810", "111112")
	})
}

func TestCallersWhoCannotGetIn(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		s := journey(t, env.phone("081300000000"))
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Nomor Anda belum terdaftar di Kopdit Demo Sejahtera. Silakan hubungi kantor koperasi."}, s[0])

		p := env.phone("081234567890")
		p.ServiceCode = "*999#"
		s = journey(t, p)
		assert.True(t, s[0].End)
		assert.Contains(t, s[0].Text, "kode layanan ini belum terdaftar")

		// Service codes match in one normal form.
		for _, code := range []string{"*123", "123", "123#"} {
			p := env.phone("081234567890")
			p.ServiceCode = code
			assert.Contains(t, journey(t, p)[0].Text, "1 Cek Saldo", code)
		}
	})
}

func TestNavigation(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		screens := journey(t, env.phone("081234567890"), "1", "0", "9", "8", "1", "0")
		assert.Contains(t, screens[2].Text, "1 Cek Saldo", "0 goes back to the main menu")
		assert.True(t, strings.HasPrefix(screens[3].Text, "Pilihan salah.\nKopdit Demo Sejahtera\n1 Cek Saldo"), screens[3].Text)
		assert.True(t, strings.HasPrefix(screens[4].Text, "Pilihan salah.\n"))
		assert.Equal(t, "Masukkan PIN (6 angka):\n0 Kembali", screens[5].Text, "a valid choice resets the invalid count")
		assert.Contains(t, screens[6].Text, "1 Cek Saldo")

		s := last(journey(t, env.phone("081234567890"), "x", "y", "z"))
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Terlalu banyak pilihan salah. Silakan tekan kode layanan lagi."}, s, "the third invalid input ends the session")
	})
}

func TestFamilyPhoneAndLanguage(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		screens := journey(t, env.phone("081234567891"), "2", "1", "802461")
		assert.Equal(t, "Pilih anggota:\n1 Yohanes B.\n2 Theresia B.", screens[0].Text)
		assert.Contains(t, last(screens).Text, "Saldo Theresia B.\nPokok Rp500.000\nWajib Rp900.000\nSukarela Rp320.000")

		// Each member of a family phone has their own PIN.
		s := last(journey(t, env.phone("081234567891"), "2", "1", "135790"))
		assert.Contains(t, s.Text, "PIN salah")

		s = last(journey(t, env.phone("081234567891"), "1", "7", "2"))
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Language changed to English."}, s)
		screens = journey(t, env.phone("081234567891"), "1", "1", "135790")
		assert.Equal(t, "Kopdit Demo Sejahtera\n1 Check Balance\n2 Deposit Savings\n3 Repay Loan\n4 Statement\n5 Loan Info\n6 Change PIN\n7 Bahasa/Language", screens[1].Text)
		assert.Equal(t, "Enter your PIN (6 digits):\n0 Back", screens[2].Text)
		assert.Contains(t, last(screens).Text, "Balance Yohanes B.\nShare Rp500.000")
		// Theresia kept Indonesian.
		assert.Contains(t, journey(t, env.phone("081234567891"), "2")[1].Text, "1 Cek Saldo")
	})
}

func post(t *testing.T, env *testEnv, path string, form url.Values) (int, string) {
	t.Helper()
	resp, err := env.srv.Client().PostForm(env.srv.URL+path, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestBadAndExpiredHops(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ok := url.Values{"sessionId": {"s1"}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567890"}, "text": {""}}
		for _, field := range []string{"sessionId", "phoneNumber", "serviceCode"} {
			f := url.Values{}
			for k, v := range ok {
				if k != field {
					f[k] = v
				}
			}
			code, body := post(t, env, "/ussd/africastalking", f)
			assert.Equal(t, http.StatusBadRequest, code, field)
			assert.Equal(t, "missing "+field, body)
		}
		// A later hop of a session lumbung does not know (expired, or
		// another instance's memory): a polite END, nothing else.
		f := url.Values{"sessionId": {"never-seen"}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567890"}, "text": {"1*246810"}}
		code, body := post(t, env, "/ussd/africastalking", f)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "END Sesi Anda sudah berakhir. Silakan tekan kode layanan lagi.", body)

		// Another phone cannot continue somebody's session.
		p := env.phone("081234567890")
		_, err := p.Dial(context.Background())
		require.NoError(t, err)
		f = url.Values{"sessionId": {p.SessionID()}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567891"}, "text": {"1"}}
		code, body = post(t, env, "/ussd/africastalking", f)
		assert.Equal(t, http.StatusOK, code)
		assert.Equal(t, "END Maaf, layanan sedang gangguan. Silakan coba lagi nanti.", body)

		code, _ = post(t, env, "/ussd/africastalking/events", url.Values{"sessionId": {p.SessionID()}, "status": {"Incomplete"}, "input": {"1*246810"}})
		assert.Equal(t, http.StatusOK, code)
		assertNoSecretsLogged(t, env, "246810")
	})
}

// Every reply belongs to its own session, under concurrency.
func TestConcurrentSessions(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		callers := []struct{ msisdn, pick, pin, want string }{
			{"081234567890", "", "246810", "Saldo Maria G.\nPokok Rp500.000\nWajib Rp1.200.000\nSukarela Rp1.250.000"},
			{"081234567891", "1", "135790", "Saldo Yohanes B.\nPokok Rp500.000\nWajib Rp600.000\nSukarela Rp75.000"},
			{"081234567891", "2", "802461", "Saldo Theresia B.\nPokok Rp500.000\nWajib Rp900.000\nSukarela Rp320.000"},
		}
		var wg sync.WaitGroup
		for i := range 32 {
			c := callers[i%len(callers)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				inputs := []string{"1", c.pin}
				if c.pick != "" {
					inputs = append([]string{c.pick}, inputs...)
				}
				p := env.phone(c.msisdn)
				ctx := context.Background()
				s, err := p.Dial(ctx)
				for _, in := range inputs {
					if err != nil {
						break
					}
					s, err = p.Send(ctx, in)
				}
				if assert.NoError(t, err) {
					assert.True(t, strings.HasPrefix(s.Text, c.want), "session %d got %q", i, s.Text)
				}
			}()
		}
		wg.Wait()
	})
}

func TestOperatorEndpoints(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		journey(t, env.phone("081234567890"), "1", "246810")
		get := func(path string) (int, string) {
			resp, err := env.srv.Client().Get(env.srv.URL + path)
			require.NoError(t, err)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		code, _ := get("/healthz")
		assert.Equal(t, http.StatusOK, code)
		code, body := get("/readyz")
		assert.Equal(t, http.StatusOK, code)
		assert.JSONEq(t, `{"database":"ok","sessions":"ok"}`, body)
		code, body = get("/metrics")
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, `lumbung_ussd_hops_total{outcome="end",provider="africastalking",screen="balance"} 1`)
		assert.Contains(t, body, `lumbung_ussd_hop_duration_seconds_count{provider="africastalking"} 3`)
		if _, inProcess := env.app.sessions.(*ussd.MemoryStore); inProcess {
			assert.Contains(t, body, "lumbung_ussd_memory_sessions 1", "the in-process store's size is watched")
		} else {
			assert.NotContains(t, body, "lumbung_ussd_memory_sessions", "Redis keeps the sessions")
		}
		code, _ = get("/no-such-page")
		assert.Equal(t, http.StatusNotFound, code)

		env.app.db.Close()
		code, body = get("/readyz")
		assert.Equal(t, http.StatusServiceUnavailable, code)
		assert.JSONEq(t, `{"database":"unreachable","sessions":"ok"}`, body)
	})
}

func TestRateLimit(t *testing.T) {
	eachBackend(t, func(c *config.Config) { c.USSDRateLimit = 3 }, func(t *testing.T, env *testEnv) {
		s := journey(t, env.phone("081234567890"), "1", "0")
		assert.Contains(t, last(s).Text, "1 Cek Saldo", "three hops fit")
		s = journey(t, env.phone("081234567890"))
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Terlalu banyak permintaan. Silakan coba lagi beberapa menit lagi."}, s[0])
		assert.Contains(t, journey(t, env.phone("081234567891"))[0].Text, "Pilih anggota", "other phones are not affected")
	})
}

func TestCallbackProtection(t *testing.T) {
	eachBackend(t, func(c *config.Config) { c.CallbackToken = "s3cret-token" }, func(t *testing.T, env *testEnv) {
		f := url.Values{"sessionId": {"s1"}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567890"}}
		code, body := post(t, env, "/ussd/africastalking", f)
		assert.Equal(t, http.StatusForbidden, code)
		assert.Equal(t, "missing or wrong callback token\n", body)
		code, _ = post(t, env, "/ussd/africastalking?token=wrong", f)
		assert.Equal(t, http.StatusForbidden, code)
		p := env.phone("081234567890")
		p.Token = "s3cret-token"
		assert.Contains(t, journey(t, p)[0].Text, "1 Cek Saldo")
		resp, err := env.srv.Client().Get(env.srv.URL + "/healthz")
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "operator endpoints are not callbacks")
	})
}

// assertNoSecretsLogged fails if a PIN or the raw Africa's Talking text
// path reached the log.
func assertNoSecretsLogged(t *testing.T, env *testEnv, secrets ...string) {
	t.Helper()
	logs := env.logs.String()
	for _, s := range secrets {
		assert.NotContains(t, logs, s, "a PIN reached the log")
	}
	assert.NotContains(t, logs, "1*", "the AT text path reached the log")
	assert.NotContains(t, logs, "81234567890", "an unmasked phone number reached the log")
	_ = fmt.Sprint()
}

// The same journeys through all three provider families.
func TestEveryProviderFamily(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		for _, provider := range []string{ussdtest.AfricasTalking, ussdtest.Hubtel, ussdtest.Freeflow} {
			t.Run(provider, func(t *testing.T) {
				p := env.phone("081234567890")
				p.Provider = provider
				screens := journey(t, p, "1", "111112", "246810")
				assert.Contains(t, screens[0].Text, "1 Cek Saldo")
				assert.Equal(t, "Masukkan PIN (6 angka):\n0 Kembali", screens[1].Text)
				assert.Contains(t, screens[2].Text, "PIN salah. Sisa percobaan: 2")
				assert.Equal(t, ussdtest.Screen{End: true, Text: "Saldo Maria G.\nPokok Rp500.000\nWajib Rp1.200.000\nSukarela Rp1.250.000\nPinjaman Rp0"}, screens[3])

				p = env.phone("081234567891")
				p.Provider = provider
				assert.Contains(t, last(journey(t, p, "2", "1", "802461")).Text, "Saldo Theresia B.")
			})
		}
		t.Run("hubtel retry and auto-dial", func(t *testing.T) {
			p := env.phone("081234567890")
			p.Provider = ussdtest.Hubtel
			journey(t, p, "1")
			first, err := p.Send(context.Background(), "111112")
			require.NoError(t, err)
			again, err := p.Retry(context.Background())
			require.NoError(t, err)
			assert.Equal(t, first, again, "the same Sequence twice: the same reply")
			assert.Contains(t, again.Text, "Sisa percobaan: 2", "and one failure counted, not two")
			s, err := p.Send(context.Background(), "246810")
			require.NoError(t, err)
			assert.True(t, s.End)

			p = env.phone("081234567890")
			p.Provider = ussdtest.Hubtel
			p.ServiceCode = "*123*1#" // dialled with the choice: straight to the PIN
			s, err = p.Dial(context.Background())
			require.NoError(t, err)
			assert.Equal(t, "Masukkan PIN (6 angka):\n0 Kembali", s.Text)
		})
		t.Run("freeflow clean-up ends the session", func(t *testing.T) {
			p := env.phone("081234567890")
			p.Provider = ussdtest.Freeflow
			_, err := p.Dial(context.Background())
			require.NoError(t, err)
			resp, err := env.srv.Client().Get(env.srv.URL + "/ussd/freeflow?SessionID=" + p.SessionID() + "&MSISDN=6281234567890&clean=clean-session&error=522")
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, http.StatusOK, resp.StatusCode)
			// The next hop with that id is a new session: its input is taken as the code.
			resp, err = env.srv.Client().Get(env.srv.URL + "/ussd/freeflow?SessionID=" + p.SessionID() + "&MSISDN=6281234567890&input=1")
			require.NoError(t, err)
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, "FB", resp.Header.Get("Freeflow"))
			assert.Contains(t, string(b), "kode layanan ini belum terdaftar")
		})
		assertNoSecretsLogged(t, env, "246810", "111112")
	})
}

func TestHubtelLongestBoundCode(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		_, err := env.app.dir.CreateCooperative(ctx, "KSP9", "Kopdit Sub Kode", []string{"*123*9#"})
		require.NoError(t, err)
		p := env.phone("081234567890")
		p.Provider = ussdtest.Hubtel
		p.ServiceCode = "*123*9#" // Hubtel: ServiceCode 123, Message *123*9#
		s, err := p.Dial(ctx)
		require.NoError(t, err)
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Nomor Anda belum terdaftar di Kopdit Sub Kode. Silakan hubungi kantor koperasi."}, s,
			"*123*9# is the sub-code's own cooperative, not choice 9 of *123#")
	})
}

func TestCallbackAllowList(t *testing.T) {
	f := url.Values{"sessionId": {"s1"}, "serviceCode": {"*123#"}, "phoneNumber": {"+6281234567890"}}
	eachBackend(t, func(c *config.Config) { c.CallbackAllow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }, func(t *testing.T, env *testEnv) {
		code, body := post(t, env, "/ussd/africastalking", f)
		assert.Equal(t, http.StatusForbidden, code, "the test client (127.0.0.1) is outside 10.0.0.0/8")
		assert.Equal(t, "source address not allowed\n", body)
	})
	eachBackend(t, func(c *config.Config) { c.CallbackAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} }, func(t *testing.T, env *testEnv) {
		code, body := post(t, env, "/ussd/africastalking", f)
		assert.Equal(t, http.StatusOK, code)
		assert.Contains(t, body, "1 Cek Saldo")
	})
}

// A service code shared by two cooperatives, and a phone registered in both.
func TestSharedServiceCode(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		other, err := env.app.dir.CreateCooperative(ctx, "KSP2", "Kopdit Pintu Air", []string{"*123#"})
		require.NoError(t, err)
		m, err := env.app.dir.AddMember(ctx, other.ID, members.NewMember{No: "B-7", Name: "Maria Goreti Bria", Phone: "081234567890"})
		require.NoError(t, err)
		require.NoError(t, env.app.dir.SetPIN(ctx, members.Holder{Kind: members.KindMember, ID: m.ID, CooperativeID: other.ID}, "602413"))

		screens := journey(t, env.phone("081234567890"), "1", "1", "602413")
		assert.Equal(t, "Pilih koperasi:\n1 Kopdit Demo Sejahtera\n2 Kopdit Pintu Air", screens[0].Text)
		screens = journey(t, env.phone("081234567890"), "2", "1", "602413")
		assert.Equal(t, "Kopdit Pintu Air", strings.SplitN(screens[1].Text, "\n", 2)[0])
		assert.Equal(t, ussdtest.Screen{End: true, Text: "Saldo Maria G.\nPokok Rp0\nWajib Rp0\nSukarela Rp0\nPinjaman Rp0"}, last(screens),
			"each cooperative's books and PIN are its own")
		s := last(journey(t, env.phone("081234567890"), "2", "1", "246810"))
		assert.Contains(t, s.Text, "PIN salah", "the PIN of the other cooperative does not open this one")
		// A phone known in only one of them goes straight in.
		assert.Contains(t, journey(t, env.phone("081234567891"))[0].Text, "Pilih anggota")
	})
}

// The PIN lifecycle, Mutasi and Info Pinjaman, through HTTP.
func TestPINLifecycleStatementAndLoanInfo(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		db := env.app.db
		count := func(q string, args ...any) int {
			var n int
			require.NoError(t, db.Get(&n, db.Rebind(q), args...))
			return n
		}

		// 6 Ganti PIN: old PIN, new PIN twice; an SMS tells the member.
		s := last(journey(t, env.phone("081234567890"), "6", "246810", "135792", "135792"))
		assert.Equal(t, ussdtest.Screen{End: true, Text: "PIN berhasil diganti."}, s)
		assert.Contains(t, last(journey(t, env.phone("081234567890"), "1", "135792")).Text, "Sukarela Rp1.250.000")
		assert.Equal(t, 1, count(`SELECT COUNT(*) FROM outbox WHERE template = 'pin.changed' AND phone = ?`, "+6281234567890"))

		// Three wrong PINs lock it (one SMS alert); a new code from staff resets it.
		for range 3 {
			journey(t, env.phone("081234567890"), "1", "111112")
		}
		assert.Equal(t, 1, count(`SELECT COUNT(*) FROM outbox WHERE template = 'pin.locked'`))
		ids, err := env.app.dir.Identify(ctx, "*123#", "+6281234567890")
		require.NoError(t, err)
		code, _, err := env.app.dir.IssueActivationCode(ctx, ids[0].Holder, 0)
		require.NoError(t, err)
		screens := journey(t, env.phone("081234567890"), code, "802467", "802467")
		assert.Equal(t, "Buat PIN baru (6 angka):\n0 Kembali", screens[1].Text)
		assert.Equal(t, ussdtest.Screen{End: true, Text: "PIN berhasil dibuat. Tekan *123# lagi untuk masuk."}, last(screens))
		assert.Contains(t, last(journey(t, env.phone("081234567890"), "1", "802467")).Text, "Saldo Maria G.")
		s = last(journey(t, env.phone("081234567890"), code))
		assert.NotContains(t, s.Text, "Buat PIN baru", "an activation code works once")

		// A new teller sets their PIN on first dial, then sees the staff menu.
		st, err := env.app.dir.AddStaff(ctx, ids[0].Cooperative.ID, "Petrus Baru", "081277770000", members.RoleTeller)
		require.NoError(t, err)
		scode, _, err := env.app.dir.IssueActivationCode(ctx, members.Holder{Kind: members.KindStaff, ID: st.ID, CooperativeID: st.CooperativeID}, 0)
		require.NoError(t, err)
		s = last(journey(t, env.phone("081277770000"), scode, "914702", "914702"))
		assert.True(t, s.End)
		assert.Contains(t, s.Text, "PIN berhasil dibuat")
		assert.True(t, strings.HasPrefix(journey(t, env.phone("081277770000"))[0].Text, "Petugas Kopdit Demo Sejahtera\n1 Terima Setoran"))

		// The demo's teller signs in to the counter with the printed password.
		teller, err := env.app.dir.CheckWebPassword(ctx, ids[0].Cooperative.ID, "081299990000", "demo-teller-2026")
		require.NoError(t, err)
		assert.Equal(t, "Yosef Teller", teller.Name)

		// 4 Mutasi: PIN, then the last transactions, paged with 98 until END.
		p := env.phone("081234567890")
		screens = journey(t, p, "4", "802467")
		for !last(screens).End {
			require.Contains(t, last(screens).Text, "98 Lanjut")
			s, err := p.Send(ctx, "98")
			require.NoError(t, err)
			screens = append(screens, s)
		}
		all := ""
		for _, s := range screens[2:] {
			all += s.Text + "\n"
			n, limit := menus.ScreenCost(s.Text)
			assert.LessOrEqual(t, n, limit)
		}
		assert.Contains(t, all, "Rp1.250.000", "the sukarela opening balance is listed")

		// 5 Info Pinjaman for a member two installments behind.
		s = last(journey(t, env.phone("081234567891"), "1", "5", "135790"))
		assert.True(t, s.End)
		assert.Contains(t, s.Text, "PJ-0002")
		assert.Contains(t, s.Text, "Tunggakan")
		assertNoSecretsLogged(t, env, code, scode, "135792", "802467", "914702", "111112")
	})
}

// A telco that sends a session's first hop twice at once (a retry racing
// the original) gets the same first screen for both, and the session goes
// on from one state: a first hop is stored only where there is no session
// yet, and the loser of that race answers from the winner's state.
func TestFirstHopSentTwiceAtOnce(t *testing.T) {
	eachBackend(t, nil, func(t *testing.T, env *testEnv) {
		ctx := context.Background()
		for _, provider := range []string{ussdtest.AfricasTalking, ussdtest.Hubtel} {
			for round := range 5 {
				id := fmt.Sprintf("race-%s-%d", provider, round)
				phones := []*ussdtest.Phone{env.phone("081234567890"), env.phone("081234567890")}
				screens := make([]ussdtest.Screen, len(phones))
				var wg sync.WaitGroup
				for i, p := range phones {
					p.Provider = provider
					wg.Go(func() {
						s, err := p.DialSession(ctx, id)
						assert.NoError(t, err)
						screens[i] = s
					})
				}
				wg.Wait()
				assert.Contains(t, screens[0].Text, "1 Cek Saldo", provider)
				assert.Equal(t, screens[0], screens[1], "%s: both answers of the first hop are the same", provider)
				s, err := phones[0].Send(ctx, "1")
				require.NoError(t, err)
				assert.Equal(t, "Masukkan PIN (6 angka):\n0 Kembali", s.Text, provider)
			}
		}
	})
}
