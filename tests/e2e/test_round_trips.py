"""Fewer round trips: what one interaction costs the store, counted through the real bot."""

from __future__ import annotations

from tests.db_jobs import jobs_handed_over
from tests.e2e.conftest import Classroom


async def test_an_interaction_reads_the_class_settings_once_at_most(classroom: Classroom) -> None:
    assert classroom.db is not None
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.alice, kind="gold_star"
    )
    statements: list[str] = []
    await classroom.db.trace(statements.append)
    try:
        board = await classroom.slash(classroom.bob, "leaderboard", period="all_time")
        award = await classroom.slash(
            classroom.teacher, "award give", student=classroom.bob, kind="effort"
        )
    finally:
        await classroom.db.trace(None)
    assert "Alice" in board.content or board.embeds, board.content
    assert award.content or award.embeds
    # Settings were read at set-up; these two interactions find them in memory.
    assert [s for s in statements if "FROM classes" in s] == []
    # The leaderboard never sums the ledger: it reads the maintained totals.
    assert not [s for s in statements if "FROM ledger" in s]
    assert any("FROM point_totals" in s for s in statements)


async def test_a_schedule_change_is_seen_by_the_next_command(classroom: Classroom) -> None:
    changed = await classroom.slash(
        classroom.owner, "setup schedule", timezone="Asia/Tokyo", post_day=0, post_time="08:00"
    )
    assert "Asia/Tokyo" in changed.content or changed.embeds, changed.content
    shown = await classroom.slash(classroom.owner, "setup show")
    text = shown.content + " ".join(str(e) for e in shown.embeds)
    assert "Asia/Tokyo" in text


async def test_a_help_request_is_filed_and_offered_in_few_statements(
    classroom: Classroom,
) -> None:
    assert classroom.db is not None
    await classroom.make_mentor(classroom.alice)
    statements: list[str] = []
    first_request = len(classroom.sim.requests)
    await classroom.db.trace(statements.append)
    try:
        asked = await classroom.slash(classroom.bob, "helpme ask", subject="Math")
    finally:
        await classroom.db.trace(None)
    assert "Alice" in asked.content or "mentor" in asked.content, asked.content
    assert "Accept" in [label for label, _, _ in classroom.offer_to(classroom.alice).buttons()]
    # Filed and offered in one transaction of at most 9 statements between BEGIN and COMMIT
    # (it was 14: the class row, the request read back after each write, a new request's past
    # offers, the subject looked up twice), plus the interaction's claim (one INSERT, so that
    # two processes briefly serving one shard never file it twice).
    # (The claim goes in one script with BEGIN IMMEDIATE: one hop to the database thread.)
    begin = next(n for n, s in enumerate(statements) if s.startswith("BEGIN IMMEDIATE"))
    filed = statements[begin + 1 : statements.index("COMMIT")]
    claims = [s for s in filed if "interaction_claims" in s]
    assert len(claims) == 1 and claims[0].startswith("INSERT"), claims
    # Was 8 (the subject and the student's asking history one query); now 5: the subject, the
    # history, the subject's mentors as matching weighs them and its queue are one read, the
    # request is filed already offered (no UPDATE … RETURNING after the INSERT) and its two
    # audit steps are one INSERT; then the offer and its intent.
    assert len(filed) - len(claims) <= 5, filed
    assert len([s for s in filed if s.startswith(("SELECT", "WITH"))]) == 1, filed
    assert not [s for s in filed if s.startswith("UPDATE")], filed
    assert not [s for s in statements if "FROM classes" in s]
    # After the reply the help desk reads the request with its pending intents in one query
    # (before and after sending the offer), the offer with its request in one, and the queue
    # notice's state: 4 reads (it was 6: the outbox and the request read apart, twice, and the
    # offer apart from its request).
    after = statements[statements.index("COMMIT") + 1 :]
    reads = [s for s in after if s.startswith("SELECT")]
    # Now 2: the request with its intents once (sending the offer adds none, so no read after
    # it), the offer with its request; and no queue notice read (the request never joined the
    # line).
    assert len(reads) <= 2, reads
    assert not [s for s in after if "queue_notices" in s], after
    # Each of its writes (the offer's message, the intent done) is one statement, its own
    # transaction: no BEGIN / COMMIT round trips after the ask's own.
    assert not [s for s in after if s.startswith(("BEGIN", "COMMIT"))], after
    # Two calls to Discord: the student's reply and the offer to the mentor.
    calls = [f"{r.method} {r.path}" for r in classroom.sim.requests[first_request:]]
    assert len(calls) == 2, calls


