"""Names in any script have a font that draws them; unknown characters are reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.letters.fonts import faces_for, font_chain, missing_glyphs, subset_faces
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


def test_a_cut_face_draws_the_same_glyphs_without_the_variations(tmp_path: Path) -> None:
    # Noto Sans is a variable font; a PDF draws its default instance, and a letter's font is
    # cut to that: the same outlines and advances, no variation tables to carry or cut again.
    from fontTools.ttLib import TTFont

    cut = TTFont(subset_faces("Zoë AB", tmp_path)[0].path)
    full = TTFont(font_chain()[0].path)
    assert "fvar" in full
    assert not {"fvar", "gvar", "HVAR", "GPOS"} & set(cut.keys())
    for ch in "Zoë AB":
        mine, theirs = cut.getBestCmap()[ord(ch)], full.getBestCmap()[ord(ch)]
        assert cut["hmtx"][mine] == full["hmtx"][theirs], ch
        ours, original = cut["glyf"][mine], full["glyf"][theirs]
        ours.expand(cut["glyf"])
        original.expand(full["glyf"])
        coordinates = ours.getCoordinates(cut["glyf"])[0]
        assert list(coordinates) == list(original.getCoordinates(full["glyf"])[0]), ch
