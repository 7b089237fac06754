-- The audit log: append-only, one entry per event and per command outcome.
CREATE TABLE entries (
    id          BIGSERIAL   PRIMARY KEY,
    kind        TEXT        NOT NULL CHECK (kind IN ('event', 'status')),
    -- eventId or commandId: a redelivered message is recorded once.
    ref_id      UUID        NOT NULL,
    user_id     TEXT        NOT NULL,
    account_id  TEXT        NOT NULL,
    summary     TEXT        NOT NULL,
    payload     JSONB       NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (kind, ref_id)
);
CREATE INDEX entries_user ON entries (user_id, id DESC);

-- Append-only: the log can grow, never change.
CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END $$;
CREATE TRIGGER entries_append_only BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
