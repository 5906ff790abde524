"""The fonts letters are set in, so a name in any script renders.

Noto Sans (Latin, Greek, Cyrillic), Noto Sans Arabic and Noto Sans CJK come from pip packages
(OFL-licensed, see pyproject.toml), so a clean install has them. Emoji have no pip-packaged
font: DejaVu Sans (which has the common emoticons) or Symbola is used when the system has it.

A font is added to a PDF only when the text needs one of its characters: parsing the 16 MB CJK
font for a letter in English would cost more than the whole letter.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace
from pathlib import Path

# fontTools (and fpdf, see bot.letters.pdf) is imported where a font is read: a process that
# writes no letter (the bot at start-up, the command line) never pays for loading it.

SYSTEM_FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path("/Library/Fonts"),
)
# fontTools warns about tables it drops when subsetting (e.g. FontForge's FFTM timestamp).
logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
SYSTEM_FALLBACKS = ("DejaVuSans.ttf", "Symbola.ttf", "Symbola_hint.ttf")


@dataclass(frozen=True)
class FontFace:
    """One font file and the characters it can draw."""

    family: str
    path: Path
    coverage: frozenset[int]


def _pip_font(module: str, pattern: str) -> Path | None:
    try:
        package = __import__(module)
    except ImportError:
        return None
    if package.__file__ is None:
        return None
    root = Path(package.__file__).resolve().parent
    return next(iter(sorted(root.rglob(pattern))), None)


def _system_font(name: str) -> Path | None:
    for folder in SYSTEM_FONT_DIRS:
        if folder.is_dir():
            found = next(iter(sorted(folder.rglob(name))), None)
            if found is not None:
                return found
    return None


def _coverage(path: Path) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    font = TTFont(path, lazy=True, fontNumber=0)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


# OpenType layout (shaping) tables: only the Arabic face keeps them (see subset_faces).
LAYOUT_TABLES = ("GSUB", "GPOS", "GDEF")
# A variable font's variations (Noto Sans is one): a PDF draws the default instance, which is
# the font without them.
VARIATION_TABLES = ("fvar", "gvar", "avar", "cvar", "HVAR", "VVAR", "MVAR", "STAT")


@functools.cache
def font_chain() -> tuple[FontFace, ...]:
    """The main font first, then fallbacks in the order they are tried (cached per process)."""
    candidates = [
        ("noto", _pip_font("fontpkg_noto_sans", "NotoSans[[]*.ttf")),
        ("arabic", _pip_font("fontpkg_noto_sans_arabic", "NotoSansArabic*.ttf")),
        ("cjk", _pip_font("cvttf_NotoSansCJK_Regular", "*.otf")),
    ]
    candidates += [(f"system{i}", _system_font(name)) for i, name in enumerate(SYSTEM_FALLBACKS)]
    faces = [FontFace(family, path, _coverage(path)) for family, path in candidates if path]
    if not faces:
        raise RuntimeError(
            "no font for letters: install ClassMentor with its dependencies (fontpkg-noto-sans)"
        )
    return tuple(faces)


def faces_for(text: str) -> tuple[FontFace, ...]:
    """The main font plus each fallback that draws a character of ``text`` the others can't."""
    chain = font_chain()
    needed = {ord(ch) for ch in text if not ch.isspace()}
    chosen = [chain[0]]
    missing = needed - chain[0].coverage
    for face in chain[1:]:
        if not missing:
            break
        if missing & face.coverage:
            chosen.append(face)
            missing -= face.coverage
    return tuple(chosen)


def missing_glyphs(text: str) -> set[str]:
    """Characters of ``text`` no available font can draw (for tests and warnings)."""
    covered: set[int] = set()
    for face in font_chain():
        covered |= face.coverage
    return {ch for ch in text if not ch.isspace() and ord(ch) not in covered and ord(ch) >= 32}


def subset_faces(text: str, folder: Path) -> tuple[FontFace, ...]:
    """The faces :func:`faces_for` would pick, cut down to the characters of ``text``.

    For a batch of letters: each big font is read once and written to ``folder`` holding only
    the characters the batch uses, so every letter then loads a font of a few kilobytes instead
    of megabytes (the CJK font alone is 16 MB).
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    faces = []
    for face in faces_for(text):
        # Printable ASCII always: fpdf2 needs "-" and " " for line breaking.
        wanted = ({ord(ch) for ch in text} | set(range(32, 127))) & face.coverage
        options = subset.Options()
        # Shaping rules only where letters join (Arabic); the rest render without GSUB/GPOS,
        # and dropping them makes every later load and subset of the font much cheaper.
        options.layout_features = ["*"] if face.family == "arabic" else []
        options.hinting = False
        options.name_IDs = ["*"]
        options.notdef_outline = True
        font = TTFont(face.path, fontNumber=0)
        try:
            # Removed before the cut, unread: fontTools would otherwise decode them in full
            # (Noto Sans's kerning alone is ~0.5 s) only to keep them empty of features, and
            # every letter's PDF would carry (and fpdf2 cut again) glyph variations no page uses.
            unused = (
                VARIATION_TABLES if options.layout_features else LAYOUT_TABLES + VARIATION_TABLES
            )
            for tag in unused:
                if tag in font:
                    del font[tag]
            cutter = subset.Subsetter(options)
            cutter.populate(unicodes=wanted)
            cutter.subset(font)
            target = folder / f"{face.family}{face.path.suffix}"
            font.save(target)
        finally:
            font.close()
        faces.append(replace(face, path=target, coverage=frozenset(wanted & face.coverage)))
    return tuple(faces)
