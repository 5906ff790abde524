-- Privacy: the audit of deletions (never naming the student), the class's letter template, and the
-- one sanctioned exception to the append-only ledger.

-- One row per privacy deletion or retention run. The student's id is never written here: the row
-- says which class, who asked (the student, a teacher, the retention job, an operator) and what
-- was deleted or anonymised, in counts.
CREATE TABLE privacy_audit (
    id            INTEGER PRIMARY KEY,
    guild_id      INTEGER NOT NULL,          -- no foreign key: the audit outlives a deleted class
    action        TEXT NOT NULL CHECK (action IN ('erase_student', 'retention', 'class_deleted')),
    requested_by  TEXT NOT NULL CHECK (requested_by IN ('student', 'teacher', 'retention',
                                                        'operator')),
    teacher_id    INTEGER,                   -- the teacher who asked; never the student
    started_at    TEXT NOT NULL,
    finished_at   TEXT,                      -- NULL only inside the deleting transaction
    summary       TEXT NOT NULL DEFAULT '{}' -- JSON: {"deleted": {...}, "anonymised": {...}}
);
CREATE INDEX privacy_audit_by_class ON privacy_audit (guild_id, started_at);

-- The greeting and sign-off a teacher sets for the class's letters home.
CREATE TABLE letter_templates (
    guild_id    INTEGER PRIMARY KEY REFERENCES classes(guild_id) ON DELETE CASCADE,
    greeting    TEXT NOT NULL CHECK (length(greeting) BETWEEN 1 AND 200),
    sign_off    TEXT NOT NULL CHECK (length(sign_off) BETWEEN 1 AND 200),
    updated_by  INTEGER,
    updated_at  TEXT NOT NULL
);

-- The ledger stays append-only, except inside a student's privacy deletion: while an
-- 'erase_student' audit row of the same class is open (it is opened and closed in the one
-- deleting transaction), that student's rows may be deleted and a row's created_by cleared.
DROP TRIGGER ledger_append_only_delete;
CREATE TRIGGER ledger_append_only_delete BEFORE DELETE ON ledger
    WHEN (SELECT 1 FROM classes WHERE guild_id = OLD.guild_id) IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM privacy_audit WHERE guild_id = OLD.guild_id
                     AND action = 'erase_student' AND finished_at IS NULL)
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
DROP TRIGGER ledger_append_only_update;
CREATE TRIGGER ledger_append_only_update BEFORE UPDATE ON ledger
    WHEN NOT (
        EXISTS (SELECT 1 FROM privacy_audit WHERE guild_id = OLD.guild_id
                AND action = 'erase_student' AND finished_at IS NULL)
        AND NEW.created_by IS NULL AND NEW.id = OLD.id AND NEW.guild_id = OLD.guild_id
        AND NEW.user_id = OLD.user_id AND NEW.points = OLD.points AND NEW.reason = OLD.reason
        AND NEW.subject_id IS OLD.subject_id AND NEW.session_id IS OLD.session_id
        AND NEW.award_id IS OLD.award_id AND NEW.created_at = OLD.created_at
    )
BEGIN
    SELECT RAISE(ABORT, 'the ledger is append-only');
END;
