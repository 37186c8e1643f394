package members

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/lumbung-id/lumbung/ledger"
)

// CodeCacheTTL bounds how long an instance serves a service code's
// cooperatives from memory. Admin commands that change them also tell every
// instance at once on PostgreSQL (NOTIFY, see Listen); the TTL covers an
// instance that missed it (embedded SQLite, a dropped listener connection).
const CodeCacheTTL = 30 * time.Second

// directoryChannel is the PostgreSQL NOTIFY channel of directory changes.
const directoryChannel = "lumbung_directory"

type codeEntry struct {
	coops   []Cooperative
	expires time.Time
}

// codeCache holds the cooperatives of the service codes dialled lately.
// Only codes bound to a cooperative are kept, so it is as small as the
// installation's list of codes, whatever strangers dial.
type codeCache struct {
	mu sync.RWMutex
	m  map[string]codeEntry
}

func (c *codeCache) get(code string, now time.Time) ([]Cooperative, bool) {
	c.mu.RLock()
	e, ok := c.m[code]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false
	}
	return slices.Clone(e.coops), true
}

func (c *codeCache) put(code string, coops []Cooperative, now time.Time) {
	c.mu.Lock()
	c.m[code] = codeEntry{coops: slices.Clone(coops), expires: now.Add(CodeCacheTTL)}
	c.mu.Unlock()
}

// InvalidateCache forgets every cached service code.
func (d *Directory) InvalidateCache() {
	d.codes.mu.Lock()
	clear(d.codes.m)
	d.codes.mu.Unlock()
}

// notifyDirectoryChanged tells every instance listening on PostgreSQL, when
// tx commits, to drop its caches. On SQLite it does nothing (the TTL does).
func notifyDirectoryChanged(ctx context.Context, tx *sqlx.Tx) error {
	if tx.DriverName() != "postgres" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, '')`, directoryChannel); err != nil {
		return fmt.Errorf("notify directory change: %w", err)
	}
	return nil
}

// Listen drops the directory's caches whenever an admin command on any
// instance changes service codes or cooperatives (PostgreSQL NOTIFY on
// dsn), and after the listener reconnects (a notice may have been missed),
// until ctx ends. On SQLite it returns at once: the TTL applies.
func (d *Directory) Listen(ctx context.Context, dsn string, log *slog.Logger) error {
	if d.db.Dialect != ledger.Postgres {
		return nil
	}
	l := pq.NewListener(dsn, time.Second, 30*time.Second, func(ev pq.ListenerEventType, err error) {
		if ev == pq.ListenerEventReconnected {
			d.InvalidateCache()
		}
		if err != nil && log != nil {
			log.Warn("directory change listener", "err", err)
		}
	})
	defer l.Close()
	if err := l.Listen(directoryChannel); err != nil {
		return fmt.Errorf("listen for directory changes: %w", err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.Notify: // nil after a reconnect: invalidate all the same
			d.InvalidateCache()
		case <-time.After(time.Minute):
			go func() { _ = l.Ping() }()
		}
	}
}
