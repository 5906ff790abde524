-- Mentor badges (per subject, with history), the training brief and availability.

CREATE TABLE badges (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    subject_id  INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    granted_by  INTEGER NOT NULL,
    granted_at  TEXT NOT NULL,
    expires_at  TEXT,                        -- a lesson badge ends by itself
    ended_at    TEXT,
    ended_by    INTEGER,
    end_reason  TEXT CHECK (end_reason IN ('revoked', 'expired', 'role_removed', 'role_deleted',
                                           'subject_removed', 'left_class'))
);
-- At most one current badge per student and subject: makes grant idempotent.
CREATE UNIQUE INDEX badges_one_current ON badges (subject_id, user_id) WHERE ended_at IS NULL;
CREATE INDEX badges_by_user ON badges (guild_id, user_id);
CREATE INDEX badges_expiring ON badges (expires_at) WHERE ended_at IS NULL AND expires_at IS NOT NULL;

CREATE TABLE mentors (
    guild_id               INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    user_id                INTEGER NOT NULL,
    brief_sent_at          TEXT,
    brief_acknowledged_at  TEXT,             -- no help requests until the brief is read
    available_until        TEXT,             -- NULL or past = not available
    session_limit          INTEGER NOT NULL DEFAULT 1 CHECK (session_limit BETWEEN 1 AND 5),
    created_at             TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
