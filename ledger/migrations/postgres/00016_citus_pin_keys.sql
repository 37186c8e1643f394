-- The keys of pins and pin_changes with cooperative_id (ledger/CITUS.md,
-- rule 2), so a Citus cluster distributed by cooperative_id can enforce
-- them. cooperative_id goes last: the look-ups by (holder_kind, holder_id)
-- use the index as before. A holder id is a member's or staff member's id,
-- each from its table's one sequence, so the wider key is as unique as the
-- old one. The upserts name the new key as their ON CONFLICT target on
-- PostgreSQL (members.onPINKey); the embedded SQLite file keeps the old
-- key (its 00016 is empty).

-- +goose Up
ALTER TABLE pins DROP CONSTRAINT pins_pkey, ADD PRIMARY KEY (holder_kind, holder_id, cooperative_id);
ALTER TABLE pin_changes DROP CONSTRAINT pin_changes_pkey, ADD PRIMARY KEY (holder_kind, holder_id, cooperative_id);

-- +goose Down
ALTER TABLE pin_changes DROP CONSTRAINT pin_changes_pkey, ADD PRIMARY KEY (holder_kind, holder_id);
ALTER TABLE pins DROP CONSTRAINT pins_pkey, ADD PRIMARY KEY (holder_kind, holder_id);
