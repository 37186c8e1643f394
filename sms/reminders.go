package sms

import (
	"context"
	"log/slog"
	"time"
)

// ReminderBooks is what the reminder job needs from the ledger.
type ReminderBooks interface {
	CooperativeIDs(ctx context.Context) ([]int64, error)
	Location(ctx context.Context, coopID int64) (*time.Location, error)
	QueueReminders(ctx context.Context, coopID int64, today time.Time) (int, error)
}

// Reminders queues the daily loan reminders ("due in 3 days", "overdue").
// It runs on every instance, several times a day: the outbox keys make each
// reminder happen once per installment however often and wherever it runs.
// Reminders are queued only in daytime in the cooperative's time zone, so
// nobody's phone buzzes at night.
type Reminders struct {
	Books ReminderBooks
	Log   *slog.Logger
	Now   func() time.Time
	// Queued is called when reminders were queued (wakes the sender).
	Queued func()
	// From and Until bound the local hours reminders are queued in
	// (default 8 and 19: 08:00–19:59).
	From, Until int
}

// RunOnce queues today's reminders for every cooperative where it is
// daytime; it returns how many it queued.
func (r *Reminders) RunOnce(ctx context.Context) (int, error) {
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	from, until := r.From, r.Until
	if from == 0 && until == 0 {
		from, until = 8, 19
	}
	ids, err := r.Books.CooperativeIDs(ctx)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, id := range ids {
		loc, err := r.Books.Location(ctx, id)
		if err != nil {
			return total, err
		}
		local := now.In(loc)
		if h := local.Hour(); h < from || h > until {
			continue
		}
		n, err := r.Books.QueueReminders(ctx, id, local)
		if err != nil {
			return total, err
		}
		total += n
	}
	if total > 0 && r.Queued != nil {
		r.Queued()
	}
	return total, nil
}

// Run calls RunOnce now and then every interval until ctx ends.
func (r *Reminders) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := r.RunOnce(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("loan reminders", "err", err)
		} else if n > 0 {
			r.Log.Info("loan reminders queued", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
