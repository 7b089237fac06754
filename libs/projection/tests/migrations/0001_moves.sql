-- The read model of the runner's tests: one row per applied deposit. The
-- primary key makes a double apply fail loudly rather than count twice.
CREATE TABLE moves (
    account_id      TEXT   NOT NULL,
    version         BIGINT NOT NULL,
    amount          BIGINT NOT NULL,
    global_position BIGINT NOT NULL,
    PRIMARY KEY (account_id, version)
);
