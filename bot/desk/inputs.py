"""What the desk reads from a request: ids in the path or the query, urlencoded forms and JSON bodies.

Guarantees: a value a client sends can only ever be refused with a 4xx, never turn into a 500. An id is decimal
ASCII digits within what the database can store (1..2**63-1; SQLite's driver raises OverflowError beyond it); a
form or JSON body is UTF-8 (JSON has no other encoding, RFC 8259, so a declared charset is ignored) and JSON
nesting too deep for the parser is refused.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

MAX_ID = 2**63 - 1  # the largest signed 64-bit integer: SQLite INTEGER, PostgreSQL BIGINT
_MAX_ID_DIGITS = 64  # longer texts are refused before int() is asked to read them
BAD_FORM = "Không đọc được nội dung biểu mẫu gửi lên; hãy tải lại trang và thử lại."


class BadBody(ValueError):
    """A request body the desk cannot read (wrong encoding, not JSON, nested too deep)."""


def parse_id(text: str | None, minimum: int = 1) -> int | None:
    """`text` as a decimal id in minimum..MAX_ID, else None."""
    if text is None or len(text) > _MAX_ID_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if minimum <= value <= MAX_ID else None


def path_id(request: web.Request, name: str, not_found: str = "Không tìm thấy.") -> int:
    """The id in the route segment `name`; 404 when it is not one the database can hold."""
    value = parse_id(request.match_info.get(name))
    if value is None:
        raise web.HTTPNotFound(text=not_found)
    return value


async def read_form(request: web.Request) -> MultiDictProxy[Any]:
    """The request's form fields (empty for a body that is not a form); 400 when it cannot be decoded."""
    try:
        return await request.post()
    except (ValueError, LookupError):  # bytes that are not UTF-8 (UnicodeDecodeError), or an unknown charset
        raise web.HTTPBadRequest(text=BAD_FORM) from None


def form_text(form: Any, name: str, default: str = "") -> str:
    """A form field as text without surrounding blanks; `default` when it is absent or empty."""
    return str(form.get(name) or "").strip() or default


async def read_json(request: web.Request) -> Any:
    """The request body parsed as UTF-8 JSON; BadBody when it is not."""
    raw = await request.read()
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadBody("the body is not UTF-8 JSON") from None
