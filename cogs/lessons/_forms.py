"""The lesson's private forms: the mentor meeting's two questions, and the debrief after a session.

Both are a persistent button (it works after a restart) opening a short form; the answers go to
the teacher only, never to classmates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

from bot.services.lessons import ANSWER_MAX
from cogs._components import PersistentForm, PersistentItem, view_of
from cogs._shared import bot_of

if TYPE_CHECKING:
    from bot.domain.lessons import Lesson

Button = discord.ui.Button[discord.ui.View]


def meeting_questions(lesson: Lesson) -> tuple[str, str]:
    """The mentor meeting's two questions, about the lesson's aspect (or its subject)."""
    return (
        f"What did you find hard about {lesson.aspect or lesson.subject_name} when you learned it?",
        "What helped you get it?",
    )


def meeting_text(lesson: Lesson, guild_name: str) -> str:
    """The invitation each lesson mentor receives when the lesson starts."""
    hard, helped = meeting_questions(lesson)
    return (
        f"🧑‍🏫 You're a mentor in today's **{lesson.topic}** lesson in **{guild_name}**. "
        "Before you start, two quick questions from your teacher (only they see your answers):\n"
        f"1. **{hard}**\n2. **{helped}**\nYour answers help the class, and help you explain it."
    )


def meeting_view(lesson_id: int) -> discord.ui.View:
    """The button under the invitation."""
    return view_of(MeetingButton(lesson_id))


class MeetingButton(PersistentItem[Button], template=r"lesson:meet:(?P<lesson>\d+)"):
    """Opens the mentor meeting form."""

    def __init__(self, lesson_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Answer the two questions",
                style=discord.ButtonStyle.primary,
                custom_id=f"lesson:meet:{lesson_id}",
            )
        )
        self.lesson_id = lesson_id

    async def run(self, interaction: discord.Interaction) -> None:
        """Open the form (the answers are checked and stored when it is sent)."""
        mentors = await bot_of(interaction).services.lessons.lesson_mentor_ids(self.lesson_id)
        if interaction.user.id not in mentors:
            await interaction.response.send_message(
                "These questions are for that lesson's mentors.", ephemeral=True
            )
            return
        await interaction.response.send_modal(MeetingModal(self.lesson_id))


class MeetingModal(PersistentForm, title="Mentor meeting"):
    """The two questions (labels are short; the full questions are in the message)."""

    hard: discord.ui.TextInput[MeetingModal] = discord.ui.TextInput(
        label="What was hard when you learned it?",
        style=discord.TextStyle.paragraph,
        max_length=ANSWER_MAX,
    )
    helped: discord.ui.TextInput[MeetingModal] = discord.ui.TextInput(
        label="What helped you get it?",
        style=discord.TextStyle.paragraph,
        max_length=ANSWER_MAX,
    )

    def __init__(self, lesson_id: int) -> None:
        super().__init__(timeout=900, custom_id=f"lesson:meetform:{lesson_id}")
        self.lesson_id = lesson_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the answers for the teacher."""
        lesson = await bot_of(interaction).services.lessons.record_answers(
            self.lesson_id, interaction.user.id, self.hard.value, self.helped.value
        )
        await interaction.response.send_message(
            f"Thanks! Your answers went to your teacher, ready for the **{lesson.topic}** "
            "lesson. Nobody else sees them.",
            ephemeral=True,
        )


def debrief_text(subject_name: str) -> str:
    """The optional question after a confirmed session."""
    return (
        f"🙏 Thanks for helping with **{subject_name}**! Optional, for your teacher only: "
        "**What was hard for them? What worked?** (a sentence or two, at most "
        f"{ANSWER_MAX} characters)"
    )


def debrief_view(request_id: int) -> discord.ui.View:
    """The button under the debrief question."""
    return view_of(DebriefButton(request_id))


class DebriefButton(PersistentItem[Button], template=r"lesson:debrief:(?P<request>\d+)"):
    """Opens the debrief form for one confirmed session."""

    def __init__(self, request_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Add a note",
                style=discord.ButtonStyle.secondary,
                custom_id=f"lesson:debrief:{request_id}",
            )
        )
        self.request_id = request_id

    async def run(self, interaction: discord.Interaction) -> None:
        """Open the form."""
        await interaction.response.send_modal(DebriefModal(self.request_id))


class DebriefModal(PersistentForm, title="After the session"):
    """One optional question, at most 300 characters."""

    note: discord.ui.TextInput[DebriefModal] = discord.ui.TextInput(
        label="What was hard for them? What worked?",
        style=discord.TextStyle.paragraph,
        max_length=ANSWER_MAX,
    )

    def __init__(self, request_id: int) -> None:
        super().__init__(timeout=900, custom_id=f"lesson:debriefform:{request_id}")
        self.request_id = request_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Store the note with the session."""
        await bot_of(interaction).services.lessons.record_debrief(
            self.request_id, interaction.user.id, self.note.value
        )
        await interaction.response.send_message(
            "Saved for your teacher only. Thank you for helping! 🌟", ephemeral=True
        )


PERSISTENT_ITEMS = (MeetingButton, DebriefButton)
