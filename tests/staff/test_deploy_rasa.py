"""Deploy with rollback against a real Rasa server on loopback (slow: starts Rasa, loads models, trains a tiny one)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.staff.deploy import RasaAPI, deploy_model
from scripts.local_servers import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
RASA = ROOT / ".venv" / "bin" / "rasa"
TOKEN = "slow-test-token"  # a throw-away token for the loopback server, not a secret


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "ACTION_ENDPOINT_URL": "http://127.0.0.1:1/webhook",
            "TRACKER_SQLITE_PATH": str(tmp / "tracker.db"), "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """previous.tar.gz (the trained model in service) and a copy of it as a new candidate."""
    current = ROOT / "models" / "current.tar.gz"
    if not current.exists():
        pytest.fail("models/current.tar.gz is missing: run `make train` first")
    folder = tmp_path_factory.mktemp("models")
    shutil.copy2(current, folder / "previous.tar.gz")
    shutil.copy2(current, folder / "new.tar.gz")
    (folder / "broken.tar.gz").write_bytes(b"\x1f\x8b this is not a model")
    return folder


@pytest.fixture(scope="module")
def server(models: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`rasa run --enable-api --auth-token` with the model in service, on a free loopback port."""
    tmp = tmp_path_factory.mktemp("rasa")
    (tmp / "credentials.yml").write_text("rest:\n", encoding="utf-8")
    port = free_port()
    log = (tmp / "rasa.log").open("w")
    proc = subprocess.Popen([str(RASA), "run", "--enable-api", "--auth-token", TOKEN, "--port", str(port),
                             "--interface", "127.0.0.1", "--model", str(models / "previous.tar.gz"),
                             "--endpoints", str(ROOT / "endpoints.yml"), "--credentials", str(tmp / "credentials.yml")],
                            cwd=tmp, env=_env(tmp), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"rasa exited early; see {tmp / 'rasa.log'}")
            try:
                if requests.get(f"{url}/status", params={"token": TOKEN}, timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(2)
        else:
            pytest.fail("rasa did not start within 4 minutes")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid model that loads and answers but knows nothing about urgent messages (trained in seconds)."""
    tmp = tmp_path_factory.mktemp("tiny")
    (tmp / "config.yml").write_text("recipe: default.v1\nlanguage: vi\npipeline:\n  - name: WhitespaceTokenizer\n"
                                    "  - name: KeywordIntentClassifier\npolicies: []\n", encoding="utf-8")
    (tmp / "nlu.yml").write_text('version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - xin chao\n    - chao ban\n'
                                 "- intent: goodbye\n  examples: |\n    - tam biet\n    - hen gap lai\n", encoding="utf-8")
    done = subprocess.run([str(RASA), "train", "nlu", "--config", "config.yml", "--nlu", "nlu.yml", "--out", "out",
                           "--fixed-model-name", "tiny"], cwd=tmp, env=_env(tmp), capture_output=True, text=True,
                          check=False, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:]
    return tmp / "out" / "tiny.tar.gz"


def _api(url: str, session: requests.Session) -> RasaAPI:
    return RasaAPI(url, TOKEN, session)


def _loaded(url: str) -> str:
    return requests.get(f"{url}/status", params={"token": TOKEN}, timeout=30).json()["model_file"]


def _urgent_intent(url: str) -> str:
    body = requests.post(f"{url}/model/parse", params={"token": TOKEN}, json={"text": "ck dang danh em"}, timeout=60)
    return body.json()["intent"]["name"]


def test_good_model_is_loaded_without_losing_the_conversation(server: str, models: Path) -> None:
    hello = requests.post(f"{server}/webhooks/rest/webhook", json={"sender": "resident-1", "message": "xin chào"},
                          timeout=60)
    assert hello.status_code == 200 and hello.json()
    with requests.Session() as s:
        result = deploy_model(_api(server, s), models / "new.tar.gz", models / "previous.tar.gz")
    assert result.ok and not result.rolled_back, result.steps
    assert _loaded(server) == "new.tar.gz"
    tracker = requests.get(f"{server}/conversations/resident-1/tracker", params={"token": TOKEN}, timeout=30).json()
    assert [e.get("text") for e in tracker["events"] if e["event"] == "user"] == ["xin chào"]


def test_broken_model_file_is_rolled_back(server: str, models: Path) -> None:
    with requests.Session() as s:
        result = deploy_model(_api(server, s), models / "broken.tar.gz", models / "previous.tar.gz")
    assert not result.ok and result.rolled_back and result.rollback_ok, result.steps
    assert _loaded(server) == "previous.tar.gz"
    assert _urgent_intent(server) == "report_violence"


def test_model_that_misses_urgent_messages_is_rolled_back(server: str, models: Path, tiny_model: Path) -> None:
    with requests.Session() as s:
        result = deploy_model(_api(server, s), tiny_model, models / "previous.tar.gz")
    assert not result.ok and result.rolled_back and result.rollback_ok, result.steps
    assert any("tin nhắn khẩn cấp" in line and "✗" in line for line in result.steps)
    assert _loaded(server) == "previous.tar.gz"
    assert _urgent_intent(server) == "report_violence"


def test_wrong_token_is_refused(server: str, models: Path) -> None:
    with requests.Session() as s:
        result = deploy_model(RasaAPI(server, "not-the-token", s), models / "new.tar.gz", models / "previous.tar.gz")
    assert not result.ok and not result.rolled_back
    assert "401" in result.steps[0] or "xác thực" in result.steps[0]
