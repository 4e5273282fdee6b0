"""Fuzzing the desk: the bearer API, the Telegram webhook, the console login and the case actions.

Properties: never a 5xx (GET /health is left out: its 503 is the alarm it exists for), never a traceback in the
answer; a counselor reply the console accepted is recorded on the case and handed to the channels.

Each test shares one running desk (and one logged-in counselor) across its examples, hence
`HealthCheck.function_scoped_fixture` is suppressed; examples are bounded so the file stays well under 60 s.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.cases.models import CaseEvent
from bot.config import MAX_REQUEST_BYTES
from bot.desk import keys
from bot.desk.commands import MAX_REPLY
from tests.desk.helpers import API_TOKEN, eventually, login, open_case
from tests.fuzz import content_types, json_values, no_traceback, odd_headers, raw_garbage, with_content_type

SHARED = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# URLs and forms are text the client can encode (no lone surrogates); broken bytes go in raw bodies instead.
url_text = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
                     st.sampled_from(["", "0", "-1", "99999999999999999999999", "1e5", "../../", "%00", "%ff",
                                      "x" * 10_000, "telegram:42", "rest:a b"]))
form_text = st.one_of(st.text(st.characters(blacklist_categories=("Cs",)), max_size=60),
                      st.builds(lambda c, n: c * n, st.sampled_from(["x", "ầ", "\x00", "\r\n"]),
                                st.sampled_from([MAX_REPLY, MAX_REPLY + 1, 200_000])))
auth_headers = st.sampled_from([{}, {"Authorization": f"Bearer {API_TOKEN}"}, {"Authorization": "Bearer x"},
                                {"Authorization": "Bearer tôi"}, {"Authorization": "Basic Og=="},
                                {"Authorization": f"bearer  {API_TOKEN}  "}, {"Authorization": "Bearer " + "a" * 9000}])


def _body_size(data: Any) -> int:
    if isinstance(data, dict):
        return len(urlencode(data).encode())
    return len(data) if isinstance(data, (bytes, str)) else 0


async def send(desk: Any, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    """One request without following redirects; (status, body text).

    A body over the desk's limit is refused from its headers: the desk answers 413 and closes while the client may
    still be writing, so the client can see the connection reset instead. That is the refusal, reported as 413.
    """
    oversized = _body_size(kwargs.get("data")) > MAX_REQUEST_BYTES
    if oversized:  # never back into the client's pool: the next request must not meet the reset connection
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "Connection": "close"}
    try:
        async with desk.http.request(method, desk.url + path, allow_redirects=False, **kwargs) as resp:
            return resp.status, await resp.text(errors="replace")
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError):
        if oversized:
            return 413, ""
        raise


def ok(status: int, body: str) -> None:
    """Never a server error, never the server's insides."""
    assert status < 500, (status, body[:300])
    assert no_traceback(body), body[:300]


def header_safe(headers: dict[str, str]) -> dict[str, str]:
    """Header values the HTTP client can send (latin-1)."""
    return {k: v.encode("latin-1", "ignore").decode("latin-1") for k, v in headers.items()}


@pytest.fixture
async def counselor_session(desk, counselor) -> dict[str, Any]:
    """A logged-in counselor who has claimed one danger case."""
    case_id = open_case(desk.engine, sender="zalo:fuzz-1")
    csrf = await login(desk, counselor)
    status, _ = await send(desk, "POST", f"/cases/{case_id}/claim", data={"csrf_token": csrf})
    assert status == 303
    return {"csrf": csrf, "case_id": case_id}


@SHARED
@given(route=st.sampled_from(["/api/cases", "/api/cases/{x}", "/api/conversations/{x}/messages"]),
       segment=url_text, auth=auth_headers, extra=odd_headers,
       query=st.dictionaries(st.sampled_from(["status", "urgency", "channel", "sender_id", "limit", "after",
                                              "x", "limit[]"]), url_text, max_size=3))
@example(route="/api/cases/{x}", segment="99999999999999999999999", auth={"Authorization": f"Bearer {API_TOKEN}"},
         extra={}, query={})
@example(route="/api/conversations/{x}/messages", segment="zalo:1", auth={"Authorization": f"Bearer {API_TOKEN}"},
         extra={}, query={"after": "99999999999999999999999"})
async def test_api_never_5xx(desk, route, segment, auth, extra, query) -> None:
    path = route.replace("{x}", quote(segment, safe="") or "0")
    status, body = await send(desk, "GET", path, params=query, headers=header_safe({**extra, **auth}))
    ok(status, body)
    if auth.get("Authorization") != f"Bearer {API_TOKEN}" and not auth.get("Authorization", "").startswith("bearer "):
        assert status in (400, 401, 404, 414, 431), status


