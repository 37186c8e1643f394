-- A new PIN is typed twice on separate USSD hops. Between the two, its hash
-- waits here (the session never holds a PIN), for a few minutes at most.

-- +goose Up
CREATE TABLE pin_changes (
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    holder_kind    TEXT NOT NULL CHECK (holder_kind IN ('member', 'staff')),
    holder_id      BIGINT NOT NULL,
    pending_hash   TEXT NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (holder_kind, holder_id)
);

-- +goose Down
DROP TABLE pin_changes;
