-- The ledger proper: hot-account balance shards, cooperative policy,
-- loans and their installments, deposit codes and the SMS outbox.

-- +goose Up
-- Cooperative-level accounts (income, equity, vault, clearing) are touched by
-- many journals at once. Their balance is the sum of a few shard rows; a
-- journal adds to the shard chosen from its id, so concurrent postings
-- rarely wait on one row and a retry hits the same row.
ALTER TABLE accounts ADD COLUMN sharded BOOLEAN NOT NULL DEFAULT FALSE;
CREATE TABLE account_shards (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    shard      INTEGER NOT NULL,
    balance    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, shard)
);
-- The vault is not bounded: DOMAIN.md bounds savings, loans, tills and
-- collector cash; a vault below zero is reported by reconcile.
UPDATE accounts SET sharded = TRUE, bounded = FALSE
    WHERE kind IN ('vault', 'interest_income', 'penalty_income', 'fee_income', 'opening_equity', 'clearing');
INSERT INTO account_shards (account_id, shard, balance) SELECT id, 0, balance FROM accounts WHERE sharded = TRUE;
UPDATE accounts SET balance = 0 WHERE sharded = TRUE;

-- Per-cooperative policy.
ALTER TABLE cooperatives ADD COLUMN late_fee_bp_month BIGINT NOT NULL DEFAULT 200;   -- 2% of the overdue amount per month, pro-rated by day
ALTER TABLE cooperatives ADD COLUMN max_ussd_amount BIGINT NOT NULL DEFAULT 50000000; -- Rp50.000.000 per transaction by USSD
ALTER TABLE cooperatives ADD COLUMN timezone TEXT NOT NULL DEFAULT 'Asia/Makassar';  -- WITA, for "today"

-- Who reversed what, and why.
ALTER TABLE journals ADD COLUMN reason TEXT NOT NULL DEFAULT '';

CREATE TABLE loans (
    id             BIGSERIAL PRIMARY KEY,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    member_id      BIGINT NOT NULL,
    loan_no        TEXT NOT NULL,
    principal      BIGINT NOT NULL CHECK (principal > 0),
    rate_bp_month  BIGINT NOT NULL CHECK (rate_bp_month >= 0),
    method         TEXT NOT NULL CHECK (method IN ('flat', 'menurun', 'anuitas')),
    term_months    INTEGER NOT NULL CHECK (term_months > 0),
    disbursed_on   DATE NOT NULL,
    -- principal the stored schedule repays (= principal, or what was
    -- outstanding when a running loan was imported)
    scheduled_principal BIGINT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    closed_at      TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (cooperative_id, loan_no),
    UNIQUE (cooperative_id, id),
    FOREIGN KEY (cooperative_id, member_id) REFERENCES members (cooperative_id, id)
);
CREATE INDEX loans_member ON loans (member_id);

-- The schedule and what has been paid against each installment. The paid
-- columns are a projection of the repayment journals, written in the same
-- transaction; reconcile checks them against the books.
CREATE TABLE installments (
    cooperative_id BIGINT NOT NULL,
    loan_id        BIGINT NOT NULL,
    no             INTEGER NOT NULL,
    due_on         DATE NOT NULL,
    principal_due  BIGINT NOT NULL CHECK (principal_due >= 0),
    interest_due   BIGINT NOT NULL CHECK (interest_due >= 0),
    fee_due        BIGINT NOT NULL DEFAULT 0 CHECK (fee_due >= 0),
    principal_paid BIGINT NOT NULL DEFAULT 0 CHECK (principal_paid >= 0 AND principal_paid <= principal_due),
    interest_paid  BIGINT NOT NULL DEFAULT 0 CHECK (interest_paid >= 0 AND interest_paid <= interest_due),
    fee_paid       BIGINT NOT NULL DEFAULT 0 CHECK (fee_paid >= 0 AND fee_paid <= fee_due),
    penalty_paid   BIGINT NOT NULL DEFAULT 0 CHECK (penalty_paid >= 0),
    PRIMARY KEY (loan_id, no),
    FOREIGN KEY (cooperative_id, loan_id) REFERENCES loans (cooperative_id, id)
);

-- How each repayment journal was split, so reversals and audits can follow it.
CREATE TABLE repayment_parts (
    cooperative_id BIGINT NOT NULL,
    journal_id     BIGINT NOT NULL,
    loan_id        BIGINT NOT NULL,
    installment_no INTEGER NOT NULL,
    penalty        BIGINT NOT NULL DEFAULT 0,
    fee            BIGINT NOT NULL DEFAULT 0,
    interest       BIGINT NOT NULL DEFAULT 0,
    principal      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (journal_id, loan_id, installment_no),
    FOREIGN KEY (cooperative_id, journal_id) REFERENCES journals (cooperative_id, id),
    FOREIGN KEY (cooperative_id, loan_id) REFERENCES loans (cooperative_id, id)
);

-- A member announces a cash deposit with a 6-digit code; staff confirm it once.
CREATE TABLE deposit_codes (
    id             BIGSERIAL PRIMARY KEY,
    cooperative_id BIGINT NOT NULL REFERENCES cooperatives (id),
    member_id      BIGINT NOT NULL,
    account_id     BIGINT NOT NULL,
    amount         BIGINT NOT NULL CHECK (amount > 0),
    code           TEXT NOT NULL,
    status         TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    expires_at     TIMESTAMPTZ NOT NULL,
    idem_key       TEXT NOT NULL,
    confirmed_by   BIGINT,
    journal_id     BIGINT,
    confirmed_at   TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (cooperative_id, idem_key),
    FOREIGN KEY (cooperative_id, member_id) REFERENCES members (cooperative_id, id),
    FOREIGN KEY (cooperative_id, account_id) REFERENCES accounts (cooperative_id, id),
    FOREIGN KEY (cooperative_id, journal_id) REFERENCES journals (cooperative_id, id)
);
CREATE UNIQUE INDEX deposit_codes_pending ON deposit_codes (cooperative_id, code) WHERE status = 'pending';

-- SMS to send, written in the same transaction as the event that causes
-- them. The sender (sms/) renders the template in the member's language.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    cooperative_id  BIGINT NOT NULL REFERENCES cooperatives (id),
    idem_key        TEXT NOT NULL,
    phone           TEXT NOT NULL,
    language        TEXT NOT NULL DEFAULT 'id',
    template        TEXT NOT NULL,
    params          TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'submitted', 'sent', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    provider_id     TEXT,
    segments        INTEGER,
    last_error      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (cooperative_id, idem_key)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- +goose Down
DROP TABLE outbox;
DROP TABLE deposit_codes;
DROP TABLE repayment_parts;
DROP TABLE installments;
DROP TABLE loans;
ALTER TABLE journals DROP COLUMN reason;
ALTER TABLE cooperatives DROP COLUMN timezone;
ALTER TABLE cooperatives DROP COLUMN max_ussd_amount;
ALTER TABLE cooperatives DROP COLUMN late_fee_bp_month;
DROP TABLE account_shards;
ALTER TABLE accounts DROP COLUMN sharded;
