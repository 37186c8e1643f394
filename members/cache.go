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
	return d.listen(ctx, dsn, log, nil)
}

// Listen is Directory.Listen that also follows every change to callers'
// identities (channel lumbung_callers, see callercache.go): while it hears
// them, and only then, Identify is served from memory. On SQLite it returns
// at once and nothing is cached.
func (c *CachedDirectory) Listen(ctx context.Context, dsn string, log *slog.Logger) error {
	return c.Directory.listen(ctx, dsn, log, c.callers)
}

func (d *Directory) listen(ctx context.Context, dsn string, log *slog.Logger, callers *callerCache) error {
	if d.db.Dialect != ledger.Postgres {
		return nil
	}
	forget := func() {
		d.InvalidateCache()
		if callers != nil {
			callers.clear()
		}
	}
	l := pq.NewListener(dsn, time.Second, 30*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventReconnected:
			d.InvalidateCache()
			if callers != nil {
				callers.setLive(true)
			}
		case pq.ListenerEventDisconnected:
			if callers != nil {
				callers.setLive(false) // notices may be lost until the reconnect
			}
		}
		if err != nil && log != nil {
			log.Warn("directory change listener", "err", err)
		}
	})
	defer l.Close()
	if callers != nil {
		defer callers.setLive(false)
	}
	if err := l.Listen(directoryChannel); err != nil {
		return fmt.Errorf("listen for directory changes: %w", err)
	}
	if callers != nil {
		if err := l.Listen(callersChannel); err != nil {
			return fmt.Errorf("listen for caller changes: %w", err)
		}
		callers.setLive(true)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-l.Notify:
			switch {
			case n == nil: // after a reconnect: a notice may have been missed
				forget()
			case n.Channel == callersChannel && callers != nil:
				callers.notice(n.Extra)
			default:
				d.InvalidateCache()
			}
		case <-time.After(time.Minute):
			go func() { _ = l.Ping() }()
		}
	}
}
