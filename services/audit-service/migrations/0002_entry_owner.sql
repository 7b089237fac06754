-- Entries are shown to the owner of the account they concern (issue 11):
-- an event to its account's owner, a command outcome to the user who
-- issued the command (`user_id`). Before, events were filed under the user
-- whose command caused them, so a transfer's sender read the receiver's
-- `TransferCredited` and balance.
--
-- An account's owner, from its `AccountOpened` (the projector applies an
-- account's events in order, so it always sees that one first).
CREATE TABLE account_owners (
    account_id TEXT PRIMARY KEY,
    owner_id   TEXT NOT NULL
);
INSERT INTO account_owners (account_id, owner_id)
SELECT account_id, payload -> 'data' ->> 'ownerId'
FROM entries
WHERE kind = 'event' AND payload ->> 'eventType' = 'AccountOpened'
ON CONFLICT DO NOTHING;

-- The owner of an event's account, set when the entry is written; NULL for
-- command outcomes. The log is append-only, so entries recorded before
-- this migration are not filled in: they stay visible to operators only
-- until an AuditLog rebuild (POST /projections/rebuild) files them anew.
ALTER TABLE entries ADD COLUMN owner_id TEXT;

-- Who may read an entry, as `GET /audit` asks (the same expression).
CREATE INDEX entries_reader ON entries ((CASE kind WHEN 'status' THEN user_id ELSE owner_id END), id DESC);
DROP INDEX entries_user;
