"""The safe training pipeline: checks → validate → train a candidate → evaluate → gate → promote → report."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

from bot.content.provinces import Provinces
from bot.staff.checks import Problem, check_content, errors, other_nlu_examples
from bot.staff.gate import MAX_ACCURACY_DROP, MIN_URGENT_RECALL, GateDecision, decide
from bot.staff.store import load_content

Evaluate = Callable[[str, str], dict[str, Any]]
OK, FAILED, SKIPPED = "ok", "failed", "skipped"
ACCEPTED, REFUSED, STOPPED = "accepted", "refused", "stopped"


@dataclass(frozen=True)
class Paths:
    """Where the pipeline reads and writes."""

    root: Path
    content_dir: Path
    nlu_dir: Path
    models_dir: Path
    heldout: Path
    reports_dir: Path
    logs_dir: Path

    @classmethod
    def from_root(cls, root: Path) -> Paths:
        """The standard layout of the repository; reports of local runs go to var/reports (git-ignored)."""
        return cls(root, root / "content", root / "data" / "nlu", root / "models",
                   root / "tests" / "eval" / "heldout.yml", root / "var" / "reports", root / "var" / "logs")

    @property
    def current(self) -> Path:
        """The model in service."""
        return self.models_dir / "current.tar.gz"

    @property
    def previous(self) -> Path:
        """The model that was in service before the last promotion."""
        return self.models_dir / "previous.tar.gz"

    @property
    def current_eval(self) -> Path:
        """Cached evaluation of the model in service."""
        return self.models_dir / "current.eval.json"

    @property
    def previous_eval(self) -> Path:
        """Cached evaluation of the previous model (restored with it on a rollback)."""
        return self.models_dir / "previous.eval.json"


class Trainer(Protocol):
    """Validates the training data and trains a model file."""

    def validate(self, root: Path, log: Path) -> tuple[bool, str]:
        """Check the training data; (ok, short Vietnamese detail)."""

    def train(self, root: Path, out_dir: Path, name: str, log: Path) -> Path:
        """Train and return the model file `out_dir/<name>.tar.gz`."""


class TrainingError(RuntimeError):
    """Training did not produce a model (the message is shown to staff)."""


def _other_training_running() -> bool:
    """True when another `rasa train` is running on this machine (2 shared cores: never train twice at once)."""
    found = subprocess.run(["pgrep", "-f", "rasa train"], capture_output=True, text=True, check=False)
    return bool(found.stdout.strip())


class RasaTrainer:
    """`rasa data validate` and `rasa train` as subprocesses, output to a log file."""

    def __init__(self, rasa: Path, num_threads: int = 2, wait_for_others: float = 3600.0,
                 notify: Callable[[str], None] = lambda _msg: None) -> None:
        self.rasa, self.num_threads, self.wait_for_others, self.notify = rasa, num_threads, wait_for_others, notify

    def _env(self, root: Path) -> dict[str, str]:
        env = dict(os.environ)
        env.update({"PYTHONPATH": str(root), "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2",
                    "PYTHONWARNINGS": "ignore"})
        return env

    def validate(self, root: Path, log: Path) -> tuple[bool, str]:
        """`rasa data validate --domain domain --fail-on-warnings`."""
        with log.open("a", encoding="utf-8") as out:
            done = subprocess.run([str(self.rasa), "data", "validate", "--domain", "domain", "--fail-on-warnings"],
                                  cwd=root, env=self._env(root), stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            return False, f"dữ liệu huấn luyện có cảnh báo hoặc lỗi (xem {log})"
        return True, "dữ liệu huấn luyện hợp lệ"

    def train(self, root: Path, out_dir: Path, name: str, log: Path) -> Path:
        """`rasa train --domain domain --out <out_dir> --fixed-model-name <name>`, after any other training ends."""
        waited = 0.0
        while _other_training_running():
            if waited == 0:
                self.notify("Đang có một lượt huấn luyện khác trên máy; chờ lượt đó xong…")
            if waited >= self.wait_for_others:
                raise TrainingError("một lượt huấn luyện khác chạy quá lâu; hãy thử lại sau")
            time.sleep(10)
            waited += 10
        with log.open("a", encoding="utf-8") as out:
            done = subprocess.run([str(self.rasa), "train", "--domain", "domain", "--out", str(out_dir),
                                   "--fixed-model-name", name, "--num-threads", str(self.num_threads)],
                                  cwd=root, env=self._env(root), stdout=out, stderr=subprocess.STDOUT, check=False)
        model = out_dir / f"{name}.tar.gz"
        if done.returncode != 0 or not model.exists():
            raise TrainingError(f"huấn luyện thất bại (xem {log})")
        return model


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_eval_cache(paths: Paths) -> dict[str, Any] | None:
    """The cached evaluation record of the model in service, if it matches the model and data files."""
    if not paths.current_eval.exists() or not paths.current.exists():
        return None
    try:
        record = json.loads(paths.current_eval.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("model_sha256") != sha256(paths.current) or record.get("data_sha256") != sha256(paths.heldout):
        return None
    return record


def write_eval_cache(paths: Paths, figures: dict[str, Any], accepted: bool | None) -> None:
    """Record the evaluation of models/current.tar.gz (and whether it passed the gate)."""
    record = {"model_sha256": sha256(paths.current), "data_sha256": sha256(paths.heldout),
              "evaluated_at": datetime.now().astimezone().isoformat(timespec="seconds"), "accepted": accepted,
              "eval": figures}
    tmp = paths.current_eval.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    os.replace(tmp, paths.current_eval)


@dataclass
class Step:
    """One pipeline step: what it did and how long it took."""

    name: str
    label: str
    status: str = SKIPPED
    seconds: float = 0.0
    detail: str = ""


@dataclass
class PipelineResult:
    """Everything the report needs."""

    started_at: datetime
    steps: list[Step] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    decision: GateDecision | None = None
    candidate_eval: dict[str, Any] | None = None
    current_eval: dict[str, Any] | None = None
    candidate: Path | None = None
    outcome: str = STOPPED
    message: str = ""
    titles: dict[str, str] = field(default_factory=dict)
    report_files: list[Path] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """Total time of all steps."""
        return sum(s.seconds for s in self.steps)


STEP_LABELS = [("checks", "Kiểm tra nội dung"), ("build", "Sinh dữ liệu huấn luyện từ content/"),
               ("validate", "Kiểm tra dữ liệu huấn luyện (rasa data validate)"), ("train", "Huấn luyện mô hình mới"),
               ("eval_candidate", "Chấm điểm mô hình mới trên bộ câu thử"),
               ("eval_current", "Chấm điểm mô hình đang dùng"), ("gate", "Cổng kiểm tra (so sánh)"),
               ("promote", "Đưa mô hình mới vào sử dụng")]


@contextmanager
def pipeline_lock(models_dir: Path) -> Iterator[bool]:
    """An exclusive lock so two pipelines never run at once; yields False when another one holds it."""
    models_dir.mkdir(parents=True, exist_ok=True)
    with (models_dir / ".pipeline.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def topic_titles(paths: Paths) -> dict[str, str]:
    """faq/<topic> → Vietnamese title, for the report."""
    content = load_content(paths.content_dir)
    return {f"faq/{name}": str(t.get("title") or name) for name, t in content.topics.items()}


def run_pipeline(paths: Paths, trainer: Trainer, evaluate: Evaluate, today: date,
                 build: Callable[[Path, Path], Any] | None = None, now: Callable[[], datetime] | None = None,
                 min_urgent_recall: float = MIN_URGENT_RECALL, max_accuracy_drop: float = MAX_ACCURACY_DROP,
                 notify: Callable[[str], None] = lambda _msg: None) -> PipelineResult:
    """Run every step; a model reaches models/current.tar.gz only if the gate accepts it."""
    now = now or (lambda: datetime.now().astimezone())
    result = PipelineResult(started_at=now())
    steps = {name: Step(name, label) for name, label in STEP_LABELS}
    result.steps = list(steps.values())
    stamp = result.started_at.strftime("%Y%m%d-%H%M%S")
    paths.logs_dir.mkdir(parents=True, exist_ok=True)
    log = paths.logs_dir / f"train-{stamp}.log"

    def run(name: str, fn: Callable[[], Any]) -> Any:
        step = steps[name]
        notify(f"→ {step.label}…")
        start = time.monotonic()
        try:
            return fn()
        finally:
            step.seconds = round(time.monotonic() - start, 1)

    def stop(name: str, detail: str, outcome: str = STOPPED) -> PipelineResult:
        steps[name].status, steps[name].detail = FAILED, detail
        result.outcome, result.message = outcome, detail
        return result

    # 1. Content checks
    def checks() -> list[Problem]:
        content = load_content(paths.content_dir)
        provinces = Provinces.load(paths.content_dir / "provinces.yml")
        return check_content(content, today, provinces, other_nlu_examples(paths.nlu_dir))

    result.problems = run("checks", checks)
    result.titles = topic_titles(paths)
    blocking = errors(result.problems)
    if blocking:
        return stop("checks", f"nội dung còn {len(blocking)} lỗi cần sửa trước khi huấn luyện")
    steps["checks"].status = OK
    steps["checks"].detail = "không có lỗi" + (f" ({len(result.problems)} cảnh báo)" if result.problems else "")

    # 2. Generated files
    if build is not None:
        written = run("build", lambda: build(paths.content_dir, paths.root))
        steps["build"].status, steps["build"].detail = OK, f"{len(written or [])} tệp được cập nhật"

    # 3. rasa data validate
    ok, detail = run("validate", lambda: trainer.validate(paths.root, log))
    if not ok:
        return stop("validate", detail)
    steps["validate"].status, steps["validate"].detail = OK, detail

    # 4. Train a candidate
    name = f"candidate-{stamp}"
    try:
        result.candidate = run("train", lambda: trainer.train(paths.root, paths.models_dir, name, log))
    except TrainingError as exc:
        return stop("train", str(exc))
    steps["train"].status, steps["train"].detail = OK, result.candidate.name

    # 5. Evaluate the candidate and (from cache when possible) the model in service
    try:
        result.candidate_eval = run("eval_candidate", lambda: evaluate(str(result.candidate), str(paths.heldout)))
    except Exception as exc:  # any evaluation failure refuses the candidate
        _set_aside(paths, result.candidate)
        return stop("eval_candidate", f"không chấm điểm được mô hình mới ({type(exc).__name__})", REFUSED)
    steps["eval_candidate"].status = OK
    if paths.current.exists():
        cached = read_eval_cache(paths)
        if cached is not None:
            result.current_eval = cached["eval"]
            steps["eval_current"].status, steps["eval_current"].detail = OK, "lấy từ kết quả đã lưu"
        else:
            try:
                result.current_eval = run("eval_current", lambda: evaluate(str(paths.current), str(paths.heldout)))
                write_eval_cache(paths, result.current_eval, None)
                steps["eval_current"].status = OK
            except Exception as exc:  # a broken model in service is reported, not compared
                steps["eval_current"].status = FAILED
                steps["eval_current"].detail = f"không chấm điểm được mô hình đang dùng ({type(exc).__name__})"
    else:
        steps["eval_current"].detail = "chưa có mô hình đang dùng"

    # 6. Gate
    result.decision = decide(result.candidate_eval, result.current_eval, min_urgent_recall, max_accuracy_drop)
    steps["gate"].status = OK if result.decision.accepted else FAILED
    steps["gate"].detail = "chấp nhận" if result.decision.accepted else "; ".join(result.decision.reasons())
    if not result.decision.accepted:
        _set_aside(paths, result.candidate)
        result.outcome = REFUSED
        result.message = "mô hình mới bị từ chối; mô hình đang dùng được giữ nguyên"
        return result

    # 7. Promote: current → previous, candidate → current
    def promote() -> None:
        if paths.current.exists():
            os.replace(paths.current, paths.previous)
            if paths.current_eval.exists():
                os.replace(paths.current_eval, paths.previous_eval)
        os.replace(result.candidate, paths.current)
        os.utime(paths.current)
        write_eval_cache(paths, result.candidate_eval, True)

    run("promote", promote)
    result.candidate = paths.current
    steps["promote"].status = OK
    steps["promote"].detail = "models/current.tar.gz (mô hình cũ giữ ở models/previous.tar.gz)"
    result.outcome = ACCEPTED
    result.message = "mô hình mới được chấp nhận và đã thay mô hình đang dùng"
    return result


def _set_aside(paths: Paths, candidate: Path | None) -> None:
    """Keep only the last refused candidate, as models/rejected.tar.gz (for inspection)."""
    if candidate is not None and candidate.exists():
        shutil.move(str(candidate), str(paths.models_dir / "rejected.tar.gz"))
