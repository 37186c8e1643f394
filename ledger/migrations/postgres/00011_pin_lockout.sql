-- Timed PIN locks (issue 15): three wrong PINs in a row lock the PIN for
-- 15 minutes, the next lock in a row 30, then 60, then 120; the fifth is
-- permanent (locked_at) and only an activation code lifts it
-- (members/pin.go holds the numbers).
--
-- failures keeps counting wrong PINs across timed locks until a right PIN
-- (or a new PIN) resets it, so failures / 3 is how many locks in a row the
-- holder has had. locked_until is when the latest timed lock ends; it is
-- in force only while failures is a non-zero multiple of 3, so anything
-- that resets failures (a new PIN, a bulk PIN load) also ends the lock.

-- +goose Up
ALTER TABLE pins ADD COLUMN locked_until TIMESTAMPTZ;

-- +goose Down
ALTER TABLE pins DROP COLUMN locked_until;
