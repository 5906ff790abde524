-- Read-only projector links for the classroom screen (`/dashboard projector`). Only a hash of
-- the link's secret is kept, so a copy of the database does not open anyone's projector view.

CREATE TABLE projector_links (
    id           INTEGER PRIMARY KEY,
    guild_id     INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    token_hash   TEXT NOT NULL UNIQUE,
    created_by   INTEGER,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT,
    revoked_by   INTEGER
);
-- One live link per class: a new one replaces the old.
CREATE UNIQUE INDEX projector_links_one_live ON projector_links (guild_id) WHERE revoked_at IS NULL;
