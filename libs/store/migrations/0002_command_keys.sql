-- Outcomes are kept under the command's key — derived from its user and the
-- id the client named, or from its transfer for a later step — never under
-- an id a client chose directly (see ledgerline_contracts::CommandKey).
ALTER TABLE command_outcomes RENAME COLUMN command_id TO command_key;
