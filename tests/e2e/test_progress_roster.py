"""Without the members intent (the default), the class roster comes from ids and the records."""

from __future__ import annotations

from tests.e2e.conftest import Classroom


async def test_import_by_mention_works_and_names_need_the_members_intent(
    classroom: Classroom,
) -> None:
    day = classroom.clock.now().date().isoformat()
    text = (
        "student,subject,assessment,score,out_of,date\n"
        f"<@{classroom.alice.id}>,Math,Q1,8,10,{day}\n"
        f"{classroom.bob.id},Math,Q1,6,10,{day}\n"
    )
    result = await classroom.slash(classroom.teacher, "score import", file=("q.csv", text.encode()))
    messages = [m for m in (result.message, *result.followups) if m is not None]
    assert any("Imported 2 scores" in m.content for m in messages), [m.content for m in messages]

    # Names resolve among students the class's records know (Alice now has a score); a name
    # nobody's records mention can't be looked up without the members intent.
    by_name = text.replace(f"<@{classroom.alice.id}>", "Alice").replace("Q1", "Q2")
    by_name += f"Carol,Math,Q2,5,10,{day}\n"
    refused = await classroom.slash(
        classroom.teacher, "score import", file=("q.csv", by_name.encode())
    )
    shown = " ".join(m.content for m in (refused.message, *refused.followups) if m is not None)
    assert "Row 4, student: no member called 'Carol'" in shown
    assert "Row 2" not in shown

    template = await classroom.slash(classroom.owner, "score template")
    (csv_file,) = {
        a.id: a for m in (template.message, *template.followups) if m for a in m.attachments
    }.values()
    rows = csv_file.data.decode("utf-8-sig").splitlines()
    assert sorted(r.split(",")[0] for r in rows[1:]) == ["Alice", "Bob"]  # who has records
