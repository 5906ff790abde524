"""A student's own page: badges, sessions, awards, and their privacy export and deletion.

Anyone in the class may open their own page (teachers too); nobody can open another's: the page
has no user id in its URL, it is always the logged-in person's. Deletion follows `/privacy
delete`: the same checks (nothing open, something to delete), a confirmation step, badge roles
taken off first, then one transaction.
"""

from __future__ import annotations

import json
import logging

from aiohttp import web

from bot.errors import UserFacingError
from bot.web.access import class_viewer, parts, render
from bot.web.gains import own_gains
from bot.web.members import Viewer
from bot.web.render import local_time

log = logging.getLogger(__name__)


async def _page(
    request: web.Request, viewer: Viewer, template: str, status: int = 200, **context: object
) -> web.Response:
    return await render(
        request,
        template,
        status,
        viewer=viewer,
        section="me",
        class_name=parts(request).members.class_name(viewer.guild_id) or "Your class",
        base_url=f"/class/{viewer.guild_id}",
        **context,
    )


async def my_page(request: web.Request) -> web.Response:
    """What ClassMentor knows about me in this class."""
    viewer = await class_viewer(request, teacher=False)
    dash = parts(request)
    data = await dash.services.dashboard.student(viewer.guild_id, viewer.user_id)
    summary = await dash.services.privacy.summary(viewer.guild_id, viewer.user_id)
    settings, _ = await dash.services.dashboard.settings(viewer.guild_id)
    gains, confidence = await own_gains(dash, viewer)
    return await _page(
        request,
        viewer,
        "student.html",
        data=data,
        gains=gains,
        confidence=confidence,
        summary=summary,
        when=lambda instant: local_time(instant, settings.zone),
    )


async def export(request: web.Request) -> web.StreamResponse:
    """My privacy export, the same document as `/privacy export`."""
    viewer = await class_viewer(request, teacher=False)
    document = await parts(request).services.privacy.export_document(
        viewer.guild_id, viewer.user_id
    )
    data = json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    stamp = f"{parts(request).clock.now():%Y%m%d}"
    return web.Response(
        body=data,
        content_type="application/json",
        headers={
            "Content-Disposition": (
                f'attachment; filename="classmentor-data-{viewer.guild_id}-{stamp}.json"'
            )
        },
    )


async def delete_ask(request: web.Request) -> web.Response:
    """Step 1 (a form with the CSRF token): check the deletion can go ahead, ask to confirm."""
    viewer = await class_viewer(request, teacher=False)
    try:
        await parts(request).services.privacy.erasure_plan(viewer.guild_id, viewer.user_id)
    except UserFacingError as exc:
        return await _page(request, viewer, "delete.html", 409, step="refused", message=exc.message)
    return await _page(request, viewer, "delete.html", step="confirm", message="")


async def delete_confirm(request: web.Request) -> web.Response:
    """Step 2: badge roles off, then everything deleted in one transaction; say what was done."""
    viewer = await class_viewer(request, teacher=False)
    dash = parts(request)
    service = dash.services.privacy
    try:
        plan = await service.erasure_plan(viewer.guild_id, viewer.user_id)
        await dash.members.remove_roles(viewer.guild_id, viewer.user_id, plan.badge_role_ids)
        report = await service.erase(plan, requested_by="student")
    except UserFacingError as exc:
        return await _page(request, viewer, "delete.html", 409, step="refused", message=exc.message)
    return await _page(request, viewer, "delete.html", step="done", message="", report=report)


def routes() -> list[web.RouteDef]:
    """The student's routes."""
    base = "/class/{guild_id}/me"
    return [
        web.get(base, my_page),
        web.get(base + "/export.json", export),
        web.post(base + "/delete", delete_ask),
        web.post(base + "/delete/confirm", delete_confirm),
    ]
