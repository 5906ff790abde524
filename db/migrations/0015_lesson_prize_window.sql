-- A lesson's prizes count quizzes recorded "during or right after the lesson": ending a lesson
-- sets ``prize_due_at`` (its end plus the quiz window); the prizes are decided once, by the
-- conditional update that sets ``prize_decided_at`` (at that time, or earlier when the teacher
-- says so). The prize post is an outbox of one like the celebration: 'pending' is written with
-- the decision, 'posted' once it is out (or when the celebration itself carried the prizes).
ALTER TABLE lessons ADD COLUMN prize_due_at TEXT;
ALTER TABLE lessons ADD COLUMN prize_decided_at TEXT;
ALTER TABLE lessons ADD COLUMN prize_post TEXT
    CHECK (prize_post IS NULL OR prize_post IN ('pending', 'posted'));
ALTER TABLE lessons ADD COLUMN prize_message_id INTEGER;
-- Lessons that ended before this migration decided their prizes when they ended.
UPDATE lessons SET prize_due_at = ended_at, prize_decided_at = ended_at, prize_post = 'posted'
WHERE ended_at IS NOT NULL;
CREATE INDEX lessons_prize_waiting ON lessons (prize_due_at)
    WHERE ended_at IS NOT NULL AND prize_decided_at IS NULL;
CREATE INDEX lessons_prize_post_pending ON lessons (guild_id) WHERE prize_post = 'pending';
