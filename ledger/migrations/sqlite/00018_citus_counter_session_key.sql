-- The primary key of counter_sessions with cooperative_id (migration 00018
-- on PostgreSQL, ledger/CITUS.md): the embedded SQLite file is never
-- distributed and keeps its key. Kept so both dialects count the same
-- migrations.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
