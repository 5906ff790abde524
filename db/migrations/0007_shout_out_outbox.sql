-- Shout-outs waiting to be posted. A row is written in the award's own transaction and removed
-- in the transaction that records the posted message, so a stop in between only delays it:
-- whatever is here is posted at start-up. Several waiting shout-outs for one channel go out
-- together in one message (awards.channel_id/message_id then name the shared message).
CREATE TABLE shout_out_outbox (
    award_id    INTEGER PRIMARY KEY REFERENCES awards(id) ON DELETE CASCADE,
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    channel_id  INTEGER NOT NULL,
    queued_at   TEXT NOT NULL
);
CREATE INDEX shout_out_outbox_by_channel ON shout_out_outbox (channel_id, award_id);
CREATE INDEX awards_by_message ON awards (message_id) WHERE message_id IS NOT NULL;

-- Posted shout-out messages to bring up to date (an award in them was undone or replaced),
-- written in the same transaction as the undo; removed once the message says what stands.
CREATE TABLE shout_out_corrections (
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER NOT NULL,
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    queued_at   TEXT NOT NULL,
    PRIMARY KEY (channel_id, message_id)
);
