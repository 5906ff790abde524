"""What lessons look like on Discord: the status card and the celebration post."""

from __future__ import annotations

from datetime import timedelta

import discord

from bot.domain.gains import PublicGains, signed
from bot.domain.goals import Goal, GoalState, amount, progress_line
from bot.domain.insights import Insights
from bot.domain.lessons import Celebration, PairPrize, PrizeNews
from bot.services.goals import GoalProgress
from bot.services.lessons import LessonStatus, MeetingAnswers


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def status_embed(status: LessonStatus) -> discord.Embed:
    """`/lesson status`: the lesson, its mentors, requests so far and sessions confirmed."""
    lesson = status.lesson
    embed = discord.Embed(title=f"📚 Lesson: {lesson.topic}", colour=discord.Colour.blue())
    ends = f"<t:{int(lesson.ends_at.timestamp())}:t>" if lesson.ends_at else "`/lesson end`"
    embed.description = f"Started <t:{int(lesson.started_at.timestamp())}:t> · ends {ends}"
    embed.add_field(
        name="Mentoring", value=" ".join(f"<@{uid}>" for uid in status.mentors) or "nobody"
    )
    embed.add_field(name="Help requests so far", value=str(status.counts.requests))
    embed.add_field(name="Sessions confirmed", value=str(status.counts.sessions))
    return embed


def celebration_text(celebration: Celebration) -> str:
    """The end-of-lesson post: counts and thanks; never who asked for help."""
    counts = celebration.counts
    lines = [f"🎉 **That's a wrap on today's {celebration.lesson.topic} lesson!**"]
    if counts.sessions:
        lines.append(
            f"{_plural(counts.sessions, 'help session')} confirmed, "
            f"{_plural(counts.students_helped, 'classmate')} helped."
        )
    else:
        lines.append("No help sessions were confirmed this time: everyone kept going!")
    if celebration.mentors:
        names = ", ".join(f"<@{uid}>" for uid in celebration.mentors)
        lines.append(f"🙌 Thank you to our lesson mentors: {names}!")
    if celebration.prize_due_at is not None:
        by = int(celebration.prize_due_at.timestamp())
        lines.append(
            f"🏅 The pair prize is decided when today's quiz is in — by <t:{by}:t>. Teachers: "
            "record it with `/score add` or `/score import` (quizzes recorded until then count; "
            "`/lesson prize` decides it now)."
        )
    else:
        lines.append(
            _pair_prize_line(celebration.pair_prizes, celebration.points, celebration.assessment)
        )
        lines.extend(_most_correct_line(celebration.most_correct, celebration.assessment))
    if celebration.gains is not None:
        lines.append(_gains_line(celebration.assessment, celebration.gains))
    if celebration.goal_line:
        lines.append(f"🎯 Class goal: {celebration.goal_line}")
    return "\n".join(lines)


def prize_text(news: PrizeNews) -> str:
    """The post after the celebration, once the quiz is in: the prizes, or how to add a quiz."""
    lines = [f"🏅 **The quiz is in for today's {news.lesson.topic} lesson!**"]
    lines.append(_pair_prize_line(news.pair_prizes, news.points, news.assessment))
    lines.extend(_most_correct_line(news.most_correct, news.assessment))
    if news.gains is not None:
        lines.append(_gains_line(news.assessment, news.gains))
    return "\n".join(lines)


def _gains_line(assessment: str | None, gains: PublicGains) -> str:
    return (
        f"📈 Class average gain on **{assessment}**: "
        f"{signed(gains.average)} points (chart below: gains only)."
    )


def _most_correct_line(groups: list[list[int]], assessment: str | None) -> list[str]:
    if not groups:
        return []
    names = " and ".join(" & ".join(f"<@{uid}>" for uid in group) for group in groups)
    quiz = f" on **{assessment}**" if assessment else ""
    return [f"✅ Most correct answers{quiz}: {names}. Brilliant teamwork!"]


def _pair_prize_line(prizes: list[PairPrize], points: int, assessment: str | None) -> str:
    if prizes:
        pairs = " and ".join(
            f"<@{p.mentor_id}> & <@{p.mentee_id}> ({signed(p.gain)} points)" for p in prizes
        )
        shared = " (shared!)" if len(prizes) > 1 else ""
        return f"🏅 Biggest gains pair prize{shared}: {pairs}. +{points} points each!"
    if assessment is None:
        return (
            "🏅 No quiz scores were recorded in this lesson, so no pair prize yet. Teachers: "
            "record a quiz with `/score add` (or `/score import` a CSV) during or right after "
            "the next lesson and the pair with the biggest gain wins a prize."
        )
    return "🏅 No pair prize this time: keep going, the next lesson's quiz is a fresh start!"


