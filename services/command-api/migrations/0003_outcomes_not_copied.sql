-- Outcomes are the event store's: GET /commands/{id} and the reconciler ask
-- it (StoreReads) instead of keeping a copy here. `status` now only says
-- whether the reconciler still has to look after the command: 'accepted'
-- until the store has its outcome, then 'decided'.
ALTER TABLE commands DROP COLUMN outcome;
ALTER TABLE commands DROP COLUMN decided_at;
UPDATE commands SET status = 'decided' WHERE status <> 'accepted';
DELETE FROM commands WHERE request = 'null'::jsonb;
