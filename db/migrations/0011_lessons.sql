-- Lessons: a teacher opens one per class at a time; chosen mentors help with one subject (and
-- aspect) until it ends, by hand or at its end time (a timer rebuilt at start-up).

CREATE TABLE lessons (
    id                INTEGER PRIMARY KEY,
    guild_id          INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    subject_id        INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    aspect            TEXT COLLATE NOCASE CHECK (aspect IS NULL OR length(aspect) BETWEEN 1 AND 40),
    started_by        INTEGER,
    started_at        TEXT NOT NULL,
    ends_at           TEXT,                  -- `until`: the lesson closes itself then
    ended_at          TEXT,
    ended_by          INTEGER,               -- NULL when it ended by time
    panel_channel_id  INTEGER,               -- the help panel posted (or refreshed) for it
    panel_message_id  INTEGER,
    -- The end-of-lesson celebration post (an outbox of one): 'pending' is written in the same
    -- transaction that ends the lesson, 'posted' once it is out; start-up posts what is pending.
    celebration       TEXT CHECK (celebration IS NULL OR celebration IN ('pending', 'posted')),
    celebration_message_id INTEGER
);
-- One open lesson per class: a second `/lesson start` loses on this index, never half-written.
CREATE UNIQUE INDEX lessons_one_open ON lessons (guild_id) WHERE ended_at IS NULL;
CREATE INDEX lessons_celebration_pending ON lessons (guild_id) WHERE celebration = 'pending';
CREATE INDEX lessons_ending ON lessons (ends_at) WHERE ended_at IS NULL AND ends_at IS NOT NULL;

-- The lesson's mentors; ``badge_id`` is the lesson badge the lesson gave (ended with the lesson),
-- NULL when the mentor already held a badge of their own.
CREATE TABLE lesson_mentors (
    lesson_id  INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    badge_id   INTEGER REFERENCES badges(id) ON DELETE SET NULL,
    PRIMARY KEY (lesson_id, user_id)
);

-- Class goals: one open at a time. Reaching it, or its deadline passing, is a conditional update
-- of ``state`` from 'open' (one winner even when two sessions confirm at the same moment) that
-- also sets ``post`` to 'pending' in the same transaction; the post goes out once, then 'posted'.
CREATE TABLE goals (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    metric      TEXT NOT NULL CHECK (metric IN ('sessions', 'students_helped', 'stars',
                                                'average_gain')),
    target      REAL NOT NULL CHECK (target > 0),
    reward      TEXT NOT NULL CHECK (length(reward) BETWEEN 1 AND 200),
    deadline    TEXT,
    set_by      INTEGER,
    set_at      TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'open'
                CHECK (state IN ('open', 'reached', 'cancelled', 'expired')),
    closed_at   TEXT,
    final_value REAL,                        -- the metric when the goal closed
    post        TEXT CHECK (post IS NULL OR post IN ('pending', 'posted')),
    message_id  INTEGER
);
CREATE UNIQUE INDEX goals_one_open ON goals (guild_id) WHERE state = 'open';
CREATE INDEX goals_post_pending ON goals (guild_id) WHERE post = 'pending';
