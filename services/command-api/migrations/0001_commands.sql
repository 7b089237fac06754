-- Commands the API accepted, and their outcomes once decided.
CREATE TABLE commands (
    command_id  UUID        PRIMARY KEY,
    user_id     TEXT        NOT NULL,
    kind        TEXT        NOT NULL,
    -- The validated command, to tell a true repeat from a reused key.
    request     JSONB       NOT NULL,
    accepted_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    status      TEXT        NOT NULL DEFAULT 'accepted',
    outcome     JSONB,
    decided_at  TIMESTAMPTZ
);
