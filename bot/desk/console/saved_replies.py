"""The saved-replies page (`/saved-replies`): staff and supervisors add, edit and hide the ready answers.

Every change is stored with who made it; hiding keeps the row, so a seeded reply never comes back by
itself. Counselors see the replies on the case page, filled for the case, and insert them with one tap.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.desk import keys
from bot.desk.auth import current_user, require_role
from bot.desk.console.pages import add_nav_link, redirect, render
from bot.desk.inputs import parse_id, path_id, read_form
from bot.desk.saved_replies import MAX_BODY, MAX_TITLE, PLACEHOLDERS, all_replies, deactivate, save

PAGE = "/saved-replies"


def _by(request: web.Request) -> str:
    user = current_user(request)
    assert user is not None
    return f"{user.display_name} <{user.actor_key}>"


@require_role("staff", "supervisor")
async def saved_replies_page(request: web.Request) -> web.Response:
    """GET /saved-replies: every saved reply (hidden ones too), with its edit form and the placeholders."""
    def run() -> web.Response:
        replies = all_replies(request.app[keys.STORE].engine, request.app[keys.CLOCK].now(), active_only=False)
        return render(request, "saved_replies.html", replies=replies, placeholders=PLACEHOLDERS,
                      max_title=MAX_TITLE, max_body=MAX_BODY)
    return await asyncio.to_thread(run)


@require_role("staff", "supervisor")
async def saved_reply_save(request: web.Request) -> web.StreamResponse:
    """POST /saved-replies (new) or /saved-replies/{id} (change): title, body, position."""
    reply_id = path_id(request, "reply_id", "Không tìm thấy câu trả lời mẫu này.") \
        if "reply_id" in request.match_info else None
    form = await read_form(request)
    position = parse_id(str(form.get("position") or "0"), minimum=0) or 0
    refused = await asyncio.to_thread(save, request.app[keys.STORE].engine, reply_id, str(form.get("title") or ""),
                                      str(form.get("body") or ""), min(position, 999), _by(request),
                                      request.app[keys.CLOCK].now())
    raise redirect(PAGE, refused or "Đã lưu câu trả lời mẫu.")


@require_role("staff", "supervisor")
async def saved_reply_hide(request: web.Request) -> web.StreamResponse:
    """POST /saved-replies/{id}/hide: no longer offered on the case page."""
    reply_id = path_id(request, "reply_id", "Không tìm thấy câu trả lời mẫu này.")
    done = await asyncio.to_thread(deactivate, request.app[keys.STORE].engine, reply_id, _by(request),
                                   request.app[keys.CLOCK].now())
    raise redirect(PAGE, "Đã ẩn câu trả lời mẫu." if done else "Không tìm thấy câu trả lời mẫu này.")


def setup_saved_replies(app: web.Application) -> None:
    """Mount the page, its actions and its navigation link (staff and supervisors)."""
    app.router.add_get(PAGE, saved_replies_page)
    app.router.add_post(PAGE, saved_reply_save)
    app.router.add_post(PAGE + "/{reply_id:\\d+}", saved_reply_save)
    app.router.add_post(PAGE + "/{reply_id:\\d+}/hide", saved_reply_hide)
    add_nav_link(app, "Câu trả lời mẫu", PAGE, ("staff", "supervisor"))
