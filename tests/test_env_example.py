"""Every setting the code reads from the environment is explained in .env.example (staff configure from it)."""

from __future__ import annotations

import re

from tests.conftest import ROOT

# Read from the environment, but not settings anyone should write into .env.
INTERNAL = {
    "USER": "the operating system's user name",
    "SANIC_HOST": "set by scripts/serve_actions.py from ACTION_HOST / BIND_HOST",
    "SANIC_ACCESS_LOG": "set off by the Rasa wrapper (its lines carry tokens and sender ids)",
    "SANIC_REQUEST_MAX_SIZE": "set by the wrappers (1 MiB)",
    "APP_VAR_DIR": "tests and the benchmark point it at a temporary directory",
    "CONTENT_DIR": "tests point it at a temporary copy of content/",
    "PYTHONWARNINGS": "set by the Makefile",
    "TF_CPP_MIN_LOG_LEVEL": "set by the Makefile",
    "RASA_TELEMETRY_ENABLED": "set off by the Makefile",
    "PYTHONPATH": "set by the Makefile",
    "CI": "set by CI",
}
_READ = re.compile(r"""(?:\benv|_float|_int|_bool|_positive|env_number|getenv|\.get|environ\[)\(?\s*(?:env,\s*)?["']([A-Z][A-Z0-9_]{2,})["']""")


def test_every_environment_setting_is_documented() -> None:
    names: set[str] = set()
    for folder in ("bot", "actions", "scripts"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(_READ.findall(path.read_text(encoding="utf-8")))
    assert {"DATABASE_URL", "DESK_API_TOKEN", "REST_CHANNEL", "DATA_RETENTION_DAYS"} <= names  # the scan works
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"),
                                flags=re.M))
    assert sorted(names - documented - set(INTERNAL)) == []
