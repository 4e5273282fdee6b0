"""The console's broadcast pages: create from a template or an event, preview per channel, save, approval by a
second account (the creator refused), cancel, the status JSON, role checks; the counselor's override on the case page."""

from __future__ import annotations

import os
import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.cases.store import CaseStore
from bot.content.events import Events
from bot.db.engine import session_factory
from bot.desk.accounts import create_account
from bot.desk.console import broadcast_forms as forms
from bot.desk.console import broadcast_texts as texts
from bot.outreach import broadcasts, reminders, subscriptions
from bot.outreach.models import (
    APPROVED,
    CANCELLED,
    DRAFT,
    R_PENDING,
    R_SENT,
    R_SKIPPED,
    SKIP_OPEN_CASE,
    SKIP_OUTSIDE_WINDOW,
    TOPIC_EVENTS,
    TOPIC_NEWS,
    Broadcast,
    BroadcastRecipient,
    PollAnswer,
)
from bot.runtime import fixed_runtime
from bot.timeutil import VN_TZ, utcnow
from tests.desk.helpers import PASSWORD, Desk, content_library, eventually, open_case, start_desk
from tests.desk.test_desk_browser import ARGS, assert_fits, shoot, sign_in

pytestmark = pytest.mark.asyncio
CONSENT = "Tôi đồng ý nhận tin Tháng hành động."


def _subscribe(engine, sender: str, province: str | None = "Gia Lai", topics: tuple[str, ...] = (TOPIC_NEWS,),
               inbound: bool = True) -> None:
    now = utcnow()
    subscriptions.subscribe(engine, sender, list(topics), province, CONSENT, now)
    if inbound:
        subscriptions.touch_inbound(engine, [sender], now)


