-- Classes (one per Discord guild), their subjects, and the bot's own bookkeeping.

CREATE TABLE classes (
    guild_id                 INTEGER PRIMARY KEY,
    name                     TEXT NOT NULL DEFAULT '',
    teacher_role_id          INTEGER,
    announcements_channel_id INTEGER,
    help_channel_id          INTEGER,
    mentors_channel_id       INTEGER,
    timezone                 TEXT NOT NULL,
    post_weekday             INTEGER NOT NULL CHECK (post_weekday BETWEEN 0 AND 6),
    post_time                TEXT NOT NULL CHECK (length(post_time) = 5),
    mentor_brief             TEXT CHECK (mentor_brief IS NULL OR length(mentor_brief) <= 1800),
    configured_at            TEXT,           -- NULL until /setup has been completed
    configured_by            INTEGER,
    left_at                  TEXT,           -- the bot was removed from the guild (data is kept)
    created_at               TEXT NOT NULL
);

CREATE TABLE subjects (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    name        TEXT NOT NULL COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 40),
    role_id     INTEGER,                     -- the "<Subject> Mentor" badge role, made on first grant
    created_at  TEXT NOT NULL,
    removed_at  TEXT,                        -- removed subjects keep their history
    UNIQUE (guild_id, name)
);

CREATE TABLE bot_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
