-- The mentors channel's live queue notice: one message per class and subject, edited in place as
-- the line grows or shrinks, instead of one post per queued request. The line itself is the
-- help_requests rows in state 'queued'; this only remembers which message shows it and what it
-- last said, so a restart edits the same message (refreshed at start-up) rather than posting anew.
CREATE TABLE queue_notices (
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    subject_id  INTEGER NOT NULL REFERENCES subjects(id) ON DELETE CASCADE,
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    waiting     INTEGER NOT NULL CHECK (waiting >= 0),   -- the count the message shows now
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (guild_id, subject_id)
);

-- Interactions already handled by some process. While two processes briefly serve one shard (a
-- rolling restart) Discord delivers each interaction to both; the first write made for an
-- interaction claims its id in the same transaction, and the other process's write finds the
-- claim and is dropped (nothing written twice). Ids are Discord snowflakes, which carry their
-- creation time: claims older than 15 minutes (an interaction's lifetime) are removed as new
-- ones are made, through this primary key.
CREATE TABLE interaction_claims (
    interaction_id  INTEGER PRIMARY KEY
);
