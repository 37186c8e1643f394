-- SMS: inbound messages stored before they are answered, per-phone
-- serialisation for reply limits, the outbox opened to messages that belong
-- to no cooperative (the one daily reply to an unregistered sender).

-- +goose Up
ALTER TABLE outbox ALTER COLUMN cooperative_id DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN provider TEXT;
ALTER TABLE outbox ADD COLUMN encoding TEXT;
-- A message without a cooperative is queued once per key.
CREATE UNIQUE INDEX outbox_unscoped_key ON outbox (idem_key) WHERE cooperative_id IS NULL;
-- Replies to one phone in the last hour are counted for the reply limit.
CREATE INDEX outbox_phone ON outbox (phone, created_at);
-- Delivery reports that carry only the gateway's id find their message.
CREATE INDEX outbox_provider_id ON outbox (provider, provider_id) WHERE provider_id IS NOT NULL;

-- Every message from a phone, stored once per gateway message id before
-- it is processed. The text may hold a PIN: it is kept sealed under a key
-- derived from LUMBUNG_SECRET until processed and then dropped; what stays
-- is the text with every run of 4 or more digits masked.
CREATE TABLE sms_inbound (
    id              BIGSERIAL PRIMARY KEY,
    provider        TEXT NOT NULL,
    provider_msg_id TEXT NOT NULL,
    sender          TEXT NOT NULL,
    recipient       TEXT NOT NULL DEFAULT '',
    text_masked     TEXT NOT NULL,
    text_sealed     TEXT,
    status          TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed')),
    outcome         TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     TIMESTAMPTZ,
    received_at     TIMESTAMPTZ NOT NULL,
    processed_at    TIMESTAMPTZ,
    UNIQUE (provider, provider_msg_id)
);
CREATE INDEX sms_inbound_pending ON sms_inbound (status, received_at);

-- One row per phone that texted us; answering a message locks it, so two
-- messages from one phone are answered one after the other and the reply
-- limits hold exactly.
CREATE TABLE sms_senders (
    phone        TEXT PRIMARY KEY,
    last_seen_at TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE sms_senders;
DROP TABLE sms_inbound;
DROP INDEX outbox_provider_id;
DROP INDEX outbox_phone;
DROP INDEX outbox_unscoped_key;
DELETE FROM outbox WHERE cooperative_id IS NULL;
ALTER TABLE outbox DROP COLUMN encoding;
ALTER TABLE outbox DROP COLUMN provider;
ALTER TABLE outbox ALTER COLUMN cooperative_id SET NOT NULL;
