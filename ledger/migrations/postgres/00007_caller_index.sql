-- The hot path at scale: the first hop finds the caller by (cooperative,
-- phone). Only phone alone was indexed, so a planner without fresh
-- statistics (a cooperative just imported from a spreadsheet, before
-- autovacuum's ANALYZE) walked every member of the cooperative through
-- (cooperative_id, id) instead: 10,000 rows read for every dial. With both
-- columns in one index there is no cheaper-looking wrong plan to pick.

-- +goose Up
CREATE INDEX members_coop_phone ON members (cooperative_id, phone);
CREATE INDEX staff_coop_phone ON staff (cooperative_id, phone);

-- +goose Down
DROP INDEX staff_coop_phone;
DROP INDEX members_coop_phone;
