"""Masking takes time in proportion to the text: one huge message cannot freeze the desk."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.masking import mask_names, mask_personal
from bot.text import mask_pii

# mask_pii as it was (quadratic on a long run of word characters): the reference for its outputs.
_OLD_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_OLD_PHONE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")


def _old_mask_pii(text: str) -> str:
    return _OLD_PHONE.sub("[số điện thoại]", _OLD_EMAIL.sub("[email]", text))


def _seconds(fn: Callable[[str], str], text: str) -> float:
    start = time.process_time()
    fn(text)
    return time.process_time() - start


def _mixed(n: int, alphabet: str = "ab9 0.@-+xyzđ1") -> str:
    rng = random.Random(11)
    return "".join(rng.choice(alphabet) for _ in range(n))


def _assert_linear(fn: Callable[[str], str], make: Callable[[int], str], small: int, limit: float = 2.0) -> None:
    """A modest input must be quick (a quadratic one fails here fast), then 10x the input must cost about 10x."""
    warm = _seconds(fn, make(small // 10))
    assert warm < 0.5, f"{small // 10} characters took {warm:.2f}s"
    base = _seconds(fn, make(small))
    assert base < 0.5, f"{small} characters took {base:.2f}s"
    big = _seconds(fn, make(small * 10))
    assert big < limit, f"{small * 10} characters took {big:.2f}s"
    assert big < 30 * base + 0.1, f"10x the input took {big / max(base, 1e-9):.0f}x the time"


def test_mask_pii_is_linear_on_a_megabyte_of_one_letter() -> None:
    _assert_linear(mask_pii, lambda n: "a" * n, 100_000)


def test_mask_pii_is_linear_on_mixed_digits_and_letters() -> None:
    _assert_linear(mask_pii, _mixed, 20_000)
    _assert_linear(mask_pii, lambda n: "0" * n, 20_000)
    _assert_linear(mask_pii, lambda n: "a." * (n // 2) + "@", 20_000)
    _assert_linear(mask_pii, lambda n: "a@" * (n // 2), 20_000)


@pytest.mark.parametrize("make", [
    lambda n: "a" * n,
    lambda n: "chị Lan " * (n // 8),
    lambda n: "tên tôi là " * (n // 11),
    lambda n: "[" * n,
    lambda n: "Nguyễn Văn An, " * (n // 15),
    lambda n: _mixed(n, "Aa bB[]:."),
], ids=["letters", "honorifics", "cues", "brackets", "full-names", "mixed"])
def test_name_masking_is_linear(make: Callable[[int], str]) -> None:
    _assert_linear(mask_names, make, 20_000)
    _assert_linear(mask_personal, make, 20_000)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab_9 0.@-+éđ!\n84", max_size=60))
def test_mask_pii_gives_exactly_what_it_gave_before(text: str) -> None:
    assert mask_pii(text) == _old_mask_pii(text)


@pytest.mark.parametrize("text", [
    "mail lan.nguyen@example.com hoặc a@b.c+x@d.e, gọi 0912 345 678",
    "a@b@c.d a@b. x@y.z.w@q.r ..@@..",
    "+84 912345678 và 0912.345.678 hay 113",
])
def test_mask_pii_keeps_its_outputs_on_edge_cases(text: str) -> None:
    assert mask_pii(text) == _old_mask_pii(text)
