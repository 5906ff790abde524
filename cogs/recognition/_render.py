"""How awards, leaderboards, the weekly post and the suggestion read in Discord."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import discord

from bot.domain.points import AWARD_LABELS, AwardKind, RankedEntry
from bot.domain.shoutouts import Award
from bot.domain.weeks import Period
from bot.services.recognition import (
    AwardResult,
    Leaderboard,
    ShoutOutLine,
    TutorSuggestion,
    WeeklySummary,
)
from cogs._shared import (
    clip,
)

if TYPE_CHECKING:
    pass


MEDALS = {1: "🥇", 2: "🥈", 3: "🥉"}
PERIOD_NAMES = {
    Period.THIS_WEEK: "This week",
    Period.LAST_WEEK: "Last week",
    Period.MONTH: "This month",
    Period.TERM: "This term",
    Period.ALL_TIME: "All time",
}


def _day(instant: datetime, zone: ZoneInfo) -> str:
    local = instant.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}"


def week_span(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """'Mon 16 Nov – Sun 22 Nov' for a class week (``end`` exclusive; right across DST)."""
    return f"{_day(start, zone)} – {_day(end - timedelta(microseconds=1), zone)}"


def award_title(kind: AwardKind) -> str:
    """An award kind as the class reads it."""
    return AWARD_LABELS[kind]


def shout_out_text(award: Award) -> str:
    """The public shout-out; it mentions (and pings) only the student.

    Mentions typed into the reason are defused, and the teacher is not named.
    """
    if award.kind is AwardKind.TUTOR_OF_THE_WEEK:
        head = f"🏆 <@{award.user_id}> is this week's **tutor of the week**!"
    else:
        head = f"🎉 <@{award.user_id}> earned an award: **{award_title(award.kind)}**!"
    lines = [head]
    if award.reason:
        lines.append(f"> {discord.utils.escape_mentions(award.reason)}")
    lines.append(f"+{award.points} points")
    return clip("\n".join(lines), 2000)


def replaced_shout_out_text(award: Award, replaced_by: Award) -> str:
    """A tutor-of-the-week shout-out after a teacher chose someone else (pings nobody again)."""
    return (
        f"~~🏆 <@{award.user_id}> is this week's **tutor of the week**!~~\n"
        f"Replaced by <@{replaced_by.user_id}> as this week's tutor of the week."
    )


SHOUT_OUT_SEPARATOR = "\n\n"


def shout_out_message(lines: list[ShoutOutLine]) -> str:
    """One posted message carrying several shout-outs, as they stand now.

    A replaced tutor of the week is struck through and names the new one; an award taken back
    is left out. ``""`` when nothing is left (the message is then removed).
    """
    parts = []
    for line in lines:
        if line.standing:
            parts.append(shout_out_text(line.award))
        elif line.replaced_by is not None:
            parts.append(replaced_shout_out_text(line.award, line.replaced_by))
    return clip(SHOUT_OUT_SEPARATOR.join(parts), 2000)


def pack_shout_outs(awards: list[Award], limit: int = 2000) -> list[list[Award]]:
    """Group waiting shout-outs into as few messages as fit Discord's 2000 characters."""
    batches: list[list[Award]] = []
    size = 0
    for award in awards:
        length = len(shout_out_text(award))
        if batches and size + len(SHOUT_OUT_SEPARATOR) + length <= limit:
            batches[-1].append(award)
            size += len(SHOUT_OUT_SEPARATOR) + length
        else:
            batches.append([award])
            size = length
    return batches


def award_reply(result: AwardResult) -> str:
    """The teacher's private confirmation of `/award give`."""
    award = result.award
    lines = [
        f"✅ <@{award.user_id}> received **{award_title(award.kind)}** (+{award.points} points)."
    ]
    if result.replaced is not None:
        lines.append(
            f"This replaces <@{result.replaced.user_id}> as this week's tutor of the week; "
            f"their {result.replaced.points} points were taken back."
        )
    if award.private:
        lines.append("Kept private: no shout-out.")
    elif result.shout_out_channel_id is None:
        lines.append("No announcements channel is set, so there was no shout-out.")
    else:
        lines.append(f"Shout-out on its way to <#{result.shout_out_channel_id}>.")
    return "\n".join(lines)


def _rank_label(entry: RankedEntry, tied: set[int]) -> str:
    # Tied places share the medal and say they are tied ("🥇 **=1.**"); the next place is
    # counted after them (two firsts, then third: 🥉).
    if entry.rank in tied:
        label = f"**={entry.rank}.**"
        return f"{MEDALS[entry.rank]} {label}" if entry.rank in MEDALS else label
    return MEDALS.get(entry.rank, f"**{entry.rank}.**")


def _board_lines(entries: list[RankedEntry], caller_id: int | None = None) -> list[str]:
    ranks = [e.rank for e in entries]
    tied = {r for r in ranks if ranks.count(r) > 1}
    return [
        f"{_rank_label(e, tied)} <@{e.user_id}> — {e.points} pts"
        + (" ← you" if e.user_id == caller_id else "")
        for e in entries
    ]


