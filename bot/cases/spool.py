"""The local spool: urgent cases wait in an fsynced file while the database cannot be reached.

What it guarantees:
- `spool_case` returns only after its line is fsynced; every line carries a `spool_id`, so importing a line
  twice never gives two cases or two messages (it becomes the case's message id when the channel gave none).
- `drain_spool` always finishes a leftover `.draining` file before it takes the live file; a line that
  cannot be read is set aside in `.bad` (0600) with a CRITICAL log (no content) and never blocks later
  lines; a drain stopped by the database (locked, down) keeps the lines not yet imported for the next one.
- Appenders and the drain's rename hold an flock on `.lock`, so no append lands in a file that is being
  renamed; two drains exclude each other (`.drainlock`).
- `waits` says whether a sender's case is still in the spool (a deletion request waits for it: erasing
  the line would strand an urgent case).
- `spool_state` is "failing" while any case waits in a file or a bad line is set aside.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.cases.store import CaseRequest, CaseStore
from bot.config import VAR_DIR
from bot.timeutil import utcnow

log = logging.getLogger(__name__)
SPOOLED_REASON = "ghi tạm khi CSDL gián đoạn"
# The database is not there or is busy: keep the line and try again at the next drain.
_TRANSIENT = (OperationalError, InterfaceError, PoolTimeout)
_FIELDS = {f.name for f in fields(CaseRequest)}
_REQUIRED_STR = ("channel", "sender_id", "urgency", "message")


def spool_path() -> Path:
    """Where cases wait when the database cannot be reached."""
    return VAR_DIR / "spool" / "cases.jsonl"


def _draining(path: Path) -> Path:
    return path.with_suffix(".draining")


def _bad(path: Path) -> Path:
    return path.with_suffix(".bad")


@contextmanager
def _flock(lock: Path, blocking: bool = True) -> Iterator[bool]:
    """Hold an exclusive flock on `lock` (created 0600); yields False when not blocking and it is taken."""
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _append(path: Path, data: bytes) -> None:
    """Append bytes to a 0600 file, starting a new line if the last one was torn, and fsync."""
    created = not path.exists()
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            data = b"\n" + data  # a writer died mid-line: do not glue this case onto its torn line
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _fsync_dir(path.parent)


def _replace(path: Path, lines: list[bytes]) -> None:
    """Atomically replace a file with these lines (temp file, fsync, rename); remove it when there are none."""
    if not lines:
        path.unlink(missing_ok=True)
    else:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            _write_all(fd, b"".join(line + b"\n" for line in lines))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    _fsync_dir(path.parent)


def spool_case(req: CaseRequest, path: Path | None = None) -> None:
    """Append a case request to the local spool file, fsynced, for later import."""
    path = path or spool_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    record = {**req.__dict__, "reasons": list(req.reasons), "at": utcnow().isoformat(),
              "spool_id": uuid.uuid4().hex}
    data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
    with _flock(path.with_suffix(".lock")):
        _append(path, data)


def _belongs_to(line: bytes, sender_id: str) -> bool:
    """Whether a spool line is this sender's (an unreadable line: whether it names the sender at all)."""
    try:
        data = json.loads(line)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data.get("sender_id") == sender_id
    return json.dumps(sender_id, ensure_ascii=False).encode("utf-8") in line


def waits(sender_id: str, path: Path | None = None) -> bool:
    """Whether a case of this sender still waits in the live or the draining file (on its way to the database)."""
    path = path or spool_path()
    for candidate in (path, _draining(path)):
        try:
            lines = candidate.read_bytes().split(b"\n")
        except FileNotFoundError:
            continue
        if any(line.strip() and _belongs_to(line, sender_id) for line in lines):
            return True
    return False


def _parse(line: bytes) -> CaseRequest | None:
    """The case request a spool line holds, or None when the line is torn or malformed."""
    try:
        data: Any = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in _REQUIRED_STR):
        return None
    reasons = data.get("reasons") or []
    optional = (data.get("province"), data.get("message_id"), data.get("spool_id"))
    if not isinstance(reasons, list) or not all(isinstance(r, str) for r in reasons) \
            or not all(v is None or isinstance(v, str) for v in optional):
        return None
    values = {k: v for k, v in data.items() if k in _FIELDS}
    values["reasons"] = (*reasons, SPOOLED_REASON)
    if not values.get("message_id") and data.get("spool_id"):
        values["message_id"] = f"spool:{data['spool_id']}"
    return CaseRequest(**values)


def _set_aside(path: Path, line: bytes, why: str) -> None:
    _append(_bad(path), line + b"\n")
    log.critical("SPOOLED CASE SET ASIDE: a line of the case spool %s (%d bytes); it is kept in %s for a person "
                 "to import by hand", why, len(line), _bad(path).name)


def _import(store: CaseStore, work: Path) -> int:
    """Import every line of a draining file, then remove it; on a database failure keep what is left."""
    lines = [line for line in work.read_bytes().split(b"\n") if line.strip()]
    imported = 0
    for i, line in enumerate(lines):
        req = _parse(line)
        if req is None:
            _set_aside(work, line, "could not be read")
            continue
        try:
            store.open_case(req)
            imported += 1
        except _TRANSIENT:
            _replace(work, lines[i:])
            raise
        except Exception:  # a line the database refuses for good must not block the ones after it
            log.exception("the database refused a spooled case")
            _set_aside(work, line, "was refused by the database")
    work.unlink()
    return imported


def drain_spool(store: CaseStore, path: Path | None = None) -> int:
    """Import spooled cases into the database (a leftover draining file first); returns how many were imported."""
    path = path or spool_path()
    work = _draining(path)
    if not path.exists() and not work.exists():
        return 0
    with _flock(path.with_suffix(".drainlock"), blocking=False) as mine:
        if not mine:
            return 0  # another drain is at work
        count = _import(store, work) if work.exists() else 0
        with _flock(path.with_suffix(".lock")):
            moved = path.exists()
            if moved:
                os.replace(path, work)
        if moved:
            count += _import(store, work)
    return count


def spool_state(path: Path | None = None) -> str:
    """"failing" while a case waits in the spool or a spooled line is set aside, else "ok"."""
    path = path or spool_path()
    waiting = (path, _draining(path), _bad(path))
    return "failing" if any(p.exists() and p.stat().st_size > 0 for p in waiting) else "ok"
