"""Benchmark: time from an urgent message entering the REST webhook to the card reaching Telegram.

Starts the real stack on loopback ports (Rasa with models/current.tar.gz and the auth token, the
action server, the desk) with a fake Telegram Bot API in this process, in a temporary directory
(its own project and tracker databases). Then it sends urgent messages from distinct residents to
`POST /webhooks/rest/webhook` and measures, per case, the time until the fake server receives the
`sendMessage` of that case's card: first alone, then while other conversations are chatting.

    .venv/bin/python scripts/bench.py --cases 200 --chatters 20 --queue-cases 5000 --broadcast-recipients 10000
                                                                              (what `make bench` runs)

With `--queue-cases N` it also times the console queue with N cases in the database (`scripts/bench_queue.py`;
`--cases 0` runs that section alone, without Rasa or a model). With `--broadcast-recipients N` it sends one
broadcast to N subscribers on the fake platforms, with a kill -9 of the desk half-way (`scripts/bench_broadcast.py`).
Bounded: `--cases` per phase and `--timeout` seconds overall; everything started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from tests.fakes.telegram_api import FakeTelegram

ROOT = Path(__file__).resolve().parent.parent
COUNSELORS = -100777
URGENT = ["Cứu tôi với, chồng tôi đang đánh tôi", "ck dang danh em, cuu em voi",
          "Chồng em say rượu cầm dao đòi giết cả nhà", "bố dượng đang đập cửa phòng em, em sợ lắm",
          "CHỒNG TÔI ĐANG ĐÁNH TÔI CỨU VỚI", "người yêu cũ đang đứng trước cửa cầm can xăng dọa đốt nhà"]
CHAT = ["xin chào", "Tháng hành động năm nay diễn ra khi nào?", "chủ đề năm nay là gì",
        "số điện thoại tư vấn ở Hà Nội", "có sự kiện nào ở Đà Nẵng không", "cảm ơn bạn",
        "bạo lực gia đình là gì", "tôi muốn biết thêm về chiến dịch", "ok", "tạm biệt"]
TIMEOUTS = (asyncio.TimeoutError, TimeoutError)  # distinct before Python 3.11
CASE_RE = re.compile(r"mã ca #(\d+)")
CARD_RE = re.compile(r"· Ca #(\d+)\n")


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    """The processes under test and their addresses."""

    tmp: Path
    tg: FakeTelegram
    rasa_port: int = field(default_factory=free_port)
    action_port: int = field(default_factory=free_port)
    desk_port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    procs: list[subprocess.Popen] = field(default_factory=list)

    @property
    def rasa(self) -> str:
        """Rasa's base URL."""
        return f"http://127.0.0.1:{self.rasa_port}"

    def env(self) -> dict[str, str]:
        """Environment shared by the three processes."""
        return {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{self.tmp / 'app.db'}",
                "APP_VAR_DIR": str(self.tmp / "var"), "TRACKER_SQLITE_PATH": str(self.tmp / "tracker.db"),
                "TRACKER_DATABASE_URL": "", "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{self.action_port}/webhook",
                "RASA_AUTH_TOKEN": self.token, "RASA_URL": self.rasa, "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore", "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "DESK_HOST": "127.0.0.1", "DESK_PORT": str(self.desk_port),
                "DESK_PUBLIC_URL": f"http://127.0.0.1:{self.desk_port}", "DESK_API_TOKEN": self.token,
                "DESK_SESSION_SECRET": secrets.token_urlsafe(32), "TELEGRAM_BOT_TOKEN": self.tg.token,
                "TELEGRAM_API_BASE_URL": self.tg.api_root, "TELEGRAM_COUNSELOR_CHAT_ID": str(COUNSELORS),
                "TELEGRAM_SUPERVISOR_CHAT_ID": "", "TELEGRAM_UPDATE_MODE": "polling", "TELEGRAM_WEBHOOK_SECRET": ""}

    def start(self, model: Path) -> None:
        """Spawn the action server, Rasa and the desk (logs in the temporary directory)."""
        rasa_bin = str(ROOT / ".venv" / "bin" / "rasa")
        commands = {
            "actions": [rasa_bin, "run", "actions", "--actions", "actions", "--port", str(self.action_port)],
            "rasa": [rasa_bin, "run", "--model", str(model), "--port", str(self.rasa_port), "--interface",
                     "127.0.0.1", "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
                     "--enable-api", "--auth-token", self.token],
            "desk": [sys.executable, "-m", "bot.desk"],
        }
        env = self.env()
        for name, cmd in commands.items():
            with open(self.tmp / f"{name}.log", "ab") as log:
                self.procs.append(subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                                   start_new_session=True))

    def stop(self) -> None:
        """Stop every process this script started (their own process groups only)."""
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)

    def alive(self) -> None:
        """Fail fast when a process died."""
        for proc, name in zip(self.procs, ("actions", "rasa", "desk")):
            if proc.poll() is not None:
                tail = (self.tmp / f"{name}.log").read_text(errors="replace")[-3000:]
                raise SystemExit(f"{name} exited with {proc.returncode}:\n{tail}")