async def _session(desk: Desk, username: str) -> tuple[aiohttp.ClientSession, str]:
    """A logged-in client of its own (cookies) and its CSRF token."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(f"{desk.url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)
    async with http.post(f"{desk.url}/login", data={"username": username, "password": PASSWORD,
                                                    "csrf_token": token, "next": "/"}) as resp:
        assert resp.status == 200, await resp.text()
        page = await resp.text()
    return http, re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def _in(hours: float) -> str:
    """A datetime-local value `hours` from now, Vietnam time."""
    return (datetime.now(VN_TZ) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def _form(csrf: str, **fields: str) -> dict[str, str]:
    values = {"csrf_token": csrf, "text": "Mời bạn cùng gia đình tham gia các hoạt động của tháng này.",
              "topic": TOPIC_NEWS, "province": "Gia Lai", "channel": "", "start": _in(2), "end": "",
              "quiet_hours": "21:00-07:00", "poll_question": "", "action": "preview"}
    values.update(fields)
    return values


def _count(engine) -> int:
    with session_factory(engine)() as s:
        return s.execute(select(func.count()).select_from(Broadcast)).scalar_one()


def _staff(engine) -> None:
    create_account(engine, "thu", PASSWORD, "staff", "Chị Thu")
    create_account(engine, "hoa", PASSWORD, "staff", "Chị Hoa")


async def test_the_case_page_lets_a_counselor_allow_broadcasts_to_a_subscribed_resident(desk: Desk,
                                                                                       counselor: str) -> None:
    _subscribe(desk.engine, "zalo:801")
    case_id = open_case(desk.engine, sender="zalo:801")
    other = open_case(desk.engine, sender="zalo:802")  # never subscribed: no button
    http, csrf = await _session(desk, counselor)
    try:
        async with http.get(f"{desk.url}/cases/{other}") as resp:
            assert "Cho phép nhận tin Tháng hành động" not in await resp.text()
        async with http.get(f"{desk.url}/cases/{case_id}") as resp:
            page = await resp.text()
        assert "Cho phép nhận tin Tháng hành động" in page and f'action="/cases/{case_id}/allow-broadcasts"' in page
        assert broadcasts.audience_count(desk.engine, topic=TOPIC_NEWS, province="Gia Lai") == 0  # spared
        async with http.post(f"{desk.url}/cases/{case_id}/allow-broadcasts", data={}) as resp:
            assert resp.status == 403  # CSRF
        async with http.post(f"{desk.url}/cases/{case_id}/allow-broadcasts", data={"csrf_token": csrf}) as resp:
            page = await resp.text()
        assert "Đã cho phép" in page and "Cho phép nhận tin Tháng hành động</button>" not in page
        assert subscriptions.get_subscription(desk.engine, "zalo:801").case_override_by == "lan"
        assert broadcasts.audience_count(desk.engine, topic=TOPIC_NEWS, province="Gia Lai") == 1
    finally:
        await http.close()
    create_account(desk.engine, "thu", PASSWORD, "staff", "Chị Thu")
    http, csrf = await _session(desk, "thu")
    try:
        async with http.post(f"{desk.url}/cases/{case_id}/allow-broadcasts", data={"csrf_token": csrf}) as resp:
            assert resp.status == 403  # counselors only
    finally:
        await http.close()


async def test_create_preview_save_then_a_second_account_approves_and_cancels(desk: Desk) -> None:
    _staff(desk.engine)
    for sender in ("zalo:901", "messenger:902", "telegram:903"):
        _subscribe(desk.engine, sender)
    _subscribe(desk.engine, "zalo:904", province="Hà Nội")  # another province: not in the audience
    thu, thu_csrf = await _session(desk, "thu")
    hoa, hoa_csrf = await _session(desk, "hoa")
    try:
        async with thu.get(f"{desk.url}/broadcasts") as resp:
            page = await resp.text()
        assert resp.status == 200 and "Soạn tin mới" in page and "Nhắc sự kiện" in page
        async with thu.get(f"{desk.url}/broadcasts/new") as resp:
            page = await resp.text()
        assert '<option value="Gia Lai">Gia Lai</option>' in page and '<option value="">Tất cả</option>' in page
        assert "Tin Tháng hành động" in page and "Sự kiện" in page and "Messenger" in page

        # «Xem trước»: the audience and, per channel, exactly what a recipient receives; nothing saved.
        async with thu.post(f"{desk.url}/broadcasts/new", data=_form(thu_csrf)) as resp:
            page = await resp.text()
        assert resp.status == 200 and 'data-audience="3"' in page and _count(desk.engine) == 0
        draft = broadcasts.Draft(text=_form("")["text"], start_at=utcnow() + timedelta(hours=2), province="Gia Lai")
        for channel in ("zalo", "messenger", "telegram"):
            rendered = broadcasts.render(draft, channel, content_library())
            section = page.split(f'data-channel="{channel}"', 1)[1].split("</article>", 1)[0]
            assert _text(rendered.text) in section, channel
            assert "Hội LHPN tỉnh Gia Lai – Tháng hành động vì bình đẳng giới" in section.split("data-message")[0]
            assert ("Dừng nhận tin</li>" in section) == (channel != "zalo")
        assert "bạo lực" not in page.split('data-channel="zalo"', 1)[1].split("data-message")[0]

        # «Lưu nháp» creates the draft and opens its page.
        async with thu.post(f"{desk.url}/broadcasts/new", data=_form(thu_csrf, action="save"),
                            allow_redirects=False) as resp:
            assert resp.status == 303
            location = resp.headers["Location"]
        broadcast_id = int(location.rsplit("/", 1)[1])
        view = broadcasts.get_broadcast(desk.engine, broadcast_id)
        assert (view.state, view.created_by, view.province) == (DRAFT, "thu", "Gia Lai")

        # The creator sees why she cannot approve; a forced POST is refused too.
        async with thu.get(f"{desk.url}{location}") as resp:
            page = await resp.text()
        assert "Duyệt và gửi</button>" not in page and "không thể tự duyệt" in page and "Bản nháp" in page
        async with thu.post(f"{desk.url}{location}/approve", data={"csrf_token": thu_csrf}) as resp:
            page = await resp.text()
        assert "không thể tự duyệt" in page.split('class="flash"', 1)[1].split("</p>", 1)[0] and broadcasts.get_broadcast(desk.engine, broadcast_id).state == DRAFT

        # Another staff account approves.
        async with hoa.get(f"{desk.url}{location}") as resp:
            page = await resp.text()
        assert "Duyệt và gửi</button>" in page and 'data-audience="3"' in page
        async with hoa.post(f"{desk.url}{location}/approve", data={"csrf_token": hoa_csrf}) as resp:
            page = await resp.text()
        view = broadcasts.get_broadcast(desk.engine, broadcast_id)
        assert (view.state, view.approved_by) == (APPROVED, "hoa") and "Đã duyệt" in page
        async with hoa.post(f"{desk.url}{location}/approve", data={"csrf_token": hoa_csrf}) as resp:
            assert "không còn chờ duyệt" in await resp.text()  # twice: refused with the reason
        async with thu.get(f"{desk.url}/broadcasts") as resp:
            page = await resp.text()
        row = page.split(f'data-broadcast-id="{broadcast_id}"', 1)[1].split("</tr>", 1)[0]
        assert "Đã duyệt" in row and ">thu<" in row and ">hoa<" in row and "0 / 3" in row

        # Cancelling asks for confirmation first.
        async with thu.post(f"{desk.url}{location}/cancel", data={"csrf_token": thu_csrf}) as resp:
            assert "Tôi chắc chắn muốn hủy tin này" in await resp.text()
        assert broadcasts.get_broadcast(desk.engine, broadcast_id).state == APPROVED
        async with thu.post(f"{desk.url}{location}/cancel", data={"csrf_token": thu_csrf, "confirm": "yes"}) as resp:
            page = await resp.text()
        assert "Đã hủy tin." in page and broadcasts.get_broadcast(desk.engine, broadcast_id).state == CANCELLED
        assert "Hủy tin</button>" not in page and "Duyệt và gửi</button>" not in page
        async with thu.get(f"{desk.url}{location}/status.json") as resp:
            assert resp.content_type == "application/json"
            assert (await resp.json())["state"] == CANCELLED
    finally:
        await thu.close()
        await hoa.close()


def _text(value: str) -> str:
    """Text as Jinja escapes it."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;") \
        .replace("'", "&#39;")


