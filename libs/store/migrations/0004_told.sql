-- The outbox: when the status a user is owed for this command was
-- acknowledged by JetStream. A decision is committed before its status is
-- published; if the publish never happens and the broker also loses the
-- command, `told_at` stays empty and the API's reconciler queues the command
-- again, whose repeat publishes the stored outcome. A user's transfer is
-- told on its own key (its debit's row) when its last step's status is
-- published; the later steps' rows are never told anything.
ALTER TABLE command_outcomes ADD COLUMN told_at TIMESTAMPTZ;
-- Decided before the outbox: published then, as far as anyone can know.
UPDATE command_outcomes SET told_at = decided_at;
