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
	journey(t, env.phone("081299990000"), "1", "A-001", "2", "50000")
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
			{"deposit", "1", 0, 0, "Nomor anggota"},
			{"member by number", "A-001", 1, 0, "Sukarela"},
			{"account", "2", 0, 0, "Jumlah"},
			{"amount and limit", "50000", 0, 0, "Terima"},          // the limit is cached
			{"staff PIN and posting", "975310", 13, 1, "tercatat"}, // PIN, then one transaction: journal, entries, balances, SMS receipt
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
