"""What a letter home says: plain data and wording, no Discord, no SQL, no PDF."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.points import AwardKind

DEFAULT_GREETING = "Dear parents and carers of {student},"
DEFAULT_SIGN_OFF = "With warm regards,"
NOTE_MAX_LENGTH = 1000
TEMPLATE_MAX_LENGTH = 200
# Plain words for parents (the Discord labels carry emoji a printed letter does not need).
AWARD_TITLES = {
    AwardKind.GOLD_STAR: "Gold star",
    AwardKind.TUTOR_OF_THE_WEEK: "Tutor of the week",
    AwardKind.EFFORT: "Award for effort",
    AwardKind.CUSTOM: "Special award",
}


@dataclass(frozen=True)
class MentoringSection:
    """What the child did as a mentor: never whom they helped."""

    sessions_given: int
    average_rating: float | None
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class AwardLine:
    """One award and the teacher's reason for it."""

    title: str
    reason: str
    awarded_on: date


@dataclass(frozen=True)
class GainLine:
    """Progress in one subject, in words (never a raw score)."""

    subject: str
    description: str
    # Percentage points gained (negative when the score fell), for the gradebook's columns.
    points: float | None = None


@dataclass(frozen=True)
class LetterFacts:
    """The facts about one student in a period, before names are known."""

    student_id: int
    mentoring: MentoringSection | None
    awards: tuple[AwardLine, ...]
    gains: tuple[GainLine, ...] = ()

    @property
    def has_praise(self) -> bool:
        """Something worth a letter: sessions given, an award, or a gain."""
        return bool(self.mentoring or self.awards or self.gains)


@dataclass(frozen=True)
class Letter:
    """A complete letter, ready to render."""

    class_name: str
    teacher_name: str
    student_name: str
    period_label: str
    issued_on: date
    greeting: str
    sign_off: str
    facts: LetterFacts
    note: str = ""

    def greeting_line(self) -> str:
        """The greeting with the child's name filled in."""
        return fill_template(self.greeting, self.student_name)

    def paragraphs(self) -> list[tuple[str, list[str]]]:
        """(heading, lines) for each section that has something to say; empty ones are left out."""
        sections: list[tuple[str, list[str]]] = []
        mentoring = self.facts.mentoring
        if mentoring is not None:
            lines = [
                f"{self.student_name} gave {plural(mentoring.sessions_given, 'help session')} "
                "to classmates as a peer mentor."
            ]
            if mentoring.subjects:
                lines.append("Subjects: " + ", ".join(mentoring.subjects) + ".")
            if mentoring.average_rating is not None:
                lines.append(
                    f"Classmates rated the help {mentoring.average_rating:.1f} out of 5 on average."
                )
            sections.append(("Helping classmates", lines))
        if self.facts.awards:
            sections.append(
                (
                    "Awards",
                    [
                        f"{a.title} ({a.awarded_on:%d %B %Y})"
                        + (f": {a.reason}" if a.reason else "")
                        for a in self.facts.awards
                    ],
                )
            )
        if self.facts.gains:
            sections.append(
                ("Progress", [f"{g.subject}: {g.description}" for g in self.facts.gains])
            )
        if self.note.strip():
            sections.append(("A note from " + self.teacher_name, [self.note.strip()]))
        return sections


def fill_template(text: str, student_name: str) -> str:
    """Put the child's name where the teacher wrote ``{student}``; other braces stay as typed."""
    return text.replace("{student}", student_name)


def plural(count: int, noun: str) -> str:
    """'1 help session', '3 help sessions'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def safe_filename(name: str, fallback: str) -> str:
    """A file name made from a display name: letters, digits and - only (any script kept)."""
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in name).strip("-")
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned[:60] or fallback
