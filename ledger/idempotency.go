package ledger

// The admin API's Idempotency-Key record (CONTRACT §5.2): one row per
// cooperative and key, in_flight while the first request runs, then done
// with the status and body it got. The unique (cooperative_id, idem_key)
// key settles races: of concurrent requests with one key, on however many
// instances, exactly one inserts the row and runs.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// BeginState is what BeginRequest found for a key.
type BeginState int

const (
	// Started: the key is this request's now (a new row, or one abandoned by
	// a crashed instance taken over); run it, then FinishRequest or
	// AbandonRequest.
	Started BeginState = iota + 1
	// Replay: the key's request finished with the same body; answer the
	// stored response again and do nothing else.
	Replay
	// InFlight: the key's request, with the same body, is still running.
	InFlight
	// Reused: the key was first used with a different body, whether that
	// request has finished or not.
	Reused
)

func (s BeginState) String() string {
	switch s {
	case Started:
		return "started"
	case Replay:
		return "replay"
	case InFlight:
		return "in_flight"
	case Reused:
		return "reused"
	}
	return fmt.Sprintf("BeginState(%d)", int(s))
}

// RequestLease is how long an in-flight request keeps its key. An
// in-flight row older than this was left by an instance that died before
// finishing, and the next request with the key and the same body takes it
// over. Every API request must end well within it (its deadline is seconds).
const RequestLease = 60 * time.Second

// StoredResponse is what a finished request answered.
type StoredResponse struct {
	Status int
	Body   []byte
}

type apiRequestRow struct {
	RequestHash string         `db:"request_hash"`
	State       string         `db:"state"`
	Status      sql.NullInt64  `db:"status"`
	Body        sql.NullString `db:"body"`
	CreatedAt   time.Time      `db:"created_at"`
}

const beginRequestSQL = `INSERT INTO api_requests (cooperative_id, idem_key, request_hash, state, created_at)
VALUES (?, ?, ?, 'in_flight', ?) ON CONFLICT (cooperative_id, idem_key) DO NOTHING`

const requestByKeySQL = `SELECT request_hash, state, status, body, created_at FROM api_requests
WHERE cooperative_id = ? AND idem_key = ?`

// takeOverRequestSQL restarts an abandoned request's lease. Of several
// instances that found it stale at once one updates it: the others, once
// its update has committed, no longer match created_at < cutoff.
const takeOverRequestSQL = `UPDATE api_requests SET created_at = ?
WHERE cooperative_id = ? AND idem_key = ? AND request_hash = ? AND state = 'in_flight' AND created_at < ?`

// BeginRequest claims key for a request whose body hashes to requestHash
// (the caller's choice of hash, e.g. hex SHA-256 of method, path and
// body). With Replay, prior is the stored response.
func (l *Ledger) BeginRequest(ctx context.Context, coopID int64, key, requestHash string, now time.Time) (StoredResponse, BeginState, error) {
	if key == "" || requestHash == "" {
		return StoredResponse{}, 0, fmt.Errorf("begin api request: key and request hash are required")
	}
	now = now.UTC().Truncate(time.Microsecond)
	db := l.db
	// Three rounds at most: the row seen may vanish (abandoned, purged) or
	// be taken over between two statements, and then the next round decides.
	for range 3 {
		res, err := db.ExecContext(ctx, db.Rebind(beginRequestSQL), coopID, key, requestHash, now)
		if err != nil {
			return StoredResponse{}, 0, fmt.Errorf("begin api request %q: %w", key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return StoredResponse{}, 0, fmt.Errorf("begin api request %q: %w", key, err)
		} else if n == 1 {
			return StoredResponse{}, Started, nil
		}
		var r apiRequestRow
		err = db.GetContext(ctx, &r, db.Rebind(requestByKeySQL), coopID, key)
		if errors.Is(err, sql.ErrNoRows) {
			continue // abandoned or purged since the insert: try again
		}
		if err != nil {
			return StoredResponse{}, 0, fmt.Errorf("read api request %q: %w", key, err)
		}
		switch {
		case r.RequestHash != requestHash:
			return StoredResponse{}, Reused, nil
		case r.State == "done":
			return StoredResponse{Status: int(r.Status.Int64), Body: []byte(r.Body.String)}, Replay, nil
		case !r.CreatedAt.Before(now.Add(-RequestLease)):
			return StoredResponse{}, InFlight, nil
		}
		res, err = db.ExecContext(ctx, db.Rebind(takeOverRequestSQL), now, coopID, key, requestHash, now.Add(-RequestLease))
		if err != nil {
			return StoredResponse{}, 0, fmt.Errorf("take over api request %q: %w", key, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return StoredResponse{}, 0, fmt.Errorf("take over api request %q: %w", key, err)
		} else if n == 1 {
			return StoredResponse{}, Started, nil
		}
	}
	// The row kept changing under us: another instance holds it now.
	return StoredResponse{}, InFlight, nil
}

const finishRequestSQL = `UPDATE api_requests SET state = 'done', status = ?, body = ?, finished_at = ?
WHERE cooperative_id = ? AND idem_key = ? AND state = 'in_flight'`

// FinishRequest stores the response of the request that BeginRequest
// started, for replays. The body must be UTF-8 text (the API answers JSON).
// ErrNotFound: the key is not in flight (never begun, abandoned, purged or
// finished already).
func (l *Ledger) FinishRequest(ctx context.Context, coopID int64, key string, status int, body []byte, now time.Time) error {
	res, err := l.db.ExecContext(ctx, l.db.Rebind(finishRequestSQL), status, string(body), now.UTC(), coopID, key)
	if err != nil {
		return fmt.Errorf("finish api request %q: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("finish api request %q: %w", key, err)
	}
	if n == 0 {
		return fmt.Errorf("api request %q in flight: %w", key, ErrNotFound)
	}
	return nil
}

const abandonRequestSQL = `DELETE FROM api_requests WHERE cooperative_id = ? AND idem_key = ? AND state = 'in_flight'`

// AbandonRequest gives up the key of a request that failed without an
// answer worth keeping (a 5xx), so that a retry runs afresh. A finished
// request's record stays; a key not in flight is no error.
func (l *Ledger) AbandonRequest(ctx context.Context, coopID int64, key string) error {
	if _, err := l.db.ExecContext(ctx, l.db.Rebind(abandonRequestSQL), coopID, key); err != nil {
		return fmt.Errorf("abandon api request %q: %w", key, err)
	}
	return nil
}

const purgeRequestsSQL = `DELETE FROM api_requests WHERE created_at < ?`

// PurgeRequests deletes the records of requests begun before before, in
// every cooperative, and says how many. Callers keep at least 24 hours
// (CONTRACT §5.2).
func (l *Ledger) PurgeRequests(ctx context.Context, before time.Time) (int64, error) {
	res, err := l.db.ExecContext(ctx, l.db.Rebind(purgeRequestsSQL), before.UTC())
	if err != nil {
		return 0, fmt.Errorf("purge api requests: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("purge api requests: %w", err)
	}
	return n, nil
}
