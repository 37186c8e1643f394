-- SMS: the daily cap on replies to unregistered numbers (sms/inbox.go)
-- counts today's messages that belong to no cooperative; this index keeps
-- that count to today's rows (at most the cap) however big the outbox grows.

-- +goose Up
CREATE INDEX outbox_unscoped_created ON outbox (template, created_at) WHERE cooperative_id IS NULL;

-- +goose Down
DROP INDEX outbox_unscoped_created;
