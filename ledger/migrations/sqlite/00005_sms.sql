-- SMS: inbound messages stored before they are answered, per-phone
-- serialisation for reply limits, the outbox opened to messages that belong
-- to no cooperative (the one daily reply to an unregistered sender).

-- +goose Up
-- SQLite cannot drop NOT NULL in place: the outbox is rebuilt with
-- cooperative_id nullable (ids kept).
CREATE TABLE outbox_v5 (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    cooperative_id  BIGINT REFERENCES cooperatives (id),
    idem_key        TEXT NOT NULL,
    phone           TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT 'id',
    template        TEXT NOT NULL,
    params          TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'submitted', 'sent', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    provider        TEXT,
    provider_id     TEXT,
    encoding        TEXT,
    segments        INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    UNIQUE (cooperative_id, idem_key)
);
INSERT INTO outbox_v5 (id, cooperative_id, idem_key, phone, language, template, params, status, attempts, next_attempt_at, lease_until, provider_id, segments, last_error, created_at, updated_at)
    SELECT id, cooperative_id, idem_key, phone, language, template, params, status, attempts, next_attempt_at, lease_until, provider_id, segments, last_error, created_at, updated_at FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v5 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE UNIQUE INDEX outbox_unscoped_key ON outbox (idem_key) WHERE cooperative_id IS NULL;
CREATE INDEX outbox_phone ON outbox (phone, created_at);
CREATE INDEX outbox_provider_id ON outbox (provider, provider_id) WHERE provider_id IS NOT NULL;

CREATE TABLE sms_inbound (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    provider        TEXT NOT NULL,
    provider_msg_id TEXT NOT NULL,
    sender          TEXT NOT NULL,
    recipient       TEXT NOT NULL DEFAULT '',
    text_masked     TEXT NOT NULL,
    text_sealed     TEXT,
    status          TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed')),
    outcome         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     TIMESTAMP,
    received_at     TIMESTAMP NOT NULL,
    processed_at    TIMESTAMP,
    UNIQUE (provider, provider_msg_id)
);
CREATE INDEX sms_inbound_pending ON sms_inbound (status, received_at);

CREATE TABLE sms_senders (
    phone        TEXT PRIMARY KEY,
    last_seen_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE sms_senders;
DROP TABLE sms_inbound;
DELETE FROM outbox WHERE cooperative_id IS NULL;
DROP INDEX outbox_provider_id;
DROP INDEX outbox_phone;
DROP INDEX outbox_unscoped_key;
ALTER TABLE outbox DROP COLUMN encoding;
ALTER TABLE outbox DROP COLUMN provider;