async def test_a_queued_help_request_is_filed_in_few_statements(classroom: Classroom) -> None:
    assert classroom.db is not None
    await classroom.make_mentor(classroom.alice)
    await classroom.slash(classroom.carol, "helpme ask", subject="Math")  # Alice is busy now
    statements: list[str] = []
    await classroom.db.trace(statements.append)
    try:
        asked = await classroom.slash(classroom.bob, "helpme ask", subject="Math")
    finally:
        await classroom.db.trace(None)
    assert "line" in asked.content or "queue" in asked.content, asked.content
    begin = next(n for n, s in enumerate(statements) if s.startswith("BEGIN IMMEDIATE"))
    filed = statements[begin + 1 : statements.index("COMMIT")]
    claims = [s for s in filed if "interaction_claims" in s]
    # The one read (which includes the subject's queue: no place-in-line query after the
    # INSERT), the request and its audit step: 3 (was 6). No outbox intent: the live queue
    # notice is brought up to date after the reply (and at every start-up).
    assert len(filed) - len(claims) <= 3, filed
    assert len([s for s in filed if s.startswith(("SELECT", "WITH"))]) == 1, filed
    assert not [s for s in statements if "help_outbox" in s], statements
    await classroom.sim.settle()
    (notice,) = classroom.sim.messages(classroom.mentors_channel)
    assert "A student is waiting for a mentor in **Math**" in notice.content, notice.content


async def test_a_private_award_answers_the_teacher_before_the_dm(classroom: Classroom) -> None:
    first_request = len(classroom.sim.requests)
    reply = await classroom.slash(
        classroom.teacher, "award give", student=classroom.bob, kind="gold_star", private=True
    )
    assert "telling them by DM" in reply.content and not reply.followups
    (dm,) = classroom.sim.dms(classroom.bob)
    assert "private award" in dm.content
    # The reply first (one call before the teacher sees it), then open the DM and send it:
    # no "thinking…", no follow-up.
    calls = [f"{r.method} {r.path}" for r in classroom.sim.requests[first_request:]]
    assert len(calls) == 3 and "/callback" in calls[0], calls
    # The DM channel is kept: the next private award to Bob is the reply and the DM only.
    first_request = len(classroom.sim.requests)
    await classroom.slash(
        classroom.teacher, "award give", student=classroom.bob, kind="effort", private=True
    )
    calls = [f"{r.method} {r.path}" for r in classroom.sim.requests[first_request:]]
    assert len(calls) == 2 and "/callback" in calls[0], calls
    assert len(classroom.sim.dms(classroom.bob)) == 2


async def test_a_private_award_to_closed_dms_tells_the_teacher(classroom: Classroom) -> None:
    classroom.bob.dms_open = False
    reply = await classroom.slash(
        classroom.teacher, "award give", student=classroom.bob, kind="gold_star", private=True
    )
    await classroom.sim.settle()
    (note,) = reply.followups
    assert (
        note.ephemeral
        and "DMs are closed" in note.content
        and "tell them yourself" in (note.content)
    )
    assert classroom.sim.dms(classroom.bob) == []


async def test_the_teacher_is_answered_before_the_shout_out_is_posted(
    classroom: Classroom,
) -> None:
    first_request = len(classroom.sim.requests)
    reply = await classroom.slash(
        classroom.teacher, "award give", student=classroom.bob, kind="gold_star"
    )
    assert "Shout-out on its way" in reply.content
    calls = [f"{r.method} {r.path}" for r in classroom.sim.requests[first_request:]]
    # The reply, then the public post: two calls, in that order.
    assert len(calls) == 2 and "/callback" in calls[0], calls
    assert calls[1].endswith(f"/channels/{classroom.announcements.id}/messages"), calls


