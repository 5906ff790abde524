"""Render letters home as PDF (fpdf2), and a class's letters as one ZIP.

This is blocking, CPU-bound work: call it in an executor, never on the event loop.
"""

from __future__ import annotations

import io
import tempfile
import unicodedata
import zipfile
from collections.abc import Sequence
from pathlib import Path

from bot.letters.content import Letter
from bot.letters.fonts import FontFace, faces_for, subset_faces

_INVISIBLE = {"\u200d", "\ufe0e", "\ufe0f"}  # joiners and emoji/text presentation selectors
# Scripts that need shaping (joined letters, right-to-left): shaping is skipped for the rest,
# where it would only cost time.
_SHAPED_RANGES = (
    (0x0590, 0x08FF),  # Hebrew, Arabic, Syriac, Thaana...
    (0x0900, 0x0DFF),  # Indic scripts
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0xFB1D, 0xFDFF),  # Hebrew and Arabic presentation forms
    (0xFE70, 0xFEFF),
)
INK = (33, 37, 41)
MUTED = (108, 117, 125)
ACCENT = (44, 95, 138)


def clean(text: str) -> str:
    """Drop invisible joiners/selectors and control characters a PDF font cannot draw."""
    return "".join(
        ch
        for ch in text
        if ch not in _INVISIBLE and (ch == "\n" or unicodedata.category(ch) not in {"Cc", "Cf"})
    )


def _needs_shaping(text: str) -> bool:
    return any(lo <= ord(ch) <= hi for ch in text for lo, hi in _SHAPED_RANGES)


def _all_text(letter: Letter) -> str:
    parts = [letter.class_name, letter.teacher_name, letter.student_name, letter.period_label]
    parts += [letter.greeting_line(), letter.sign_off, intro(letter)]
    for heading, lines in letter.paragraphs():
        parts.append(heading)
        parts.extend(lines)
    return "\n".join(parts)


def intro(letter: Letter) -> str:
    """The opening sentence."""
    return (
        f"I am delighted to tell you about {letter.student_name}'s contribution to "
        f"{letter.class_name} {letter.period_label}."
    )


def render_letter(letter: Letter, fonts: Sequence[FontFace] | None = None) -> bytes:
    """One letter as PDF bytes (``fonts``: a batch's pre-cut faces, else chosen for the text)."""
    text = clean(_all_text(letter))
    if fonts is None and not _needs_shaping(text):
        # A letter on its own is a batch of one: its faces cut to its characters first (~half
        # the CPU of embedding the full fonts). Not where text is shaped: cutting a face that
        # keeps its shaping rules costs more than one letter saves (measured).
        with tempfile.TemporaryDirectory(prefix="classmentor-fonts-") as folder:
            return render_letter(letter, subset_faces(text, Path(folder)))
    faces = tuple(fonts) if fonts is not None else faces_for(text)
    if fonts is not None:  # a batch's faces: keep only the fallbacks this letter needs
        missing = {ord(ch) for ch in text if not ch.isspace()} - faces[0].coverage
        kept = [faces[0]]
        for face in faces[1:]:
            if missing & face.coverage:
                kept.append(face)
                missing -= face.coverage
        faces = tuple(kept)
    from fpdf import FPDF  # loaded with the first letter, not with the bot (see .fonts)

    pdf = FPDF(format="A4")
    pdf.set_title(f"Letter home: {clean(letter.student_name)}")
    pdf.set_author(clean(letter.teacher_name))
    pdf.set_creator("ClassMentor")
    pdf.set_margins(22, 20, 22)
    pdf.set_auto_page_break(True, margin=20)
    for face in faces:
        pdf.add_font(face.family, fname=str(face.path))
    pdf.set_fallback_fonts([f.family for f in faces[1:]])
    if _needs_shaping(text):
        pdf.set_text_shaping(True)
    main = faces[0].family
    pdf.add_page()

    def line(content: str, size: float, colour: tuple[int, int, int] = INK, gap: float = 2) -> None:
        pdf.set_font(main, size=size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, size * 0.5, clean(content), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    line(letter.class_name, 10, MUTED, 0)
    line(f"{letter.issued_on:%d %B %Y}", 10, MUTED, 8)
    line(letter.greeting_line(), 12, INK, 4)
    line(intro(letter), 12, INK, 6)
    for heading, lines in letter.paragraphs():
        line(heading, 14, ACCENT, 2)
        for entry in lines:
            line(entry, 12, INK, 1.5)
        pdf.ln(4)
    line(letter.sign_off, 12, INK, 2)
    line(letter.teacher_name, 12, INK, 12)
    line("Sent with ClassMentor, the class's peer-mentoring helper.", 8, MUTED, 0)
    return bytes(pdf.output())


def render_zip(letters: Sequence[tuple[str, Letter]]) -> bytes:
    """Several letters as one ZIP, one PDF per (file name, letter).

    The fonts are cut once for the whole batch (see :func:`subset_faces`): loading a full font
    per letter would cost more than the letters themselves.
    """
    buffer = io.BytesIO()
    batch_text = "\n".join(clean(_all_text(letter)) for _name, letter in letters)
    with (
        tempfile.TemporaryDirectory(prefix="classmentor-fonts-") as folder,
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        faces = subset_faces(batch_text, Path(folder))
        for filename, letter in letters:
            archive.writestr(filename, render_letter(letter, faces))
    return buffer.getvalue()
