"""The web console: login, the case list (live), the case page (transcript, history, notes, actions)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import jinja2
from aiohttp import web
from sqlalchemy import select

from bot.cases import (
    CLAIMED,
    OPEN,
    RESOLVED,
    STATUSES,
    URGENCIES,
    Case,
    CaseEvent,
    CaseStore,
)
from bot.db import session_factory
from bot.desk import cards
from bot.desk.auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSIONS,
    CurrentUser,
    current_user,
    require_role,
)
from bot.desk.rasa import TranscriptReader
from bot.desk.service import Actor, DeskService

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
JINJA = web.AppKey("jinja", jinja2.Environment)
NAV = web.AppKey("nav", list)
SERVICE = web.AppKey("service", DeskService)
TRANSCRIPTS = web.AppKey("transcripts", TranscriptReader)
FLASH_COOKIE = "desk_flash"
CHANNELS = ("zalo", "messenger", "telegram", "rest")
EVENT_LABELS = {
    "created": "Tạo ca", "notified": "Đã báo qua Telegram", "claimed": "Nhận ca", "resolved": "Đã xử lý",
    "reescalated": "Nhắc lại, báo giám sát", "flagged_stale": "Gắn cờ: nhận lâu chưa xong", "note": "Ghi chú",
    "counselor_reply": "Tư vấn viên nhắn", "resident_message": "Người dân nhắn", "urgency_raised": "Tăng mức khẩn",
    "delivery_failed": "Gửi không thành công",
}
WHO_LABELS = {"resident": "Người dân", "bot": "Trợ lý tự động", "counselor": "Tư vấn viên", "desk": "Hệ thống"}


def make_jinja() -> jinja2.Environment:
    """The template environment (autoescaped); extensions may prepend their own folders."""
    env = jinja2.Environment(loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(TEMPLATES_DIR))]),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.globals.update(urgency_label=cards.urgency_label, channel_label=cards.channel_label,
                       status_label=lambda s: cards.STATUS_LABELS.get(s, s), vn_time=cards.vn_time,
                       actor_name=cards.actor_name, event_label=lambda k: EVENT_LABELS.get(k, k),
                       who_label=lambda w: WHO_LABELS.get(w, w), mask=cards.excerpt)
    return env


def add_template_dir(app: web.Application, path: str | Path) -> None:
    """Let an extension's templates extend `base.html` (its folder is searched first)."""
    loader = app[JINJA].loader
    assert isinstance(loader, jinja2.ChoiceLoader)
    loader.loaders.insert(0, jinja2.FileSystemLoader(str(path)))


