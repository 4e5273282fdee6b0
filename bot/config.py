"""Settings read from the environment (and `.env`), with embedded defaults; where local data may live and how.

Guarantees: every service binds 127.0.0.1 unless `<SERVICE>_HOST` or `BIND_HOST` says otherwise; `var/` (cases,
password hashes, platform tokens) is a 0700 directory and the files the project creates in it are 0600.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("APP_VAR_DIR", ROOT / "var"))
CONTENT_DIR = Path(os.environ.get("CONTENT_DIR", ROOT / "content"))
LOOPBACK = "127.0.0.1"
PRIVATE_UMASK = 0o077
MAX_REQUEST_BYTES = 1024 * 1024  # every HTTP server refuses larger bodies before buffering them


def env(name: str, default: str | None = None) -> str | None:
    """Return an environment variable, treating an empty value as unset."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_value(env: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """A variable, treating empty values as unset."""
    value = env.get(name)
    return value.strip() if value not in (None, "") and value.strip() else default


def env_number(env: Mapping[str, str], name: str, default: float) -> float:
    """A numeric variable; unset, empty or not a number gives the default."""
    raw = env_value(env, name)
    try:
        return float(raw) if raw is not None else default
    except ValueError:
        return default


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


def bind_host(service: str) -> str:
    """The address a service listens on: `<SERVICE>_HOST`, else `BIND_HOST`, else loopback."""
    return env(f"{service.upper()}_HOST") or env("BIND_HOST") or LOOPBACK


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) so that only its owner can enter it (0700); returns it."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_uid == os.getuid():
        os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """Create `path` if missing and make it readable by its owner only (0600); returns it."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_uid == os.getuid():
        os.chmod(path, 0o600)
    return path


def private_process() -> None:
    """For entry points: files this process creates are its owner's only, and `var/` is 0700."""
    os.umask(PRIVATE_UMASK)
    private_dir(VAR_DIR)
