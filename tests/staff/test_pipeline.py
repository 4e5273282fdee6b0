"""The safe training pipeline end to end with a small real model (no Rasa training): the gate refuses
a deliberately degraded data set, promotes a good one, and stops before training when content is wrong."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.content import faq
from bot.staff.pipeline import (
    ACCEPTED,
    REFUSED,
    STOPPED,
    Paths,
    PipelineResult,
    read_eval_cache,
    run_pipeline,
    sha256,
)
from bot.staff.report import (
    CONFUSION_PNG,
    HTML_NAME,
    MD_NAME,
    TOPICS_PNG,
    render_report,
)
from tests.staff.simple_model import NearestNeighbourTrainer, evaluate

ROOT = Path(__file__).resolve().parents[2]

# The nearest-neighbour test model is weaker than the Rasa model (about 96% urgent recall on the
# held-out set with the real data), so these tests use a 90% bar; the 98% production bar is tested
# on evaluation figures in test_gate.py.
BAR = 0.90


class CountingEvaluate:
    """The real evaluation of the small model, counting calls."""

    def __init__(self) -> None:
        self.models: list[str] = []

    def __call__(self, model_path: str, data_path: str) -> dict[str, Any]:
        self.models.append(Path(model_path).name)
        return evaluate(model_path, data_path)


def clock(minute: int):
    return lambda: datetime(2026, 11, 22, 9, minute).astimezone()


def run(repo: Path, day: date, minute: int, trainer: NearestNeighbourTrainer | None = None,
        evaluator: CountingEvaluate | None = None):
    return run_pipeline(Paths.from_root(repo), trainer or NearestNeighbourTrainer(), evaluator or CountingEvaluate(),
                        day, build=faq.build, now=clock(minute), min_urgent_recall=BAR)


def degrade(repo: Path) -> None:
    """Remove every report_violence training example (the worst thing a careless edit could do)."""
    for path in (repo / "data" / "nlu").glob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        blocks = data.get("nlu") or []
        kept = [b for b in blocks if b.get("intent") != "report_violence"]
        if len(kept) != len(blocks):
            data["nlu"] = kept
            path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_good_data_is_accepted_and_promoted(repo: Path, day: date) -> None:
    paths = Paths.from_root(repo)
    first = run(repo, day, 0)
    assert first.outcome == ACCEPTED, first.message
    assert paths.current.exists() and not paths.previous.exists()
    record = read_eval_cache(paths)
    assert record is not None and record["accepted"] is True
    first_model = paths.current.read_bytes()

    evaluator = CountingEvaluate()
    second = run(repo, day, 1, evaluator=evaluator)
    assert second.outcome == ACCEPTED, second.message
    assert paths.previous.read_bytes() == first_model
    assert evaluator.models == ["candidate-20261122-090100.tar.gz"], "the current model's figures come from cache"
    assert json.loads(paths.previous_eval.read_text(encoding="utf-8"))["accepted"] is True
    assert not list(paths.models_dir.glob("candidate-*"))


def test_degraded_data_is_refused_and_the_current_model_kept(repo: Path, day: date) -> None:
    paths = Paths.from_root(repo)
    assert run(repo, day, 0).outcome == ACCEPTED
    in_service = sha256(paths.current)
    good = read_eval_cache(paths)["eval"]

    degrade(repo)
    result = run(repo, day, 5)
    assert result.outcome == REFUSED
    assert result.candidate_eval["urgent_recall"] < good["urgent_recall"]
    failed = {c.name for c in result.decision.checks if not c.passed}
    assert failed == {"urgent_recall", "intent_accuracy"}
    assert sha256(paths.current) == in_service
    assert (paths.models_dir / "rejected.tar.gz").exists()
    assert not paths.previous.exists()

    files = render_report(result, paths.reports_dir)
    md = (paths.reports_dir / MD_NAME).read_text(encoding="utf-8")
    assert "## Kết luận: BỊ TỪ CHỐI" in md
    assert "KHÔNG ĐẠT" in md and "Tin nhắn khẩn cấp bị bỏ sót" in md
    assert (paths.reports_dir / HTML_NAME) in files
    for png in (CONFUSION_PNG, TOPICS_PNG):
        assert (paths.reports_dir / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_content_errors_stop_before_training(repo: Path, day: date) -> None:
    path = repo / "content" / "faq" / "safety_plan.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["source"] = ""
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    trainer, evaluator = NearestNeighbourTrainer(), CountingEvaluate()
    result = run(repo, day, 0, trainer, evaluator)
    assert result.outcome == STOPPED
    assert trainer.calls == [] and evaluator.models == []
    assert [p.code for p in result.problems if p.severity == "error"] == ["missing_source"]
    reports = Paths.from_root(repo).reports_dir
    render_report(result, reports)
    md = (reports / MD_NAME).read_text(encoding="utf-8")
    assert "DỪNG LẠI" in md and "thiếu nguồn" in md
    assert not (reports / CONFUSION_PNG).exists()


def test_failed_validation_stops(repo: Path, day: date) -> None:
    (repo / "data" / "nlu" / "violence.yml").write_text("version: '3.1'\nnlu: [\n", encoding="utf-8")
    trainer = NearestNeighbourTrainer()
    result = run(repo, day, 0, trainer)
    assert result.outcome == STOPPED
    assert trainer.calls == ["validate"]
    assert not Paths.from_root(repo).current.exists()


def test_local_reports_stay_out_of_the_tracked_tree() -> None:
    """`make run` / `make train` write their reports under var/, which git ignores; docs/reports/ is published."""
    reports = Paths.from_root(ROOT).reports_dir
    assert reports == ROOT / "var" / "reports"
    ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(reports / MD_NAME)], check=False)
    assert ignored.returncode == 0, "var/reports/ must be git-ignored"


def test_history_accumulates(tmp_path: Path) -> None:
    for minute in (0, 1):
        result = PipelineResult(started_at=datetime(2026, 11, 22, 9, minute), outcome=STOPPED, message="dừng")
        render_report(result, tmp_path)
    lines = (tmp_path / "history.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1:] == ["2026-11-22 09:00,stopped,,,,0", "2026-11-22 09:01,stopped,,,,0"]
    md = (tmp_path / MD_NAME).read_text(encoding="utf-8")
    assert "| 2026-11-22 09:01 | DỪNG LẠI |" in md
