"""The staff review queue in the desk console: /staff/review (role `staff`)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from aiohttp import web

from bot.assistant import today_vn
from bot.config import CONTENT_DIR, ROOT
from bot.desk.app import STORE
from bot.desk.auth import current_user, require_role
from bot.desk.cards import vn_time
from bot.desk.console import add_nav_link, add_template_dir, redirect, render
from bot.staff import review
from bot.staff.store import load_content

NLU_DIR = ROOT / "data" / "nlu"
PATH = "/staff/review"


@require_role("staff")
async def review_queue(request: web.Request) -> web.Response:
    """The pending messages, with the topics they can be assigned to."""
    engine = request.app[STORE].engine
    items = await asyncio.to_thread(review.list_pending, engine, 200)
    for item in items:
        item["first_seen"] = vn_time(datetime.fromisoformat(item["created_at"]))
    content = await asyncio.to_thread(load_content, CONTENT_DIR)
    topics = sorted((name, str(t.get("title") or name)) for name, t in content.topics.items())
    return render(request, "review_queue.html", items=items, topics=topics)


def _item_id(request: web.Request) -> int:
    try:
        return int(request.match_info["item_id"])
    except ValueError:
        raise web.HTTPNotFound() from None


def _message(outcome: review.ReviewOutcome, done: str) -> str:
    return " ".join([done, *outcome.warnings])


@require_role("staff")
async def assign(request: web.Request) -> web.Response:
    """Add the message as an example of an existing topic."""
    form = await request.post()
    user = current_user(request)
    try:
        outcome = await asyncio.to_thread(
            review.assign, request.app[STORE].engine, _item_id(request), str(form.get("topic") or ""),
            user.username, CONTENT_DIR, NLU_DIR, today_vn(), str(form.get("text") or "").strip() or None)
    except review.ReviewError as exc:
        raise redirect(PATH, f"Chưa lưu: {exc}") from None
    raise redirect(PATH, _message(outcome, f"Đã thêm câu hỏi vào chủ đề {outcome.item.get('topic')}. "
                                          "Nhớ chạy huấn luyện lại (make train)."))


@require_role("staff")
async def new_topic(request: web.Request) -> web.Response:
    """Start a new FAQ topic from the message."""
    form = await request.post()
    user = current_user(request)
    fields = {k: str(form.get(k) or "").strip() for k in ("topic", "title", "answer", "source")}
    try:
        outcome = await asyncio.to_thread(
            review.create_topic, request.app[STORE].engine, _item_id(request), fields["topic"], fields["title"],
            fields["answer"], fields["source"], user.username, CONTENT_DIR, NLU_DIR, today_vn(),
            str(form.get("text") or "").strip() or None)
    except review.ReviewError as exc:
        raise redirect(PATH, f"Chưa lưu: {exc}") from None
    raise redirect(PATH, _message(outcome, f"Đã tạo chủ đề {fields['topic']}. Nhớ chạy huấn luyện lại (make train)."))


@require_role("staff")
async def dismiss(request: web.Request) -> web.Response:
    """Mark the message as needing no change."""
    user = current_user(request)
    try:
        await asyncio.to_thread(review.dismiss, request.app[STORE].engine, _item_id(request), user.username)
    except review.ReviewError as exc:
        raise redirect(PATH, f"Chưa lưu: {exc}") from None
    raise redirect(PATH, "Đã bỏ qua tin nhắn.")


def setup(app: web.Application) -> None:
    """Mount the review queue pages on the desk console."""
    add_template_dir(app, Path(__file__).parent / "templates" / "desk")
    add_nav_link(app, "Hàng chờ duyệt", PATH, roles=("staff",))
    app.router.add_get(PATH, review_queue)
    app.router.add_post(PATH + "/{item_id}/assign", assign)
    app.router.add_post(PATH + "/{item_id}/new-topic", new_topic)
    app.router.add_post(PATH + "/{item_id}/dismiss", dismiss)
