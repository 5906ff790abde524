"""`classmentor demo` runs offline, returns 0 and shows the key moments of a class week.

The script is played in this process with no background pauses and Discord's rate limits in
windows a hundred times shorter: the same steps and the same limits (discord.py still waits for
every bucket reset), without the seconds of waiting that production's pacing spends. The command
keeps production's pacing; tests/unit/test_cli.py checks `python -m bot` offers `demo`.
"""

from __future__ import annotations

import re

import pytest

from bot.demo import run_demo
from bot.pacing import INSTANT
from bot.simulator import RateLimits


async def test_demo_plays_the_week_and_exits_zero(capfd: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(pacing=INSTANT, rate_limits=RateLimits().shortened(100)) == 0
    out, err = capfd.readouterr()
    for moment in (
        "How to read this: ▶ someone acts",
        "★ a key moment (checked) · ⏩ the class clock moves on · ⟳ the bot restarts",
        "class set up with Math and English",
        # the help panel
        "in #general (everyone in the channel sees): 🆘",
        "buttons: [English] [Math]",
        "▶ Eve presses [Math]",
        "Eve sees a form",
        "Eve asked from the help panel: a button, then a short form",
        "briefs delivered (Carol's DMs are closed)",
        "ClassMentor in DM to Alice (only Alice sees): [Your mentor brief",
        "ClassMentor in #mentors (everyone in the channel sees): @Carol, your DMs are closed",
        "mentors read the brief and are available",
        # @everyone in a topic is text
        "(the @everyone in it is plain text: it pinged nobody)",
        "Dan's topic said @everyone, and it pinged nobody",
        # Need the teacher, inside the private thread, labelled with who reads it
        "▶ Bob presses [Need the teacher]",
        "in private thread 'Math help #1' (Dan and Bob, and teachers, see): 🧑‍🏫 @Teacher",
        # a restart with the buttons still working
        "⟳ An update is deployed during the lesson: the bot stops and starts again",
        "after the restart the thread's buttons still worked",
        "Alice passed, Bob accepted; Dan confirmed the help with a 5 and Bob earned credit",
        "the offer to Alice timed out and went to Bob",
        "the idle session closed by itself, without credit",
        # an expiring lesson badge
        "@Eve now has the **English** mentor badge until Mon 09:15",
        "Mentor badges: none right now | Past badges: English",
        "Eve's lesson badge ended by itself",
        "no English mentor free: Dan told privately",
        # /queue, seen by the teacher only
        "▶ Ms Rivera: /queue",
        "↳ only Ms Rivera sees: [Help requests]",
        "took Dan's queued request, and Dan confirmed it",
        # the rating prompt after Wrap up is in the thread, for Dan, not "Carol sees"
        "in private thread 'English help #3' (Dan and Carol, and teachers, see): @Dan, your "
        "mentor thinks you're sorted",
        # points explained, /profile
        "ℹ Points: a help session the student confirms earns the mentor 10, +5 when rated 4 or 5",
        # tied first places both get gold; the next place is third, with bronze
        "🥇 **=1.** @Alice — 30 pts / 🥇 **=1.** @Carol — 30 pts / 🥉 @Bob — 15 pts",
        "▶ Bob: /profile",
        "↳ only Bob sees: [Bob's profile]",
        "ClassMentor in #announcements (everyone in the channel sees): 🎉 @Alice earned an award",
        "tutor of the week suggested from the data and awarded with one click",
        "#announcements (everyone in the channel sees): 📣 **Weekly shout-outs!**",
        "quiz before the sessions imported from a CSV",
        "gains chart saved as ",
        "Dan saw only his own gain, privately",
        "Class average gain this week: +",
        "no public message named a student who asked for help",
        # the lesson (issue 12): goal, mentors, meeting, preference, celebration, insights
        "class goal set: 2 confirmed help sessions",
        "lesson started: Alice and Carol",
        "#help (everyone in the channel sees): 🆘 **Stuck in today's Math (fractions) lesson?**",
        "@Carol, your DMs are closed, so here are the lesson's questions",
        "the mentor meeting's answers reached only the teacher",
        "requests during the lesson went to the lesson mentors first",
        "Alice added a private note after her session",
        "🎉 **That's a wrap on today's Math (fractions) lesson!**",
        "Thank you to our lesson mentors: @Alice, @Carol!",
        "Biggest gains pair prize: @Alice & @Dan (+35 points). +10 points each!",
        "lesson celebration: mentors thanked; the pair prize waits for today's quiz",
        "the quiz came in after the lesson: Alice and Dan won the pair prize",
        "🏆 **Class goal reached!**",
        "the class goal was reached once: one post, pinging nobody",
        "/insights showed the teacher what the class struggled with",
        "Demo finished in",
    ):
        assert moment in out, f"missing {moment!r} in the transcript:\n{out[-3000:]}"
    assert "Traceback" not in err
    # Every answer names who reads it ("only Dan sees", "in private thread … (Dan and Carol … see)"),
    # never the old "Carol sees:" for a message meant for Dan.
    assert not re.search(r"↳ \w+ sees:", out)
    # "Demo finished in 2.1 s: ..." (how long production's pacing takes is for bench/, not a
    # test: this run has none of its pauses).
    assert re.search(r"\nDemo finished in \d+\.\d s: class set up", out)
