"""Load an accepted model into the running Rasa server over its HTTP API; roll back if it does not answer."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from bot.triage import URGENT_INTENT


@dataclass(frozen=True)
class Probe:
    """A test message sent to /model/parse after loading; `expect` is the intent it must come back as."""

    text: str
    expect: str | None
    label: str


DEFAULT_PROBES = (
    Probe("bình đẳng giới là gì vậy ad", None, "câu hỏi thường"),
    Probe("chồng tôi đang đánh tôi, cứu tôi với", URGENT_INTENT, "tin nhắn khẩn cấp (có dấu)"),
    Probe("ck dang danh e, e so qua", URGENT_INTENT, "tin nhắn khẩn cấp (không dấu)"),
)


class RasaAPI:
    """The few Rasa HTTP API calls deployment needs; the token is sent as Rasa 3.6 expects (?token=)."""

    def __init__(self, base_url: str, token: str | None, session: requests.Session, timeout: float = 300.0) -> None:
        self.base_url, self.token, self.session, self.timeout = base_url.rstrip("/"), token, session, timeout

    def _call(self, method: str, path: str, json_body: dict[str, Any] | None = None,
              timeout: float | None = None) -> tuple[int, Any]:
        params = {"token": self.token} if self.token else None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            resp = self.session.request(method, f"{self.base_url}{path}", params=params, headers=headers,
                                        json=json_body, timeout=timeout or self.timeout)
        except requests.RequestException as exc:
            return 0, type(exc).__name__
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = resp.text[:300]
        return resp.status_code, body

    def status(self) -> tuple[int, Any]:
        """GET /status: the loaded model."""
        return self._call("GET", "/status", timeout=30)

    def load(self, model_file: Path) -> tuple[int, Any]:
        """PUT /model {"model_file": path}; 204 means loaded."""
        return self._call("PUT", "/model", {"model_file": str(model_file)})

    def parse(self, text: str) -> tuple[int, Any]:
        """POST /model/parse."""
        return self._call("POST", "/model/parse", {"text": text}, timeout=60)


@dataclass
class DeployResult:
    """What happened, step by step, in Vietnamese."""

    ok: bool = False
    rolled_back: bool = False
    rollback_ok: bool | None = None
    steps: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the end of the command's output."""
        if self.ok:
            return "THÀNH CÔNG: trợ lý đang chạy đã dùng mô hình mới."
        if self.rolled_back and self.rollback_ok:
            return ("KHÔNG THÀNH CÔNG: mô hình mới không nạp được hoặc trả lời sai; đã quay lại mô hình trước, "
                    "trợ lý vẫn chạy bình thường.")
        return "LỖI: không nạp được mô hình và không xác nhận được mô hình trước. Báo ngay cho kỹ thuật."


def check_answers(api: RasaAPI, probes: tuple[Probe, ...] = DEFAULT_PROBES) -> tuple[bool, list[str]]:
    """Send each probe to /model/parse; all must answer (and urgent ones as report_violence)."""
    notes, ok = [], True
    for probe in probes:
        code, body = api.parse(probe.text)
        intent = ((body or {}).get("intent") or {}).get("name") if isinstance(body, dict) else None
        if code != 200 or not intent:
            ok = False
            notes.append(f"✗ {probe.label}: máy chủ không trả lời (HTTP {code})")
        elif probe.expect and intent != probe.expect:
            ok = False
            notes.append(f"✗ {probe.label}: hiểu thành “{intent}”, phải là “{probe.expect}”")
        else:
            notes.append(f"✓ {probe.label}: {intent}")
    return ok, notes


def _explain(code: int, body: Any) -> str:
    if code == 0:
        return f"không kết nối được tới Rasa ({body})"
    if code == 401:
        return "Rasa từ chối mã xác thực (RASA_AUTH_TOKEN sai hoặc thiếu)"
    message = body.get("message") if isinstance(body, dict) else None
    return f"HTTP {code}" + (f": {str(message)[:200]}" if message else "")


def deploy_model(api: RasaAPI, model: Path, previous: Path | None,
                 probes: tuple[Probe, ...] = DEFAULT_PROBES, notify: Callable[[str], None] = lambda _m: None,
                 on_rollback: Callable[[], None] | None = None) -> DeployResult:
    """Load `model`, check it answers; otherwise load `previous` again and check that one."""
    result = DeployResult()

    def note(line: str) -> None:
        result.steps.append(line)
        notify(line)

    code, body = api.status()
    if code != 200:
        note(f"Không đọc được trạng thái máy chủ Rasa: {_explain(code, body)}. Chưa thay đổi gì.")
        return result
    running = body.get("model_file") if isinstance(body, dict) else None
    note(f"Máy chủ Rasa đang chạy mô hình: {running or 'không rõ'}")
    note(f"Nạp mô hình mới: {model.name} …")
    code, body = api.load(model.resolve())
    if code == 204:
        ok, notes = check_answers(api, probes)
        for line in notes:
            note("  " + line)
        if ok:
            result.ok = True
            note("Mô hình mới đã được nạp và trả lời đúng.")
            return result
        note("Mô hình mới trả lời không đạt.")
    else:
        note(f"Máy chủ không nạp được mô hình mới: {_explain(code, body)}")
    if code == 401:
        return result
    result.rolled_back = True
    if previous is None or not previous.exists():
        note("Không có mô hình trước để quay lại (models/previous.tar.gz).")
        ok, notes = check_answers(api, probes)
        result.rollback_ok = ok
        for line in notes:
            note("  " + line)
        return result
    note(f"Quay lại mô hình trước: {previous.name} …")
    code, body = api.load(previous.resolve())
    if code != 204:
        note(f"Không nạp lại được mô hình trước: {_explain(code, body)}")
        result.rollback_ok = False
        return result
    ok, notes = check_answers(api, probes)
    for line in notes:
        note("  " + line)
    result.rollback_ok = ok
    if ok and on_rollback is not None:
        on_rollback()
    note("Đã quay lại mô hình trước." if ok else "Mô hình trước cũng không trả lời đúng!")
    return result


def restore_files(models_dir: Path, now: datetime | None = None) -> Path | None:
    """After a rollback: keep the bad model aside and make previous the current model file again."""
    current, previous = models_dir / "current.tar.gz", models_dir / "previous.tar.gz"
    if not previous.exists():
        return None
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    bad = models_dir / f"rejected-deploy-{stamp}.tar.gz"
    if current.exists():
        os.replace(current, bad)
    shutil.copy2(previous, current)
    os.utime(current)
    previous_eval, current_eval = models_dir / "previous.eval.json", models_dir / "current.eval.json"
    if previous_eval.exists():
        shutil.copy2(previous_eval, current_eval)
    else:
        current_eval.unlink(missing_ok=True)
    return bad
