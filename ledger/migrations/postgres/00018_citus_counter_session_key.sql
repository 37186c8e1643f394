-- The primary key of counter_sessions includes cooperative_id
-- (ledger/CITUS.md, rule 2), so a Citus cluster distributed by it can
-- enforce the key on each shard. A session is found by the hash of its
-- cookie (256 random bits, which no two sessions share), which leads the
-- key, so that look-up uses the index as before; the statements that
-- follow it name the session's cooperative too.

-- +goose Up
ALTER TABLE counter_sessions DROP CONSTRAINT counter_sessions_pkey, ADD PRIMARY KEY (id_hash, cooperative_id);

-- +goose Down
ALTER TABLE counter_sessions DROP CONSTRAINT counter_sessions_pkey, ADD PRIMARY KEY (id_hash);
