"""After login the console only ever goes to a path on the desk itself (no open redirect)."""

import pytest

from bot.desk.console.pages import safe_next


@pytest.mark.parametrize("given", ["/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "//evil.example",
                                   "/\\evil.example", "https://evil.example/", "javascript:alert(1)", "evil.example",
                                   "/ /evil.example", "/\x00/evil.example", "", None])
def test_anything_but_a_local_path_goes_home(given) -> None:
    assert safe_next(given) == "/"


@pytest.mark.parametrize("given", ["/", "/cases", "/cases/12", "/cases?status=open&urgency=danger_now",
                                   "/staff/review"])
def test_local_paths_are_kept(given) -> None:
    assert safe_next(given) == given
