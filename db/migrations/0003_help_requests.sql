-- Help requests and their sessions: queued -> offered -> active -> resolved/cancelled/expired.

CREATE TABLE help_requests (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    subject_id         INTEGER NOT NULL REFERENCES subjects(id),
    student_id         INTEGER NOT NULL,
    topic              TEXT NOT NULL DEFAULT '' CHECK (length(topic) <= 200),
    state              TEXT NOT NULL CHECK (state IN ('queued', 'offered', 'active', 'resolved',
                                                      'cancelled', 'expired')),
    mentor_id          INTEGER,              -- the mentor offered or in session
    offer_expires_at   TEXT,
    offer_channel_id   INTEGER,              -- where the offer (Accept / Pass) was posted
    offer_message_id   INTEGER,
    thread_id          INTEGER,              -- the private session thread
    created_at         TEXT NOT NULL,
    queued_at          TEXT,
    accepted_at        TEXT,
    last_activity_at   TEXT,
    close_proposed_at  TEXT,                 -- the mentor suggested closing; the student confirms
    closed_at          TEXT,
    close_reason       TEXT,
    rating             INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5)
);
-- One open request per student per class.
CREATE UNIQUE INDEX help_requests_one_open ON help_requests (guild_id, student_id)
    WHERE state IN ('queued', 'offered', 'active');
CREATE INDEX help_requests_open ON help_requests (guild_id, state);
CREATE INDEX help_requests_by_mentor ON help_requests (mentor_id, state);

-- Every offer made, and how it ended: a mentor who passed is not offered the same request again.
CREATE TABLE help_offers (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
    mentor_id   INTEGER NOT NULL,
    offered_at  TEXT NOT NULL,
    outcome     TEXT CHECK (outcome IN ('accepted', 'passed', 'expired', 'withdrawn')),
    decided_at  TEXT
);
CREATE INDEX help_offers_by_request ON help_offers (request_id);

-- The audit trail of state changes, written in the same transaction as the change.
CREATE TABLE help_events (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
    from_state  TEXT,
    to_state    TEXT NOT NULL,
    actor_id    INTEGER,
    at          TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT ''
);
