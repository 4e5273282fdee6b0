"""Benchmark section of `scripts/bench.py --broadcast-recipients N`: one broadcast to N subscribers on the fakes.

Seeds a temporary project database with N subscribers (Telegram, Messenger and Zalo in turn, all inside their
messaging windows) and one approved broadcast, starts the fake Telegram, Graph and Zalo servers in this process
and the real desk (`python -m bot.desk`) on a loopback port. It kills the desk with SIGKILL when about a third
of the messages went out, restarts it and lets the broadcast finish. Figures: messages per second per platform
(mean over the run and the busiest one-second window, next to the configured limit), the desk's peak memory
(VmHWM of each run), the time from the restart to the first message sent again, and that nobody got two.
Bounded by `timeout`; everything it starts is stopped at the end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHANNELS = ("telegram", "messenger", "zalo")


def seed(db_url: str, count: int) -> int:
    """`count` subscribers, two staff accounts and one approved broadcast; returns its id."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert

    from bot.config import CONTENT_DIR
    from bot.content.library import Library
    from bot.db.base import Base
    from bot.db.engine import make_engine, session_factory
    from bot.db.schema import init_db
    from bot.outreach import broadcasts
    from bot.outreach.models import Subscription
    from bot.timeutil import utcnow

    engine = make_engine(db_url)
    init_db(engine)
    now = utcnow()
    accounts = Base.metadata.tables["desk_accounts"]  # rows only: nobody logs in (scripts do not import the desk)
    rows = []
    for i in range(count):
        channel = CHANNELS[i % 3]
        rows.append({"sender_id": f"{channel}:{700000 + i}", "channel": channel, "topics": "news",
                     "province": "Gia Lai", "consent_text": "Tôi đồng ý nhận tin.", "consented_at": now,
                     "active": True, "last_inbound_at": now - timedelta(hours=1)})
    with session_factory(engine).begin() as s:
        s.execute(insert(accounts), [{"username": name, "display_name": name, "role": "staff", "password_hash": "!",
                                      "active": True, "created_at": now} for name in ("bench-a", "bench-b")])
        for start in range(0, len(rows), 1000):
            s.execute(insert(Subscription), rows[start:start + 1000])
    library = Library.load(CONTENT_DIR)
    draft = broadcasts.Draft(text="Mời bạn tham gia các hoạt động của Tháng hành động năm nay.", start_at=now,
                             province="Gia Lai", quiet_hours="off")
    broadcast_id = broadcasts.create(engine, draft, "bench-a", library, now)
    broadcasts.approve(engine, broadcast_id, "bench-b", now)
    engine.dispose()
    return broadcast_id


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM) in MiB, from /proc (None where there is no /proc)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def busiest_second(stamps: list[float]) -> int:
    """The most sends in any one-second window."""
    stamps, best, lo = sorted(stamps), 0, 0
    for hi, at in enumerate(stamps):
        while at - stamps[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def _wait(check: Callable[[], bool], timeout: float, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise SystemExit(f"desk exited: {log.read_text(errors='replace')[-2000:]}")
        if time.monotonic() > deadline:
            raise SystemExit("broadcast bench timed out")
        await asyncio.sleep(0.2)


async def run(tmp: Path, count: int, port: int, timeout: float) -> list[dict[str, object]]:
    """Seed, send with a kill -9 and a restart in the middle; returns one summary per platform and one overall."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.graph_api import FakeGraph
    from tests.fakes.telegram_api import FakeTelegram
    from tests.fakes.zalo_api import FakeZalo
    from tests.sending.helpers import ZALO_APP_ID, ZALO_APP_SECRET, platform_env

    db_url = f"sqlite:///{tmp / 'broadcast.db'}"
    t0 = time.monotonic()
    broadcast_id = await asyncio.to_thread(seed, db_url, count)
    print(f"broadcast: {count} subscribers seeded in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    rates = {"telegram": 25.0, "messenger": 20.0, "zalo": 10.0}
    tg, graph = FakeTelegram(token="7000001:BENCH"), FakeGraph()
    zalo = FakeZalo(app_id=ZALO_APP_ID, app_secret=ZALO_APP_SECRET)
    for fake in (tg, graph, zalo):
        await fake.start()
    url, log = f"http://127.0.0.1:{port}", tmp / "broadcast-desk.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url, "APP_VAR_DIR": str(tmp / "bvar"),
           "TRACKER_SQLITE_PATH": str(tmp / "btracker.db"), "TRACKER_DATABASE_URL": "", "DESK_HOST": "127.0.0.1",
           "DESK_PORT": str(port), "DESK_PUBLIC_URL": url, "DESK_API_TOKEN": secrets.token_urlsafe(16),
           "DESK_SESSION_SECRET": secrets.token_urlsafe(32), "TELEGRAM_BOT_TOKEN": "", "RASA_URL": "",
           "DESK_WATCH_REST_TRACKER": "0", "PYTHONWARNINGS": "ignore", "BROADCAST_SCHEDULER_INTERVAL": "1",
           **{f"BROADCAST_RATE_{c.upper()}": str(r) for c, r in rates.items()}, **platform_env(zalo, graph, tg)}

    def stamps() -> dict[str, list[float]]:
        return {"telegram": [r.at for r in tg.calls("sendMessage")],
                "messenger": [r.at for r in graph.delivered], "zalo": [r.at for r in zalo.sends("ok")]}

    def sent() -> int:
        return sum(len(v) for v in stamps().values())

    def spawn() -> subprocess.Popen:
        with open(log, "ab") as out:
            return subprocess.Popen([sys.executable, "-m", "bot.desk"], cwd=ROOT, env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    proc = spawn()
    peaks: list[float] = []
    try:
        started = time.time()
        await _wait(lambda: sent() >= count // 3, timeout, proc, log)
        peaks.append(peak_rss_mb(proc.pid) or 0.0)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        at_kill, restarted = sent(), time.monotonic()
        proc = spawn()
        await _wait(lambda: sent() > at_kill, timeout, proc, log)
        resume = time.monotonic() - restarted
        await _wait(lambda: sent() + _finished_otherwise(db_url, broadcast_id) >= count, timeout, proc, log)
        peaks.append(peak_rss_mb(proc.pid) or 0.0)
        took = time.time() - started
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        for fake in (tg, graph, zalo):
            await fake.stop()
    per = {**{f"telegram:{k}": v for k, v in tg.per_chat().items()},
           **{f"messenger:{k}": v for k, v in graph.per_recipient().items()},
           **{f"zalo:{k}": v for k, v in zalo.per_recipient().items()}}
    results: list[dict[str, object]] = []
    for channel, times in stamps().items():
        span = (max(times) - min(times)) if len(times) > 1 else 0.0
        results.append({"phase": f"broadcast: {channel}", "cases": len(times), "limit_per_s": rates[channel],
                        "mean_per_s": round(len(times) / span, 1) if span else None,
                        "busiest_second": busiest_second(times)})
    results.append({"phase": "broadcast: overall", "cases": count, "sent": len(per), "duplicates":
                    sum(1 for v in per.values() if v > 1), "interrupted": _finished_otherwise(db_url, broadcast_id),
                    "seconds": round(took, 1), "resume_s": round(resume, 2), "peak_rss_mb": max(peaks)})
    return results


def _finished_otherwise(db_url: str, broadcast_id: int) -> int:
    """Recipients finished without a message (failed `interrupted`, skipped)."""
    import sqlite3

    path = db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path, timeout=30) as conn:
        row = conn.execute("SELECT COUNT(*) FROM outreach_recipients WHERE broadcast_id = ? AND status IN "
                           "('failed', 'skipped')", (broadcast_id,)).fetchone()
    return int(row[0])


def print_table(results: list[dict[str, Any]]) -> None:
    """The broadcast figures as Markdown tables."""
    print("\n| broadcast | messages | limit (/s) | mean (/s) | busiest second |")
    print("|---|---|---|---|---|")
    for r in results[:-1]:
        print(f"| {str(r['phase']).removeprefix('broadcast: ')} | {r['cases']} | {r['limit_per_s']} | "
              f"{r['mean_per_s']} | {r['busiest_second']} |")
    o = results[-1]
    print(f"\nbroadcast overall: {o['cases']} recipients, {o['sent']} sent, {o['interrupted']} interrupted, "
          f"{o['duplicates']} duplicates, {o['seconds']} s with one kill -9; resume {o['resume_s']} s after the "
          f"restart; desk peak RSS {o['peak_rss_mb']} MiB")
