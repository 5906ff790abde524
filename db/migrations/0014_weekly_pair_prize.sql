-- The teacher's toggle to name the week's biggest-gains mentor/mentee pair in the weekly post
-- (off by default). Naming only: the prize's points are a lesson's (migration 0011), so the same
-- progress is never paid twice.
ALTER TABLE classes ADD COLUMN weekly_pair_prize INTEGER NOT NULL DEFAULT 0
    CHECK (weekly_pair_prize IN (0, 1));
