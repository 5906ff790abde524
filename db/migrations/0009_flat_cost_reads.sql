-- Maintained point totals, so a leaderboard of any period reads a few rows per student instead of
-- summing the whole ledger (329 ms at 1M ledger rows before this; see docs/benchmarks-speed.md).
--
-- The ledger stays the source of truth: a trigger adds every new ledger row to its totals in the
-- same transaction, and `classmentor check --deep` proves totals equal ledger sums. An entry
-- counts on the class-local day of its award (an undo corrects the award's period) or, for
-- other entries, of its creation; local_day(utc, zone) is a SQL function that Database.open
-- registers (time zones need zoneinfo, which SQL lacks).

CREATE TABLE point_totals (
    guild_id    INTEGER NOT NULL REFERENCES classes(guild_id) ON DELETE CASCADE,
    subject_id  INTEGER NOT NULL,           -- 0: every entry; else only that subject's sessions
    span        TEXT NOT NULL CHECK (span IN ('week', 'month', 'all')),
    period      TEXT NOT NULL,              -- week: local Monday 'YYYY-MM-DD'; month: 'YYYY-MM'; all: ''
    user_id     INTEGER NOT NULL,
    points      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, subject_id, span, period, user_id)
) WITHOUT ROWID;

CREATE TRIGGER ledger_feeds_point_totals AFTER INSERT ON ledger
BEGIN
    INSERT INTO point_totals (guild_id, subject_id, span, period, user_id, points)
    SELECT NEW.guild_id, subjects.id, spans.span,
           CASE spans.span
               WHEN 'week' THEN date(counted.day, 'weekday 0', '-6 days')
               WHEN 'month' THEN substr(counted.day, 1, 7)
               ELSE ''
           END,
           NEW.user_id, NEW.points
    FROM (SELECT local_day(
                     COALESCE((SELECT awarded_at FROM awards WHERE id = NEW.award_id),
                              NEW.created_at),
                     (SELECT timezone FROM classes WHERE guild_id = NEW.guild_id)) AS day
         ) AS counted,
         (SELECT 'week' AS span UNION ALL SELECT 'month' UNION ALL SELECT 'all') AS spans,
         (SELECT 0 AS id UNION ALL SELECT NEW.subject_id WHERE NEW.subject_id IS NOT NULL)
             AS subjects
    WHERE true
    ON CONFLICT (guild_id, subject_id, span, period, user_id)
        DO UPDATE SET points = points + excluded.points;
END;

-- The same totals computed from the ledger itself (slow: for the rebuild and for the check).
CREATE VIEW ledger_point_totals AS
SELECT guild_id, subject_id, span, period, user_id, SUM(points) AS points
FROM (
    SELECT l.guild_id,
           CASE pick.one WHEN 0 THEN 0 ELSE l.subject_id END AS subject_id,
           spans.span,
           CASE spans.span
               WHEN 'week' THEN date(local_day(COALESCE(a.awarded_at, l.created_at), c.timezone),
                                     'weekday 0', '-6 days')
               WHEN 'month' THEN substr(local_day(COALESCE(a.awarded_at, l.created_at),
                                                  c.timezone), 1, 7)
               ELSE ''
           END AS period,
           l.user_id, l.points
    FROM ledger l
    JOIN classes c ON c.guild_id = l.guild_id
    LEFT JOIN awards a ON a.id = l.award_id
    JOIN (SELECT 'week' AS span UNION ALL SELECT 'month' UNION ALL SELECT 'all') AS spans
    JOIN (SELECT 0 AS one UNION ALL SELECT 1) AS pick
        ON pick.one = 0 OR l.subject_id IS NOT NULL
)
GROUP BY guild_id, subject_id, span, period, user_id;

-- Weeks and months are local to the class: a new time zone re-buckets the class's history.
CREATE TRIGGER class_zone_rebuilds_point_totals AFTER UPDATE OF timezone ON classes
    WHEN NEW.timezone IS NOT OLD.timezone
BEGIN
    DELETE FROM point_totals WHERE guild_id = NEW.guild_id;
    INSERT INTO point_totals (guild_id, subject_id, span, period, user_id, points)
    SELECT guild_id, subject_id, span, period, user_id, points
    FROM ledger_point_totals WHERE guild_id = NEW.guild_id;
END;

-- Totals for the history written before this migration.
INSERT INTO point_totals (guild_id, subject_id, span, period, user_id, points)
SELECT guild_id, subject_id, span, period, user_id, points FROM ledger_point_totals;

-- Fair matching whose cost does not grow with history: each per-mentor figure in
-- mentor_candidates() is read from an index bounded by what it counts (open sessions; one seek
-- for the last session's end), not by scanning every request the mentor ever took.
CREATE INDEX help_requests_mentor_open ON help_requests (guild_id, mentor_id)
    WHERE state IN ('offered', 'active');
CREATE INDEX help_requests_mentor_last_end ON help_requests (guild_id, mentor_id, closed_at)
    WHERE accepted_at IS NOT NULL;
