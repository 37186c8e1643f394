-- The SMS that belong to no cooperative move from the outbox to
-- sms_replies, as on PostgreSQL (its 00020 says why). The embedded file is
-- never distributed, so the outbox keeps its schema here; it just holds no
-- such rows any more. A reply's id starts at 2^52 (ledger.RepliesFirstID):
-- the AUTOINCREMENT counter is set just below it.

-- +goose Up
CREATE TABLE sms_replies (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    idem_key        TEXT NOT NULL UNIQUE,
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
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX sms_replies_due ON sms_replies (status, next_attempt_at);
CREATE INDEX sms_replies_phone ON sms_replies (phone, created_at);
CREATE INDEX sms_replies_created ON sms_replies (template, created_at);
CREATE INDEX sms_replies_provider_id ON sms_replies (provider, provider_id) WHERE provider_id IS NOT NULL;
INSERT INTO sqlite_sequence (name, seq) VALUES ('sms_replies', 4503599627370495);

INSERT INTO sms_replies (id, idem_key, phone, language, template, params, status, attempts, next_attempt_at, lease_until,
                         provider, provider_id, encoding, segments, last_error, created_at, updated_at)
SELECT id, idem_key, phone, language, template, params, status, attempts, next_attempt_at, lease_until,
       provider, provider_id, encoding, segments, last_error, created_at, updated_at
FROM outbox WHERE cooperative_id IS NULL;
DELETE FROM outbox WHERE cooperative_id IS NULL;
DROP INDEX outbox_unscoped_created;
DROP INDEX outbox_unscoped_key;

-- +goose Down
CREATE UNIQUE INDEX outbox_unscoped_key ON outbox (idem_key) WHERE cooperative_id IS NULL;
CREATE INDEX outbox_unscoped_created ON outbox (template, created_at) WHERE cooperative_id IS NULL;
INSERT INTO outbox (id, cooperative_id, idem_key, phone, language, template, params, status, attempts, next_attempt_at, lease_until,
                    provider, provider_id, encoding, segments, last_error, created_at, updated_at)
SELECT id, NULL, idem_key, phone, language, template, params, status, attempts, next_attempt_at, lease_until,
       provider, provider_id, encoding, segments, last_error, created_at, updated_at
FROM sms_replies;
DROP TABLE sms_replies;
