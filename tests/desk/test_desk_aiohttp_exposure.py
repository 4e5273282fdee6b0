"""The desk runs aiohttp 3.9.5 (Rasa pins aiohttp < 3.10): what the argument that its advisories do not reach the
desk relies on, checked (issue 11, #15): the C HTTP parser, no static routes, bounded bodies, no request-body
decompression, asserts on, loopback by default."""

from __future__ import annotations

import gzip
import shlex
from pathlib import Path

import aiohttp
import aiohttp.http_parser as http_parser
import pytest
from aiohttp import web
from sqlalchemy.engine import Engine

from bot.config import MAX_REQUEST_BYTES
from bot.desk.app import create_app
from tests.desk.helpers import desk_runtime

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app(engine: Engine) -> web.Application:
    desk = create_app(desk_runtime(engine), "t" * 32)

    async def body_size(request: web.Request) -> web.Response:  # what a handler gets to read
        return web.json_response({"size": len(await request.read())})

    desk.router.add_post("/__size", body_size)
    return desk


def test_the_c_http_parser_is_in_use() -> None:
    # the request-smuggling advisories of 3.9.5 (GHSA-8495-4g3g-x7pr, GHSA-9548-qrrj-x5pj, GHSA-69f9-5gxw-wvc2)
    # are in the pure-Python parser, used only without the C extension or with AIOHTTP_NO_EXTENSIONS
    assert aiohttp.__version__ == "3.9.5", "the exposure table in docs/security.md is written for 3.9.5"
    assert http_parser.HttpRequestParser is http_parser.HttpRequestParserC  # type: ignore[attr-defined]


def test_no_static_route_follows_symlinks_or_lists_a_directory(app: web.Application) -> None:
    # GHSA-jwhx-xcg6-8xhj (follow_symlinks traversal) and GHSA-54jq-c3m8-4m76 (static path probing) need add_static
    assert not [r for r in app.router.resources() if isinstance(r, web.StaticResource)]


def test_the_desk_bounds_request_bodies(app: web.Application) -> None:
    assert app._client_max_size == MAX_REQUEST_BYTES


async def test_a_compressed_body_is_never_inflated(app: web.Application, aiohttp_client) -> None:
    # GHSA-6mq8-rvhq-8wgg: the parser inflates gzip/deflate request bodies chunk by chunk without a bound
    bomb = gzip.compress(b"\0" * (8 * MAX_REQUEST_BYTES))
    client = await aiohttp_client(app)
    resp = await client.post("/__size", data=bomb, headers={"Content-Encoding": "gzip"})
    assert resp.status == 200 and (await resp.json())["size"] == len(bomb)


async def test_an_oversized_body_is_refused(app: web.Application, aiohttp_client) -> None:
    client = await aiohttp_client(app)
    resp = await client.post("/__size", data=b"x" * (2 * MAX_REQUEST_BYTES))
    assert resp.status == 413


def test_the_desk_runs_with_asserts_on() -> None:
    # GHSA-6jhg-hg63-jvvf needs `python -O` (asserts stripped)
    desk = dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())["desk"]
    words = shlex.split(desk)
    assert not any(w.startswith("-O") for w in words) and "PYTHONOPTIMIZE" not in desk


async def test_chunked_and_multipart_bodies_are_refused_before_a_handler_reads_them(app: web.Application,
                                                                                    aiohttp_client) -> None:
    # GHSA-g84x-mcqj-x9qq (many chunks: quadratic) and CVE-2025-69228 (multipart fields each under the limit)
    client = await aiohttp_client(app)

    async def chunks():
        for _ in range(100):
            yield b"x"

    assert (await client.post("/__size", data=chunks())).status == 411
    form = aiohttp.FormData()
    form.add_field("f", b"x" * 10, filename="a.bin")
    assert (await client.post("/__size", data=form)).status == 415
    assert (await client.post("/__size", data={"a": "b"})).status == 200  # urlencoded forms still work