async def test_an_award_in_a_class_without_a_goal_checks_no_goal(classroom: Classroom) -> None:
    assert classroom.db is not None
    # The first award learns that the class has no open goal.
    await classroom.slash(classroom.teacher, "award give", student=classroom.alice, kind="effort")
    statements: list[str] = []
    await classroom.db.trace(statements.append)
    try:
        await classroom.slash(
            classroom.teacher, "award give", student=classroom.bob, kind="gold_star", private=True
        )
    finally:
        await classroom.db.trace(None)
    # The award's one transaction, and no goal check after the reply (it was a transaction of
    # its own: BEGIN, the goals query, COMMIT).
    assert not [s for s in statements if "FROM goals" in s], statements
    assert statements.count("COMMIT") == 1, statements


async def test_a_goal_set_after_awards_is_still_reached_by_the_next_star(
    classroom: Classroom,
) -> None:
    await classroom.slash(classroom.teacher, "award give", student=classroom.alice, kind="effort")
    set_ = await classroom.slash(
        classroom.teacher, "goal set", metric="stars", target=1, reward="a quiz-free Friday"
    )
    assert "Goal set" in set_.content, set_.content
    await classroom.slash(classroom.teacher, "award give", student=classroom.bob, kind="gold_star")
    await classroom.sim.settle()
    posts = [
        m.content
        for m in classroom.sim.messages(classroom.announcements)
        if "Class goal reached" in m.content
    ]
    assert len(posts) == 1 and "a quiz-free Friday" in posts[0], posts


async def test_a_public_award_is_written_in_one_hop_naming_the_right_award(
    classroom: Classroom,
) -> None:
    """BEGIN, the claim, the award, its shout-out and its ledger entry go to the database
    thread together with the COMMIT (the write lock is held for one hop), and the rows written
    before the award's id was known on this side still name it."""
    db = classroom.db
    assert db is not None and db._conn is not None
    await classroom.slash(classroom.teacher, "award give", student=classroom.alice, kind="effort")
    await classroom.sim.settle()
    statements: list[str] = []
    hop_of: list[int] = []  # the jobs handed to the database thread when each statement ran

    with jobs_handed_over(db) as jobs:

        def traced(statement: str) -> None:
            statements.append(statement)
            hop_of.append(len(jobs))

        await db.trace(traced)
        try:
            reply = await classroom.slash(
                classroom.teacher, "award give", student=classroom.bob, kind="gold_star"
            )
        finally:
            await db.trace(None)
    assert "Shout-out on its way" in reply.content, reply.content
    begin = next(n for n, s in enumerate(statements) if s.startswith("BEGIN IMMEDIATE"))
    written = statements[begin + 1 : statements.index("COMMIT")]
    assert [s.split(" (")[0] for s in written if s.startswith("INSERT INTO")][:4] == [
        "INSERT INTO interaction_claims",
        "INSERT INTO awards",
        "INSERT INTO shout_out_outbox",
        "INSERT INTO ledger",
    ], written
    assert not [s for s in written if s.startswith("SELECT")], written
    assert hop_of[begin] >= 1, "no job was counted"
    assert hop_of[begin] == hop_of[statements.index("COMMIT")], list(
        zip(hop_of, statements, strict=True)
    )
    await classroom.sim.settle()
    # Each shout-out names its student, and each ledger entry the award it counts for.
    posted = " ".join(m.content for m in classroom.sim.messages(classroom.announcements))
    assert f"<@{classroom.alice.id}>" in posted and f"<@{classroom.bob.id}>" in posted, posted
    rows = await db.fetch_all(
        "SELECT a.user_id, l.user_id, l.points, a.points, a.message_id FROM ledger l"
        " JOIN awards a ON a.id = l.award_id ORDER BY a.id"
    )
    assert [(r[0], r[1]) for r in rows] == [
        (classroom.alice.id, classroom.alice.id),
        (classroom.bob.id, classroom.bob.id),
    ]
    assert all(r[2] == r[3] and r[4] is not None for r in rows), [tuple(r) for r in rows]