async def test_errors_are_shown_next_to_the_form_in_vietnamese_and_nothing_is_saved(desk: Desk) -> None:
    _staff(desk.engine)
    _subscribe(desk.engine, "zalo:911")
    http, csrf = await _session(desk, "thu")
    try:
        cases: list[tuple[dict[str, str], str]] = [
            ({"text": "   "}, "Nội dung bản tin đang để trống"),
            ({"start": _in(-3)}, "Thời điểm bắt đầu gửi đã qua"),
            ({"start": "ngày mai"}, "Thời điểm bắt đầu gửi không đúng dạng"),
            ({"end": _in(1)}, "Thời điểm kết thúc phải sau thời điểm bắt đầu gửi"),
            ({"province": "Atlantis"}, "Không nhận ra tỉnh/thành “Atlantis”"),
            ({"text": "Bạo lực gia đình: hãy gọi ngay khi cần."}, "từ nhạy cảm"),
            ({"text": "Chào bạn. " + "Thông tin về Tháng hành động. " * 80}, "Bản tin quá dài cho zalo"),
            ({"option1": "Có", "option2": "Không"}, "Có lựa chọn trả lời nhưng chưa có câu hỏi"),
            ({"poll_question": "Bạn có tham dự không?", "option1": "Có"}, "từ 2 đến 4 phương án"),
            ({"province": "Hà Nội", "action": "save"}, "Chưa có người đăng ký nào phù hợp"),
        ]
        for fields, wanted in cases:
            for action in ("preview", "save"):
                data = _form(csrf, **{"action": action, **fields})
                async with http.post(f"{desk.url}/broadcasts/new", data=data, allow_redirects=False) as resp:
                    page = await resp.text()
                assert resp.status == 200, (fields, action)
                errors = page.split("data-errors", 1)[1].split("</div>", 1)[0] if "data-errors" in page else ""
                if action == "save" or fields.get("action") != "save":
                    assert wanted in errors, (fields, action, errors[:500])
                assert _text(data["text"].strip()[:40]) in page  # what was typed is kept
        assert _count(desk.engine) == 0
    finally:
        await http.close()


