-- AccountBalances: one row per account, its balance after the last event.
CREATE TABLE accounts (
    account_id TEXT        PRIMARY KEY,
    owner_id   TEXT        NOT NULL,
    currency   TEXT        NOT NULL,
    balance    BIGINT      NOT NULL CHECK (balance >= 0),
    status     TEXT        NOT NULL,
    version    BIGINT      NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX accounts_owner ON accounts (owner_id);
