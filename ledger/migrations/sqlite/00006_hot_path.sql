-- The hot path at scale: "Cek Saldo" sums one member's accounts (savings
-- and loan principal). The partial unique index on (member_id, kind) does
-- not serve it (it needs loan_id IS NULL), so without this index the query
-- read every account of the cooperative: the balance hop grew with it.

-- +goose Up
CREATE INDEX accounts_member ON accounts (cooperative_id, member_id) WHERE member_id IS NOT NULL;

-- +goose Down
DROP INDEX accounts_member;
