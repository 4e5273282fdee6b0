"""Throughput benchmark: this project against a stock `rasa init` bot, interleaved in one run, same load.

The stock bot is made and trained by this script (`rasa init --no-prompt`, cached under var/bench/ per Rasa
version); the project runs as `make run` starts it (scripts/serve_rasa.py, scripts/serve_actions.py, the desk),
in a temporary directory, with fake Telegram and Zalo servers in this process. Both stacks stay up for the
whole run and are measured in turns (stock, project, stock, project, …), so a slower moment of the machine
hits both. The load is a closed loop: N residents at a time, each sending its conversation one message after
the other (the next only when the reply came back), so every conversation grows as a real one does. The
messages mix greetings, FAQ questions with and without diacritics, thanks and urgent reports.

Per round and stack: messages/s, p50/p95/p99 latency, errors, empty replies, CPU seconds per message of each
process (from /proc), and the project/stock ratio. Then the Zalo path of the project: signed webhooks at the
same concurrency, the acknowledgement's p50/p99 and the time until the first reply part reaches the fake
Send API.

    .venv/bin/python -m scripts.bench_throughput --senders 20 --turns 15 --rounds 2     (part of `make bench`)

Bounded: `--timeout` seconds overall; every process started is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from scripts.bench_queue import pct
from scripts.bench_stacks import (
    ROOT,
    Target,
    cpu_seconds,
    start_profiles,
    start_project,
    start_scaled_servers,
    start_stock,
    stock_bot,
    stop_profiles,
)

TIMEOUTS = (asyncio.TimeoutError, TimeoutError)

# Realistic messages: greetings, FAQ questions (with and without diacritics, teencode), small talk, urgent reports.
CHAT = ["xin chào", "chào bạn", "hi", "cảm ơn bạn nhiều", "ok cảm ơn", "tạm biệt", "bạn là ai vậy"]
FAQ = ["Tháng hành động năm nay diễn ra khi nào?", "chu de nam nay la gi", "bạo lực gia đình là gì",
       "số điện thoại tư vấn ở Hà Nội", "có sự kiện nào ở Đà Nẵng không", "bình đẳng giới là gì vậy",
       "chong giu het tien luong cua vo co phai bao luc khong", "luật phòng chống bạo lực gia đình 2022 có gì mới",
       "con gái có được chia thừa kế không", "nghỉ thai sản được mấy tháng", "làm sao để tố cáo mà không lộ tên",
       "quay roi tinh duc noi lam viec la gi", "mau cam cua chien dich co y nghia gi", "tổng đài 111 là gì",
       "tôi muốn làm tình nguyện viên", "ngày 25/11 là ngày gì", "tro giup phap ly mien phi o dau"]
URGENT = ["Cứu tôi với, chồng tôi đang đánh tôi", "ck dang danh em, cuu em voi",
          "Chồng em say rượu cầm dao đòi giết cả nhà", "bố dượng đang đập cửa phòng em, em sợ lắm"]


def conversation(idx: int, turns: int) -> list[str]:
    """One resident's messages: starts with a greeting, mostly questions, about one in twelve urgent."""
    rnd = random.Random(idx)
    out = [rnd.choice(CHAT[:3])]
    while len(out) < turns:
        roll = rnd.random()
        out.append(rnd.choice(URGENT if roll < 0.08 else CHAT if roll < 0.3 else FAQ))
    return out[:turns]


async def wait_ready(http: aiohttp.ClientSession, targets: list[Target], timeout: float) -> None:
    """Until every stack answers a first message on its REST webhook."""
    deadline = time.monotonic() + timeout
    for target in targets:
        while True:
            target.procs.alive()
            if time.monotonic() > deadline:
                raise SystemExit(f"{target.name} not ready in {timeout:.0f}s")
            try:
                replies = await say(http, target, f"warmup-{secrets.token_hex(3)}", "xin chào")
                if replies:
                    break
            except (aiohttp.ClientError, *TIMEOUTS):
                pass
            await asyncio.sleep(1)