async def test_counselors_get_403_and_every_post_needs_the_csrf_token(desk: Desk, counselor: str) -> None:
    _staff(desk.engine)
    _subscribe(desk.engine, "zalo:921")
    broadcast_id = broadcasts.create(desk.engine, broadcasts.Draft(text="Chào bạn.", start_at=utcnow() + timedelta(hours=1)),
                                     "thu", content_library(), utcnow())
    http, csrf = await _session(desk, counselor)
    try:
        for path in ("/broadcasts", "/broadcasts/new", f"/broadcasts/{broadcast_id}",
                     f"/broadcasts/{broadcast_id}/status.json"):
            async with http.get(f"{desk.url}{path}") as resp:
                assert resp.status == 403, path
        for path in ("/broadcasts/new", f"/broadcasts/{broadcast_id}/approve", f"/broadcasts/{broadcast_id}/cancel"):
            async with http.post(f"{desk.url}{path}", data={"csrf_token": csrf, "confirm": "yes"}) as resp:
                assert resp.status == 403, path
        async with http.get(f"{desk.url}/cases") as resp:
            assert "/broadcasts" not in await resp.text()  # no link for counselors
    finally:
        await http.close()
    hoa, hoa_csrf = await _session(desk, "hoa")
    try:
        for path in ("/broadcasts/new", f"/broadcasts/{broadcast_id}/approve", f"/broadcasts/{broadcast_id}/cancel"):
            async with hoa.post(f"{desk.url}{path}", data={"confirm": "yes", "action": "save"}) as resp:
                assert resp.status == 403 and "CSRF" in await resp.text(), path
        assert broadcasts.get_broadcast(desk.engine, broadcast_id).state == DRAFT and _count(desk.engine) == 1
        for path in ("/broadcasts/999999", "/broadcasts/999999/status.json"):
            async with hoa.get(f"{desk.url}{path}") as resp:
                assert resp.status == 404, path
    finally:
        await hoa.close()
    # A supervisor may approve; the list shows the newest first.
    create_account(desk.engine, "minh", PASSWORD, "supervisor", "Anh Minh")
    newer = broadcasts.create(desk.engine, broadcasts.Draft(text="Tin thứ hai.", start_at=utcnow() + timedelta(hours=1)),
                              "thu", content_library(), utcnow())
    minh, minh_csrf = await _session(desk, "minh")
    try:
        async with minh.post(f"{desk.url}/broadcasts/{broadcast_id}/approve", data={"csrf_token": minh_csrf}) as resp:
            assert resp.status == 200
        assert broadcasts.get_broadcast(desk.engine, broadcast_id).approved_by == "minh"
        async with minh.get(f"{desk.url}/broadcasts") as resp:
            page = await resp.text()
        assert page.index(f'data-broadcast-id="{newer}"') < page.index(f'data-broadcast-id="{broadcast_id}"')
    finally:
        await minh.close()
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(f"{desk.url}/broadcasts", allow_redirects=False) as resp:
            assert resp.status == 303 and resp.headers["Location"].startswith("/login")
        async with anonymous.get(f"{desk.url}/broadcasts/{broadcast_id}/status.json",
                                 headers={"X-Requested-With": "fetch"}) as resp:
            assert resp.status == 401


def _recipients(engine, broadcast_id: int, outcomes: list[tuple[str, str | None]]) -> None:
    """Recipient rows as the sender leaves them (the engine is A's; here only their counts matter)."""
    with session_factory(engine).begin() as s:
        for i, (status, reason) in enumerate(outcomes):
            s.add(BroadcastRecipient(broadcast_id=broadcast_id, sender_id=f"zalo:{5000 + i}", channel="zalo",
                                     province="Gia Lai", status=status, reason=reason))
        row = s.get(Broadcast, broadcast_id)
        row.state, row.recipients, row.approved_by = "sending", len(outcomes), "hoa"


async def test_progress_and_the_status_json_follow_the_recipients(desk: Desk) -> None:
    _staff(desk.engine)
    _subscribe(desk.engine, "zalo:931")
    broadcast_id = broadcasts.create(desk.engine, broadcasts.Draft(text="Chào bạn.", start_at=utcnow() + timedelta(hours=1)),
                                     "thu", content_library(), utcnow())
    _recipients(desk.engine, broadcast_id, [(R_SENT, None)] * 3 + [(R_PENDING, None)] * 2
                + [(R_SKIPPED, SKIP_OPEN_CASE), (R_SKIPPED, SKIP_OUTSIDE_WINDOW), (R_SKIPPED, SKIP_OUTSIDE_WINDOW)]
                + [("failed", "zalo:-230")])
    http, _ = await _session(desk, "hoa")
    try:
        async with http.get(f"{desk.url}/broadcasts/{broadcast_id}/status.json") as resp:
            body = await resp.json()
        assert resp.status == 200 and resp.headers["Cache-Control"] == "no-store"
        assert body == {"state": "sending", "recipients": 9, "sent": 3, "failed": 1, "pending": 2,
                        "skipped": {SKIP_OPEN_CASE: 1, SKIP_OUTSIDE_WINDOW: 2}}
        assert {k: body[k] for k in ("state", "recipients", "sent", "failed", "skipped")} == \
            broadcasts.status(desk.engine, broadcast_id).as_json()
        async with http.get(f"{desk.url}/broadcasts/{broadcast_id}") as resp:
            page = await resp.text()
        panel = page.split("data-progress", 1)[1].split("</section>", 1)[0]
        assert 'data-live="yes"' in panel and 'src="/static/broadcasts.js"' in page  # refreshes itself
        assert '<progress max="9" value="7"' in panel and 'data-count="sent">3<' in panel
        assert 'data-count="pending">2<' in panel and 'data-count="failed">1<' in panel
        assert "Ngoài thời hạn nhắn tin của nền tảng: <span data-skip-count>2</span>" in panel
        assert "Đang có ca tư vấn chưa xong: <span data-skip-count>1</span>" in panel
        assert "Tải lại số liệu" in panel and "Đang gửi" in page  # works without JavaScript too
    finally:
        await http.close()


