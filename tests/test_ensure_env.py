"""`make run` fills in secrets: missing or empty values are generated, present ones kept, file is 0600."""

import stat
from pathlib import Path

import pytest

from scripts.ensure_env import SECRETS, main


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch) -> None:
    for key in (*SECRETS, "ACTION_ENDPOINT_URL", "TRACKER_SQLITE_PATH"):
        monkeypatch.delenv(key, raising=False)


def _read(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")


def test_new_file_gets_every_secret(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    assert sorted(main(env)) == sorted(SECRETS)
    values = _read(env)
    assert all(len(values[k]) >= 40 for k in SECRETS)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert main(env) == [] and _read(env) == values


def test_empty_values_copied_from_the_example_are_generated(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("# copied\nRASA_AUTH_TOKEN=\nDESK_API_TOKEN=keep-me\nDATABASE_URL=\n")
    assert sorted(main(env)) == ["DESK_SESSION_SECRET", "RASA_AUTH_TOKEN"]
    values = _read(env)
    assert values["DESK_API_TOKEN"] == "keep-me" and values["RASA_AUTH_TOKEN"]
    assert list(values).count("RASA_AUTH_TOKEN") == 1 and values["DATABASE_URL"] == ""


def test_generated_secrets_are_named_never_printed(tmp_path: Path, capsys) -> None:
    env = tmp_path / ".env"
    main(env)
    out = capsys.readouterr()
    printed = out.out + out.err
    assert all(key in printed for key in SECRETS) and str(env.resolve()) in printed
    for key, value in _read(env).items():
        if key in SECRETS:
            assert value not in printed
