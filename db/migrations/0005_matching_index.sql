-- A covering index for fair matching: the per-mentor counts in mentor_candidates() (active,
-- this week's sessions, last session end, helped this student recently) read only this index
-- instead of every past request row (2.4 ms -> 0.9 ms with 5,000 past requests; see docs/).

CREATE INDEX help_requests_mentor_history
    ON help_requests (guild_id, mentor_id, accepted_at, state, closed_at, student_id);
