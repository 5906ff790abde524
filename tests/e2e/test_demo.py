"""`classmentor demo` runs offline, exits 0 and shows the key moments of a class week."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_demo_plays_the_week_and_exits_zero(tmp_path: Path) -> None:
    env = {**os.environ, "CLASSMENTOR_CONFIG": str(tmp_path / "absent.toml")}
    env.pop("DISCORD_TOKEN", None)
    (tmp_path / "absent.toml").write_text("")  # a token-less, default config
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for moment in (
        "class set up with Math and English",
        "briefs delivered (Carol's DMs are closed)",
        "DM to Alice from ClassMentor: [Your mentor brief",
        "#mentors from ClassMentor: @Carol, your DMs are closed",
        "mentors read the brief and are available",
        "Alice passed, Bob accepted; Dan confirmed the help with a 5 and Bob earned credit",
        "the offer to Alice timed out and went to Bob",
        "the idle session closed by itself, without credit",
        "no English mentor free: Dan told privately",
        "took Dan's queued request, and Dan confirmed it",
        "#announcements from ClassMentor: 🎉 @Alice earned an award",
        "tutor of the week suggested from the data and awarded with one click",
        "quiz before the sessions imported from a CSV",
        "gains chart saved as ",
        "Dan saw only his own gain, privately",
        "#announcements from ClassMentor: 📣 **Weekly shout-outs!**",
        "Class average gain this week: +",
        "no public message named a student who asked for help",
        "Demo finished in",
    ):
        assert moment in out, f"missing {moment!r} in the transcript:\n{out[-3000:]}"
    assert "Traceback" not in done.stderr
    # "Demo finished in 2.1 s": the brief asks for well under 30 seconds.
    seconds = float(out.split("Demo finished in ")[1].split(" s")[0])
    assert seconds < 30
