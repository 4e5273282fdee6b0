"""The broadcast pages (`/broadcasts`): the list, the form with its preview, one broadcast with its live progress,
approval by a second account, cancellation, and the status JSON the progress bar reads.

Staff and supervisors only (counselors get 403); every POST carries the session's CSRF token (require_role).
Nothing here decides who may approve or what may be sent: `bot.outreach.broadcasts` does, and its Vietnamese
refusals are shown as they are. The creator of a broadcast sees why she cannot approve it.
"""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine

from bot.content.library import Library
from bot.desk import keys
from bot.desk.auth import current_user, require_role
from bot.desk.cards import channel_label
from bot.desk.console import broadcast_texts as texts
from bot.desk.console.broadcast_forms import (
    CHANNEL_CHOICES,
    TOPIC_LABELS,
    ChannelPreview,
    FormValues,
    local_input,
    previews,
    progress,
    province_names,
    quiet_choices,
    quiet_label,
    status_json,
)
from bot.desk.console.pages import add_nav_link, redirect, render
from bot.desk.inputs import path_id, read_form
from bot.outreach import broadcasts, polls
from bot.outreach.broadcasts import BroadcastError, BroadcastView
from bot.outreach.models import APPROVED, DRAFT, SENDING, TOPIC_EVENTS
from bot.outreach.reminders import event_key, reminder_window
from bot.outreach.views import SKIP_LABELS, STATE_LABELS
from bot.timeutil import VN_TZ, vn_time

PAGE = "/broadcasts"
ROLES = ("staff", "supervisor")
NOT_FOUND = "Không tìm thấy tin này."
SELF_APPROVAL = ("Bạn là người soạn tin này nên không thể tự duyệt: cần một cán bộ khác (tài khoản cán bộ hoặc "
                 "giám sát) đọc lại và duyệt.")
NO_EVENT = "Không tìm thấy sự kiện này trong các sự kiện sắp tới (content/events.yml)."
CONFIRM_CANCEL = "Hãy đánh dấu «Tôi chắc chắn muốn hủy tin này» rồi bấm «Hủy tin»."
POLL_MIN_GROUP = 10


def _username(request: web.Request) -> str:
    user = current_user(request)
    assert user is not None
    return user.username


def _now(request: web.Request) -> datetime:
    return request.app[keys.CLOCK].now()


@require_role(*ROLES)
async def list_page(request: web.Request) -> web.Response:
    """GET /broadcasts: newest first, with state, who created and approved it, start, audience and progress."""
    def run() -> web.Response:
        engine = request.app[keys.STORE].engine
        rows = []
        for b in broadcasts.list_broadcasts(engine):
            total = b.recipients
            if total is None and b.state in (DRAFT, APPROVED):  # not started: who it would reach now
                total = broadcasts.audience_count(engine, topic=b.topic, province=b.province, channel=b.channel,
                                                  now=_now(request))
            rows.append({"id": b.id, "state": b.state, "state_label": STATE_LABELS.get(b.state, b.state),
                         "created_by": b.created_by, "approved_by": b.approved_by, "start_at": b.start_at,
                         "audience": total, "sent": b.sent, "total": total, "excerpt": b.excerpt})
        return render(request, "broadcast_list.html", rows=rows)
    return await asyncio.to_thread(run)


def _templates(library: Library, today: date) -> tuple[list[texts.Filled], list[texts.BroadcastTemplate]]:
    """The plain templates filled for today, and the event templates."""
    found = texts.load_templates(texts.TEMPLATES_FILE)
    values = texts.campaign_values(library, today)
    return [texts.fill(t, values, today) for t in found if not t.event], [t for t in found if t.event]


def _from_event(values: FormValues, choice: texts.EventChoice, template: texts.BroadcastTemplate | None,
                library: Library, now: datetime) -> list[str]:
    """Fill the form from an event: its text, the events topic, its province, the day before it (as reminders)."""
    today = now.astimezone(VN_TZ).date()
    if template is None:
        return ["Chưa có mẫu nhắc sự kiện trong content/broadcast_templates.yml."]
    filled = texts.fill(template, {**texts.campaign_values(library, today), **texts.event_values(choice.event)},
                        today)
    if filled.text is None:
        return [filled.missing or ""]
    start, end = reminder_window(choice.event.day, now)
    if end > now:
        values.start, values.end = local_input(start), local_input(end)
    values.text, values.topic, values.province = filled.text, TOPIC_EVENTS, choice.province or ""
    values.event = choice.key
    return []


