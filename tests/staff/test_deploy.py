"""Deploying a model over Rasa's HTTP API with rollback: fast tests against a fake server on loopback."""

from __future__ import annotations

import io
import json
from datetime import date, datetime
from pathlib import Path

import pytest
import requests

from bot.staff.cli import Tool, main
from bot.staff.deploy import RasaAPI, deploy_model, restore_files
from bot.staff.pipeline import Paths, sha256
from tests.fakes.rasa import serve

TOKEN = "test-token"  # the fake server's token, not a secret


def model(tmp_path: Path, name: str, kind: str) -> Path:
    path = tmp_path / name
    path.write_text(kind, encoding="utf-8")
    return path


def test_good_model_is_loaded_and_checked(tmp_path: Path) -> None:
    with serve(TOKEN) as rasa, requests.Session() as s:
        result = deploy_model(RasaAPI(rasa.url, TOKEN, s), model(tmp_path, "new.tar.gz", "good"),
                              model(tmp_path, "previous.tar.gz", "good"))
    assert result.ok and not result.rolled_back
    assert [(m, p) for m, p, _ in rasa.requests] == [("GET", "/status"), ("PUT", "/model")] + \
        [("POST", "/model/parse")] * 3
    assert all(authed for _, _, authed in rasa.requests)
    assert rasa.model_file == "new.tar.gz"
    assert "THÀNH CÔNG" in result.summary()


def test_broken_file_rolls_back_to_previous(tmp_path: Path) -> None:
    rolled: list[bool] = []
    with serve(TOKEN) as rasa, requests.Session() as s:
        result = deploy_model(RasaAPI(rasa.url, TOKEN, s), model(tmp_path, "new.tar.gz", "garbage"),
                              model(tmp_path, "previous.tar.gz", "good"), on_rollback=lambda: rolled.append(True))
    assert not result.ok and result.rolled_back and result.rollback_ok
    assert rolled == [True]
    assert rasa.model_file == "previous.tar.gz"
    assert any("HTTP 400" in line for line in result.steps)
    assert "đã quay lại mô hình trước" in result.summary()


def test_model_that_misses_urgent_messages_rolls_back(tmp_path: Path) -> None:
    with serve(TOKEN) as rasa, requests.Session() as s:
        result = deploy_model(RasaAPI(rasa.url, TOKEN, s), model(tmp_path, "new.tar.gz", "deaf"),
                              model(tmp_path, "previous.tar.gz", "good"))
    assert not result.ok and result.rolled_back and result.rollback_ok
    assert any("phải là “report_violence”" in line for line in result.steps)
    assert rasa.loaded == "good" and rasa.model_file == "previous.tar.gz"


def test_wrong_token_changes_nothing(tmp_path: Path) -> None:
    with serve(TOKEN) as rasa, requests.Session() as s:
        result = deploy_model(RasaAPI(rasa.url, "wrong", s), model(tmp_path, "new.tar.gz", "good"),
                              model(tmp_path, "previous.tar.gz", "good"))
    assert not result.ok and not result.rolled_back
    assert [(m, p) for m, p, _ in rasa.requests] == [("GET", "/status")]
    assert any("401" in line or "xác thực" in line for line in result.steps)


def test_server_down_changes_nothing(tmp_path: Path) -> None:
    with serve(TOKEN) as rasa:
        url = rasa.url
    with requests.Session() as s:
        result = deploy_model(RasaAPI(url, TOKEN, s, timeout=2), model(tmp_path, "new.tar.gz", "good"), None)
    assert not result.ok and not result.rolled_back
    assert "không kết nối được" in result.steps[0]


def test_restore_files_after_rollback(tmp_path: Path) -> None:
    model(tmp_path, "current.tar.gz", "bad")
    model(tmp_path, "previous.tar.gz", "good")
    (tmp_path / "previous.eval.json").write_text('{"accepted": true}', encoding="utf-8")
    (tmp_path / "current.eval.json").write_text('{"accepted": true, "new": 1}', encoding="utf-8")
    bad = restore_files(tmp_path, datetime(2026, 11, 22, 10, 0))
    assert bad == tmp_path / "rejected-deploy-20261122-100000.tar.gz" and bad.read_text() == "bad"
    assert (tmp_path / "current.tar.gz").read_text() == "good"
    assert json.loads((tmp_path / "current.eval.json").read_text()) == {"accepted": True}


def _cli(repo: Path, day: date) -> tuple[Tool, io.StringIO]:
    out = io.StringIO()
    return Tool(root=repo, content_dir=repo / "content", out=out, err=out, today=day), out


def _gate_record(paths: Paths, accepted: bool) -> None:
    paths.current_eval.write_text(json.dumps({"model_sha256": sha256(paths.current),
                                              "data_sha256": sha256(paths.heldout), "accepted": accepted,
                                              "eval": {}}), encoding="utf-8")


def test_cli_refuses_a_model_that_did_not_pass_the_gate(repo: Path, day: date,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    paths = Paths.from_root(repo)
    paths.models_dir.mkdir()
    model(paths.models_dir, "current.tar.gz", "good")
    with serve(TOKEN) as rasa:
        monkeypatch.setenv("RASA_URL", rasa.url)
        monkeypatch.setenv("RASA_AUTH_TOKEN", TOKEN)
        tool, out = _cli(repo, day)
        assert main(["model", "deploy"], tool=tool) == 1
        assert "chưa qua cổng kiểm tra" in out.getvalue()
        _gate_record(paths, accepted=False)
        assert main(["model", "deploy"], tool=tool) == 1
        assert rasa.requests == []


def test_cli_deploys_and_rolls_back_files(repo: Path, day: date, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = Paths.from_root(repo)
    paths.models_dir.mkdir()
    model(paths.models_dir, "current.tar.gz", "deaf")
    model(paths.models_dir, "previous.tar.gz", "good")
    _gate_record(paths, accepted=True)
    with serve(TOKEN) as rasa:
        monkeypatch.setenv("RASA_URL", rasa.url)
        monkeypatch.setenv("RASA_AUTH_TOKEN", TOKEN)
        tool, out = _cli(repo, day)
        assert main(["model", "deploy"], tool=tool) == 1
    text = out.getvalue()
    assert "KHÔNG THÀNH CÔNG" in text and TOKEN not in text
    assert paths.current.read_text() == "good"
    assert [p.name for p in paths.models_dir.glob("rejected-deploy-*.tar.gz")]
