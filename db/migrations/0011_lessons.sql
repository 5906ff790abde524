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

-- The lesson's prizes, decided once when it ends (in the transaction that ends it): the pair(s)
-- with the biggest gain ('gains_pair': ties share, each person's points are ledger entries) and
-- the group(s) with the most correct answers on the lesson's assessment ('most_correct').
CREATE TABLE lesson_prizes (
    lesson_id  INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('gains_pair', 'most_correct')),
    mentor_id  INTEGER NOT NULL,
    mentee_id  INTEGER NOT NULL,             -- most_correct: one row per member of the group
    gain       REAL,                         -- gains_pair: percentage points (public: gains only)
    PRIMARY KEY (lesson_id, kind, mentor_id, mentee_id)
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

-- The "biggest gains pair" prize is a ledger entry of its own kind, naming its lesson (once per
-- lesson and person). SQLite cannot change a CHECK in place: the ledger is rebuilt with the same
-- rows, then its indexes, triggers and the totals view are made again exactly as before.
DROP TRIGGER class_zone_rebuilds_point_totals;
DROP VIEW ledger_point_totals;
CREATE TABLE ledger_rebuilt (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    points      INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('session', 'award', 'goal', 'undo', 'gains_pair')),
    -- a session entry names its session; award and undo entries name their award
    subject_id  INTEGER REFERENCES subjects(id),
    session_id  INTEGER REFERENCES help_requests(id),
    award_id    INTEGER REFERENCES awards(id),
    created_by  INTEGER,
    created_at  TEXT NOT NULL,
    lesson_id   INTEGER REFERENCES lessons(id),
    CHECK (reason <> 'session' OR session_id IS NOT NULL),
    CHECK (reason NOT IN ('award', 'undo') OR award_id IS NOT NULL),
    CHECK (reason <> 'gains_pair' OR lesson_id IS NOT NULL)
);
INSERT INTO ledger_rebuilt (id, guild_id, user_id, points, reason, subject_id, session_id,
                            award_id, created_by, created_at)
SELECT id, guild_id, user_id, points, reason, subject_id, session_id, award_id, created_by,
       created_at
FROM ledger;
DROP TABLE ledger;
ALTER TABLE ledger_rebuilt RENAME TO ledger;

CREATE UNIQUE INDEX ledger_one_per_session ON ledger (session_id) WHERE reason = 'session';
CREATE UNIQUE INDEX ledger_one_per_award ON ledger (award_id) WHERE reason = 'award';
CREATE UNIQUE INDEX ledger_one_undo_per_award ON ledger (award_id) WHERE reason = 'undo';
CREATE UNIQUE INDEX ledger_one_gains_pair ON ledger (lesson_id, user_id)
    WHERE reason = 'gains_pair';
CREATE INDEX ledger_by_class_time ON ledger (guild_id, created_at);

CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
    WHEN (SELECT 1 FROM classes WHERE guild_id = OLD.guild_id) IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM privacy_audit WHERE guild_id = OLD.guild_id
                     AND action = 'erase_student' AND finished_at IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
    WHEN NOT (
        EXISTS (SELECT 1 FROM privacy_audit WHERE guild_id = OLD.guild_id
                AND action = 'erase_student' AND finished_at IS NULL)
        AND NEW.created_by IS NULL AND NEW.id = OLD.id AND NEW.guild_id = OLD.guild_id
        AND NEW.user_id = OLD.user_id AND NEW.points = OLD.points AND NEW.reason = OLD.reason
        AND NEW.subject_id IS OLD.subject_id AND NEW.session_id IS OLD.session_id
        AND NEW.award_id IS OLD.award_id AND NEW.created_at = OLD.created_at
        AND NEW.lesson_id IS OLD.lesson_id
    )
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
CREATE TRIGGER ledger_feeds_point_totals AFTER INSERT ON ledger
BEGIN
    INSERT INTO point_totals (guild_id, subject_id, span, period, user_id, points)
    SELECT NEW.guild_id, subjects.id, spans.span,
           CASE spans.span
               WHEN 'week' THEN date(counted.day, 'weekday 0', '-6 days')
               WHEN 'month' THEN substr(counted.day, 1, 7)
               ELSE ''
           END,
           NEW.user_id, NEW.points
    FROM (SELECT local_day(
                     COALESCE((SELECT awarded_at FROM awards WHERE id = NEW.award_id),
                              NEW.created_at),
                     (SELECT timezone FROM classes WHERE guild_id = NEW.guild_id)) AS day
         ) AS counted,
         (SELECT 'week' AS span UNION ALL SELECT 'month' UNION ALL SELECT 'all') AS spans,
         (SELECT 0 AS id UNION ALL SELECT NEW.subject_id WHERE NEW.subject_id IS NOT NULL)
             AS subjects
    WHERE true
    ON CONFLICT (guild_id, subject_id, span, period, user_id)
        DO UPDATE SET points = points + excluded.points;
