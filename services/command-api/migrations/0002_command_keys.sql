-- Commands are kept under their key, derived from the user and the id the
-- client knows (ledgerline_contracts::CommandKey): one user's ids never meet
-- another's. The id the user knows is kept beside it.
ALTER TABLE commands RENAME COLUMN command_id TO command_key;
ALTER TABLE commands ADD COLUMN command_id UUID;
UPDATE commands SET command_id = command_key;
ALTER TABLE commands ALTER COLUMN command_id SET NOT NULL;

-- The reconciler (src/reconcile.rs): how often an accepted command without
-- an outcome was queued again, and when it last looked at it.
ALTER TABLE commands ADD COLUMN requeues INT NOT NULL DEFAULT 0;
ALTER TABLE commands ADD COLUMN checked_at TIMESTAMPTZ;
CREATE INDEX commands_undecided ON commands (accepted_at) WHERE status = 'accepted';
