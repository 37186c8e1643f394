-- The primary key of accounts includes cooperative_id (ledger/CITUS.md,
-- rule 2): nothing references accounts (id) alone since 00017, and every
-- account is found with its cooperative. id leads the key, so a look-up
-- by id uses the index as before. With a two-column key PostgreSQL no
-- longer knows, before it has statistics, that one id is one account; the
-- member's statement is written so that its plan does not depend on it
-- (ledger/statement.go, statementPgSQL).
--
-- loans_member gains cooperative_id for the same reason: a member's loans
-- are always asked for in their cooperative, and an index on both columns
-- is the one the planner takes for it, rather than reading the
-- cooperative's loans by its key.

-- +goose Up
ALTER TABLE accounts DROP CONSTRAINT accounts_pkey, ADD PRIMARY KEY (id, cooperative_id);
DROP INDEX loans_member;
CREATE INDEX loans_member ON loans (member_id, cooperative_id);

-- +goose Down
DROP INDEX loans_member;
CREATE INDEX loans_member ON loans (member_id);
ALTER TABLE accounts DROP CONSTRAINT accounts_pkey, ADD PRIMARY KEY (id);