def _form_page(request: web.Request, values: FormValues, errors: list[str], shown: list[ChannelPreview],
               audience: int | None, chosen: str = "") -> web.Response:
    library = request.app[keys.RUNTIME].library
    today = _now(request).astimezone(VN_TZ).date()
    filled, _ = _templates(library, today)
    return render(request, "broadcast_new.html", form=values, errors=errors, previews=shown, audience=audience,
                  templates=filled, chosen_template=chosen, events=texts.upcoming_events(library, today),
                  topics=TOPIC_LABELS, channels=CHANNEL_CHOICES, provinces=province_names(library),
                  quiet_choices=quiet_choices())


@require_role(*ROLES)
async def new_page(request: web.Request) -> web.Response:
    """GET /broadcasts/new: an empty form, or one filled from a template (?template=) or an event (?event=)."""
    def run() -> web.Response:
        library = request.app[keys.RUNTIME].library
        now = _now(request)
        today = now.astimezone(VN_TZ).date()
        values = FormValues.fresh(now)
        errors: list[str] = []
        key = request.query.get("template", "")[:100]
        event = request.query.get("event", "")[:100]
        filled, event_templates = _templates(library, today)
        if key:
            chosen = next((f for f in filled if f.template.key == key), None)
            if chosen is None or chosen.text is None:
                errors.append(chosen.missing if chosen and chosen.missing else "Không tìm thấy mẫu tin này.")
            else:
                values.text, values.topic = chosen.text, chosen.template.topic
        elif event:
            choice = texts.find_event(library, today, event)
            if choice is None:
                errors.append(NO_EVENT)
            else:
                errors += _from_event(values, choice, next(iter(event_templates), None), library, now)
        return _form_page(request, values, errors, [], None, key)
    return await asyncio.to_thread(run)


def _reminder_key(library: Library, now: datetime, key: str) -> tuple[str | None, list[str]]:
    """The `event_key` of a reminder of this upcoming event (the scheduler's, so one reminder per event)."""
    choice = texts.find_event(library, now.astimezone(VN_TZ).date(), key)
    if choice is None:
        return None, [NO_EVENT]
    return event_key(choice.event, choice.province or choice.event.province), []


@require_role(*ROLES)
async def new_submit(request: web.Request) -> web.StreamResponse:
    """POST /broadcasts/new: «Xem trước» shows the errors, the audience and each channel's message; «Lưu nháp» saves."""
    form = await read_form(request)
    values = FormValues.read(form)
    saving = str(form.get("action") or "") == "save"
    by = _username(request)

    def run() -> web.Response:
        engine = request.app[keys.STORE].engine
        library = request.app[keys.RUNTIME].library
        now = _now(request)
        key, errors = _reminder_key(library, now, values.event) if values.event else (None, [])
        draft, more = values.draft(key)
        errors += more
        shown: list[ChannelPreview] = []
        audience = None
        if draft is not None:
            errors += broadcasts.validate(draft, library, now)
            province = library.provinces.current_of(draft.province) if draft.province else None
            if province is not None or not draft.province:
                audience = broadcasts.audience_count(engine, topic=draft.topic, province=province,
                                                     channel=draft.channel, now=now)
            if draft.text.strip():
                shown = previews(draft, library)
            if saving and not errors:
                try:
                    new_id = broadcasts.create(engine, draft, by, library, now)
                except BroadcastError as exc:
                    errors = exc.messages
                else:
                    raise redirect(f"{PAGE}/{new_id}", "Đã lưu nháp. Tin chỉ được gửi sau khi một cán bộ khác "
                                                       "duyệt.")
        return _form_page(request, values, errors, shown, audience)
    return await asyncio.to_thread(run)


def _load(request: web.Request) -> BroadcastView:
    try:
        return broadcasts.get_broadcast(request.app[keys.STORE].engine, path_id(request, "broadcast_id", NOT_FOUND))
    except BroadcastError:
        raise web.HTTPNotFound(text=NOT_FOUND) from None


def _poll_context(engine: Engine, b: BroadcastView) -> dict[str, Any]:
    if not b.poll_question:
        return {"poll": None}
    try:
        result = polls.poll_results(engine, b.id, min_group=POLL_MIN_GROUP)
    except LookupError:
        return {"poll": None}
    return {"poll": result, "poll_rows": [(o.label, o.count) for o in result.options],
            "poll_counts_shown": result.shown and result.total >= POLL_MIN_GROUP, "poll_total": result.total}