async def say(http: aiohttp.ClientSession, target: Target, sender: str, text: str) -> list[dict]:
    """One message on the REST webhook; the bot's replies."""
    async with http.post(f"{target.url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                         timeout=aiohttp.ClientTimeout(total=60)) as resp:
        resp.raise_for_status()
        return await resp.json()


@dataclass
class Round:
    """One measured run of one stack."""

    stack: str
    round: int
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    empty: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The figures of this round."""
        n = len(self.latencies) + self.errors
        return {"stack": self.stack, "round": self.round, "messages": n, "errors": self.errors,
                "empty_replies": self.empty, "seconds": round(self.seconds, 2),
                "msgs_per_s": round(len(self.latencies) / self.seconds, 1) if self.seconds else 0.0,
                "p50_ms": round(1000 * pct(self.latencies, 0.50)), "p95_ms": round(1000 * pct(self.latencies, 0.95)),
                "p99_ms": round(1000 * pct(self.latencies, 0.99)),
                "cpu_ms_per_msg": {k: round(1000 * v / max(1, n), 1) for k, v in self.cpu.items()},
                "cpu_ms_per_msg_total": round(1000 * sum(self.cpu.values()) / max(1, n), 1)}


async def rest_round(http: aiohttp.ClientSession, target: Target, number: int, senders: int, turns: int,
                     loadgen_pid: int) -> Round:
    """`senders` residents at a time, each its whole conversation in turn (closed loop)."""
    result = Round(target.name, number)
    run = secrets.token_hex(3)

    async def resident(idx: int) -> None:
        sender = f"bench-{run}-{idx}"
        for text in conversation(idx, turns):
            t0 = time.perf_counter()
            try:
                replies = await say(http, target, sender, text)
            except (aiohttp.ClientError, *TIMEOUTS):
                result.errors += 1
                continue
            result.latencies.append(time.perf_counter() - t0)
            if not any((r.get("text") or "").strip() for r in replies):
                result.empty += 1

    before = target.procs.cpu()
    gen_before = cpu_seconds(loadgen_pid)
    t0 = time.perf_counter()
    await asyncio.gather(*(resident(i) for i in range(senders)))
    result.seconds = time.perf_counter() - t0
    after = target.procs.cpu()
    result.cpu = {k: after[k] - before.get(k, 0.0) for k in after}
    result.cpu["loadgen"] = cpu_seconds(loadgen_pid) - gen_before
    return result


async def zalo_round(http: aiohttp.ClientSession, target: Target, zalo: Any, keys: dict, senders: int,
                     turns: int) -> dict[str, Any]:
    """Signed Zalo webhooks at the same concurrency: acknowledgement and first-reply times."""
    from tests.fakes.zalo_api import signed, text_event

    arrived: dict[str, asyncio.Event] = {}
    counts: dict[str, int] = {}

    def on_send(_token: str, body: dict[str, Any]) -> None:
        user = str(body["recipient"]["user_id"])
        counts[user] = counts.get(user, 0) + 1
        if user in arrived:
            arrived[user].set()

    zalo.on_send = on_send
    acks: list[float] = []
    firsts: list[float] = []
    errors = missing = 0
    run = secrets.token_hex(3)
    url = f"{target.url}/webhooks/zalo/webhook"

    async def resident(idx: int) -> None:
        nonlocal errors, missing
        user = f"zb{run}{idx}"
        for text in conversation(1000 + idx, turns):
            arrived[user] = asyncio.Event()
            raw, headers = signed(text_event(keys["ZALO_APP_ID"], user, text, msg_id=secrets.token_hex(8)),
                                  keys["ZALO_OA_SECRET_KEY"])
            t0 = time.perf_counter()
            try:
                async with http.post(url, data=raw, headers=headers, timeout=aiohttp.ClientTimeout(total=30)) as resp:
                    await resp.read()
                    ok = resp.status == 200
            except (aiohttp.ClientError, *TIMEOUTS):
                ok = False
            acks.append(time.perf_counter() - t0)
            if not ok:
                errors += 1
                continue
            try:
                await asyncio.wait_for(arrived[user].wait(), 30)
                firsts.append(time.perf_counter() - t0)
            except TIMEOUTS:
                missing += 1
            await asyncio.sleep(0.05)  # let the other parts of this reply arrive before the next message

    t0 = time.perf_counter()
    await asyncio.gather(*(resident(i) for i in range(senders)))
    seconds = time.perf_counter() - t0
    zalo.on_send = None
    return {"stack": "project-zalo", "messages": len(acks), "errors": errors, "missing_replies": missing,
            "seconds": round(seconds, 2), "msgs_per_s": round(len(firsts) / seconds, 1),
            "ack_p50_ms": round(1000 * pct(acks, 0.5), 1), "ack_p99_ms": round(1000 * pct(acks, 0.99), 1),
            "first_reply_p50_ms": round(1000 * pct(firsts, 0.5)), "first_reply_p95_ms": round(1000 * pct(firsts, 0.95)),
            "first_reply_p99_ms": round(1000 * pct(firsts, 0.99))}


def report(rounds: list[Round], zalo: dict[str, Any] | None, args: argparse.Namespace) -> dict[str, Any]:
    """Median figures per stack, the ratio, and a table on stdout."""
    by: dict[str, list[dict[str, Any]]] = {}
    for r in rounds:
        by.setdefault(r.stack, []).append(r.summary())
    med = {name: {key: round(statistics.median(s[key] for s in rows), 1) for key in ("msgs_per_s", "p50_ms", "p95_ms", "p99_ms",
                                                                          "cpu_ms_per_msg_total")}
           for name, rows in by.items()}
    out: dict[str, Any] = {"senders": args.senders, "turns": args.turns, "rounds": [r.summary() for r in rounds],
                           "median": med, "zalo": zalo}
    if "stock" in med and "project" in med and med["stock"]["msgs_per_s"]:
        out["ratio_msgs_per_s"] = round(med["project"]["msgs_per_s"] / med["stock"]["msgs_per_s"], 2)
    print(f"\n{args.senders} concurrent senders × {args.turns} messages, REST webhook, closed loop\n")
    print("| stack | round | msgs/s | p50 ms | p95 ms | p99 ms | errors | empty | CPU ms/msg (per process) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s in out["rounds"]:
        per = ", ".join(f"{k} {v}" for k, v in s["cpu_ms_per_msg"].items())
        print(f"| {s['stack']} | {s['round']} | {s['msgs_per_s']} | {s['p50_ms']} | {s['p95_ms']} | {s['p99_ms']} | "
              f"{s['errors']} | {s['empty_replies']} | {per} |")
    for name, m in med.items():
        print(f"| **{name} (median)** | | {m['msgs_per_s']} | {m['p50_ms']} | {m['p95_ms']} | {m['p99_ms']} | | | "
              f"total {m['cpu_ms_per_msg_total']} |")
    if "ratio_msgs_per_s" in out:
        print(f"\nproject / stock throughput: {out['ratio_msgs_per_s']}×")
    if zalo:
        print(f"\nZalo webhook path: {zalo['messages']} messages, {zalo['errors']} errors, "
              f"{zalo['missing_replies']} without a reply; ack p50 {zalo['ack_p50_ms']} ms, p99 {zalo['ack_p99_ms']} ms; "
              f"first reply p50 {zalo['first_reply_p50_ms']} ms, p95 {zalo['first_reply_p95_ms']} ms; "
              f"{zalo['msgs_per_s']} msgs/s")
    return out


async def main_async(args: argparse.Namespace) -> int:
    """Start both stacks, measure them in turns, then the Zalo path; print and write the figures."""
    sys.path.insert(0, str(ROOT))
    from tests.fakes.telegram_api import FakeTelegram
    from tests.fakes.zalo_api import FakeZalo

    model = Path(args.model)
    if args.project and not model.exists():
        print(f"{model} not found: train first (`make train`).", file=sys.stderr)
        return 2
    deadline = time.monotonic() + args.timeout
    home = stock_bot(ROOT / "var" / "bench") if args.stock else None
    extra = dict(kv.split("=", 1) for kv in args.project_env)
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp_name:
        tmp = Path(tmp_name)
        stop_servers, databases = None, {}
        if args.scaled:
            scaled_env, stop_servers, databases = start_scaled_servers(tmp)
            extra = {**scaled_env, "SANIC_WORKERS": str(args.scaled), **extra}
        tg = FakeTelegram(token=f"{random.randint(10**8, 10**9)}:BENCH")
        zalo = FakeZalo(app_id="bench-app", app_secret="bench-app-secret")
        await tg.start()
        await zalo.start()
        targets: list[Target] = []
        keys: dict = {}
        try:
            if home is not None:
                (tmp / "stock").mkdir()
                targets.append(start_stock(home, tmp / "stock"))
            if args.project:
                (tmp / "project").mkdir()
                project, keys = start_project(model, tmp / "project", tg, zalo, extra)
                project.procs.charged.update(databases)
                targets.append(project)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                print("starting the stacks…", file=sys.stderr, flush=True)
                await wait_ready(http, targets, min(args.startup_timeout, deadline - time.monotonic()))
                for target in targets:  # warm-up: first predictions are slow
                    await rest_round(http, target, 0, 4, 4, os.getpid())
                rounds: list[Round] = []
                for number in range(1, args.rounds + 1):
                    for target in targets:
                        if time.monotonic() > deadline:
                            raise SystemExit("out of time")
                        print(f"round {number}: {target.name}…", file=sys.stderr, flush=True)
                        spies = start_profiles(target, Path(args.profile)) if args.profile and number == 1 else []
                        rounds.append(await rest_round(http, target, number, args.senders, args.turns, os.getpid()))
                        stop_profiles(spies)
                        target.procs.alive()
                zalo_figures = None
                if args.project and args.zalo:
                    print("Zalo webhook path…", file=sys.stderr, flush=True)
                    zalo_figures = await zalo_round(http, targets[-1], zalo, keys, args.senders, args.turns)
        finally:
            for target in targets:
                target.procs.stop()
            await zalo.stop()
            await tg.stop()
            if stop_servers is not None:
                stop_servers()
            if args.keep_logs:
                (ROOT / "results").mkdir(exist_ok=True)
                for log in tmp.glob("*/*.log"):
                    (ROOT / "results" / f"throughput-{log.parent.name}-{log.name}").write_bytes(log.read_bytes())
    out = report(rounds, zalo_figures, args)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    bad = sum(r.errors + r.empty for r in rounds) + (zalo_figures["errors"] + zalo_figures["missing_replies"]
                                                     if zalo_figures else 0)
    return 1 if bad else 0


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "current.tar.gz"))
    parser.add_argument("--senders", type=int, default=20, help="residents writing at the same time")
    parser.add_argument("--turns", type=int, default=15, help="messages per resident and round")
    parser.add_argument("--rounds", type=int, default=2, help="measured rounds per stack, interleaved")
    parser.add_argument("--no-stock", dest="stock", action="store_false", help="skip the stock bot")
    parser.add_argument("--no-project", dest="project", action="store_false", help="only the stock bot")
    parser.add_argument("--no-zalo", dest="zalo", action="store_false", help="skip the Zalo webhook path")
    parser.add_argument("--project-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an extra environment variable for the project's processes (to compare settings)")
    parser.add_argument("--scaled", type=int, default=0, metavar="N",
                        help="the project on PostgreSQL and Redis (endpoints-scaled.yml) with N Rasa workers")
    parser.add_argument("--timeout", type=float, default=1500, help="overall bound in seconds")
    parser.add_argument("--startup-timeout", type=float, default=300)
    parser.add_argument("--profile", metavar="DIR", help="sample each process with py-spy during round 1 into DIR")
    parser.add_argument("--out", help="also write the figures as JSON to this file")
    parser.add_argument("--keep-logs", action="store_true", help="copy the processes' logs to results/")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
