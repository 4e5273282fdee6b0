"""End to end: the real Rasa server, action server and desk on loopback, as `make run` starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT

MODEL = ROOT / "models" / "current.tar.gz"
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train`")]
NUMBERS = ("113", "115", "111", "0377672444")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise TimeoutError(url)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Start the three services with a temporary database and tracker store."""
    tmp = tmp_path_factory.mktemp("stack")
    rasa_port, action_port, desk_port = _free_port(), _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
           "APP_VAR_DIR": str(tmp), "TRACKER_SQLITE_PATH": str(tmp / "tracker.db"),
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook", "DESK_API_TOKEN": "stack-token",
           "DESK_PORT": str(desk_port), "DESK_HOST": "127.0.0.1", "RASA_AUTH_TOKEN": "rasa-token",
           "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2", "TELEGRAM_BOT_TOKEN": ""}
    venv = ROOT / ".venv" / "bin"
    commands = [
        [str(venv / "rasa"), "run", "actions", "--actions", "actions", "--port", str(action_port)],
        [sys.executable, "-m", "bot.desk"],
        [str(venv / "rasa"), "run", "--model", str(MODEL), "--port", str(rasa_port), "--endpoints",
         "endpoints.yml", "--credentials", "credentials.yml", "--enable-api", "--auth-token", "rasa-token"],
    ]
    logs = [(tmp / f"service{i}.log").open("wb") for i in range(len(commands))]  # closed in the finally block
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
             for cmd, log in zip(commands, logs)]
    try:
        _wait(f"http://127.0.0.1:{action_port}/health")
        _wait(f"http://127.0.0.1:{desk_port}/health")
        _wait(f"http://127.0.0.1:{rasa_port}/status?token=rasa-token")
        status = requests.get(f"http://127.0.0.1:{rasa_port}/status", params={"token": "rasa-token"}, timeout=5)
        assert status.ok, status.text
        yield {"rasa": f"http://127.0.0.1:{rasa_port}", "desk": f"http://127.0.0.1:{desk_port}", "tmp": tmp}
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for log in logs:
            log.close()


def say(stack: dict, sender: str, text: str) -> list[str]:
    """Send a message on the REST channel; return the bot's texts."""
    resp = requests.post(f"{stack['rasa']}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                         timeout=60)
    assert resp.status_code == 200, resp.text
    return [m.get("text", "") for m in resp.json()]


def cases(stack: dict, sender: str) -> list[dict]:
    """The desk's cases for a REST sender (the channel keeps REST senders in their own `rest:` namespace)."""
    resp = requests.get(f"{stack['desk']}/api/cases", params={"sender_id": f"rest:{sender}"},
                        headers={"Authorization": "Bearer stack-token"}, timeout=10)
    assert resp.status_code == 200
    return resp.json()


@pytest.mark.parametrize("text", ["Chồng tôi đang đánh tôi, cứu tôi với", "ck e dang danh e cuu e"])
def test_urgent_reply_has_numbers_and_case_exists_when_reply_returns(stack, text: str) -> None:
    sender = f"urgent-{abs(hash(text))}"
    replies = say(stack, sender, text)
    joined = "\n".join(replies)
    for number in NUMBERS:
        assert number in joined
    [case] = cases(stack, sender)
    assert case["urgency"] == "danger_now" and case["status"] == "open" and case["message"] == text
    assert f"#{case['id']}" in joined


def test_question_about_violence_is_answered_not_escalated(stack) -> None:
    replies = say(stack, "faq-1", "bạo lực gia đình bị phạt bao nhiêu?")
    assert replies and "113" not in replies[0][:40]
    assert cases(stack, "faq-1") == []


def test_campaign_dates_this_year(stack) -> None:
    replies = say(stack, "dates-1", "Năm nay tháng hành động diễn ra khi nào?")
    year = time.gmtime().tm_year
    assert any(f"15/11/{year}" in r for r in replies)


def test_events_in_kon_tum(stack) -> None:
    replies = say(stack, "events-1", "Sắp tới ở Kon Tum có sự kiện gì?")
    assert any("Kon Tum" in r for r in replies)


@pytest.mark.parametrize("text", ["", "   ", "😢😢😢", "a", "x" * 5000, "<script>alert(1)</script>",
                                  "0912345678", "aaaaaaaaaaaaaaaaaaaaaaaaa", "?????"])
def test_bad_input_gets_a_reply(stack, text: str) -> None:
    assert say(stack, f"bad-{abs(hash(text))}", text), f"no reply to {text[:20]!r}"


def test_two_misses_in_a_row_offer_the_hotline(stack) -> None:
    first = "\n".join(say(stack, "miss-1", "thời tiết mai thế nào"))
    second = "\n".join(say(stack, "miss-1", "giá vàng hôm nay bao nhiêu"))
    assert "113" not in first and "113" in second


def test_delete_my_data(stack) -> None:
    sender = "delete-1"
    say(stack, sender, "xin chào")
    assert say(stack, sender, "xóa dữ liệu của tôi")
    done = "\n".join(say(stack, sender, "có"))
    assert "xóa" in done
    tracker = requests.get(f"{stack['rasa']}/conversations/rest:{sender}/tracker", params={"token": "rasa-token"},
                           timeout=10).json()
    assert tracker["events"], "conversation exists before the deletion runs"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        import sqlite3

        with sqlite3.connect(Path(stack["tmp"]) / "tracker.db") as conn:
            left = conn.execute("SELECT count(*) FROM events WHERE sender_id = ?", (f"rest:{sender}",)).fetchone()[0]
        if left == 0:
            break
        time.sleep(1)
    assert left == 0


def test_a_rest_client_cannot_write_as_a_resident_of_another_channel(stack) -> None:
    say(stack, "telegram:4242", "Chồng tôi đang đánh tôi, cứu tôi với")
    resp = requests.get(f"{stack['desk']}/api/cases", params={"sender_id": "telegram:4242"},
                        headers={"Authorization": "Bearer stack-token"}, timeout=10)
    assert resp.json() == [], "no case in the Telegram user's name"
    [case] = cases(stack, "telegram:4242")
    assert case["channel"] == "rest" and case["sender_id"] == "rest:telegram:4242"
    telegram = requests.get(f"{stack['rasa']}/conversations/telegram:4242/tracker", params={"token": "rasa-token"},
                            timeout=10).json()
    assert not [e for e in telegram["events"] if e.get("event") == "user"], "nothing in the Telegram conversation"
