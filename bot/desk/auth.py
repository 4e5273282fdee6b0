"""Who is asking: the logged-in console user of a request, CSRF checks, and role checks for routes."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.desk import keys
from bot.desk.accounts import SESSION_COOKIE, CurrentUser, has_role
from bot.desk.inputs import read_form
from bot.tokens import same_secret

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
USER_KEY = "desk_user"


def current_user(request: web.Request) -> CurrentUser | None:
    """The logged-in user of a request (looked up once per request), else None."""
    user = request.get(USER_KEY)
    if user is None:
        manager = request.app.get(keys.SESSIONS)
        if manager is not None:
            user = manager.lookup(request.cookies.get(SESSION_COOKIE))
            request[USER_KEY] = user
    return user


def signed_in(request: web.Request) -> CurrentUser:
    """The logged-in user of a route behind `require_role` (401 if, against that guarantee, there is none)."""
    user = current_user(request)
    if user is None:
        raise web.HTTPUnauthorized(text="Phiên đăng nhập đã hết hạn.")
    return user


def csrf_ok(request: web.Request, user: CurrentUser, form: Any) -> bool:
    """True when a POST carries the session's CSRF token (form field or X-CSRF-Token header)."""
    given = request.headers.get("X-CSRF-Token") or (form.get("csrf_token") if form is not None else None) or ""
    return same_secret(given, user.csrf_token)


def require_role(*roles: str) -> Callable[[Handler], Handler]:
    """Decorator for console routes: login required, role in `roles` (none given: any role), CSRF on POST.

    A supervisor passes wherever a counselor does. Pages redirect to /login; fragment and JSON requests (Accept: application/json or X-Requested-With)
    get 401. The user is available as `current_user(request)`.
    """
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            user = current_user(request)
            if user is None:
                if request.method == "GET" and not request.headers.get("X-Requested-With"):
                    raise web.HTTPSeeOther(f"/login?next={request.rel_url.path}")
                raise web.HTTPUnauthorized(text="Phiên đăng nhập đã hết hạn.")
            if roles and not any(has_role(user.role, wanted) for wanted in roles):
                raise web.HTTPForbidden(text="Tài khoản của bạn không có quyền xem trang này.")
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                form = await read_form(request) if request.content_type in (
                    "application/x-www-form-urlencoded", "multipart/form-data") else None
                if not csrf_ok(request, user, form):
                    raise web.HTTPForbidden(text="Mã bảo vệ biểu mẫu (CSRF) không hợp lệ; hãy tải lại trang.")
            return await handler(request)
        return wrapped
    return decorate
