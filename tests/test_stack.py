"""End to end: the real Rasa server, action server and desk on loopback, as `make run` starts them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from scripts.local_servers import free_port
from tests.conftest import ROOT

MODEL = ROOT / "models" / "current.tar.gz"
pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not MODEL.exists(), reason="no trained model: run `make train`")]
NUMBERS = ("113", "115", "111", "1900969680")  # no province named: the national 24/7 line (issue 9)


def _wait(url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            time.sleep(0.5)
    raise TimeoutError(url)


SECRETS = {"DESK_API_TOKEN": "stack-desk-token-7f3a", "RASA_AUTH_TOKEN": "stack-rasa-token-91bc",
           "DESK_SESSION_SECRET": "stack-session-secret-0c5d2e"}
PHONE = "0912345678"
SPOOFED = "telegram:4242"


def procfile() -> dict[str, str]:
    """The Procfile's process lines, as `make run` (honcho) starts them."""
    return dict(line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip())


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Start the three services exactly as the Procfile says (each line through a shell, like honcho), with a
    temporary database, tracker store and var/; the environment is what `make run` exports plus `.env`."""
    tmp = tmp_path_factory.mktemp("stack")
    rasa_port, action_port, desk_port = free_port(), free_port(), free_port()
    hosts = ("BIND_HOST", "RASA_HOST", "ACTION_HOST", "DESK_HOST")
    env = {**{k: v for k, v in os.environ.items() if k not in hosts},
           "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
           "APP_VAR_DIR": str(tmp / "var"), "TRACKER_SQLITE_PATH": str(tmp / "tracker.db"),
           "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook", **SECRETS,
           "RASA_PORT": str(rasa_port), "ACTION_PORT": str(action_port), "DESK_PORT": str(desk_port),
           "RASA_URL": f"http://127.0.0.1:{rasa_port}", "RASA_TELEMETRY_ENABLED": "false",
           "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore", "TELEGRAM_BOT_TOKEN": ""}
    names = list(procfile())
    logs = {name: (tmp / f"{name}.log").open("wb") for name in names}  # closed in the finally block
    procs = {name: subprocess.Popen(["bash", "-c", command], cwd=ROOT, env=env, stdout=logs[name],
                                    stderr=subprocess.STDOUT, start_new_session=True)
             for name, command in procfile().items()}
    try:
        _wait(f"http://127.0.0.1:{action_port}/health")
        _wait(f"http://127.0.0.1:{desk_port}/health")
        _wait(f"http://127.0.0.1:{rasa_port}/status?token={SECRETS['RASA_AUTH_TOKEN']}")
        status = requests.get(f"http://127.0.0.1:{rasa_port}/status",
                              params={"token": SECRETS["RASA_AUTH_TOKEN"]}, timeout=5)
        assert status.ok, status.text
        yield {"rasa": f"http://127.0.0.1:{rasa_port}", "desk": f"http://127.0.0.1:{desk_port}", "tmp": tmp,
               "actions": f"http://127.0.0.1:{action_port}", "procs": procs, "logs": logs,
               "ports": {"rasa": rasa_port, "actions": action_port, "desk": desk_port}}
    finally:
        for proc in procs.values():
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        for log in logs.values():
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
                        headers={"Authorization": f"Bearer {SECRETS['DESK_API_TOKEN']}"}, timeout=10)
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
    tracker = requests.get(f"{stack['rasa']}/conversations/rest:{sender}/tracker", params={"token": SECRETS["RASA_AUTH_TOKEN"]},
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
                        headers={"Authorization": f"Bearer {SECRETS['DESK_API_TOKEN']}"}, timeout=10)
    assert resp.json() == [], "no case in the Telegram user's name"
    [case] = cases(stack, "telegram:4242")
    assert case["channel"] == "rest" and case["sender_id"] == "rest:telegram:4242"
    telegram = requests.get(f"{stack['rasa']}/conversations/telegram:4242/tracker", params={"token": SECRETS["RASA_AUTH_TOKEN"]},
                            timeout=10).json()
    assert not [e for e in telegram["events"] if e.get("event") == "user"], "nothing in the Telegram conversation"


# --- Hardening checks from outside (issue 11, "Done when") --------------------------------------------------------

URGENT_200K = "Chồng tôi đang đánh tôi, cứu tôi với. " + "Anh ấy say rượu và đập phá đồ đạc trong nhà. " * 4600
LOG_TEXTS = ["Chồng tôi đang đánh tôi, cứu tôi với", "ck e dang danh e cuu e", "bạo lực gia đình bị phạt bao nhiêu",
             "Năm nay tháng hành động diễn ra khi nào", "Sắp tới ở Kon Tum có sự kiện gì", "thời tiết mai thế nào",
             "giá vàng hôm nay bao nhiêu", "xóa dữ liệu của tôi", "đập phá đồ đạc", "gọi cho em vào số",
             "stream-urgent-sender", "telegram:4242", PHONE, "0912 345 678", *SECRETS.values(), "S3cure-Stack-pass!"]


def _session_pids(leader: int) -> list[int]:
    """Every live process in the session a Procfile line started (the shell exec'd into the service)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == leader:  # field 6 of /proc/<pid>/stat: the session id
                pids.append(int(entry.name))
    return pids


def _listening(pids: list[int]) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket these processes hold, from /proc/net/tcp{,6}."""
    inodes = set()
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:  # a busy service opens and closes files while we look: skip that one descriptor, not the process
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    found = []
    for table, size in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 16)):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A: LISTEN
                addr, port = cols[1].split(":")
                raw = bytes.fromhex(addr)
                packed = b"".join(raw[i:i + 4][::-1] for i in range(0, size, 4))
                found.append((socket.inet_ntop(socket.AF_INET if size == 4 else socket.AF_INET6, packed),
                              int(port, 16)))
    return found


def test_every_service_listens_on_loopback_only(stack) -> None:
    for name, proc in stack["procs"].items():
        listeners = _listening(_session_pids(proc.pid))
        assert (("127.0.0.1", stack["ports"][name]) in listeners), (name, listeners)
        assert all(addr in ("127.0.0.1", "::1") for addr, _ in listeners), (name, listeners)


def test_no_command_line_carries_a_secret(stack) -> None:
    for name, proc in stack["procs"].items():
        pids = _session_pids(proc.pid)
        assert pids, name
        for pid in pids:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            assert not any(secret in cmdline for secret in SECRETS.values()), (name, cmdline)
            assert "--auth-token" not in cmdline, (name, cmdline)


def _declare_big_body(url: str, size: int = 2 * 1024 * 1024) -> tuple[int, float]:
    """POST a body announced as `size` bytes but send only 1 KiB: the status line, and how long it took."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + url.split("//", 1)[1].split("/", 1)[1]
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {size}\r\n\r\n".encode() + b"x" * 1024)
        status = sock.recv(200).split(b"\r\n", 1)[0]
    return int(status.split()[1]), time.monotonic() - started


def test_a_large_body_is_refused_from_its_headers(stack) -> None:
    for url in (f"{stack['rasa']}/webhooks/rest/webhook", f"{stack['actions']}/webhook"):  # Sanic: from the headers
        status, took = _declare_big_body(url)
        assert status == 413 and took < 5, (url, status, took)
    # aiohttp reads up to client_max_size (1 MiB) and stops there
    resp = requests.post(f"{stack['desk']}/login", data=b"x" * (2 * 1024 * 1024), timeout=30,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 413


def _login_form(session: requests.Session, desk: str) -> str:
    page = session.get(f"{desk}/login", timeout=10)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


@pytest.fixture(scope="module")
def counselor(stack) -> tuple[str, str]:
    """A console account made the way `make create-account` makes it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{stack['tmp'] / 'app.db'}",
           "APP_VAR_DIR": str(stack["tmp"] / "var")}
    subprocess.run([sys.executable, "-m", "bot.desk", "create-account", "stack-lan", "--role", "counselor",
                    "--password-stdin"], input="S3cure-Stack-pass!\n", text=True, env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    return "stack-lan", "S3cure-Stack-pass!"


def _login(stack, counselor, nxt: str = "/cases") -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    token = _login_form(session, stack["desk"])
    resp = session.post(f"{stack['desk']}/login", data={"username": counselor[0], "password": counselor[1],
                                                        "csrf_token": token, "next": nxt},
                        allow_redirects=False, timeout=30)
    return session, resp


@pytest.mark.parametrize("nxt", ["//evil.example", "/%09/evil.example", "https://evil.example/", "/\\evil.example"])
def test_no_off_site_redirect_after_login(stack, counselor, nxt: str) -> None:
    _, resp = _login(stack, counselor, nxt)
    assert resp.status_code == 303, resp.status_code
    location = resp.headers["Location"]
    assert urlsplit(urljoin(stack["desk"] + "/login", location)).netloc == urlsplit(stack["desk"]).netloc, location
    assert not location.startswith(("//", "/\\")) and "\t" not in location


def test_a_garbage_bearer_is_401(stack) -> None:
    for value in ("Bearer garbage", "Bearer ", "Bearer tokén-ü", "Basic Zm9vOmJhcg=="):
        resp = requests.get(f"{stack['desk']}/api/cases", headers={"Authorization": value.encode()}, timeout=10)
        assert resp.status_code == 401, (value, resp.status_code)


def test_stream_true_urgent_replies_carry_113(stack) -> None:
    resp = requests.post(f"{stack['rasa']}/webhooks/rest/webhook", params={"stream": "true"}, timeout=60,
                         json={"sender": "stream-urgent-sender", "message": "Chồng tôi đang đánh tôi, cứu tôi với"})
    assert resp.status_code == 200 and "113" in resp.text


def test_the_console_list_answers_fast_after_a_200_kb_message(stack, counselor) -> None:
    assert len(URGENT_200K.encode()) > 200_000
    assert "113" in "\n".join(say(stack, "big-message-1", URGENT_200K + f" gọi cho em vào số {PHONE}"))
    session, resp = _login(stack, counselor)
    assert resp.status_code == 303
    for path in ("/cases", "/cases/rows"):
        started = time.monotonic()
        page = session.get(f"{stack['desk']}{path}", timeout=30)
        took = time.monotonic() - started
        assert page.status_code == 200 and took < 2, (path, page.status_code, took)


def test_repeated_failed_logins_get_429(stack, counselor) -> None:
    session, statuses = requests.Session(), []
    for attempt in range(15):
        token = _login_form(session, stack["desk"])
        resp = session.post(f"{stack['desk']}/login", data={"username": counselor[0], "password": f"wrong-{attempt}",
                                                            "csrf_token": token, "next": "/cases"},
                            allow_redirects=False, timeout=30)
        statuses.append(resp.status_code)
        if resp.status_code == 429:
            break
    assert statuses[-1] == 429 and "Retry-After" in resp.headers, statuses


def test_zz_the_service_logs_hold_no_text_phone_number_or_secret(stack) -> None:
    """Last in the module: everything above has run through the three services."""
    time.sleep(1)
    for name, log in stack["logs"].items():
        log.flush()
        text = (stack["tmp"] / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        leaked = [needle for needle in LOG_TEXTS if needle in text]
        assert not leaked, f"{name}.log contains {leaked}"
        assert not re.search(r"\b(?:zalo|messenger|telegram|rest):(?!\[id\])[\w:-]{3,}", text.replace(
            "telegram:429", "")), f"{name}.log names a sender"
