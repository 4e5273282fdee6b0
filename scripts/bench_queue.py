"""Benchmark section of `scripts/bench.py --queue-cases N`: the console queue's latency with N cases.

Seeds a temporary project database with N cases (as after a busy campaign month: most resolved, one in
twenty-five open, one in twenty-five claimed; messages with phone numbers, so masking works for real), starts
the real desk (`python -m bot.desk`, Telegram and Rasa off) on a loopback port, logs in as a supervisor and
times `--queue-requests` GETs of each queue page a counselor uses: the whole page, its live part (polled every
2 s), «Đã xong», and a text search. Everything it starts is stopped at the end.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = secrets.token_urlsafe(18)
QUERIES = {"queue page": "/cases", "live part": "/cases/rows", "Đã xong": "/cases/rows?view=done",
           "search «giúp»": "/cases/rows?q=gi%C3%BAp"}


def seed(db_url: str, count: int) -> None:
    """`count` cases and a supervisor account in a fresh database."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert

    from bot.cases.models import Case
    from bot.db.engine import make_engine, session_factory
    from bot.db.schema import init_db
    from bot.timeutil import utcnow

    engine = make_engine(db_url)
    init_db(engine)
    rnd, now, rows = random.Random(14), utcnow(), []
    for i in range(count):
        status = "open" if i % 25 == 0 else "claimed" if i % 25 == 1 else "resolved"
        created = now - timedelta(minutes=rnd.randint(1, 60 * 24 * 30))
        rows.append({"channel": rnd.choice(("zalo", "messenger", "telegram", "rest")), "sender_id": f"bench:{i}",
                     "urgency": rnd.choice(("danger_now", "needs_support")), "status": status,
                     "created_at": created, "updated_at": created, "reasons": "", "priority": rnd.randint(0, 5),
                     "message": f"Chồng tôi đánh tôi, số tôi 0912 345 {i % 1000:03d}, " + "giúp tôi với " * 15,
                     "claimed_by": "Chị Lan <desk:lan>" if status == "claimed" else None,
                     "claimed_at": created + timedelta(minutes=3) if status != "open" else None,
                     "resolved_at": created + timedelta(hours=1) if status == "resolved" else None})
    with session_factory(engine).begin() as s:
        for start in range(0, len(rows), 1000):
            s.execute(insert(Case), rows[start:start + 1000])
    engine.dispose()
    # The account through the desk's own command line (scripts do not import the desk).
    subprocess.run([sys.executable, "-m", "bot.desk", "create-account", "bench", "--role", "supervisor",
                    "--password-stdin"], input=PASSWORD + "\n", text=True, check=True, cwd=ROOT,
                   env={**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url}, capture_output=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    data = sorted(values)
    return data[max(0, math.ceil(p * len(data)) - 1)] if data else float("nan")


async def login(http: aiohttp.ClientSession, url: str) -> None:
    """Log in through the form, as a browser does."""
    async with http.get(f"{url}/login") as resp:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text())
    assert token, "no login form"
    async with http.post(f"{url}/login", data={"username": "bench", "password": PASSWORD,
                                               "csrf_token": token.group(1)}, allow_redirects=False) as resp:
        assert resp.status == 303, f"login refused ({resp.status})"


async def run(tmp: Path, cases: int, requests: int, port: int, timeout: float) -> list[dict[str, object]]:
    """Seed, start the desk, time the queue pages; returns one summary per page."""
    db_url = f"sqlite:///{tmp / 'queue.db'}"
    started = time.monotonic()
    await asyncio.to_thread(seed, db_url, cases)
    print(f"queue: {cases} cases seeded in {time.monotonic() - started:.1f}s", file=sys.stderr)
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url, "APP_VAR_DIR": str(tmp / "qvar"),
           "TRACKER_SQLITE_PATH": str(tmp / "qtracker.db"), "TRACKER_DATABASE_URL": "", "DESK_HOST": "127.0.0.1",
           "DESK_PORT": str(port), "DESK_PUBLIC_URL": url, "DESK_API_TOKEN": secrets.token_urlsafe(16),
           "DESK_SESSION_SECRET": secrets.token_urlsafe(32), "TELEGRAM_BOT_TOKEN": "", "RASA_URL": "",
           "DESK_WATCH_REST_TRACKER": "0", "PYTHONWARNINGS": "ignore"}
    with open(tmp / "queue-desk.log", "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot.desk"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
    results: list[dict[str, object]] = []
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            deadline = time.monotonic() + min(timeout, 60)
            while True:
                if proc.poll() is not None:
                    raise SystemExit(f"desk exited: {(tmp / 'queue-desk.log').read_text(errors='replace')[-2000:]}")
                try:
                    async with http.get(f"{url}/health") as resp:
                        await resp.read()
                        break
                except aiohttp.ClientError:
                    if time.monotonic() > deadline:
                        raise SystemExit("the desk did not start") from None
                    await asyncio.sleep(0.2)
            await login(http, url)
            for name, path in QUERIES.items():
                took = []
                for i in range(requests + 3):  # the first three warm up (masking of the first page is remembered)
                    t0 = time.perf_counter()
                    async with http.get(url + path) as resp:
                        body = await resp.text()
                        assert resp.status == 200, (path, resp.status)
                    if i >= 3:
                        took.append(time.perf_counter() - t0)
                rows = len(re.findall(r'data-case-id="', body))
                results.append({"phase": f"queue: {name}", "cases": cases, "requests": len(took), "rows": rows,
                                "p50_ms": round(pct(took, 0.5) * 1000, 1), "p95_ms": round(pct(took, 0.95) * 1000, 1),
                                "max_ms": round(max(took) * 1000, 1),
                                "mean_ms": round(statistics.fmean(took) * 1000, 1)})
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
    return results


def print_table(results: list[dict[str, object]]) -> None:
    """The queue figures as a Markdown table."""
    print("\n| queue page | cases | requests | rows | p50 (ms) | p95 (ms) | max (ms) |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {str(r['phase']).removeprefix('queue: ')} | {r['cases']} | {r['requests']} | {r['rows']} | "
              f"{r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} |")
