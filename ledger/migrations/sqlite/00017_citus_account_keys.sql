-- The shard rows' cooperative and the key of account_shards with it
-- (migration 00017 on PostgreSQL, ledger/CITUS.md): the embedded SQLite
-- file is one database on one machine and is never distributed, so it
-- keeps its schema, and the shard upserts write and name what it has
-- (ledger/ledger.go). Kept so both dialects count the same migrations.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
