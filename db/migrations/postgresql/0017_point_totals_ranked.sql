-- PostgreSQL twin of db/migrations/0017_point_totals_ranked.sql: a period's totals in board
-- order, so a leaderboard's top lines are an index walk with a limit, not a sort of the class.
CREATE INDEX point_totals_ranked
    ON point_totals (guild_id, subject_id, span, period, points DESC, user_id);