@require_role(*ROLES)
async def detail_page(request: web.Request) -> web.Response:
    """GET /broadcasts/{id}: details, preview per channel, audience, progress, poll results and the actions."""
    by = _username(request)

    def run() -> web.Response:
        engine = request.app[keys.STORE].engine
        library = request.app[keys.RUNTIME].library
        b = _load(request)
        audience = None
        if b.state in (DRAFT, APPROVED):
            audience = broadcasts.audience_count(engine, topic=b.topic, province=b.province, channel=b.channel,
                                                 now=_now(request))
        own = b.created_by == by
        return render(request, "broadcast_detail.html", b=b, state_label=STATE_LABELS.get(b.state, b.state),
                      topic_label=TOPIC_LABELS.get(b.topic, b.topic),
                      channel_name=channel_label(b.channel) if b.channel else "Tất cả",
                      quiet_label=quiet_label(b.quiet_hours), previews=previews(b, library), audience=audience,
                      progress=progress(broadcasts.status(engine, b.id)), live=b.state in (APPROVED, SENDING),
                      state_labels=STATE_LABELS, skip_labels=SKIP_LABELS,
                      can_approve=b.state == DRAFT and not own,
                      approve_refusal=SELF_APPROVAL if b.state == DRAFT and own else None,
                      can_cancel=b.state in (DRAFT, APPROVED, SENDING), **_poll_context(engine, b))
    return await asyncio.to_thread(run)


@require_role(*ROLES)
async def status_endpoint(request: web.Request) -> web.Response:
    """GET /broadcasts/{id}/status.json: {"state", "recipients", "sent", "failed", "skipped", "pending"}."""
    broadcast_id = path_id(request, "broadcast_id", NOT_FOUND)
    try:
        st = await asyncio.to_thread(broadcasts.status, request.app[keys.STORE].engine, broadcast_id)
    except BroadcastError:
        raise web.HTTPNotFound(text=NOT_FOUND) from None
    return web.json_response(status_json(st), headers={"Cache-Control": "no-store"})


@require_role(*ROLES)
async def approve_action(request: web.Request) -> web.StreamResponse:
    """POST /broadcasts/{id}/approve: a second staff or supervisor account approves; the creator is refused."""
    broadcast_id = path_id(request, "broadcast_id", NOT_FOUND)
    engine, now = request.app[keys.STORE].engine, _now(request)
    try:
        await asyncio.to_thread(broadcasts.approve, engine, broadcast_id, _username(request), now)
        b = await asyncio.to_thread(broadcasts.get_broadcast, engine, broadcast_id)
    except BroadcastError as exc:
        raise redirect(f"{PAGE}/{broadcast_id}", " ".join(exc.messages)) from None
    raise redirect(f"{PAGE}/{broadcast_id}", f"Đã duyệt. Tin được gửi từ {vn_time(max(b.start_at, now))} "
                                             "(giờ Việt Nam), trừ giờ nghỉ.")


@require_role(*ROLES)
async def cancel_action(request: web.Request) -> web.StreamResponse:
    """POST /broadcasts/{id}/cancel (confirmed with the checkbox): nobody still waiting receives it."""
    broadcast_id = path_id(request, "broadcast_id", NOT_FOUND)
    form = await read_form(request)
    if str(form.get("confirm") or "") != "yes":
        raise redirect(f"{PAGE}/{broadcast_id}", CONFIRM_CANCEL)
    try:
        skipped = await asyncio.to_thread(broadcasts.cancel, request.app[keys.STORE].engine, broadcast_id,
                                          _username(request), _now(request))
    except BroadcastError as exc:
        raise redirect(f"{PAGE}/{broadcast_id}", " ".join(exc.messages)) from None
    tail = f" {skipped} người chưa nhận sẽ không nhận nữa." if skipped else ""
    raise redirect(f"{PAGE}/{broadcast_id}", "Đã hủy tin." + tail)


def setup_broadcasts(app: web.Application) -> None:
    """Mount the broadcast pages, their actions and the navigation link (staff and supervisors)."""
    app.router.add_get(PAGE, list_page)
    app.router.add_get(PAGE + "/new", new_page)
    app.router.add_post(PAGE + "/new", new_submit)
    app.router.add_get(PAGE + "/{broadcast_id:\\d+}", detail_page)
    app.router.add_get(PAGE + "/{broadcast_id:\\d+}/status.json", status_endpoint)
    app.router.add_post(PAGE + "/{broadcast_id:\\d+}/approve", approve_action)
    app.router.add_post(PAGE + "/{broadcast_id:\\d+}/cancel", cancel_action)
    add_nav_link(app, "Tin chiến dịch", PAGE, ROLES)
