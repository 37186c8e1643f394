-- The foundation schema: cooperatives and their USSD codes, members and
-- staff, PIN state, and the double-entry books (accounts, journals, entries).
-- Every table carries the cooperative; composite foreign keys make the
-- database itself refuse an entry whose account or journal belongs to
-- another cooperative.

-- +goose Up
CREATE TABLE cooperatives (
    id               BIGSERIAL PRIMARY KEY,
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    sms_pin_required BOOLEAN NOT NULL DEFAULT FALSE,
    created_at       TIMESTAMPTZ NOT NULL
);

CREATE TABLE service_codes (
    code           TEXT NOT NULL,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    PRIMARY KEY (code, cooperative_id)
);

CREATE TABLE members (
    id             BIGSERIAL PRIMARY KEY,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    member_no      TEXT NOT NULL,
    name           TEXT NOT NULL,
    phone          TEXT NOT NULL,
    language       TEXT NOT NULL DEFAULT 'id' CHECK (language IN ('id', 'en')),
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'left')),
    joined_on      DATE,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (cooperative_id, member_no),
    UNIQUE (cooperative_id, id)
);
CREATE INDEX members_phone ON members (phone);

CREATE TABLE staff (
    id                BIGSERIAL PRIMARY KEY,
    cooperative_id    BIGINT NOT NULL REFERENCES cooperatives (id),
    name              TEXT NOT NULL,
    phone             TEXT NOT NULL,
    role              TEXT NOT NULL CHECK (role IN ('teller', 'collector', 'manager')),
    language          TEXT NOT NULL DEFAULT 'id' CHECK (language IN ('id', 'en')),
    web_password_hash TEXT,
    active            BOOLEAN NOT NULL DEFAULT TRUE,
    created_at        TIMESTAMPTZ NOT NULL,
    UNIQUE (cooperative_id, id)
);
CREATE INDEX staff_phone ON staff (phone);

-- PIN state of a member or a staff member ("holder"). The hash is keyed
-- with a secret that is not in the database.
CREATE TABLE pins (
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    holder_kind    TEXT NOT NULL CHECK (holder_kind IN ('member', 'staff')),
    holder_id      BIGINT NOT NULL,
    pin_hash       TEXT NOT NULL,
    failures       INTEGER NOT NULL DEFAULT 0,
    locked_at      TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (holder_kind, holder_id)
);

CREATE TABLE activation_codes (
    id             BIGSERIAL PRIMARY KEY,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    holder_kind    TEXT NOT NULL CHECK (holder_kind IN ('member', 'staff')),
    holder_id      BIGINT NOT NULL,
    code_hash      TEXT NOT NULL,
    tries          INTEGER NOT NULL DEFAULT 0,
    expires_at     TIMESTAMPTZ NOT NULL,
    used_at        TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX activation_codes_holder ON activation_codes (holder_kind, holder_id);

-- Accounts. Balances are kept in the account's natural sign (credit-normal
-- accounts such as savings grow with credits). A bounded account may never
-- go below zero; the CHECK is the last line behind the posting code.
CREATE TABLE accounts (
    id             BIGSERIAL PRIMARY KEY,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    kind           TEXT NOT NULL,
    member_id      BIGINT,
    staff_id       BIGINT,
    loan_id        BIGINT,
    normal         TEXT NOT NULL CHECK (normal IN ('debit', 'credit')),
    bounded        BOOLEAN NOT NULL,
    balance        BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (cooperative_id, id),
    FOREIGN KEY (cooperative_id, member_id) REFERENCES members (cooperative_id, id),
    FOREIGN KEY (cooperative_id, staff_id) REFERENCES staff (cooperative_id, id),
    CHECK (NOT bounded OR balance >= 0)
);
CREATE UNIQUE INDEX accounts_member_kind ON accounts (member_id, kind) WHERE member_id IS NOT NULL AND loan_id IS NULL;
CREATE UNIQUE INDEX accounts_staff_kind ON accounts (staff_id, kind) WHERE staff_id IS NOT NULL;
CREATE UNIQUE INDEX accounts_loan_kind ON accounts (loan_id, kind) WHERE loan_id IS NOT NULL;
CREATE UNIQUE INDEX accounts_coop_kind ON accounts (cooperative_id, kind)
    WHERE member_id IS NULL AND staff_id IS NULL AND loan_id IS NULL;

CREATE TABLE journals (
    id             BIGSERIAL PRIMARY KEY,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    idem_key       TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    kind           TEXT NOT NULL,
    memo           TEXT NOT NULL DEFAULT '',
    actor          TEXT NOT NULL DEFAULT '',
    reverses_id    BIGINT UNIQUE,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (cooperative_id, idem_key),
    UNIQUE (cooperative_id, id),
    FOREIGN KEY (cooperative_id, reverses_id) REFERENCES journals (cooperative_id, id)
);

CREATE TABLE entries (
    id             BIGSERIAL PRIMARY KEY,
    cooperative_id BIGINT NOT NULL,
    journal_id     BIGINT NOT NULL,
    account_id     BIGINT NOT NULL,
    side           CHAR(1) NOT NULL CHECK (side IN ('D', 'C')),
    amount         BIGINT NOT NULL CHECK (amount > 0),
    FOREIGN KEY (cooperative_id, journal_id) REFERENCES journals (cooperative_id, id),
    FOREIGN KEY (cooperative_id, account_id) REFERENCES accounts (cooperative_id, id)
);
CREATE INDEX entries_account ON entries (account_id, journal_id);
CREATE INDEX entries_journal ON entries (journal_id);

-- Journals and entries are append-only: corrections are new journals.
-- +goose StatementBegin
CREATE FUNCTION lumbung_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: post a reversal instead', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER journals_append_only BEFORE UPDATE OR DELETE ON journals
    FOR EACH ROW EXECUTE FUNCTION lumbung_append_only();
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION lumbung_append_only();
CREATE TRIGGER journals_no_truncate BEFORE TRUNCATE ON journals
    FOR EACH STATEMENT EXECUTE FUNCTION lumbung_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION lumbung_append_only();

-- +goose Down
DROP TABLE entries;
DROP TABLE journals;
DROP FUNCTION lumbung_append_only();
DROP TABLE accounts;
DROP TABLE activation_codes;
DROP TABLE pins;
DROP TABLE staff;
DROP TABLE members;
DROP TABLE service_codes;
DROP TABLE cooperatives;
