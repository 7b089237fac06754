-- The event store: the truth from which everything else is rebuilt.
CREATE TABLE events (
    global_position BIGSERIAL PRIMARY KEY,
    event_id        UUID        NOT NULL UNIQUE,
    aggregate_type  TEXT        NOT NULL,
    aggregate_id    TEXT        NOT NULL,
    version         BIGINT      NOT NULL CHECK (version > 0),
    event_type      TEXT        NOT NULL,
    schema_version  INT         NOT NULL,
    data            JSONB       NOT NULL,
    metadata        JSONB       NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- The writing transaction: readers of the global log stay below the
    -- oldest transaction still in flight, so a late commit is never skipped.
    tx_id           XID8        NOT NULL DEFAULT pg_current_xact_id(),
    -- Optimistic concurrency: two appends at one version cannot both win.
    CONSTRAINT events_aggregate_version UNIQUE (aggregate_id, version)
);
CREATE INDEX events_account_owner ON events ((data ->> 'ownerId')) WHERE event_type = 'AccountOpened';

CREATE TABLE snapshots (
    aggregate_id TEXT        NOT NULL,
    version      BIGINT      NOT NULL,
    state        JSONB       NOT NULL,
    taken_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (aggregate_id, version)
);

-- Every decided command, forever: a redelivered or repeated command finds
-- its outcome here and is published again, never decided twice.
CREATE TABLE command_outcomes (
    command_id   UUID        PRIMARY KEY,
    user_id      TEXT        NOT NULL,
    aggregate_id TEXT        NOT NULL,
    status       TEXT        NOT NULL,
    outcome      JSONB       NOT NULL,
    decided_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);