async def test_poll_results_show_only_from_ten_answers(desk: Desk) -> None:
    _staff(desk.engine)
    _subscribe(desk.engine, "zalo:941")
    draft = broadcasts.Draft(text="Chào bạn.", start_at=utcnow() + timedelta(hours=1),
                             poll_question="Bạn đã biết đường dây tư vấn chưa?", buttons=["Đã biết", "Chưa biết"])
    broadcast_id = broadcasts.create(desk.engine, draft, "thu", content_library(), utcnow())

    def answers(n: int, start: int) -> None:
        with session_factory(desk.engine).begin() as s:
            for i in range(start, start + n):
                s.add(PollAnswer(broadcast_id=broadcast_id, voter=f"v{i}", option=i % 2, channel="zalo"))

    http, _ = await _session(desk, "thu")
    try:
        answers(9, 0)
        async with http.get(f"{desk.url}/broadcasts/{broadcast_id}") as resp:
            poll = (await resp.text()).split("data-poll", 1)[1].split("</section>", 1)[0]
        assert "Chưa đủ 10 câu trả lời để hiển thị" in poll and "<strong>5</strong>" not in poll
        answers(1, 9)
        async with http.get(f"{desk.url}/broadcasts/{broadcast_id}") as resp:
            poll = (await resp.text()).split("data-poll", 1)[1].split("</section>", 1)[0]
        assert "Chưa đủ" not in poll and "Đã biết: <strong>5</strong>" in poll and "Chưa biết: <strong>5</strong>" in poll
    finally:
        await http.close()


def test_the_ready_texts_take_every_fact_from_the_content() -> None:
    library = content_library()
    found = texts.load_templates(texts.TEMPLATES_FILE)
    assert {t.key for t in found} >= {"dates", "theme", "support", "event"} and any(t.event for t in found)
    today = date(2026, 12, 2)
    values = {**texts.campaign_values(library, today), **texts.event_values(library.events.items[0])}
    for template in found:
        assert set(template.placeholders()) <= set(texts.PLACEHOLDERS), template.key
        assert not re.search(r"\d", template.text), template.key  # numbers and dates come from the content
        filled = texts.fill(template, values if template.key != "theme" else {**values, "theme": "Chủ đề"}, today)
        assert filled.text and "{" not in filled.text, template.key
        draft = broadcasts.Draft(text=filled.text, start_at=utcnow() + timedelta(hours=1), province="Gia Lai")
        assert broadcasts.validate(draft, library, utcnow()) == [], template.key  # neutral, fits every channel
    national = library.hotlines.national()[0]
    support = texts.fill(next(t for t in found if t.key == "support"), values, today).text
    assert national.number in support and national.organisation in support
    dates = texts.fill(next(t for t in found if t.key == "dates"), values, today).text
    start, end = library.campaign.period(2026)
    assert f"{start.day:02d}/{start.month:02d}/2026" in dates and f"{end.day:02d}/{end.month:02d}/2026" in dates
    # A year whose theme is not on file: the template is offered as unavailable, with the reason, never guessed.
    theme = texts.fill(next(t for t in found if t.key == "theme"), values, today)
    assert (2026 in library.campaign.years) or (theme.text is None and "2026" in (theme.missing or ""))
    assert library.provinces.names()[0] == "Hà Nội" and len(set(library.provinces.names())) == 34