END;
CREATE VIEW ledger_point_totals AS
SELECT guild_id, subject_id, span, period, user_id, SUM(points) AS points
FROM (
    SELECT l.guild_id,
           CASE pick.one WHEN 0 THEN 0 ELSE l.subject_id END AS subject_id,
           spans.span,
           CASE spans.span
               WHEN 'week' THEN date(local_day(COALESCE(a.awarded_at, l.created_at), c.timezone),
                                     'weekday 0', '-6 days')
               WHEN 'month' THEN substr(local_day(COALESCE(a.awarded_at, l.created_at),
                                                  c.timezone), 1, 7)
               ELSE ''
           END AS period,
           l.user_id, l.points
    FROM ledger l
    JOIN classes c ON c.guild_id = l.guild_id
    LEFT JOIN awards a ON a.id = l.award_id
    JOIN (SELECT 'week' AS span UNION ALL SELECT 'month' UNION ALL SELECT 'all') AS spans
    JOIN (SELECT 0 AS one UNION ALL SELECT 1) AS pick
        ON pick.one = 0 OR l.subject_id IS NOT NULL
)
GROUP BY guild_id, subject_id, span, period, user_id;
CREATE TRIGGER class_zone_rebuilds_point_totals AFTER UPDATE OF timezone ON classes
    WHEN NEW.timezone IS NOT OLD.timezone
BEGIN
    DELETE FROM point_totals WHERE guild_id = NEW.guild_id;
    INSERT INTO point_totals (guild_id, subject_id, span, period, user_id, points)
    SELECT guild_id, subject_id, span, period, user_id, points
    FROM ledger_point_totals WHERE guild_id = NEW.guild_id;
END;

-- The mentor meeting before a lesson: each lesson mentor's two answers, for the teacher only.
CREATE TABLE meeting_answers (
    lesson_id    INTEGER NOT NULL REFERENCES lessons(id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    hard         TEXT NOT NULL CHECK (length(hard) BETWEEN 1 AND 300),
    helped       TEXT NOT NULL CHECK (length(helped) BETWEEN 1 AND 300),
    answered_at  TEXT NOT NULL,
    PRIMARY KEY (lesson_id, user_id)
);

-- A mentor's optional note after a confirmed session ("What was hard for them? What worked?"),
-- stored with the session, never public: the teacher reads them in `/insights`.
CREATE TABLE session_debriefs (
    request_id  INTEGER PRIMARY KEY REFERENCES help_requests(id) ON DELETE CASCADE,
    mentor_id   INTEGER NOT NULL,
    text        TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 300),
    created_at  TEXT NOT NULL
);

-- Mentor rounds: a request a mentor took from the live board (shown in the teacher's /queue).
ALTER TABLE help_requests ADD COLUMN taken_from_board INTEGER NOT NULL DEFAULT 0
    CHECK (taken_from_board IN (0, 1));
