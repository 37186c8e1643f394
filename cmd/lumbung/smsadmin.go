package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lumbung-id/lumbung/sms"
)

const smsUsage = "lumbung sms requeue [--coop KODE] [--since 24h|2026-11-27T08:00:00+08:00] [--json] [--config FILE]"

// cmdSMS: lumbung sms requeue — send again the messages that failed, once
// the operator has fixed why (a wrong gateway password, an empty account).
func cmdSMS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	args, err := subcommand(args, "requeue", smsUsage)
	if err != nil {
		return err
	}
	fs, af := newAdminFlagSet("sms requeue", smsUsage, stderr)
	coop := fs.String("coop", "", "only this cooperative's messages (default: every cooperative)")
	sinceFlag := fs.String("since", "24h", "messages that failed within this long (e.g. 6h) or since this time (RFC 3339)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (usage: %s)", pos[0], smsUsage)
	}
	now := time.Now()
	since, err := parseSince(*sinceFlag, now)
	if err != nil {
		return err
	}
	db, dir, err := openDirectory(ctx, af.config, stderr)
	if err != nil {
		return err
	}
	defer db.Close()
	var coopID int64
	if strings.TrimSpace(*coop) != "" {
		c, err := findCoop(ctx, dir, *coop)
		if err != nil {
			return err
		}
		coopID = c.ID
	}
	n, err := sms.Requeue(ctx, db, coopID, since, now)
	if err != nil {
		return err
	}
	if af.json {
		return writeJSON(stdout, struct {
			Requeued int `json:"requeued"`
		}{n})
	}
	_, err = fmt.Fprintf(stdout, "%d failed message(s) since %s queued again; the running senders send them now\n", n, since.Format(time.RFC3339))
	return err
}

// parseSince reads --since: a duration back from now, or a moment.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: give a duration such as 6h or a time such as 2026-11-27T08:00:00+08:00", s)
}
