-- DailySummary: per owner, UTC day (of the event's timestamp) and currency,
-- the money deposited and withdrawn (minor units) and how many times.
-- Written by the AccountBalances projector in the same transaction as the
-- balance, so it shares that checkpoint: a redelivered event adds nothing.
-- BIGINT arithmetic is checked: an overflow fails the event, never wraps.
CREATE TABLE daily_summary (
    owner_id         TEXT   NOT NULL,
    day              DATE   NOT NULL,
    currency         TEXT   NOT NULL,
    deposits         BIGINT NOT NULL CHECK (deposits >= 0),
    withdrawals      BIGINT NOT NULL CHECK (withdrawals >= 0),
    deposit_count    BIGINT NOT NULL CHECK (deposit_count >= 0),
    withdrawal_count BIGINT NOT NULL CHECK (withdrawal_count >= 0),
    PRIMARY KEY (owner_id, day, currency)
);
