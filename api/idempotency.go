package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/ledger"
	"github.com/lumbung-id/lumbung/members"
	"github.com/lumbung-id/lumbung/service"
)

const headerIdempotencyKey = "Idempotency-Key"

// Requests keeps each POST's first answer per cooperative and
// Idempotency-Key (ledger's api_requests).
type Requests interface {
	BeginRequest(ctx context.Context, coopID int64, key, requestHash string, now time.Time) (ledger.StoredResponse, ledger.BeginState, error)
	FinishRequest(ctx context.Context, coopID int64, key string, status int, body []byte, now time.Time) error
	AbandonRequest(ctx context.Context, coopID int64, key string) error
}

// validKey: 1–255 printable ASCII characters (CONTRACT §5.2).
func validKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// capture keeps a copy of what the handler writes.
type capture struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (w *capture) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// idempotent runs a POST once per Idempotency-Key: the first answer (any
// status below 500) is kept and given again, with Idempotent-Replayed:
// true, to the same key with the same request; the same key with another
// request is 422 idempotency_key_reused, and while the first still runs
// 409 idempotency_in_progress. An answer of 500 or more is not kept, so a
// retry runs again (the ledger's own keys still post the money once).
func (s *Server) idempotent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		key := c.Request().Header.Get(headerIdempotencyKey)
		if !validKey(key) {
			return writeError(c, &service.Error{Code: service.CodeInvalidRequest, Field: headerIdempotencyKey,
				Detail: "every POST needs an Idempotency-Key header of 1 to 255 printable characters"})
		}
		body, err := io.ReadAll(http.MaxBytesReader(c.Response(), c.Request().Body, MaxBody))
		if err != nil {
			return writeError(c, bodyError(err))
		}
		c.Request().Body = io.NopCloser(bytes.NewReader(body))
		tok, _ := c.Get("token").(members.Token)
		h := sha256.New()
		h.Write([]byte(c.Request().Method + " " + c.Request().URL.Path + "\n"))
		h.Write(body)
		hash := hex.EncodeToString(h.Sum(nil))
		ctx := c.Request().Context()
		prior, state, err := s.Requests.BeginRequest(ctx, tok.CooperativeID, key, hash, s.Now())
		if err != nil {
			return writeError(c, err)
		}
		switch state {
		case ledger.Replay:
			c.Response().Header().Set("Idempotent-Replayed", "true")
			return c.Blob(prior.Status, echo.MIMEApplicationJSON, prior.Body)
		case ledger.InFlight:
			return writeError(c, &service.Error{Code: service.CodeIdempotencyInProgress, Detail: "the first request with this key is still running"})
		case ledger.Reused:
			return writeError(c, &service.Error{Code: service.CodeIdempotencyKeyReused, Detail: "this key was used for another request"})
		}
		w := &capture{ResponseWriter: c.Response().Writer}
		c.Response().Writer = w
		if err := next(c); err != nil {
			_ = writeError(c, err)
		}
		// The answer is kept even when the client has gone: a fresh
		// context, bounded, so that the retry finds it.
		done, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if status := c.Response().Status; status >= 500 {
			if err := s.Requests.AbandonRequest(done, tok.CooperativeID, key); err != nil {
				s.Log.Error("api: forget a failed request", "err", err)
			}
		} else if err := s.Requests.FinishRequest(done, tok.CooperativeID, key, status, w.body.Bytes(), s.Now()); err != nil {
			s.Log.Error("api: keep an answer", "err", err)
		}
		return nil
	}
}