@SHARED
@given(raw=st.one_of(raw_garbage, json_values.map(lambda v: json.dumps(v).encode())),
       secret=st.sampled_from(["valid", "missing", "wrong", "tôi"]), content_type=content_types)
@example(raw=b"{}", secret="valid", content_type="application/json; charset=\u00ff")
@example(raw=b"[" * 2000 + b"]" * 2000, secret="valid", content_type="application/json")
async def test_telegram_webhook_never_5xx(desk, raw, secret, content_type) -> None:
    headers = with_content_type({}, content_type)
    if secret == "valid":
        headers["X-Telegram-Bot-Api-Secret-Token"] = desk.app[keys.SETTINGS].effective_webhook_secret
    elif secret != "missing":
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret.encode().decode("latin-1")
    status, body = await send(desk, "POST", "/telegram/webhook", data=raw, headers=headers)
    ok(status, body)
    if secret != "valid":
        assert 400 <= status < 500, status  # refused (403, or 415 for a body that is not JSON)


@SHARED
@given(form=st.dictionaries(st.sampled_from(["username", "password", "csrf_token", "next", "x"]), form_text,
                            max_size=4),
       with_token=st.booleans(), raw=st.one_of(st.none(), raw_garbage), content_type=content_types,
       extra=odd_headers)
@example(form={}, with_token=False, raw=b"\x80", content_type="application/x-www-form-urlencoded", extra={})
@example(form={"username": "\r\n" * 200_000, "password": "x" * 200_000}, with_token=False, raw=None,
         content_type=None, extra={"X-Forwarded-For": ""})  # over the body limit: refused from the headers
async def test_login_never_5xx(desk, counselor, form, with_token, raw, content_type, extra) -> None:
    if with_token:
        status, page = await send(desk, "GET", "/login")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if match:
            form = {**form, "csrf_token": match.group(1)}
    headers = header_safe(extra)
    if raw is not None:
        status, body = await send(desk, "POST", "/login", data=raw, headers=with_content_type(headers, content_type))
    else:
        status, body = await send(desk, "POST", "/login", data=form, headers=headers)
    ok(status, body)
    status, body = await send(desk, "GET", "/login", params={"next": form.get("next", "/")})
    ok(status, body)


@SHARED
@given(action=st.sampled_from(["claim", "resolve", "reply", "note"]), text=form_text,
       csrf=st.sampled_from(["valid", "missing", "wrong"]), raw=st.one_of(st.none(), raw_garbage),
       content_type=content_types, case=st.sampled_from(["mine", "0", "999999999", "99999999999999999999999"]))
@example(action="claim", text="", csrf="valid", raw=None, content_type=None, case="99999999999999999999999")
@example(action="note", text="", csrf="valid", raw=b"text=\x80", content_type="application/x-www-form-urlencoded",
         case="mine")
async def test_case_actions_never_5xx(desk, counselor_session, action, text, csrf, raw, content_type,
                                      case) -> None:
    case_id = counselor_session["case_id"] if case == "mine" else case
    form: dict[str, str] = {"text": text}
    if csrf == "valid":
        form["csrf_token"] = counselor_session["csrf"]
    elif csrf == "wrong":
        form["csrf_token"] = "x" + counselor_session["csrf"][1:]
    if raw is not None:
        headers = with_content_type({}, content_type)
        status, body = await send(desk, "POST", f"/cases/{case_id}/{action}", data=raw, headers=headers)
    else:
        status, body = await send(desk, "POST", f"/cases/{case_id}/{action}", data=form)
    ok(status, body)
    for page in (f"/cases/{case_id}", f"/cases/{case_id}/live", "/cases/rows"):
        ok(*await send(desk, "GET", page))


@FEW
@given(text=form_text)
async def test_an_accepted_console_reply_is_recorded_and_handed_to_the_channels(desk, counselor_session,
                                                                                text) -> None:
    case_id = counselor_session["case_id"]
    status, body = await send(desk, "POST", f"/cases/{case_id}/reply",
                              data={"text": text, "csrf_token": counselor_session["csrf"]})
    ok(status, body)
    wanted = text.strip()
    if status == 413 or not wanted or len(wanted) > MAX_REPLY:
        return
    assert status == 303, (status, body[:300])
    with desk.engine.connect() as conn:
        details = list(conn.execute(select(CaseEvent.detail).where(
            CaseEvent.case_id == case_id, CaseEvent.kind == "counselor_reply")).scalars())
    assert wanted in details
    await eventually(lambda: any(t == wanted for _, t, _ in desk.outbound.sent), timeout=30)
