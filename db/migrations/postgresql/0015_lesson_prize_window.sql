-- PostgreSQL twin of db/migrations/0015_lesson_prize_window.sql: a lesson's prizes wait for the
-- quiz recorded during or right after it (``prize_due_at``), are decided once (the conditional
-- update setting ``prize_decided_at``), and their post is an outbox of one like the celebration.
ALTER TABLE lessons ADD COLUMN prize_due_at TEXT COLLATE "C";
ALTER TABLE lessons ADD COLUMN prize_decided_at TEXT COLLATE "C";
ALTER TABLE lessons ADD COLUMN prize_post TEXT COLLATE "C"
    CHECK (prize_post IS NULL OR prize_post IN ('pending', 'posted'));
ALTER TABLE lessons ADD COLUMN prize_message_id BIGINT;
-- Lessons that ended before this migration decided their prizes when they ended.
UPDATE lessons SET prize_due_at = ended_at, prize_decided_at = ended_at, prize_post = 'posted'
WHERE ended_at IS NOT NULL;
CREATE INDEX lessons_prize_waiting ON lessons (prize_due_at)
    WHERE ended_at IS NOT NULL AND prize_decided_at IS NULL;
CREATE INDEX lessons_prize_post_pending ON lessons (guild_id) WHERE prize_post = 'pending';
