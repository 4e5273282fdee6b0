"""What every console page shares: templates, rendering with the user and a flash message, security
headers, login and logout, the home redirect and the static files."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jinja2
from aiohttp import web

from bot.desk import cards, keys
from bot.desk.accounts import DEVICE_COOKIE, LOGIN_COOKIE, SESSION_COOKIE, has_role
from bot.desk.auth import current_user, require_role
from bot.desk.inputs import read_form
from bot.desk.login_limits import client_address
from bot.timeutil import vn_time

DESK_DIR = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = DESK_DIR / "templates"
STATIC_DIR = DESK_DIR / "static"
FLASH_COOKIE = "desk_flash"
EVENT_LABELS = {
    "created": "Tạo ca", "notified": "Đã báo qua Telegram", "claimed": "Nhận ca", "resolved": "Đã xử lý",
    "reescalated": "Nhắc lại, báo giám sát", "flagged_stale": "Gắn cờ: nhận lâu chưa xong", "note": "Ghi chú",
    "counselor_reply": "Tư vấn viên nhắn", "resident_message": "Người dân nhắn", "urgency_raised": "Tăng mức khẩn",
    "delivery_failed": "Gửi không thành công", "reopened": "Mở lại ca", "assessed": "Đánh giá ban đầu",
    "handed_over": "Bàn giao ca", "returned_to_queue": "Trả lại hàng chờ (bàn giao)",
}
WRONG_LOGIN = "Sai tên đăng nhập hoặc mật khẩu."
WHO_LABELS = {"resident": "Người dân", "bot": "Trợ lý tự động", "counselor": "Tư vấn viên", "desk": "Hệ thống"}


def make_jinja() -> jinja2.Environment:
    """The template environment (autoescaped) with the desk's labels as globals."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                             autoescape=jinja2.select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.globals.update(urgency_label=cards.urgency_label, channel_label=cards.channel_label,
                       status_label=lambda s: cards.STATUS_LABELS.get(s, s), vn_time=vn_time,
                       actor_name=cards.actor_name, event_label=lambda k: EVENT_LABELS.get(k, k),
                       who_label=lambda w: WHO_LABELS.get(w, w), mask=cards.excerpt)
    return env


def add_nav_link(app: web.Application, label: str, href: str, roles: tuple[str, ...] = ()) -> None:
    """Add a link to the console's navigation bar (shown to the given roles, or everyone)."""
    app[keys.NAV].append({"label": label, "href": href, "roles": roles})


def render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    """Render a console template with the user, CSRF token, navigation and flash message."""
    user = current_user(request)
    nav = [n for n in request.app[keys.NAV] if user and _shown(n, user.role)]
    flash = unquote(request.cookies.get(FLASH_COOKIE, ""))[:300] or None
    html = request.app[keys.JINJA].get_template(template).render(
        user=user, csrf_token=user.csrf_token if user else "", nav=nav, flash=flash, request=request, **context)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    if flash:
        response.del_cookie(FLASH_COOKIE, path="/")
    return response


def _shown(link: dict[str, Any], role: str) -> bool:
    return not link["roles"] or any(has_role(role, wanted) for wanted in link["roles"])


def redirect(location: str, flash: str | None = None) -> web.HTTPSeeOther:
    """A 303 redirect, optionally carrying a one-time message."""
    exc = web.HTTPSeeOther(location)
    if flash:
        exc.set_cookie(FLASH_COOKIE, quote(flash), httponly=True, samesite="Lax", path="/", max_age=60)
    return exc


def safe_next(value: str | None) -> str:
    """A local path to go to after login, else "/" (browsers drop tabs and newlines: `/\t/evil` is `//evil`)."""
    if not value or "\\" in value or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        return "/"
    parts = urlsplit(value)
    ok = value.startswith("/") and not value.startswith("//") and not parts.scheme and not parts.netloc
    return value if ok else "/"


async def login_page(request: web.Request) -> web.Response:
    """GET /login."""
    if current_user(request):
        raise web.HTTPSeeOther("/")
    token, fresh = request.app[keys.SESSIONS].login_csrf(request)
    response = render(request, "login.html", login_csrf=token, next=safe_next(request.query.get("next")))
    if fresh:
        response.set_cookie(LOGIN_COOKIE, fresh, httponly=True, samesite="Lax", path="/", max_age=3600,
                            secure=request.app[keys.SESSIONS].secure_cookie)
    return response


async def login_submit(request: web.Request) -> web.StreamResponse:
    """POST /login: the brake answers 429 (with Retry-After) before any password is checked."""
    manager = request.app[keys.SESSIONS]
    form = await read_form(request)
    nxt = safe_next(str(form.get("next") or "/"))
    if not manager.login_csrf_ok(request, str(form.get("csrf_token") or "")):
        raise redirect("/login", "Biểu mẫu đã hết hạn, hãy thử lại.")
    username = str(form.get("username") or "")
    address = client_address(request.remote, request.headers.get("X-Forwarded-For"),
                             request.app[keys.SETTINGS].trusted_proxy)
    result = await manager.login(username, str(form.get("password") or ""), address,
                                 request.cookies.get(DEVICE_COOKIE))
    if result.account is None:
        token, _ = manager.login_csrf(request)
        response = render(request, "login.html", status=429 if result.retry_after else 401, login_csrf=token,
                          next=nxt, error=result.refusal or WRONG_LOGIN, username=username[:80])
        if result.retry_after:
            response.headers["Retry-After"] = str(result.retry_after)
        return response
    cookie, _ = await asyncio.to_thread(manager.start, result.account)
    response = web.HTTPSeeOther(nxt)
    manager.set_cookie(response, cookie)
    if result.device:
        manager.set_device_cookie(response, result.device)
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


@require_role()
async def logout(request: web.Request) -> web.StreamResponse:
    """POST /logout."""
    await asyncio.to_thread(request.app[keys.SESSIONS].end, request.cookies.get(SESSION_COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


@require_role()
async def home(request: web.Request) -> web.StreamResponse:
    """GET /: counselors go to the cases; other roles to their first page."""
    user = current_user(request)
    assert user is not None
    if has_role(user.role, "counselor"):
        raise web.HTTPSeeOther("/cases")
    links = [n for n in request.app[keys.NAV] if _shown(n, user.role)]
    if links:
        raise web.HTTPSeeOther(links[0]["href"])
    return render(request, "home.html")


async def static_file(request: web.Request) -> web.StreamResponse:
    """GET /static/{name}: the console's CSS and JS."""
    name = request.match_info["name"]
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers={"Cache-Control": "no-cache"})


@web.middleware
async def security_headers(request: web.Request, handler: Callable[[web.Request], Any]) -> web.StreamResponse:
    """No framing, no inline scripts, no caching of console pages."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _headers(request, exc)
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


def setup_pages(app: web.Application) -> None:
    """Mount login, logout, home and the static files."""
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login_submit)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", home)
    app.router.add_get("/static/{name}", static_file)
