"""Settings read from the environment (and `.env`), with embedded defaults."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("APP_VAR_DIR", ROOT / "var"))
CONTENT_DIR = Path(os.environ.get("CONTENT_DIR", ROOT / "content"))


def env(name: str, default: str | None = None) -> str | None:
    """Return an environment variable, treating an empty value as unset."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def database_url() -> str:
    """The project database: `DATABASE_URL`, else a SQLite file under var/."""
    return env("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'app.db'}"


def tracker_database_url() -> str:
    """Rasa's SQL tracker store: TRACKER_DATABASE_URL, else the SQLite file endpoints.yml names."""
    url = env("TRACKER_DATABASE_URL")
    if url:
        return url
    path = Path(env("TRACKER_SQLITE_PATH") or VAR_DIR / "tracker.db")
    return f"sqlite:///{path if path.is_absolute() else ROOT / path}"


def load_dotenv(path: Path | None = None) -> None:
    """Load KEY=VALUE lines from `.env` into os.environ without overriding."""
    path = path or ROOT / ".env"
    if not path.exists():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        os.environ.setdefault(key.strip(), value.strip().strip('"').strip("'"))
