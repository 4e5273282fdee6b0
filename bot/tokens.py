"""Constant-time comparison of a secret taken from a request with the expected one.

Guarantees: never raises, whatever the given value holds (non-ASCII text, or the lone surrogates aiohttp and
Sanic make of bytes that are not UTF-8), so a garbage header is a refusal (401/403), never a 500; an empty
expected secret matches nothing.
"""

from __future__ import annotations

import hmac


def _bytes(value: str) -> bytes:
    # surrogateescape gives back the original bytes of a header that was not UTF-8; surrogatepass covers any other.
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass")


def same_secret(given: str | None, expected: str | None) -> bool:
    """True when `given` equals the non-empty `expected`, compared in constant time."""
    if not expected or not isinstance(given, str):
        return False
    return hmac.compare_digest(_bytes(given), _bytes(expected))
