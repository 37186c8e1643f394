-- Callers' identities change notices (members/callercache.go): every
-- instance serves a first hop's caller look-up from memory while it hears
-- these, so every write that can change what Identify answers — a member's
-- or a staff member's phone, name, number, role, language, status, and any
-- PIN row — tells every instance on channel lumbung_callers, at commit,
-- whoever writes it (lumbung, an admin command, psql). Updates and deletes
-- name the phone or the PIN's holder; inserts (imports, new PINs) and
-- truncations clear everything: they come in bulk and rarely.

-- +goose Up
-- +goose StatementBegin
CREATE FUNCTION lumbung_caller_row_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'pins' THEN
    PERFORM pg_notify('lumbung_callers', OLD.holder_kind || ':' || OLD.holder_id);
    IF TG_OP = 'UPDATE' AND (NEW.holder_kind, NEW.holder_id) IS DISTINCT FROM (OLD.holder_kind, OLD.holder_id) THEN
      PERFORM pg_notify('lumbung_callers', NEW.holder_kind || ':' || NEW.holder_id);
    END IF;
  ELSE
    IF OLD.phone IS NOT NULL THEN
      PERFORM pg_notify('lumbung_callers', 'phone:' || OLD.phone);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.phone IS DISTINCT FROM OLD.phone AND NEW.phone IS NOT NULL THEN
      PERFORM pg_notify('lumbung_callers', 'phone:' || NEW.phone);
    END IF;
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION lumbung_callers_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('lumbung_callers', '');
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER members_caller_notice AFTER UPDATE OF phone, name, member_no, language, status, cooperative_id OR DELETE ON members
  FOR EACH ROW EXECUTE FUNCTION lumbung_caller_row_changed();
CREATE TRIGGER staff_caller_notice AFTER UPDATE OF phone, name, role, language, active, cooperative_id OR DELETE ON staff
  FOR EACH ROW EXECUTE FUNCTION lumbung_caller_row_changed();
CREATE TRIGGER pins_caller_notice AFTER UPDATE OR DELETE ON pins
  FOR EACH ROW EXECUTE FUNCTION lumbung_caller_row_changed();
CREATE TRIGGER members_callers_added AFTER INSERT OR TRUNCATE ON members
  FOR EACH STATEMENT EXECUTE FUNCTION lumbung_callers_changed();
CREATE TRIGGER staff_callers_added AFTER INSERT OR TRUNCATE ON staff
  FOR EACH STATEMENT EXECUTE FUNCTION lumbung_callers_changed();
CREATE TRIGGER pins_callers_added AFTER INSERT OR TRUNCATE ON pins
  FOR EACH STATEMENT EXECUTE FUNCTION lumbung_callers_changed();

-- +goose Down
DROP TRIGGER pins_callers_added ON pins;
DROP TRIGGER staff_callers_added ON staff;
DROP TRIGGER members_callers_added ON members;
DROP TRIGGER pins_caller_notice ON pins;
DROP TRIGGER staff_caller_notice ON staff;
DROP TRIGGER members_caller_notice ON members;
DROP FUNCTION lumbung_callers_changed();
DROP FUNCTION lumbung_caller_row_changed();