def period_label(board: Leaderboard) -> str:
    """The leaderboard's period in the class's own calendar."""
    zone = ZoneInfo(board.timezone)
    name = PERIOD_NAMES[board.period]
    if board.period in (Period.THIS_WEEK, Period.LAST_WEEK) and board.start and board.end:
        return f"{name} ({week_span(board.start, board.end, zone)})"
    if board.period is Period.MONTH and board.start:
        return f"{board.start.astimezone(zone):%B %Y}"
    if board.period is Period.TERM and board.start:
        return f"This term (since {_day(board.start, zone)})"
    return name


def leaderboard_embed(board: Leaderboard, caller_id: int) -> discord.Embed:
    """`/leaderboard`: the top 10 (ties share a rank) and the caller's own place."""
    title = f"🏅 {period_label(board)}" + (f" · {board.subject}" if board.subject else "")
    embed = discord.Embed(title=clip(title, 256), colour=discord.Colour.gold())
    lines = _board_lines(board.shown, caller_id)
    if board.own is not None:
        lines += ["⋯", *_board_lines([board.own], caller_id)]
    if not lines:
        lines = ["No points in this period yet. Every confirmed help session counts!"]
    embed.description = clip("\n".join(lines), 4096)
    if board.caller_points <= 0:
        you = "You have no points in this period yet."
    else:
        mine = next(
            e for e in [*board.shown, *([board.own] if board.own else [])] if e.user_id == caller_id
        )
        you = f"You: #{mine.rank} of {board.participants} with {board.caller_points} points."
    notes = [you]
    if board.subject:
        notes.append(
            "A subject board counts confirmed help sessions only (awards have no subject)."
        )
    embed.set_footer(text=" · ".join(notes))
    return embed


def weekly_post_embed(summary: WeeklySummary) -> discord.Embed:
    """The weekly post: the week's top mentors, tutor of the week, shout-outs, class sessions.

    Only gains and praise: never who asked for help.
    """
    zone = ZoneInfo(summary.timezone)
    week = week_span(summary.week_start, summary.week_end, zone)
    embed = discord.Embed(title=f"🌟 This week's shout-outs ({week})", colour=discord.Colour.gold())
    if summary.empty:
        embed.description = (
            "A quiet week so far, and that's fine! Stuck on something? Asking a mentor is how "
            "we all learn. Mentors, thank you for being ready to help. Let's make next week "
            "a great one! 💪"
        )
        return embed
    if summary.tutor is not None:
        tutor = summary.tutor
        text = f"🏆 <@{tutor.user_id}>"
        if tutor.reason:
            text += f"\n> {discord.utils.escape_mentions(tutor.reason)}"
        embed.add_field(name="Tutor of the week", value=clip(text, 1024), inline=False)
    if summary.top:
        embed.add_field(
            name="Top mentors",
            value=clip("\n".join(_board_lines(summary.top)), 1024),
            inline=False,
        )
    if summary.shout_outs:
        lines = []
        for award in summary.shout_outs:
            line = f"<@{award.user_id}> · {award_title(award.kind)}"
            if award.reason:
                line += f": {discord.utils.escape_mentions(award.reason)}"
            lines.append(clip(line, 200))
        embed.add_field(name="Shout-outs", value=clip("\n".join(lines), 1024), inline=False)
    if summary.pair_prizes:
        lines = [
            f"<@{prize.mentor_id}> and <@{prize.mentee_id}>: +{prize.gain:.0f} points of progress"
            for prize in summary.pair_prizes
        ]
        lines.append("Learning together works!")
        embed.add_field(
            name="🤝 Biggest gains pair", value=clip("\n".join(lines), 1024), inline=False
        )
    sessions = summary.confirmed_sessions
    embed.add_field(
        name="Helping each other",
        value=(
            f"Together the class completed **{sessions}** help "
            f"{'session' if sessions == 1 else 'sessions'} this week. Thank you, mentors!"
            if sessions
            else "No help sessions yet this week: mentors are ready when you need them."
        ),
        inline=False,
    )
    return embed


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def suggestion_text(suggestion: TutorSuggestion) -> str:
    """The teacher's day-before notice in the mentors channel (pings nobody)."""
    when = f"<t:{int(suggestion.post_at.timestamp())}:F>"
    if suggestion.already_awarded is not None:
        return (
            f"**For teachers:** you already chose <@{suggestion.already_awarded.user_id}> as "
            f"tutor of the week. The weekly post goes out {when}."
        )
    pick = suggestion.suggestion
    if pick is None:
        return (
            "**For teachers:** no tutor-of-the-week suggestion this week, as there are no confirmed "
            f"help sessions yet. You can still give awards with `/award give` before the weekly "
            f"post goes out {when}."
        )
    sessions = _plural(pick.confirmed_sessions, "confirmed help session")
    mentees = _plural(pick.distinct_mentees, "different classmate")
    rated = ", with good ratings" if suggestion.well_rated else ""
    return (
        f"**For teachers:** suggested tutor of the week: <@{pick.user_id}> ({sessions}, helped "
        f"{mentees}{rated}). Award it with one click, or choose someone else with `/award give`. "
        f"The weekly post goes out {when}."
    )
