-- The staff counter pages (/counter, issue 14).
--
-- staff.web_failures counts wrong web passwords in a row; the fifth locks
-- the staff member's web login until web_locked_until (15 minutes) and
-- starts the count again. web_password_temporary is true while the
-- password is the one `lumbung staff add` printed: the first login must
-- choose a new one.
--
-- counter_sessions are the logged-in browsers, kept in the database so
-- that any instance serves any request. The cookie holds a random id; the
-- table holds only its SHA-256. flash is a one-time message for the next
-- page (an activation code shown once), cleared when shown.

-- +goose Up
ALTER TABLE staff ADD COLUMN web_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE staff ADD COLUMN web_locked_until TIMESTAMP;
ALTER TABLE staff ADD COLUMN web_password_temporary INTEGER NOT NULL DEFAULT 1;

CREATE TABLE counter_sessions (
    id_hash        TEXT PRIMARY KEY,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    staff_id       BIGINT NOT NULL,
    csrf           TEXT NOT NULL,
    flash          TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    last_seen      TIMESTAMP NOT NULL,
    FOREIGN KEY (cooperative_id, staff_id) REFERENCES staff (cooperative_id, id)
);
CREATE INDEX counter_sessions_last_seen ON counter_sessions (last_seen);
CREATE INDEX counter_sessions_staff ON counter_sessions (staff_id);

-- +goose Down
DROP TABLE counter_sessions;
ALTER TABLE staff DROP COLUMN web_password_temporary;
ALTER TABLE staff DROP COLUMN web_locked_until;
ALTER TABLE staff DROP COLUMN web_failures;
