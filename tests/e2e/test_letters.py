"""Letters home and the gradebook export, as a teacher uses them."""

from __future__ import annotations

import csv
import io
import zipfile

from bot.letters.fonts import missing_glyphs
from bot.simulator import SimUser
from tests.e2e.conftest import Classroom
from tests.e2e.test_help_requests import make_mentor
from tests.e2e.test_privacy import final
from tests.e2e.test_progress import two_quizzes
from tests.e2e.test_recognition import confirmed_session


def pdf_text(data: bytes) -> str:
    # Imported when a test reads a PDF, not when each worker collects this module.
    from pypdf import PdfReader

    # CJK text comes out of pypdf with NUL separators between the characters.
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages).replace("\x00", "")


async def award(room: Classroom, student: SimUser, reason: str) -> None:
    given = await room.slash(
        room.teacher, "award give", student=student, kind="gold_star", reason=reason
    )
    assert "gold star" in given.content.lower(), given.content
    await room.sim.settle()


async def test_a_letter_home_says_what_the_child_did(classroom: Classroom) -> None:
    room = classroom
    await make_mentor(room, room.alice, available=False)
    await confirmed_session(room, room.alice, room.bob, rating=5)
    await confirmed_session(room, room.alice, room.carol, rating=4, subject="English")
    await award(room, room.alice, "Explains fractions with patience")
    await award(room, room.bob, "Asked brave questions")

    refused = await room.slash(room.alice, "letter student", student=room.alice)
    assert "Only a teacher can write letters home" in refused.content

    result = await room.slash(
        room.teacher, "letter student", student=room.alice, note="Thank you for your kindness."
    )
    message = final(result)
    assert message.ephemeral
    (attachment,) = message.attachments
    assert attachment.filename == "Alice.pdf"
    text = pdf_text(attachment.data)
    for fact in (
        "Dear parents and carers of Alice,",
        "Alice gave 2 help sessions",
        "English, Math",
        "4.5 out of 5",
        "Gold star",
        "Explains fractions with patience",
        "Thank you for your kindness.",
        "Ms Rivera",
        "Class 7B",
    ):
        assert fact in text, fact
    for other in ("Bob", "Carol", "Dan", "brave questions"):
        assert other not in text, other

    nothing = await room.slash(room.teacher, "letter student", student=room.dan)
    assert "nothing to praise Dan" in final(nothing).content
    assert not final(nothing).attachments


async def test_class_letters_as_a_zip_with_names_in_any_script(classroom: Classroom) -> None:
    room = classroom
    names = ["ليلى أحمد", "王小明", "Zoë 😀"]
    students = []
    for name in names:
        user = room.sim.create_user(name)
        room.guild.add_member(user)
        students.append(user)
        await award(room, user, "Wonderful effort")
    template = await room.slash(
        room.teacher, "letter template", greeting="Dear family of {student},", sign_off="Cheers,"
    )
    assert "Letter template saved" in template.content

    result = await room.slash(room.teacher, "letter class")
    (attachment,) = final(result).attachments
    archive = zipfile.ZipFile(io.BytesIO(attachment.data))
    assert len(archive.namelist()) == 3  # Alice, Bob, Carol and Dan have nothing to praise yet
    texts = {name: pdf_text(archive.read(name)) for name in archive.namelist()}
    chinese = next(t for t in texts.values() if "王小明" in t)
    assert "Dear family of 王小明," in chinese and "Cheers," in chinese
    emoji = next(t for t in texts.values() if "Zoë" in t)
    assert "Wonderful effort" in emoji
    if not missing_glyphs("😀"):  # emoji need a system font (DejaVu Sans or Symbola)
        assert "Zoë 😀" in emoji
    arabic = next(t for t in texts.values() if "أحمد" in t)
    assert all(letter in arabic for letter in "ليلى")
    for text in texts.values():
        assert sum(name.split()[0] in text for name in ("Zoë", "王小明", "أحمد")) == 1


async def test_the_gradebook_export(classroom: Classroom) -> None:
    room = classroom
    await make_mentor(room, room.alice, available=False)
    await confirmed_session(room, room.alice, room.bob, rating=4)
    await award(room, room.bob, "Great question")
    refused = await room.slash(room.bob, "export")
    assert "Only a teacher" in refused.content
    result = await room.slash(room.teacher, "export", period="all_time")
    (attachment,) = final(result).attachments
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(attachment.data.decode("utf-8-sig")))}
    assert rows["Alice"]["sessions_given"] == "1"
    assert rows["Alice"]["average_rating_as_mentor"] == "4.00"
    assert rows["Bob"]["sessions_received"] == "1" and rows["Bob"]["gold_stars"] == "1"


async def test_letters_and_the_gradebook_carry_each_childs_own_gains(
    classroom: Classroom,
) -> None:
    room = classroom
    await two_quizzes(room)  # Math: Alice 40 -> 80, Bob 70 -> 65, Carol 50 -> 60

    result = await room.slash(room.teacher, "letter student", student=room.alice)
    (attachment,) = final(result).attachments
    text = " ".join(pdf_text(attachment.data).split())
    assert "Progress" in text
    assert "Math: up 40 percentage points from Fractions quiz 1 to Fractions quiz 2" in text
    for never in ("80%", "40%", "Bob", "Carol", "65", "+10", "10 percentage"):
        assert never not in text, never
    # A letter praises: Bob's score fell and he has nothing else yet, so there is no letter.
    nothing = await room.slash(room.teacher, "letter student", student=room.bob)
    assert "nothing to praise Bob" in final(nothing).content

    exported = await room.slash(room.teacher, "export")
    (sheet,) = final(exported).attachments
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(sheet.data.decode("utf-8-sig")))}
    assert "gain: Math" in rows["Alice"]
    assert "gain: English" not in rows["Alice"], "a column per subject with gains"
    assert rows["Alice"]["gain: Math"] == "40.0"
    assert rows["Bob"]["gain: Math"] == "-5.0"
    assert rows["Carol"]["gain: Math"] == "10.0"


async def test_exports_in_a_class_not_set_up(world: Classroom) -> None:
    result = await world.slash(world.owner, "export")
    assert "isn't set up yet" in result.content


async def test_a_letter_for_someone_not_in_the_server(classroom: Classroom) -> None:
    stranger = classroom.sim.create_user("Stranger")
    result = await classroom.slash(classroom.teacher, "letter student", student=stranger)
    assert "isn't a member of this server" in result.content
