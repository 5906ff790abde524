-- Awards, the append-only points ledger, and the weekly posts already sent.

CREATE TABLE awards (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('gold_star', 'tutor_of_the_week', 'effort', 'custom')),
    reason       TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    points       INTEGER NOT NULL,
    private      INTEGER NOT NULL DEFAULT 0,
    week_key     TEXT NOT NULL,              -- the class-local Monday of the award's week
    awarded_by   INTEGER NOT NULL,
    awarded_at   TEXT NOT NULL,
    undone_at    TEXT,
    undone_by    INTEGER,
    channel_id   INTEGER,                    -- the shout-out message, if one was posted
    message_id   INTEGER
);
-- One tutor of the week per class per week (a second replaces the first).
CREATE UNIQUE INDEX awards_one_tutor_per_week ON awards (guild_id, week_key)
    WHERE kind = 'tutor_of_the_week' AND undone_at IS NULL;
CREATE INDEX awards_by_class_time ON awards (guild_id, awarded_at);
CREATE INDEX awards_by_student ON awards (guild_id, user_id, awarded_at);

-- Append-only: totals are always sums over this table; corrections are new negative rows.
CREATE TABLE ledger (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    points      INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('session', 'award', 'goal', 'undo')),
    -- a session entry names its session; award and undo entries name their award
    subject_id  INTEGER REFERENCES subjects(id),
    session_id  INTEGER REFERENCES help_requests(id),
    award_id    INTEGER REFERENCES awards(id),
    created_by  INTEGER,
    created_at  TEXT NOT NULL,
    CHECK (reason <> 'session' OR session_id IS NOT NULL),
    CHECK (reason NOT IN ('award', 'undo') OR award_id IS NOT NULL)
);
-- A confirmed session earns points exactly once; an award is credited once and undone once.
CREATE UNIQUE INDEX ledger_one_per_session ON ledger (session_id) WHERE reason = 'session';
CREATE UNIQUE INDEX ledger_one_per_award ON ledger (award_id) WHERE reason = 'award';
CREATE UNIQUE INDEX ledger_one_undo_per_award ON ledger (award_id) WHERE reason = 'undo';
CREATE INDEX ledger_by_class_time ON ledger (guild_id, created_at);
CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
    WHEN (SELECT 1 FROM classes WHERE guild_id = OLD.guild_id) IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;

-- A weekly post goes out once per class per week; the row is written before the post is sent.
CREATE TABLE weekly_posts (
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    week_key    TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('leaderboard', 'suggestion')),
    claimed_at  TEXT NOT NULL,
    sent_at     TEXT,
    channel_id  INTEGER,
    message_id  INTEGER,
    awarded_at  TEXT,                        -- suggestion: the one-click award was used
    suggested_user_id INTEGER,
    PRIMARY KEY (guild_id, week_key, kind)
);
