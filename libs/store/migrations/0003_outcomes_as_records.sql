-- An outcome is the store's own record, not a copy of the browser's frame:
-- which command (the id its user knows), its status and error, and which of
-- its account's versions its events are. The events are stored once, in
-- `events`; the status message is built from both when it is read.
ALTER TABLE command_outcomes
    ADD COLUMN command_id    UUID,
    ADD COLUMN error         JSONB,
    ADD COLUMN first_version BIGINT,
    ADD COLUMN last_version  BIGINT;

UPDATE command_outcomes SET
    command_id    = (outcome -> 'payload' ->> 'commandId')::uuid,
    error         = NULLIF(outcome -> 'payload' -> 'error', 'null'::jsonb),
    first_version = (SELECT min((e ->> 'version')::bigint)
                     FROM jsonb_array_elements(outcome -> 'payload' -> 'events') AS e),
    last_version  = (SELECT max((e ->> 'version')::bigint)
                     FROM jsonb_array_elements(outcome -> 'payload' -> 'events') AS e),
    decided_at    = COALESCE((outcome -> 'payload' ->> 'timestamp')::timestamptz, decided_at);

ALTER TABLE command_outcomes ALTER COLUMN command_id SET NOT NULL;
ALTER TABLE command_outcomes DROP COLUMN outcome;
