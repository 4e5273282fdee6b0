"""kill -9 of a real desk mid-broadcast, then a restart: nobody gets two messages, the broadcast finishes.

The broadcast is created with the real command line (`python -m bot broadcast create …`), sent by the
real desk process (`python -m bot.desk`) to the three fake platforms. One Telegram send is held by the fake
when the desk is killed: that recipient was marked `sending`, its outcome is unknown, and after the restart
it is marked failed `interrupted`, never resent.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.db.engine import make_engine
from bot.db.schema import init_db
from bot.outreach import broadcasts as bc
from bot.staff.cli import Tool, main
from bot.timeutil import utcnow
from tests.desk.helpers import ROOT, DeskProcess
from tests.outreach.helpers import add_sub, make_staff, recipients
from tests.sending.helpers import platform_env

pytestmark = pytest.mark.slow
PER_CHANNEL = 15


def cli(db_url: str, *argv: str) -> str:
    """Run `python -m bot …` against the test database; its standard output."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": db_url, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", "bot", *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def wait_for(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_kill9_mid_broadcast_then_resume_without_duplicates(tmp_path: Path, telegram, graph, zalo) -> None:
    db_url = f"sqlite:///{tmp_path / 'app.db'}"
    engine: Engine = make_engine(db_url)
    init_db(engine)
    make_staff(engine)
    now = utcnow()
    senders = [f"{ch}:{ch[0]}{n}" if ch != "telegram" else f"telegram:{5000 + n}"
               for ch in ("telegram", "messenger", "zalo") for n in range(PER_CHANNEL)]
    for sender in senders:
        add_sub(engine, sender, province="Gia Lai", now=now)
    add_sub(engine, "telegram:9999", province="Huế", now=now)  # not in the audience
    out = cli(db_url, "broadcast", "create", "--text", "Mời bạn tham gia ngày hội của Tháng hành động.",
              "--province", "Gia Lai", "--quiet-hours", "off", "--by", "an")
    broadcast_id = int(out.strip().splitlines()[-1].removeprefix("id="))
    assert main(["broadcast", "approve", str(broadcast_id), "--by", "binh"],
                Tool(out=io.StringIO(), engine=engine)) == 0  # in-process: one subprocess is enough

    telegram.stall("sendMessage", seconds=None, times=1)  # this send is under way when the desk dies
    desk = DeskProcess(tmp_path, None, **platform_env(zalo, graph, telegram), BROADCAST_SCHEDULER_INTERVAL="0.3",
                       BROADCAST_RATE_TELEGRAM="4", BROADCAST_RATE_MESSENGER="4", BROADCAST_RATE_ZALO="4",
                       DESK_WATCH_REST_TRACKER="0")

    def delivered() -> dict[str, int]:
        counts = {f"telegram:{k}": v for k, v in telegram.per_chat().items()}
        counts.update({f"messenger:{k}": v for k, v in graph.per_recipient().items()})
        counts.update({f"zalo:{k}": v for k, v in zalo.per_recipient().items()})
        return counts

    try:
        await desk.start()
        await wait_for(lambda: telegram.stalled and sum(delivered().values()) >= 8, 30, "a broadcast under way")
        desk.kill9()
        telegram.release()  # the held request's client is gone: the fake does not deliver it
        before = delivered()
        assert set(before.values()) == {1} and len(before) < len(senders)
        await desk.start()
        await wait_for(lambda: bc.status(engine, broadcast_id).state == "done", 60, "the broadcast to finish")
    finally:
        desk.stop()

    after = delivered()
    assert set(after.values()) == {1}, "nobody received two messages"
    assert set(after) <= set(senders) and "telegram:9999" not in after
    outcome = recipients(engine, broadcast_id)
    assert set(outcome) == set(senders)
    interrupted = {s for s, (status, reason) in outcome.items() if (status, reason) == ("failed", bc.INTERRUPTED)}
    sent = {s for s, (status, _) in outcome.items() if status == "sent"}
    assert sent | interrupted == set(senders)
    assert 1 <= len(interrupted) <= 8  # at most the deliveries under way at the kill
    assert sent <= set(after), "every recipient marked sent got the message"
    # A message on the wire at the kill may have arrived: its outcome is unknown, so it is `interrupted`, never
    # resent. Whoever got a message without being marked sent is one of those, and nobody else.
    assert set(after) - sent <= interrupted
    st = bc.status(engine, broadcast_id)
    assert (st.recipients, st.sent, st.failed, st.pending) == (len(senders), len(sent), len(interrupted), 0)
    assert "Mời bạn tham gia" not in desk.log(), "no message text in the desk's log"
    engine.dispose()
