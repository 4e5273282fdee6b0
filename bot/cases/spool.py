"""The local spool: cases wait in an fsynced file while the database cannot be reached."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.cases.store import CaseRequest, CaseStore
from bot.config import VAR_DIR
from bot.timeutil import utcnow


def spool_path() -> Path:
    """Where cases wait when the database cannot be reached."""
    return VAR_DIR / "spool" / "cases.jsonl"


def spool_case(req: CaseRequest, path: Path | None = None) -> None:
    """Append a case request to the local spool file, fsynced, for later import."""
    path = path or spool_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**req.__dict__, "reasons": list(req.reasons), "at": utcnow().isoformat()},
                      ensure_ascii=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, (line + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def drain_spool(store: CaseStore, path: Path | None = None) -> int:
    """Import spooled cases into the database; returns how many were imported."""
    path = path or spool_path()
    if not path.exists():
        return 0
    work = path.with_suffix(".draining")
    if not work.exists():
        path.rename(work)
    count = 0
    for line in work.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        data.pop("at", None)
        data["reasons"] = tuple(data.get("reasons") or ()) + ("ghi tạm khi CSDL gián đoạn",)
        store.open_case(CaseRequest(**data))
        count += 1
    work.unlink()
    return count
