"""`make run-scaled` starts the scaled layout: conversations on PostgreSQL, cases in it, and stops everything it started.

Runs `python -m scripts.run_scaled` (what the make target runs) with free ports, a temporary data directory and an
empty environment file, sends an urgent REST message, checks where its traces went, then stops it with SIGTERM.
Needs models/current.tar.gz (marked e2e) and Debian's PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text

from scripts.local_servers import free_port, pg_bin
from tests.conftest import ROOT
from tests.servers import missing

MODEL = ROOT / "models" / "current.tar.gz"
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train`")]
SECRETS = {"DESK_API_TOKEN": "scaled-desk-token-5b1e2c", "RASA_AUTH_TOKEN": "scaled-rasa-token-77de01",
           "DESK_SESSION_SECRET": "scaled-session-secret-9a4f63"}


def listening(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_run_scaled_keeps_conversations_and_cases_in_postgresql_and_stops_what_it_started(tmp_path: Path) -> None:
    if pg_bin("postgres") is None:
        missing("PostgreSQL (postgresql)")
    if shutil.which("redis-server") is None:
        missing("Redis (redis-server)")
    ports = {name: free_port() for name in ("rasa", "actions", "desk", "pg", "redis")}
    data = Path(tempfile.mkdtemp(prefix="run-scaled-"))  # under /tmp: as root, `postgres` must be able to enter it
    env_file = tmp_path / "env"
    env_file.write_text("# empty: the developer's .env must not change the ports\n")
    env = {**{k: v for k, v in os.environ.items() if k not in ("BIND_HOST", "DATABASE_URL", "SANIC_WORKERS")},
           **SECRETS, "PYTHONPATH": str(ROOT), "APP_VAR_DIR": str(tmp_path / "var"), "TELEGRAM_BOT_TOKEN": "",
           "RASA_PORT": str(ports["rasa"]), "ACTION_PORT": str(ports["actions"]), "DESK_PORT": str(ports["desk"]),
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
           "RASA_URL": f"http://127.0.0.1:{ports['rasa']}", "SCALED_DATA_DIR": str(data),
           "SCALED_PG_PORT": str(ports["pg"]), "SCALED_REDIS_PORT": str(ports["redis"]),
           "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    log = (tmp_path / "run-scaled.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "scripts.run_scaled", "--env-file", str(env_file)], cwd=ROOT,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    rasa = f"http://127.0.0.1:{ports['rasa']}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (tmp_path / "run-scaled.log").read_text(errors="replace")[-3000:]
            try:
                if requests.get(f"{rasa}/status", params={"token": SECRETS["RASA_AUTH_TOKEN"]}, timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "Rasa did not start"
            time.sleep(1)
        resp = requests.post(f"{rasa}/webhooks/rest/webhook", timeout=60,
                             json={"sender": "scaled-1", "message": "Chồng tôi đang đánh tôi, cứu tôi với"})
        assert resp.status_code == 200
        assert "113" in "\n".join(m.get("text", "") for m in resp.json())
        pg = f"postgresql://bot@127.0.0.1:{ports['pg']}"
        app, trackers = create_engine(f"{pg}/app"), create_engine(f"{pg}/trackers")
        with app.connect() as conn:
            senders = conn.execute(text("SELECT sender_id FROM cases")).scalars().all()
        with trackers.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM events WHERE sender_id = 'rest:scaled-1'")).scalar()
        app.dispose()
        trackers.dispose()
        assert senders == ["rest:scaled-1"]  # the project's database is PostgreSQL
        assert events > 0  # and so is Rasa's tracker store
        assert listening(ports["redis"])
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
        stopped = not listening(ports["pg"]) and not listening(ports["redis"]) and not listening(ports["rasa"])
        shutil.rmtree(data, ignore_errors=True)
    assert stopped  # the servers and the Procfile's processes are gone
