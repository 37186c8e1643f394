package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/config"
	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
)

// senderChildEnv makes the test binary run as a lumbung process whose only
// job is the background work (outbox sender, inbox catch-up, reminders),
// configured from the environment like serve. TestSenderCrash kills it.
const senderChildEnv = "LUMBUNG_TEST_SENDER_CHILD"

// runSenderChild is that process: it runs until SIGTERM or SIGKILL.
func runSenderChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := config.Load(os.LookupEnv, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	a, err := openApp(ctx, cfg, log, false)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer a.close()
	// One sender, so that "mid-batch" is a precise moment; a lease of
	// seconds, so that the restart does not wait minutes for it.
	a.senderWorkers = 1
	a.sms.sender.Lease = 3 * time.Second
	a.sms.sender.SendTimeout = time.Second
	a.runWorkers(ctx)()
	return 0
}

// crashGateway plays Kannel's sendsms. It accepts the first acceptN
// messages; from then on it holds every request without answering until
// the caller goes away, and tells the test the sender is mid-batch.
type crashGateway struct {
	mu       sync.Mutex
	accepted map[int64]int
	acceptN  int
	holding  chan struct{}
	once     sync.Once
}

func (g *crashGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	dlr, err := url.Parse(r.URL.Query().Get("dlr-url"))
	if err != nil {
		http.Error(w, "bad dlr-url", http.StatusBadRequest)
		return
	}
	id, err := strconv.ParseInt(dlr.Query().Get("mid"), 10, 64)
	if err != nil {
		http.Error(w, "no mid", http.StatusBadRequest)
		return
	}
	g.mu.Lock()
	total := 0
	for _, n := range g.accepted {
		total += n
	}
	hold := g.acceptN > 0 && total >= g.acceptN
	if !hold {
		g.accepted[id]++
	}
	g.mu.Unlock()
	if hold {
		g.once.Do(func() { close(g.holding) })
		<-r.Context().Done() // never accepted: the sender died waiting
		return
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprint(w, "0: Accepted for delivery")
}

func (g *crashGateway) counts() map[int64]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[int64]int, len(g.accepted))
	for k, v := range g.accepted {
		out[k] = v
	}
	return out
}

func startSenderChild(t *testing.T, env []string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), append(env, senderChildEnv+"=1")...)
	cmd.Stderr = &syncBuffer{}
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("sender child %d stderr:\n%s", cmd.Process.Pid, cmd.Stderr)
		}
	})
	return cmd
}

// Kill the sender mid-batch; after a restart every queued message is sent
// exactly once — on PostgreSQL, and on the embedded SQLite file.
func TestSenderCrashMidBatch(t *testing.T) {
	t.Run("postgres", func(t *testing.T) {
		db, dsn := ledgertest.PostgresWithURL(t)
		senderCrash(t, db, "LUMBUNG_DATABASE_URL="+dsn)
	})
	t.Run("sqlite", func(t *testing.T) {
		dataDir := t.TempDir()
		ctx := context.Background()
		db, err := ledger.OpenSQLite(ctx, config.Config{DataDir: dataDir}.SQLitePath())
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		require.NoError(t, db.Migrate(ctx, nil))
		senderCrash(t, db, "LUMBUNG_DATA_DIR="+dataDir, "LUMBUNG_DATABASE_URL=")
	})
}

func senderCrash(t *testing.T, db *ledger.DB, dbEnv ...string) {
	ctx := context.Background()
	coop := ledgertest.NewCoop(t, db, "CRASH")
	const total, beforeCrash = 150, 30
	now := time.Now()
	require.NoError(t, db.InTx(ctx, func(tx *sqlx.Tx) error {
		for i := range total {
			if err := ledger.EnqueueSMS(ctx, tx, ledger.OutboxMessage{CooperativeID: coop.ID, Key: fmt.Sprint("crash-", i),
				Phone: fmt.Sprintf("+62812%08d", i), Template: ledger.TmplPINChanged}, now); err != nil {
				return err
			}
		}
		return nil
	}))
	g := &crashGateway{accepted: map[int64]int{}, acceptN: beforeCrash, holding: make(chan struct{})}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	env := append(dbEnv,
		"LUMBUNG_SECRET="+string(testKey), "LUMBUNG_SMS_PROVIDER=kannel",
		"LUMBUNG_KANNEL_SENDSMS_URL="+srv.URL+"/cgi-bin/sendsms", "LUMBUNG_KANNEL_USERNAME=lumbung", "LUMBUNG_KANNEL_PASSWORD=pw",
		"LUMBUNG_PUBLIC_URL=http://127.0.0.1:9", "LUMBUNG_DEMO=off")

	first := startSenderChild(t, env)
	select {
	case <-g.holding:
	case <-time.After(60 * time.Second):
		t.Fatal("the sender never got to the middle of its batch")
	}
	t.Logf("mid-batch after %s", time.Since(now))
	require.NoError(t, first.Process.Kill())
	_ = first.Wait()
	require.Len(t, g.counts(), beforeCrash, "the gateway took %d before the crash", beforeCrash)
	var leased int
	require.NoError(t, db.GetContext(ctx, &leased, `SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND lease_until IS NOT NULL`))
	assert.Positive(t, leased, "the dead sender left a claimed batch behind")

	g.mu.Lock()
	g.acceptN = 0 // the gateway takes everything now
	g.mu.Unlock()
	second := startSenderChild(t, env)
	deadline := time.Now().Add(60 * time.Second)
	for len(g.counts()) < total && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("all sent after %s", time.Since(now))
	require.NoError(t, second.Process.Signal(syscall.SIGTERM))
	require.NoError(t, second.Wait(), "the restarted sender stops cleanly on SIGTERM")

	counts := g.counts()
	require.Len(t, counts, total, "every queued message was sent")
	for id, n := range counts {
		assert.Equal(t, 1, n, "message %d sent %d times", id, n)
	}
	var submitted int
	require.NoError(t, db.GetContext(ctx, &submitted, `SELECT COUNT(*) FROM outbox WHERE status = 'submitted'`))
	assert.Equal(t, total, submitted)
}
