-- Indexes for deposit codes and daily cash.

-- +goose Up
-- Staff look codes up by number, also codes that are no longer pending (to
-- say "already used" or "expired"); the partial unique index covers only
-- pending ones.
CREATE INDEX deposit_codes_code ON deposit_codes (cooperative_id, code);
-- "Today" questions (a staff member's cash today, day reports) find the
-- first journal of the day without reading the cooperative's history.
CREATE INDEX journals_created ON journals (cooperative_id, created_at);

-- +goose Down
DROP INDEX journals_created;
DROP INDEX deposit_codes_code;
