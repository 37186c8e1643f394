-- Callers' identities change notices (migration 00013 on PostgreSQL): an
-- embedded SQLite instance does not cache callers (members/callercache.go),
-- so it needs none. Kept so both dialects count the same migrations.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
