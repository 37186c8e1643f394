-- The hot accounts' shard rows carry their cooperative, and their keys
-- include it (ledger/CITUS.md, rules 1-3), so a Citus cluster distributed
-- by cooperative_id keeps an account and its shard rows on one node and
-- can enforce their key. cooperative_id goes last in the primary key: the
-- look-ups by (account_id, shard) use the index as before. The posting
-- statements write it (ledger/postpg.go, ledger/ledger.go) and name the
-- new key in their ON CONFLICT. The embedded SQLite file is never
-- distributed and keeps its schema (its 00017 is empty).
--
-- Not here, and listed in CITUS.md as still to do: accounts' own primary
-- key (id). Keyed (id, cooperative_id), the member's statement
-- (ledger/statement.go) is planned, before the planner has statistics, as
-- a walk over the cooperative's journals by date.

-- +goose Up
ALTER TABLE account_shards ADD COLUMN cooperative_id BIGINT;
UPDATE account_shards s SET cooperative_id = a.cooperative_id FROM accounts a WHERE a.id = s.account_id;
ALTER TABLE account_shards ALTER COLUMN cooperative_id SET NOT NULL;
ALTER TABLE account_shards DROP CONSTRAINT account_shards_account_id_fkey,
    ADD FOREIGN KEY (cooperative_id, account_id) REFERENCES accounts (cooperative_id, id);
ALTER TABLE account_shards DROP CONSTRAINT account_shards_pkey, ADD PRIMARY KEY (account_id, shard, cooperative_id);

-- +goose Down
ALTER TABLE account_shards DROP CONSTRAINT account_shards_pkey, ADD PRIMARY KEY (account_id, shard);
ALTER TABLE account_shards DROP CONSTRAINT account_shards_cooperative_id_account_id_fkey,
    ADD FOREIGN KEY (account_id) REFERENCES accounts (id);
ALTER TABLE account_shards DROP COLUMN cooperative_id;
