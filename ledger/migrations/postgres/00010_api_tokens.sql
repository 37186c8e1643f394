-- The admin API (CONTRACT §5.2): bearer tokens that belong to one
-- cooperative, and the idempotency record of every POST.
--
-- api_tokens keeps only the SHA-256 of each token (members/tokens.go says
-- why a fast hash is enough for 256 random bits). A revoked token keeps its
-- row, so last_used_at still tells who used what until when.
--
-- api_requests holds one row per (cooperative, Idempotency-Key): in_flight
-- while the first request runs, then done with the status and body it got,
-- replayed for a retry with the same body (ledger/idempotency.go). The
-- body is JSON, so TEXT. Rows are purged after the retention (>= 24 h) by
-- created_at.

-- +goose Up
CREATE TABLE api_tokens (
    id             BIGSERIAL PRIMARY KEY,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    name           TEXT NOT NULL,
    token_hash     TEXT NOT NULL UNIQUE,
    read_only      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    last_used_at   TIMESTAMPTZ,
    revoked_at     TIMESTAMPTZ
);
CREATE INDEX api_tokens_cooperative ON api_tokens (cooperative_id, id);

CREATE TABLE api_requests (
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    idem_key       TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    state          TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    status         INTEGER,
    body           TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    finished_at    TIMESTAMPTZ,
    PRIMARY KEY (cooperative_id, idem_key),
    CHECK (state = 'in_flight' OR (status IS NOT NULL AND body IS NOT NULL AND finished_at IS NOT NULL))
);
CREATE INDEX api_requests_created ON api_requests (created_at);

-- +goose Down
DROP TABLE api_requests;
DROP TABLE api_tokens;
