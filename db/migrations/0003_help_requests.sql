-- Help requests and their sessions: queued -> offered -> active -> resolved/cancelled/expired.
-- The rules of which step may follow which live in bot/domain/help_states.py; every step is a
-- conditional UPDATE ... WHERE state = ? here, so two clicks racing can't both win.

CREATE TABLE help_requests (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    subject_id         INTEGER NOT NULL REFERENCES subjects(id),
    student_id         INTEGER NOT NULL,
    topic              TEXT NOT NULL DEFAULT '' CHECK (length(topic) <= 200),
    state              TEXT NOT NULL CHECK (state IN ('queued', 'offered', 'active', 'resolved',
                                                      'cancelled', 'expired')),
    mentor_id          INTEGER,              -- the mentor offered or in session (NULL while queued)
    offer_expires_at   TEXT,                 -- while offered
    thread_id          INTEGER,              -- the private session thread
    created_at         TEXT NOT NULL,
    queued_at          TEXT NOT NULL,        -- place in line: kept when an offer falls through
    accepted_at        TEXT,
    last_activity_at   TEXT,                 -- while active: the idle-close timer counts from here
    close_proposed_at  TEXT,                 -- the mentor suggested closing; the student confirms
    closed_at          TEXT,
    closed_by          INTEGER,
    close_reason       TEXT CHECK (close_reason IS NULL OR close_reason IN (
                           'solved', 'cancelled', 'teacher', 'idle', 'no_thread')),
    rating             INTEGER CHECK (rating IS NULL OR rating BETWEEN 1 AND 5)
);
-- One open request per student per class.
CREATE UNIQUE INDEX help_requests_one_open ON help_requests (guild_id, student_id)
    WHERE state IN ('queued', 'offered', 'active');
-- The queue, first come first served per subject.
CREATE INDEX help_requests_queue ON help_requests (guild_id, subject_id, queued_at)
    WHERE state = 'queued';
CREATE INDEX help_requests_open ON help_requests (guild_id, state);
CREATE INDEX help_requests_by_mentor ON help_requests (mentor_id, state);
CREATE INDEX help_requests_by_student ON help_requests (guild_id, student_id, created_at);
CREATE INDEX help_requests_by_thread ON help_requests (thread_id) WHERE thread_id IS NOT NULL;

-- Every offer made, where it was posted, and how it ended. A mentor who passed (or whose offer a
-- teacher moved on) is not offered the same request again.
CREATE TABLE help_offers (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
    mentor_id   INTEGER NOT NULL,
    offered_at  TEXT NOT NULL,
    channel_id  INTEGER,                     -- the DM (or the mentors channel, if DMs are closed)
    message_id  INTEGER,
    outcome     TEXT CHECK (outcome IN ('accepted', 'passed', 'expired', 'withdrawn')),
    decided_at  TEXT
);
CREATE INDEX help_offers_by_request ON help_offers (request_id, mentor_id);
-- At most one undecided offer per request.
CREATE UNIQUE INDEX help_offers_one_pending ON help_offers (request_id) WHERE outcome IS NULL;

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
CREATE INDEX help_events_by_request ON help_events (request_id);
