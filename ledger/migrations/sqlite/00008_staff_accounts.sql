-- The hot path at scale: a teller's posting finds their till by (cooperative,
-- staff). Only (staff_id, kind) and (cooperative_id, id) were indexed, and
-- the planner walked (cooperative_id, id) — every account of the
-- cooperative, 300,000 in one of 100,000 members — to meet the staff id.
-- Found by the auto_explain plan test of every hot-path statement.

-- +goose Up
CREATE INDEX accounts_staff ON accounts (cooperative_id, staff_id, kind) WHERE staff_id IS NOT NULL;

-- +goose Down
DROP INDEX accounts_staff;
