"""The pipeline runs the held-out evaluation in a child process and reads its figures back."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bot.staff import evaluation
from bot.staff.eval_worker import EVALUATE, EvaluationError, SubprocessEvaluator

FAKE_EVAL = '''
from pathlib import Path

def evaluate(model_path, data_path):
    print("noise that must go to the log, not the screen")
    if Path(model_path).read_text() == "broken":
        raise RuntimeError("cannot load")
    lines = Path(data_path).read_text().splitlines()
    return {"intent_accuracy": 0.5, "urgent_recall": 1.0, "messages": len(lines),
            "model": Path(model_path).read_text()}
'''


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "fake_eval.py").write_text(FAKE_EVAL, encoding="utf-8")
    (tmp_path / "model.tar.gz").write_text("m1", encoding="utf-8")
    (tmp_path / "data.yml").write_text("a\nb\nc\n", encoding="utf-8")
    return tmp_path


def evaluator(root: Path, log: Path) -> SubprocessEvaluator:
    return SubprocessEvaluator(root, log, function="fake_eval:evaluate")


def test_figures_come_back_and_output_goes_to_the_log(root: Path, capfd: pytest.CaptureFixture[str]) -> None:
    log = root / "logs" / "evaluate.log"
    figures = evaluator(root, log)(str(root / "model.tar.gz"), str(root / "data.yml"))
    assert figures == {"intent_accuracy": 0.5, "urgent_recall": 1.0, "messages": 3, "model": "m1"}
    assert "noise that must go to the log" in log.read_text(encoding="utf-8")
    assert "noise" not in capfd.readouterr().out
    assert not list((root / "logs").glob("*.eval.json"))


def test_a_failing_evaluation_raises(root: Path) -> None:
    (root / "model.tar.gz").write_text("broken", encoding="utf-8")
    log = root / "logs" / "evaluate.log"
    with pytest.raises(EvaluationError):
        evaluator(root, log)(str(root / "model.tar.gz"), str(root / "data.yml"))
    assert "cannot load" in log.read_text(encoding="utf-8")


def test_the_pipeline_evaluates_with_the_package_evaluation() -> None:
    module, _, name = EVALUATE.partition(":")
    assert getattr(importlib.import_module(module), name) is evaluation.evaluate
    assert SubprocessEvaluator(Path("."), Path("log")).function == EVALUATE
