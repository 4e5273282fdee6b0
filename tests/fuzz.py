"""Hypothesis strategies for fuzzing HTTP entry points: hostile JSON, texts, bytes, content types and headers.

Shared by the webhook fuzz tests (tests/channels/test_fuzz_webhooks.py) and the desk fuzz tests
(tests/desk/test_desk_fuzz.py). Every strategy is bounded so one example stays small enough to post quickly;
"huge" means just over the limits the code enforces (the 1 MiB webhook body, the text bound).
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

# Any code point, lone surrogates included (JSON can carry them as \ud800 escapes).
any_char = st.characters(min_codepoint=0, max_codepoint=0x10FFFF)
short_text = st.text(any_char, max_size=30)
huge_text = st.builds(lambda c, n: c * n, st.sampled_from(["x", "ầ", "😀", "\u200b", "\x00", "<"]),
                      st.sampled_from([5_000, 70_000, 300_000]))
hostile_text = st.one_of(short_text, huge_text, st.sampled_from(
    ["", " ", "/intent{\"x\":1}", "/restart", "/xoa", "=1+1", "\ud800", "\x00", "%s%n", "{{7*7}}", "../../etc/passwd",
     "chồng tôi đang đánh tôi, cứu tôi với", "<script>alert(1)</script>", "' OR 1=1 --"]))

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**70, max_value=2**70),
                    st.floats(allow_nan=False, allow_infinity=False), short_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(short_text, inner, max_size=4)),
                           max_leaves=12)


def deep(depth: int, kind: str) -> bytes:
    """JSON nested `depth` levels deep (a list or a dict chain)."""
    if kind == "list":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


deep_json = st.builds(deep, st.sampled_from([64, 2_000, 200_000]), st.sampled_from(["list", "dict"]))
raw_garbage = st.one_of(st.binary(max_size=200), deep_json, st.sampled_from(
    [b"", b"null", b"[]", b"{}", b"\"x\"", b"1e999999", b"{\"a\":NaN}", b"\xff\xfe\x00\x00", b"\xef\xbb\xbf{}",
     b"{\"a\": \"\\ud800\"}", b"{\"a\":1,\"a\":2}", b"\x1f\x8b\x08\x00"]))


def mis_encoded(body: Any) -> st.SearchStrategy[bytes]:
    """`body` as JSON in encodings a webhook must refuse or read (UTF-16/32 with BOM, Latin-1, broken UTF-8)."""
    text = json.dumps(body, ensure_ascii=False)
    return st.sampled_from([text.encode("utf-16"), text.encode("utf-16-le"), text.encode("utf-32"),
                            text.encode("latin-1", errors="replace"), b"\xef\xbb\xbf" + text.encode(),
                            text.encode()[:-1] + b"\xff", text.encode() + b"\xc3"])


content_types = st.sampled_from([None, "application/json", "application/json; charset=utf-16", "text/plain",
                                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                                 "application/json; charset=\u00ff", "*/*", "", "application/xml"])
header_value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
odd_headers = st.dictionaries(st.sampled_from(["X-Forwarded-For", "X-Real-IP", "Accept", "Accept-Encoding",
                                               "Content-Encoding", "Transfer-Encoding-X", "Cookie", "Origin",
                                               "Referer", "X-Requested-With", "Authorization", "Expect-X"]),
                              header_value, max_size=3)


def with_content_type(headers: dict[str, str], content_type: str | None) -> dict[str, str]:
    """The headers with Content-Type set (or removed when None)."""
    out = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    if content_type is not None:
        out["Content-Type"] = content_type
    return out


def mutate(body: Any, path: list[str | int], value: Any) -> Any:
    """A deep copy of `body` with the value at `path` replaced (the path is followed as far as it exists)."""
    copy = json.loads(json.dumps(body))
    if not path:
        return copy
    node = copy
    for key in path[:-1]:
        if not _has(node, key):
            return copy
        node = node[key]
    if _has(node, path[-1]) or (isinstance(node, dict) and isinstance(path[-1], str)):
        node[path[-1]] = value
    return copy


def _has(node: Any, key: str | int) -> bool:
    """True when `node[key]` exists (a dict key, or an index of a list)."""
    if isinstance(node, dict):
        return key in node
    return isinstance(node, list) and isinstance(key, int) and key < len(node)


def no_traceback(text: str) -> bool:
    """True when a response body shows no Python traceback or exception name."""
    return "Traceback" not in text and "File \"" not in text and "Exception" not in text
