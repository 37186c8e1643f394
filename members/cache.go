package members

import (
	"context"
	"fmt"
	"log/slog"
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

// InvalidateCache forgets every cached service code.
func (d *Directory) InvalidateCache() {
	d.codes.Clear()
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
