package main

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/ledger/ledgertest"
	"github.com/lumbung-id/lumbung/ussd"
	"github.com/lumbung-id/lumbung/ussd/ussdtest"
)

// sqlLog records the statements a PostgreSQL connection pool sends.
type sqlLog struct {
	mu    sync.Mutex
	sent  []string
	begun int
}

func (l *sqlLog) hook(_ context.Context, q string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if q == "BEGIN" {
		l.begun++
	}
	q = strings.Join(strings.Fields(strings.TrimPrefix(q, ledger.Prepared)), " ")
	l.sent = append(l.sent, q[:min(len(q), 60)])
}

func (l *sqlLog) take() (sent []string, txs int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	sent, txs = l.sent, l.begun
	l.sent, l.begun = nil, 0
	return sent, txs
}

// TestSQLStatementsPerHop is the PostgreSQL budget of each screen, counted
// by a hook on the connections (ledger.WithStatementHook) through the HTTP
// layer: how many statements a hop sends and how many transactions it opens.
// Reads open none; the service code comes from the cache; a navigation hop
// sends nothing; only a posting writes, in one transaction.
func TestSQLStatementsPerHop(t *testing.T) {
	_, dsn := ledgertest.PostgresWithURL(t)
	log := &sqlLog{}
	db, err := ledger.OpenPostgres(t.Context(), dsn, ledger.WithStatementHook(log.hook))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	rc, prefix := ussdtest.Redis(t)
	env := startApp(t, nil, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
	ctx := context.Background()
	// Warm: the service code and the cooperative's settings are cached now.
	journey(t, env.phone("081234567890"), "4", "246810")
	journey(t, env.phone("081299990000"), "1", "975310", "A-001", "2", "50000")
	journey(t, env.phone("081234567891"), "2", "5", "802461") // the loan policy

	type hop struct {
		name       string
		input      string // "" dials
		statements int    // at most
		txs        int    // exactly
		want       string // in the reply
	}
	for _, j := range []struct {
		phone string
		hops  []hop
	}{
		{"081234567890", []hop{
			{"first hop (caller)", "", 1, 0, "1 Cek Saldo"},
			{"navigation to the PIN prompt", "1", 0, 0, "Masukkan PIN"},
			{"PIN and balances", "246810", 1, 0, "Saldo Maria"}, // one statement: the PIN row with the balances
		}},
		{"081234567890", []hop{
			{"first hop (caller)", "", 1, 0, "1 Cek Saldo"},
			{"navigation to the PIN prompt", "4", 0, 0, "Masukkan PIN"},
			{"PIN and statement", "246810", 2, 0, "Mutasi"}, // PIN, lines (the time zone is cached)
		}},
		{"081234567891", []hop{ // the family phone: two members
			{"first hop (two members)", "", 1, 0, "Yohanes"},
			{"choosing a member", "2", 0, 0, "1 Cek Saldo"},
			{"navigation to the PIN prompt", "5", 0, 0, "Masukkan PIN"},
			{"PIN and loan info", "802461", 3, 0, "PJ-0001"}, // PIN, loans, installments (the loan policy is cached)
		}},
		{"081299990000", []hop{ // a teller's cash deposit: the money path
			{"first hop (staff)", "", 1, 0, "1 Terima Setoran"},
			{"deposit", "1", 0, 0, "Masukkan PIN"},
			{"staff PIN", "975310", 1, 0, "Nomor anggota"}, // asked before any member's data is shown
			{"member by number", "A-001", 1, 0, "Sukarela"},
			{"account", "2", 0, 0, "Jumlah"},
			{"amount and limit", "50000", 0, 0, "1 Ya"},          // the limit is cached; the PIN was given a moment ago
			{"confirmation and posting", "1", 12, 1, "tercatat"}, // one transaction: journal, entries, balances, SMS receipt
		}},
	} {
		p := env.phone(j.phone)
		for _, h := range j.hops {
			log.take()
			var s ussdtest.Screen
			if h.input == "" {
				s, err = p.Dial(ctx)
			} else {
				s, err = p.Send(ctx, h.input)
			}
			require.NoError(t, err, h.name)
			require.Contains(t, s.Text, h.want, h.name)
			sent, txs := log.take()
			assert.LessOrEqual(t, len(sent), h.statements, "%s: statements sent %q", h.name, sent)
			assert.Equal(t, h.txs, txs, "%s: transactions opened (%q)", h.name, sent)
		}
	}
}

// TestSQLStatementsPerHopWithCallersCached: with the caller cache live (an
// instance listening to the database's change notices, as serve runs), a
// phone's next dial within CallerCacheTTL costs no statement at all; a write
// behind lumbung's back (a language set in SQL) is seen at the next dial
// after its notice, and the PIN hop still reads the PIN row.
func TestSQLStatementsPerHopWithCallersCached(t *testing.T) {
	_, dsn := ledgertest.PostgresWithURL(t)
	log := &sqlLog{}
	db, err := ledger.OpenPostgres(t.Context(), dsn, ledger.WithStatementHook(log.hook))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	rc, prefix := ussdtest.Redis(t)
	env := startApp(t, nil, db, ussd.NewRedisStore(rc, prefix, 10*time.Second), ussd.NewRedisRateLimiter(rc, prefix))
	ctx, cancel := context.WithCancel(context.Background())
	listened := make(chan error, 1)
	go func() { listened <- env.app.callers.Listen(ctx, dsn, nil) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-listened) })

	p := env.phone("081234567890")
	dial := func() (string, int) {
		t.Helper()
		log.take()
		s, err := p.Dial(ctx)
		require.NoError(t, err)
		sent, txs := log.take()
		require.Zero(t, txs)
		return s.Text, len(sent)
	}
	deadline := time.Now().Add(5 * time.Second)
	for { // until the listener is up and the caller is kept
		text, n := dial()
		require.Contains(t, text, "1 Cek Saldo")
		if n == 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the caller is never answered from memory")
		time.Sleep(10 * time.Millisecond)
	}
	log.take()
	s, err := p.Send(ctx, "1")
	require.NoError(t, err)
	require.Contains(t, s.Text, "Masukkan PIN")
	s, err = p.Send(ctx, "246810")
	require.NoError(t, err)
	require.Contains(t, s.Text, "Saldo Maria")
	sent, _ := log.take()
	assert.Len(t, sent, 1, "the PIN hop reads the PIN row: %q", sent)

	_, err = db.ExecContext(ctx, `UPDATE members SET language = 'en' WHERE phone = '+6281234567890'`)
	require.NoError(t, err)
	for {
		text, _ := dial()
		if strings.Contains(text, "1 Check Balance") {
			break
		}
		require.Contains(t, text, "1 Cek Saldo")
		require.True(t, time.Now().Before(deadline), "the language set in SQL is never seen")
		time.Sleep(10 * time.Millisecond)
	}
}
