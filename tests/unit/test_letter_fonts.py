"""Names in any script have a font that draws them; unknown characters are reported."""

from __future__ import annotations

import pytest

from bot.letters.fonts import faces_for, font_chain, missing_glyphs
from bot.letters.pdf import clean

# Emoji come from a system font (DejaVu Sans or Symbola): no emoji font is packaged on PyPI.
# The condition is a string so pytest evaluates it when the test is set up, in the process that
# runs it: reading every font's character map at import cost each test process ~0.2 s of
# collection, whether it ran a letter test or not.
NO_EMOJI_FONT = pytest.mark.skipif(
    "bool(missing_glyphs('😀'))",
    reason="no emoji font on this system (apt install fonts-dejavu-core)",
)


@pytest.mark.parametrize(
    "name",
    ["ليلى أحمد", "王小明", pytest.param("Zoë 😀", marks=NO_EMOJI_FONT), "Ólafur Þór", "Дмитрий"],
)
def test_every_character_of_the_name_has_a_glyph(name: str) -> None:
    assert missing_glyphs(clean(name)) == set()


def test_a_latin_letter_loads_only_the_main_font() -> None:
    assert faces_for("Dear parents of Alice") == font_chain()[:1]
    assert {f.family for f in faces_for("王小明")} == {"noto", "cjk"}


def test_invisible_emoji_selectors_are_dropped() -> None:
    assert clean("Zoë ❤\ufe0f\u200d") == "Zoë ❤"
