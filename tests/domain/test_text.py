"""Names, topics, reasons and notes: normalised, and refused when nothing visible is left."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.classroom import clean_subject_name
from bot.domain.mentoring import clean_brief
from bot.domain.shoutouts import clean_reason
from bot.domain.text import TextRefused, clean_text, has_visible, normalise_text

INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u202e\u3164\u2800\x00\x07\x1b\u115f"
invisible_text = st.text(alphabet=INVISIBLE + " \t\n\u00a0\u3000", max_size=40)


@given(st.text(max_size=300))
def test_normalising_is_idempotent(raw: str) -> None:
    once = normalise_text(raw)
    assert normalise_text(once) == once
    multi = normalise_text(raw, multiline=True)
    assert normalise_text(multi, multiline=True) == multi


@given(st.text(max_size=300))
def test_normalised_text_is_nfkc_trimmed_collapsed_and_free_of_controls(raw: str) -> None:
    text = normalise_text(raw)
    assert text == text.strip()
    assert "  " not in text and "\n" not in text and "\t" not in text
    assert unicodedata.is_normalized("NFKC", text)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


@given(invisible_text)
def test_text_made_only_of_invisible_characters_is_refused(raw: str) -> None:
    with pytest.raises(TextRefused, match="visible"):
        clean_text(raw, what="A name", max_length=40)
    with pytest.raises(ValueError):
        clean_subject_name(raw)


@given(invisible_text.filter(lambda s: s.strip(" \t\n") != ""))
def test_optional_text_that_only_looks_empty_is_refused_too(raw: str) -> None:
    with pytest.raises(TextRefused, match="no visible characters"):
        clean_reason(raw)


@given(st.text(max_size=60), invisible_text, st.text(max_size=60))
def test_invisible_characters_inside_text_do_not_change_it(
    left: str, hidden: str, right: str
) -> None:
    plain = normalise_text(left + " " + right)
    assert normalise_text(left + " " + hidden + " " + right) == plain


@given(st.text(min_size=1, max_size=100))
def test_accepted_text_always_shows_something_and_respects_the_limit(raw: str) -> None:
    try:
        text = clean_text(raw, what="A name", max_length=40)
    except TextRefused:
        return
    assert has_visible(text) and 0 < len(text) <= 40


def test_examples_a_teacher_would_type() -> None:
    assert clean_subject_name("  Ｍａｔｈｓ\u200b  ") == "Maths"  # full-width, zero-width space
    assert clean_reason("Great\u00a0  work\t\ttoday ") == "Great work today"
    assert clean_reason(None) == "" and clean_reason("   ") == ""
    assert clean_brief("Hello\r\n\r\n\r\n\r\nBe kind.\u200b\n") == "Hello\n\nBe kind."
    assert clean_brief("") is None
    with pytest.raises(TextRefused, match="at most 40"):
        clean_text("x" * 41, what="A name", max_length=40)