async def test_event_reminder_is_filled_from_the_event_and_saved_once(engine, tg) -> None:
    soon = date.today() + timedelta(days=5)
    event = {"title": "Diễn đàn “Phụ nữ với bình đẳng giới”", "province": "Kon Tum", "district": None, "date": soon,
             "time": "sáng", "place": "Nhà văn hóa tỉnh", "source": "test"}
    library = replace(content_library(), events=Events([event]))
    desk = await start_desk(engine, tg, runtime=fixed_runtime(library, CaseStore(engine)))
    _staff(engine)
    _subscribe(engine, "zalo:951", province="Quảng Ngãi", topics=(TOPIC_EVENTS,))
    http, csrf = await _session(desk, "thu")
    try:
        async with http.get(f"{desk.url}/broadcasts/new") as resp:
            page = await resp.text()
        key = texts.upcoming_events(library, date.today())[0].key
        assert f'<option value="{key}"' in page and "Diễn đàn" in page
        async with http.get(f"{desk.url}/broadcasts/new", params={"event": key}) as resp:
            page = await resp.text()
        form = page.split('class="bc-form"', 1)[1]
        textarea = form.split("</textarea>", 1)[0]
        assert "Nhà văn hóa tỉnh" in textarea and f"sáng ngày {soon.day:02d}/{soon.month:02d}/{soon.year}" in textarea
        assert _text(event["title"]) in textarea
        assert '<option value="events" selected>' in form and '<option value="Quảng Ngãi" selected>' in form
        assert f'name="event" value="{key}"' in form
        eve = soon - timedelta(days=1)
        assert f'name="start" value="{eve.isoformat()}T08:00"' in form  # the day before, as the reminders go
        assert f'name="end" value="{soon.isoformat()}T00:00"' in form
        fields = {"csrf_token": csrf, "event": key, "text": _unescape(textarea.rsplit(">", 1)[1]),
                  "topic": TOPIC_EVENTS, "province": "Quảng Ngãi", "channel": "", "start": f"{eve.isoformat()}T08:00",
                  "end": f"{eve.isoformat()}T20:00", "quiet_hours": "21:00-07:00", "action": "save"}
        async with http.post(f"{desk.url}/broadcasts/new", data=fields, allow_redirects=False) as resp:
            assert resp.status == 303, await resp.text()
            saved = broadcasts.get_broadcast(engine, int(resp.headers["Location"].rsplit("/", 1)[1]))
        choice = texts.upcoming_events(library, date.today())[0]
        assert saved.event_key == reminders.event_key(choice.event, "Quảng Ngãi")  # the scheduler's key
        assert (saved.topic, saved.province) == (TOPIC_EVENTS, "Quảng Ngãi")
        async with http.post(f"{desk.url}/broadcasts/new", data=fields) as resp:
            assert "Đã có bản tin nhắc cho sự kiện này" in await resp.text()  # one reminder per event
        assert reminders.ensure_reminders(engine, library, saved.start_at) == []  # nor a second automatic one
        async with http.post(f"{desk.url}/broadcasts/new", data={**fields, "event": "gone"}) as resp:
            assert "Không tìm thấy sự kiện này" in await resp.text()
        assert _count(engine) == 1
        async with http.get(f"{desk.url}/broadcasts/new", params={"template": "nope"}) as resp:
            assert "Không tìm thấy mẫu tin này" in await resp.text()
        async with http.get(f"{desk.url}/broadcasts/new", params={"template": "support"}) as resp:
            page = await resp.text()
        assert content_library().hotlines.national()[0].number in page.split("</textarea>", 1)[0]
    finally:
        await http.close()
        await desk.stop()


