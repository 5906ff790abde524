"""What people type, made safe to store and show: one rule for names, topics, reasons and notes.

Text is NFKC-normalised (full-width letters and ligatures become plain ones), zero-width, format,
control and "blank letter" characters are removed, and runs of whitespace collapse to one space
(multi-line text keeps its line breaks, at most one blank line in a row). Text with nothing
visible left is refused, so no invisible subject or empty-looking reason can exist.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["TextRefused", "clean_text", "has_visible", "normalise_text"]

# Letters that render as nothing, popular for faking blank names (Hangul fillers, braille blank).
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
# Categories that never show on their own: controls, format characters (zero-width space and
# joiners, bidi overrides, BOM, soft hyphen), unassigned, surrogates.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cn", "Cs"})
_INVISIBLE_CATEGORIES = _DROPPED_CATEGORIES | {"Zs", "Zl", "Zp", "Mn", "Me"}
_BLANK_LINES = re.compile(r"\n{3,}")


class TextRefused(ValueError):
    """Typed text that cannot be used; the message says why, in a person's words."""


def _kept(ch: str) -> bool:
    if ch in "\n\t ":
        return True
    return ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _DROPPED_CATEGORIES


def normalise_text(raw: str | None, *, multiline: bool = False) -> str:
    """NFKC, invisible characters removed, whitespace collapsed and trimmed (never refuses).

    Used to look things up as well as to store them, so a lookup matches what was stored.
    """
    text = unicodedata.normalize("NFKC", raw or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Again after removal: a dropped character may have separated a letter from its accent.
    text = unicodedata.normalize("NFKC", "".join(ch for ch in text if _kept(ch)))
    if not multiline:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def has_visible(text: str) -> bool:
    """Whether at least one character would show on screen."""
    return any(
        ch not in _BLANK_LETTERS and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        for ch in text
    )


def clean_text(
    raw: str | None,
    *,
    what: str,
    max_length: int,
    required: bool = True,
    multiline: bool = False,
) -> str:
    """Normalised text, or :class:`TextRefused` with a friendly reason.

    ``what`` names the field for the message ("A subject name", "The topic"). Empty input is
    refused when ``required``, otherwise it gives ``""``; input that only *looks* empty
    (zero-width spaces, blank letters) is refused either way, since its writer meant something.
    """
    typed = raw or ""
    text = normalise_text(typed, multiline=multiline)
    if not has_visible(text):
        if required:
            raise TextRefused(f"{what} needs some visible text.")
        if typed.strip(" \t\n"):
            raise TextRefused(f"{what} has no visible characters; type some words or leave it out.")
        return ""
    if len(text) > max_length:
        raise TextRefused(f"{what} can be at most {max_length} characters (this has {len(text)}).")
    return text
