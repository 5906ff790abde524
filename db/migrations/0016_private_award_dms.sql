-- A private award's DM is an outbox of one: 'pending' is written with the award (same
-- statement), 'sent' once the student has it, 'failed' when their DMs are closed; start-up
-- sends what a stop left pending. Awards from before this migration are not tracked (NULL).
ALTER TABLE awards ADD COLUMN dm_state TEXT
    CHECK (dm_state IS NULL OR dm_state IN ('pending', 'sent', 'failed'));
CREATE INDEX awards_dm_pending ON awards (guild_id) WHERE dm_state = 'pending';
