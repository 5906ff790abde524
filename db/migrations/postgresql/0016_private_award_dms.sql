-- PostgreSQL twin of db/migrations/0016_private_award_dms.sql: a private award's DM is an outbox
-- of one ('pending' with the award, then 'sent' or 'failed'), replayed at start-up.
ALTER TABLE awards ADD COLUMN dm_state TEXT COLLATE "C"
    CHECK (dm_state IS NULL OR dm_state IN ('pending', 'sent', 'failed'));
CREATE INDEX awards_dm_pending ON awards (guild_id) WHERE dm_state = 'pending';