def add_nav_link(app: web.Application, label: str, href: str, roles: tuple[str, ...] = ()) -> None:
    """Add a link to the console's navigation bar (shown to the given roles, or everyone)."""
    app[NAV].append({"label": label, "href": href, "roles": roles})


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a console template with the user, CSRF token, navigation and flash message."""
    user = current_user(request)
    nav = [n for n in request.app[NAV] if user and (not n["roles"] or user.role in n["roles"])]
    flash = unquote(request.cookies.get(FLASH_COOKIE, ""))[:300] or None
    html = request.app[JINJA].get_template(template).render(
        user=user, csrf_token=user.csrf_token if user else "", nav=nav, flash=flash, request=request, **context)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    if flash:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(location: str, flash: str | None = None) -> web.HTTPSeeOther:
    """A 303 redirect, optionally carrying a one-time message."""
    exc = web.HTTPSeeOther(location)
    if flash:
        exc.set_cookie(FLASH_COOKIE, quote(flash), httponly=True, samesite="Lax", path="/", max_age=60)
    return exc


def _safe_next(value: str | None) -> str:
    ok = value and value.startswith("/") and not value.startswith("//") and "\\" not in value
    return value if ok else "/"


# ---- login -------------------------------------------------------------------------------------
async def login_page(request: web.Request) -> web.Response:
    """GET /login."""
    if current_user(request):
        raise web.HTTPSeeOther("/")
    token, fresh = request.app[SESSIONS].login_csrf(request)
    response = render(request, "login.html", login_csrf=token, next=_safe_next(request.query.get("next")))
    if fresh:
        response.set_cookie(LOGIN_COOKIE, fresh, httponly=True, samesite="Lax", path="/", max_age=3600,
                            secure=request.app[SESSIONS].secure_cookie)
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    """POST /login."""
    manager = request.app[SESSIONS]
    form = await request.post()
    nxt = _safe_next(str(form.get("next") or "/"))
    if not manager.login_csrf_ok(request, str(form.get("csrf_token") or "")):
        raise redirect("/login", "Biểu mẫu đã hết hạn, hãy thử lại.")
    account = await asyncio.to_thread(manager.authenticate, str(form.get("username") or ""),
                                      str(form.get("password") or ""))
    if account is None:
        token, _ = manager.login_csrf(request)
        return render(request, "login.html", status=401, login_csrf=token, next=nxt,
                      error="Sai tên đăng nhập hoặc mật khẩu (hoặc đã thử sai quá nhiều lần).",
                      username=str(form.get("username") or "")[:80])
    cookie, _ = await asyncio.to_thread(manager.start, account)
    response = web.HTTPSeeOther(nxt)
    manager.set_cookie(response, cookie)
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


@require_role()
async def logout(request: web.Request) -> web.StreamResponse:
    """POST /logout."""
    await asyncio.to_thread(request.app[SESSIONS].end, request.cookies.get(SESSION_COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@require_role()
async def home(request: web.Request) -> web.StreamResponse:
    """GET /: counselors go to the cases; other roles to their first page."""
    user = current_user(request)
    assert user is not None
    if user.role == "counselor":
        raise web.HTTPSeeOther("/cases")
    links = [n for n in request.app[NAV] if not n["roles"] or user.role in n["roles"]]
    if links:
        raise web.HTTPSeeOther(links[0]["href"])
    return render(request, "home.html")


# ---- cases ---------------------------------------------------------------------------------------
def _filters(request: web.Request) -> dict[str, str]:
    q = request.query
    return {"status": q.get("status", "") if q.get("status", "") in STATUSES else "",
            "urgency": q.get("urgency", "") if q.get("urgency", "") in URGENCIES else "",
            "channel": q.get("channel", "") if q.get("channel", "") in CHANNELS else ""}


async def _rows(request: web.Request) -> list[Case]:
    f = _filters(request)
    store = CaseStore(request.app[SERVICE].engine)
    return await asyncio.to_thread(store.list_cases, None, f["status"] or None, f["urgency"] or None,
                                   f["channel"] or None, 300)


@require_role("counselor")
async def cases_page(request: web.Request) -> web.Response:
    """GET /cases: the list with filters; it refreshes itself every few seconds."""
    return render(request, "cases.html", cases=await _rows(request), filters=_filters(request),
                  statuses=STATUSES, urgencies=URGENCIES, channels=CHANNELS)


@require_role("counselor")
async def cases_rows(request: web.Request) -> web.Response:
    """GET /cases/rows: the table body only (fetched by the page)."""
    return render(request, "_case_rows.html", cases=await _rows(request))


def _case_id(request: web.Request) -> int:
    try:
        return int(request.match_info["case_id"])
    except ValueError:
        raise web.HTTPNotFound() from None


def _load_case(service: DeskService, case_id: int) -> tuple[Case | None, list[CaseEvent]]:
    with session_factory(service.engine)() as s:
        case = s.get(Case, case_id)
        events = list(s.execute(select(CaseEvent).where(CaseEvent.case_id == case_id)
                                .order_by(CaseEvent.at, CaseEvent.id)).scalars()) if case else []
    return case, events


async def _case_context(request: web.Request) -> dict[str, Any]:
    service = request.app[SERVICE]
    case, events = await asyncio.to_thread(_load_case, service, _case_id(request))
    if case is None:
        raise web.HTTPNotFound(text="Không tìm thấy ca này.")
    transcript = await asyncio.to_thread(request.app[TRANSCRIPTS].read, case.sender_id)
    user = current_user(request)
    assert user is not None
    mine = actor_for(user).owns(case.claimed_by)
    return {"case": case, "events": events, "transcript": transcript, "mine": mine,
            "OPEN": OPEN, "CLAIMED": CLAIMED, "RESOLVED": RESOLVED,
            "stale": any(e.kind == "flagged_stale" for e in events),
            "reescalations": sum(1 for e in events if e.kind == "reescalated")}


@require_role("counselor")
async def case_page(request: web.Request) -> web.Response:
    """GET /cases/{id}."""
    return render(request, "case.html", **await _case_context(request))


@require_role("counselor")
async def case_live(request: web.Request) -> web.Response:
    """GET /cases/{id}/live: status, actions, transcript and history (fetched by the page)."""
    return render(request, "_case_live.html", **await _case_context(request))


def actor_for(user: CurrentUser) -> Actor:
    """The case-history identity of a console user (linked to their Telegram id, if any)."""
    aliases = frozenset({f"tg:{user.telegram_user_id}"}) if user.telegram_user_id else frozenset()
    return Actor(user.actor_key, user.display_name, aliases)


def _action(name: str) -> Callable[[web.Request], Any]:
    @require_role("counselor")
    async def handler(request: web.Request) -> web.StreamResponse:
        case_id = _case_id(request)
        user = current_user(request)
        assert user is not None
        service = request.app[SERVICE]
        actor = actor_for(user)
        form = await request.post()
        text = str(form.get("text") or "")
        if name == "claim":
            outcome = await asyncio.to_thread(service.claim, case_id, actor, "bảng điều khiển")
        elif name == "resolve":
            outcome = await asyncio.to_thread(service.resolve, case_id, actor, "bảng điều khiển")
        elif name == "reply":
            outcome = await asyncio.to_thread(service.reply, case_id, actor, text, "bảng điều khiển")
        else:
            outcome = await asyncio.to_thread(service.add_note, case_id, actor, text)
        raise redirect(f"/cases/{case_id}", outcome.message)
    handler.__name__ = f"case_{name}"
    handler.__doc__ = f"POST /cases/{{id}}/{name}."
    return handler


async def static_file(request: web.Request) -> web.StreamResponse:
    """GET /static/{name}: the console's CSS and JS."""
    name = request.match_info["name"]
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR.resolve() or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """No framing, no inline scripts, no caching of console pages."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
        _headers(request, response)
        raise
    _headers(request, response)
    return response


def _headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith(("/api/", "/static/", "/health", "/telegram/")):
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                                    "form-action 'self'; base-uri 'none'")
        response.headers.setdefault("Cache-Control", "no-store")


def setup_console(app: web.Application) -> None:
    """Mount the console routes."""
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", home)
    app.router.add_get("/cases", cases_page)
    app.router.add_get("/cases/rows", cases_rows)
    app.router.add_get("/cases/{case_id:\\d+}", case_page)
    app.router.add_get("/cases/{case_id:\\d+}/live", case_live)
    for name in ("claim", "resolve", "reply", "note"):
        app.router.add_post(f"/cases/{{case_id:\\d+}}/{name}", _action(name))
    app.router.add_get("/static/{name}", static_file)
