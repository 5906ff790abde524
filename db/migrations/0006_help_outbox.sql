-- The help flow's outbox: Discord calls that must follow a state change (send an offer, tidy an
-- old offer, open or close a session thread, tell someone). Each intent is written in the same
-- transaction as the change it follows, performed idempotently by the help desk, then marked done;
-- at start-up whatever is still pending is finished, so a crash between the commit and the call
-- never strands a student or leaves a mentor busy.

CREATE TABLE help_outbox (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES help_requests(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('send_offer', 'tidy_offer', 'queued', 'tell',
                                              'open_session', 'close_session')),
    payload     TEXT NOT NULL DEFAULT '{}',   -- JSON: what the action needs beyond the request
    created_at  TEXT NOT NULL,
    done_at     TEXT,
    outcome     TEXT CHECK (outcome IS NULL OR outcome IN ('done', 'skipped', 'failed'))
);
-- What start-up and the desk look for: pending intents, oldest first.
CREATE INDEX help_outbox_pending ON help_outbox (request_id, id) WHERE done_at IS NULL;