def goal_line(progress: GoalProgress) -> str:
    """``▰▰▰▱▱▱▱▱▱▱ 30% · 3/10 confirmed help sessions → free reading time``."""
    return progress_line(progress.goal, progress.value)


def goal_embed(progress: GoalProgress) -> discord.Embed:
    """`/goal status`: the goal, its progress bar and deadline."""
    goal = progress.goal
    embed = discord.Embed(title="🎯 Class goal", colour=discord.Colour.gold())
    embed.description = goal_line(progress)
    if goal.deadline is not None:
        embed.add_field(name="Deadline", value=f"<t:{int(goal.deadline.timestamp())}:D>")
    embed.set_footer(text="Counting from when the goal was set. Everyone's help counts!")
    return embed


def goal_post_text(progress: GoalProgress) -> str:
    """The goal's one public post: reached (with the reward), or closed with encouragement."""
    goal = progress.goal
    target = f"{amount(goal.metric, goal.target)} {goal.metric.label}"
    if goal.state is GoalState.REACHED:
        return (
            f"🏆 **Class goal reached!** Together you got to {target}. "
            f"Your reward: **{goal.reward}**. Well done, everyone! 🎉"
        )
    return (
        f"⏳ Our class goal ({target}) has closed at {amount(goal.metric, progress.value)}: "
        "not this time, but every bit of help counted. Let's set a new goal and go again! 💪"
    )


def goal_teacher_note(goal: Goal) -> str:
    """The private word to the teacher who set the goal."""
    return (
        f"🎯 Your class reached its goal ({amount(goal.metric, goal.target)} "
        f"{goal.metric.label})! Time to grant the reward: **{goal.reward}**."
    )


def answers_embed(meeting: MeetingAnswers) -> discord.Embed:
    """`/lesson brief-answers`: each mentor's two answers; who hasn't answered yet."""
    lesson = meeting.lesson
    embed = discord.Embed(
        title=f"🧑‍🏫 Mentor meeting: {lesson.topic}", colour=discord.Colour.blue()
    )
    embed.description = (
        "What your lesson mentors found hard, and what helped them (private to teachers)."
    )
    for uid, hard, helped in meeting.answers[:20]:
        embed.add_field(
            name=f"Mentor {str(uid)[-4:]}",
            value=f"<@{uid}>\n**Hard:** {hard}\n**Helped:** {helped}"[:1024],
            inline=False,
        )
    answered = {uid for uid, _, _ in meeting.answers}
    waiting = [uid for uid in meeting.mentors if uid not in answered]
    if waiting:
        embed.add_field(
            name="Not answered yet", value=" ".join(f"<@{uid}>" for uid in waiting), inline=False
        )
    if not meeting.answers:
        embed.description += "\nNo answers yet."
    return embed


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60} min"


def insights_embed(subject: str, period: str, insights: Insights) -> discord.Embed:
    """`/insights`: what the class struggled with; counts and mentors' notes, never who asked."""
    embed = discord.Embed(
        title=f"🔍 Insights: {subject} ({period})", colour=discord.Colour.dark_teal()
    )
    embed.description = f"{_plural(insights.requests, 'help request')}. Private to teachers."
    topics = "\n".join(f"{n} × {topic}" for topic, n in insights.topics) or "no topics given"
    embed.add_field(name="Most asked-about topics", value=topics[:1024], inline=False)
    aspects = "\n".join(f"{n} × {aspect}" for aspect, n in insights.aspects) or "none"
    embed.add_field(name="Requests per aspect", value=aspects[:1024], inline=False)
    wait = _duration(insights.median_wait) if insights.median_wait is not None else "no sessions"
    embed.add_field(name="Median time to a mentor", value=wait)
    embed.add_field(name="Unserved requests", value=str(insights.unserved))
    embed.add_field(name="Low ratings (1–2 of 5)", value=str(insights.low_ratings))
    notes = "\n".join(f"• {note}" for note in insights.debriefs[-8:]) or "no notes yet"
    embed.add_field(name="Mentors' notes after sessions", value=notes[:1024], inline=False)
    return embed