async def wait_ready(http: aiohttp.ClientSession, stack: Stack, timeout: float) -> None:
    """Wait until Rasa has loaded its model, the action server and the desk answer."""
    checks = {"rasa": f"{stack.rasa}/status?token={stack.token}",
              "actions": f"http://127.0.0.1:{stack.action_port}/health",
              "desk": f"http://127.0.0.1:{stack.desk_port}/health"}
    deadline = time.monotonic() + timeout
    pending = dict(checks)
    while pending:
        stack.alive()
        if time.monotonic() > deadline:
            raise SystemExit(f"not ready in {timeout:.0f}s: {', '.join(pending)}")
        for name, url in list(pending.items()):
            try:
                async with http.get(url, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                    if resp.status < 500 or name == "desk":
                        del pending[name]
            except (aiohttp.ClientError, *TIMEOUTS):
                pass
        await asyncio.sleep(1)


async def say(http: aiohttp.ClientSession, stack: Stack, sender: str, text: str) -> list[dict]:
    """One message on the REST channel; returns the bot's replies."""
    async with http.post(f"{stack.rasa}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                         timeout=aiohttp.ClientTimeout(total=60)) as resp:
        resp.raise_for_status()
        return await resp.json()


@dataclass
class Phase:
    """Results of one measured run."""

    name: str
    latencies: list[float] = field(default_factory=list)
    desk_part: list[float] = field(default_factory=list)
    turn: list[float] = field(default_factory=list)
    missing: int = 0
    chat_messages: int = 0
    chat_errors: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, object]:
        """p50/p95/max in seconds."""
        lat = sorted(self.latencies)

        def pct(p: float, values: list[float] | None = None) -> float:  # nearest-rank percentile
            data = sorted(values) if values is not None else lat
            return data[max(0, math.ceil(p * len(data)) - 1)] if data else float("nan")
        return {"phase": self.name, "cases": len(lat), "missing": self.missing, "p50_s": round(pct(0.50), 3),
                "p95_s": round(pct(0.95), 3), "max_s": round(lat[-1], 3) if lat else None,
                "mean_s": round(statistics.fmean(lat), 3) if lat else None,
                "rasa_turn_p50_s": round(pct(0.5, self.turn), 3), "rasa_turn_p95_s": round(pct(0.95, self.turn), 3),
                "case_to_card_p50_s": round(pct(0.5, self.desk_part), 3),
                "case_to_card_p95_s": round(pct(0.95, self.desk_part), 3), "chat_messages": self.chat_messages,
                "chat_errors": self.chat_errors, "seconds": round(self.seconds, 1)}


async def chatter(http: aiohttp.ClientSession, stack: Stack, idx: int, stop: asyncio.Event, phase: Phase) -> None:
    """A resident chatting about ordinary things until told to stop."""
    rnd = random.Random(idx)
    sender = f"bench-chat-{idx}-{secrets.token_hex(3)}"
    while not stop.is_set():
        try:
            await say(http, stack, sender, rnd.choice(CHAT))
            phase.chat_messages += 1
        except (aiohttp.ClientError, *TIMEOUTS):
            phase.chat_errors += 1
        try:
            await asyncio.wait_for(stop.wait(), rnd.uniform(0.5, 1.5))
        except TIMEOUTS:
            pass


async def run_phase(http: aiohttp.ClientSession, stack: Stack, name: str, cases: int, chatters: int,
                    workers: int, deadline: float) -> Phase:
    """Send `cases` urgent messages (from `workers` residents at a time) and time their cards."""
    phase = Phase(name)
    stop = asyncio.Event()
    chat_tasks = [asyncio.create_task(chatter(http, stack, i, stop, phase)) for i in range(chatters)]
    if chatters:
        await asyncio.sleep(3)  # let the chatter reach a steady state
    sent_at: dict[int, float] = {}
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(cases):
        queue.put_nowait(i)
    started = time.time()

    async def worker() -> None:
        while not queue.empty() and time.monotonic() < deadline:
            i = queue.get_nowait()
            sender = f"bench-{name}-{i}-{secrets.token_hex(3)}"
            t0 = time.time()
            try:
                replies = await say(http, stack, sender, random.choice(URGENT))
            except (aiohttp.ClientError, *TIMEOUTS):
                phase.missing += 1
                continue
            phase.turn.append(time.time() - t0)
            found = [int(m.group(1)) for r in replies if (m := CASE_RE.search(r.get("text") or ""))]
            if not found:
                phase.missing += 1
                continue
            sent_at[found[0]] = t0

    await asyncio.gather(*(worker() for _ in range(workers)))
    # Wait for the last cards (bounded).
    end = min(deadline, time.monotonic() + 30)
    while time.monotonic() < end and len(card_times(stack.tg).keys() & sent_at.keys()) < len(sent_at):
        await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(*chat_tasks)
    phase.seconds = time.time() - started
    cards = card_times(stack.tg)
    created = case_times(stack.tmp / "app.db")
    for case_id, t0 in sent_at.items():
        if case_id in cards:
            phase.latencies.append(cards[case_id] - t0)
            if case_id in created:
                phase.desk_part.append(cards[case_id] - created[case_id])
        else:
            phase.missing += 1
    return phase


def case_times(db: Path) -> dict[int, float]:
    """When the action server wrote each case (UTC, from the cases table)."""
    import sqlite3
    from datetime import datetime, timedelta, timezone

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, created_at FROM cases").fetchall()
    utc = timezone(timedelta(0))  # datetime.UTC needs Python 3.11
    return {int(i): datetime.fromisoformat(str(at)).replace(tzinfo=utc).timestamp() for i, at in rows}


def card_times(tg: FakeTelegram) -> dict[int, float]:
    """When the fake server accepted each case's card (first sendMessage naming the case)."""
    out: dict[int, float] = {}
    for rec in tg.calls("sendMessage"):
        m = CARD_RE.search(str(rec.params.get("text") or ""))
        if m and rec.params.get("reply_markup"):
            out.setdefault(int(m.group(1)), rec.at)
    return out


async def main_async(args: argparse.Namespace) -> int:
    """Run the latency phases (unless `--cases 0`) and the queue section (with `--queue-cases`), print the figures."""
    results: list[dict[str, object]] = []
    if args.cases:
        code = await latency(args, results)
        if code:
            return code
    if args.queue_cases:
        sys.path.insert(0, str(ROOT))
        from scripts import bench_queue

        with tempfile.TemporaryDirectory(prefix="desk-bench-queue-") as tmp_name:
            queue = await bench_queue.run(Path(tmp_name), args.queue_cases, args.queue_requests, free_port(),
                                          args.timeout)
        bench_queue.print_table(queue)
        results += queue
    if args.broadcast_recipients:
        sys.path.insert(0, str(ROOT))
        from scripts import bench_broadcast

        with tempfile.TemporaryDirectory(prefix="desk-bench-broadcast-") as tmp_name:
            sent = await bench_broadcast.run(Path(tmp_name), args.broadcast_recipients, free_port(), args.timeout)
        bench_broadcast.print_table(sent)
        results += sent
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    ok = all(r["cases"] and not r.get("missing") for r in results)
    return 0 if ok else 1


async def latency(args: argparse.Namespace, results: list[dict[str, object]]) -> int:
    """Start the stack, run both phases, print the figures (appended to `results`)."""
    model = Path(args.model)
    if not model.exists():
        print(f"{model} not found: train first (`make train`).", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    from tests.fakes.telegram_api import FakeTelegram

    deadline = time.monotonic() + args.timeout
    with tempfile.TemporaryDirectory(prefix="desk-bench-") as tmp_name:
        tmp = Path(tmp_name)
        tg = FakeTelegram(token=f"{random.randint(10**8, 10**9)}:BENCH")
        await tg.start()
        stack = Stack(tmp, tg)
        try:
            stack.start(model)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as http:
                print("starting Rasa, the action server and the desk…", file=sys.stderr)
                await wait_ready(http, stack, min(args.startup_timeout, deadline - time.monotonic()))
                for i in range(3):  # warm-up (first predictions are slow)
                    await say(http, stack, f"bench-warmup-{i}", URGENT[i])
                    await say(http, stack, f"bench-warmup-chat-{i}", CHAT[i])
                for name, chatters in (("alone", 0), ("with_chatter", args.chatters)):
                    print(f"phase {name}: {args.cases} urgent messages, {chatters} chatting…", file=sys.stderr)
                    phase = await run_phase(http, stack, name, args.cases, chatters, args.workers, deadline)
                    results.append(phase.summary())
                    stack.alive()
        finally:
            stack.stop()
            await tg.stop()
            if args.keep_logs:
                for log in tmp.glob("*.log"):
                    (ROOT / "results").mkdir(exist_ok=True)
                    (ROOT / "results" / f"bench-{log.name}").write_bytes(log.read_bytes())
    print(json.dumps(results, ensure_ascii=False, indent=2))
    print("\n| phase | cases | missing | p50 (s) | p95 (s) | max (s) | case→card p95 (s) | chat msgs |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['phase']} | {r['cases']} | {r['missing']} | {r['p50_s']} | {r['p95_s']} | {r['max_s']} | "
              f"{r['case_to_card_p95_s']} | {r['chat_messages']} |")
    return 0


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    parser.add_argument("--cases", type=int, default=200, help="urgent messages per phase (default 200)")
    parser.add_argument("--chatters", type=int, default=20, help="other conversations in the second phase")
    parser.add_argument("--workers", type=int, default=2, help="urgent residents writing at the same time")
    parser.add_argument("--timeout", type=float, default=1200, help="overall bound in seconds")
    parser.add_argument("--startup-timeout", type=float, default=300)
    parser.add_argument("--queue-cases", type=int, default=0,
                        help="also time the console queue with this many cases in the database (make bench: 5000)")
    parser.add_argument("--queue-requests", type=int, default=50, help="timed requests per queue page")
    parser.add_argument("--broadcast-recipients", type=int, default=0,
                        help="also send one broadcast to this many subscribers on the fakes (make bench: 10000)")
    parser.add_argument("--out", help="also write the figures as JSON to this file")
    parser.add_argument("--keep-logs", action="store_true", help="copy the processes' logs to results/")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