def _unescape(value: str) -> str:
    return value.replace("&#34;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">") \
        .replace("&amp;", "&")


CHROMIUM = os.environ.get("DESK_TEST_CHROMIUM", "/usr/bin/chromium")
SMALL_PHONE = {"width": 360, "height": 740}
# Visible controls in the page body smaller than a fingertip (44 px), as "tag.class text" strings.
SMALL_TARGETS = """() => Array.from(document.querySelectorAll(
    'main a, main button, main select, main input:not([type=hidden]):not([type=checkbox]), main summary'))
  .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
  .map((el) => el.tagName + '.' + el.className + ' ' + (el.textContent || el.name || '').trim().slice(0, 30))"""


@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium is not installed (.ci/run installs it)")
async def test_the_pages_fit_a_small_phone_and_the_progress_bar_updates_itself(desk: Desk) -> None:
    from playwright.async_api import async_playwright

    _staff(desk.engine)
    _subscribe(desk.engine, "zalo:961")
    draft = broadcasts.Draft(text="Mời bạn cùng gia đình tham gia các hoạt động của tháng này. " * 3,
                             start_at=utcnow() + timedelta(hours=1), province="Gia Lai",
                             poll_question="Bạn đã biết đường dây tư vấn chưa?", buttons=["Đã biết", "Chưa biết"])
    broadcast_id = broadcasts.create(desk.engine, draft, "thu", content_library(), utcnow())
    _recipients(desk.engine, broadcast_id, [(R_SENT, None)] + [(R_PENDING, None)] * 3
                + [(R_SKIPPED, SKIP_OUTSIDE_WINDOW)])
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await chromium.new_context(locale="vi-VN", viewport=SMALL_PHONE, is_mobile=True,
                                                 has_touch=True, device_scale_factor=1)
            tab = await context.new_page()
            tab.set_default_timeout(10_000)
            errors: list[str] = []
            tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            await sign_in(tab, desk, "hoa")

            await tab.goto(f"{desk.url}/broadcasts")
            await assert_fits(tab, "broadcasts at 360 px")
            assert await tab.evaluate(SMALL_TARGETS) == []

            await tab.goto(f"{desk.url}/broadcasts/new")
            await tab.fill("form.bc-form textarea[name=text]", draft.text)
            await tab.select_option("form.bc-form select[name=province]", "Gia Lai")
            await tab.fill("form.bc-form input[name=poll_question]", "Bạn có tham dự không?")
            await tab.fill("form.bc-form input[name=option1]", "Có")
            await tab.fill("form.bc-form input[name=option2]", "Chưa chắc")
            await tab.click("button:has-text('Xem trước')")
            await tab.wait_for_selector("[data-preview] [data-channel=zalo]")
            assert "Hội LHPN tỉnh Gia Lai" in await tab.inner_text("[data-channel=zalo] [data-lock]")
            await assert_fits(tab, "broadcast form with its preview at 360 px")
            assert await tab.evaluate(SMALL_TARGETS) == []
            await shoot(tab, "broadcast-preview-phone")

            await tab.goto(f"{desk.url}/broadcasts/{broadcast_id}")
            await assert_fits(tab, "broadcast page at 360 px")
            assert await tab.evaluate(SMALL_TARGETS) == []
            assert await tab.inner_text("[data-count=sent]") == "1"
            with session_factory(desk.engine).begin() as s:  # the sender moves on: the bar follows by itself
                for row in s.execute(select(BroadcastRecipient).where(BroadcastRecipient.status == R_PENDING)
                                     ).scalars().all()[:2]:
                    row.status = R_SENT
            await eventually(lambda: _is(tab.inner_text("[data-count=sent]"), "3"), timeout=10)
            assert await tab.inner_text("[data-count=pending]") == "1"
            assert await tab.evaluate("document.querySelector('[data-bar]').value") == 4
            await shoot(tab, "broadcast-progress-phone")
            with session_factory(desk.engine).begin() as s:
                s.get(Broadcast, broadcast_id).state = "done"
            await eventually(lambda: _is(tab.get_attribute("h1 [data-state]", "data-state"), "done"), timeout=10)
            assert "Đã gửi xong" in await tab.inner_text("h1") and await tab.locator("text=Hủy tin").count() == 0
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            await chromium.close()


async def _is(value: Any, wanted: str) -> bool:
    """Whether an awaited page value equals `wanted` (the page is reloading: not yet)."""
    try:
        return await value == wanted
    except Exception:  # the page may be between two documents
        return False


def test_quiet_hours_default_comes_from_the_setting(monkeypatch) -> None:
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "22:00-06:00")
    assert list(forms.quiet_choices()) == ["22:00-06:00", "off"]
    assert forms.FormValues.fresh(utcnow()).quiet_hours == "22:00-06:00"
    monkeypatch.setenv("BROADCAST_QUIET_HOURS", "off")
    assert list(forms.quiet_choices()) == ["off"] and forms.FormValues.fresh(utcnow()).quiet_hours == "off"
    monkeypatch.delenv("BROADCAST_QUIET_HOURS")
    values = forms.FormValues.read({"text": "Chào bạn.", "start": "2026-12-24T09:30", "quiet_hours": "off"})
    draft, errors = values.draft()
    assert errors == [] and draft.quiet_hours == "off" and draft.start_at == datetime(2026, 12, 24, 2, 30,
                                                                                      tzinfo=timezone.utc)
