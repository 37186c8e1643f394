-- The keys of pins and pin_changes with cooperative_id (migration 00016 on
-- PostgreSQL, ledger/CITUS.md): the embedded SQLite file is one database on
-- one machine and is never distributed, so it keeps (holder_kind,
-- holder_id), and the upserts name that key here (members.onPINKey). Kept
-- so both dialects count the same migrations.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
