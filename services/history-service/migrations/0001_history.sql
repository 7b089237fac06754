-- TransactionHistory: one row per event, newest first per account.
CREATE TABLE account_owners (
    account_id TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL
);
CREATE TABLE transactions (
    event_id        UUID        PRIMARY KEY,
    account_id      TEXT        NOT NULL,
    owner_id        TEXT        NOT NULL,
    version         BIGINT      NOT NULL,
    event_type      TEXT        NOT NULL,
    amount          BIGINT,
    balance_after   BIGINT,
    command_id      UUID        NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    global_position BIGINT      NOT NULL,
    UNIQUE (account_id, version)
);
CREATE INDEX transactions_owner ON transactions (owner_id, occurred_at DESC);
