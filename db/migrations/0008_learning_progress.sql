-- Learning progress: assessments and quiz scores, term dates, self-reported confidence around a
-- help request, badges that name an aspect, and the badge roles' colour.

CREATE TABLE assessments (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    subject_id  INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    name        TEXT NOT NULL COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 80),
    aspect      TEXT COLLATE NOCASE CHECK (aspect IS NULL OR length(aspect) BETWEEN 1 AND 40),
    created_at  TEXT NOT NULL,
    UNIQUE (subject_id, name)
);

CREATE TABLE scores (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    subject_id     INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    assessment_id  INTEGER NOT NULL REFERENCES assessments(id) ON DELETE CASCADE,
    user_id        INTEGER NOT NULL,
    score          REAL NOT NULL CHECK (score >= 0),
    out_of         REAL NOT NULL CHECK (out_of > 0 AND score <= out_of),
    taken_on       TEXT NOT NULL CHECK (length(taken_on) = 10),  -- YYYY-MM-DD, the class's day
    recorded_by    INTEGER NOT NULL,
    recorded_at    TEXT NOT NULL,
    UNIQUE (assessment_id, user_id)
);
-- Gains seek each student's first and last score of a subject in a window; a student's own
-- report reads their scores across subjects.
CREATE INDEX scores_by_subject_user ON scores (guild_id, subject_id, user_id, taken_on);
CREATE INDEX scores_by_user ON scores (guild_id, user_id, subject_id, taken_on);

-- "How sure are you, 1-5" when asking for help, and again after the confirmed session.
CREATE TABLE help_confidence (
    request_id  INTEGER PRIMARY KEY REFERENCES help_requests(id) ON DELETE CASCADE,
    before      INTEGER CHECK (before IS NULL OR before BETWEEN 1 AND 5),
    after       INTEGER CHECK (after IS NULL OR after BETWEEN 1 AND 5),
    before_at   TEXT,
    after_at    TEXT
);

ALTER TABLE classes ADD COLUMN term_start TEXT;   -- YYYY-MM-DD; "this term" without it = 13 weeks
ALTER TABLE classes ADD COLUMN term_end TEXT;
ALTER TABLE classes ADD COLUMN badge_colour INTEGER NOT NULL DEFAULT 3066993
    CHECK (badge_colour BETWEEN 0 AND 16777215);  -- 0x2ECC71, green like a mentor's pen
ALTER TABLE badges ADD COLUMN aspect TEXT COLLATE NOCASE
    CHECK (aspect IS NULL OR length(aspect) BETWEEN 1 AND 40);
-- `/helpme ask ... aspect:` (stored by the help flow; matching prefers mentors badged for it).
ALTER TABLE help_requests ADD COLUMN aspect TEXT COLLATE NOCASE
    CHECK (aspect IS NULL OR length(aspect) BETWEEN 1 AND 40);
