-- Keys a Citus cluster can enforce (migration 00015 on PostgreSQL,
-- ledger/CITUS.md): the embedded SQLite file is one database on one
-- machine and is never distributed, so its keys stay as they are. Kept so
-- both dialects count the same migrations.

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
