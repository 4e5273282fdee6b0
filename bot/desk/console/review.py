"""The staff review queue in the console: /staff/review (role `staff`).

Messages the bot could not answer are shown masked; staff add one to a topic, start a topic from it,
or dismiss it. Edits go to the content folder the process runtime watches (and data/nlu), so the
desk's content follows at once; the model needs `make train`.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.config import CONTENT_DIR
from bot.desk import keys
from bot.desk.auth import require_role, signed_in
from bot.desk.console.pages import add_nav_link, redirect, render
from bot.desk.inputs import form_text, path_id, read_form
from bot.staff import review
from bot.staff.store import load_content
from bot.timeutil import vn_time

PATH = "/staff/review"


def _content_dir(app: web.Application) -> Path:
    """The folder the runtime reads; content fixed in memory (tests) is never written."""
    folder = app[keys.RUNTIME].content.folder
    if folder is None:
        raise redirect(PATH, "Chưa lưu: nội dung của máy chủ này không sửa được.")
    return folder


@require_role("staff")
async def review_queue(request: web.Request) -> web.Response:
    """The pending messages, with the topics they can be assigned to."""
    items = await asyncio.to_thread(review.list_pending, request.app[keys.STORE].engine, 200)
    for item in items:
        item["first_seen"] = vn_time(datetime.fromisoformat(item["created_at"]))
    folder = request.app[keys.RUNTIME].content.folder or CONTENT_DIR
    content = await asyncio.to_thread(load_content, folder)
    topics = sorted((name, str(t.get("title") or name)) for name, t in content.topics.items())
    return render(request, "review_queue.html", items=items, topics=topics)


def _item_id(request: web.Request) -> int:
    return path_id(request, "item_id", "Không tìm thấy tin nhắn này.")


def _message(outcome: review.ReviewOutcome, done: str) -> str:
    return " ".join([done, *outcome.warnings])


@require_role("staff")
async def assign(request: web.Request) -> web.Response:
    """Add the message as an example of an existing topic."""
    form = await read_form(request)
    user = signed_in(request)
    app = request.app
    try:
        outcome = await asyncio.to_thread(
            review.assign, app[keys.STORE].engine, _item_id(request), form_text(form, "topic"),
            user.username, _content_dir(app), app[keys.SETTINGS].nlu_dir, app[keys.RUNTIME].today(),
            form_text(form, "text") or None)
    except review.ReviewError as exc:
        raise redirect(PATH, f"Chưa lưu: {exc}") from None
    raise redirect(PATH, _message(outcome, f"Đã thêm câu hỏi vào chủ đề {outcome.item.get('topic')}. "
                                          "Nhớ chạy huấn luyện lại (make train)."))


@require_role("staff")
async def new_topic(request: web.Request) -> web.Response:
    """Start a new FAQ topic from the message."""
    form = await read_form(request)
    user = signed_in(request)
    app = request.app
    fields = {k: form_text(form, k) for k in ("topic", "title", "answer", "source")}
    try:
        outcome = await asyncio.to_thread(
            review.create_topic, app[keys.STORE].engine, _item_id(request), fields["topic"], fields["title"],
            fields["answer"], fields["source"], user.username, _content_dir(app), app[keys.SETTINGS].nlu_dir,
            app[keys.RUNTIME].today(), form_text(form, "text") or None)
    except review.ReviewError as exc:
        raise redirect(PATH, f"Chưa lưu: {exc}") from None
    raise redirect(PATH, _message(outcome, f"Đã tạo chủ đề {fields['topic']}. Nhớ chạy huấn luyện lại (make train)."))


@require_role("staff")
async def dismiss(request: web.Request) -> web.Response:
    """Mark the message as needing no change."""
    user = signed_in(request)
    try:
        await asyncio.to_thread(review.dismiss, request.app[keys.STORE].engine, _item_id(request), user.username)
    except review.ReviewError as exc:
        raise redirect(PATH, f"Chưa lưu: {exc}") from None
    raise redirect(PATH, "Đã bỏ qua tin nhắn.")


def setup_review(app: web.Application) -> None:
    """Mount the review queue pages and their navigation link."""
    add_nav_link(app, "Hàng chờ duyệt", PATH, roles=("staff",))
    app.router.add_get(PATH, review_queue)
    app.router.add_post(PATH + "/{item_id}/assign", assign)
    app.router.add_post(PATH + "/{item_id}/new-topic", new_topic)
    app.router.add_post(PATH + "/{item_id}/dismiss", dismiss)
