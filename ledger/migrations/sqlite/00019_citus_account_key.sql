-- The primary key of accounts with cooperative_id (migration 00019 on
-- PostgreSQL, ledger/CITUS.md): the embedded SQLite file is never
-- distributed and keeps its key. Kept so both dialects count the same
-- migrations.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
