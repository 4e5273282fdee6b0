"""Runs the held-out evaluation in a child process and writes the figures as JSON.

`python -m bot.staff.eval_worker MODULE:FUNCTION MODEL DATA OUT.json` — used by the training pipeline so that
Rasa's and TensorFlow's output goes to a log file instead of the staff's screen, and their memory is freed
afterwards. The function is `bot.staff.evaluation:evaluate` unless a test names another one.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from bot.config import ROOT

EVALUATE = "bot.staff.evaluation:evaluate"


class EvaluationError(RuntimeError):
    """The evaluation process failed (details are in the log file)."""


class SubprocessEvaluator:
    """`evaluate(model_path, data_path)` that runs the evaluation function in a child process, cwd = root."""

    def __init__(self, root: Path, log: Path, python: str = sys.executable, timeout: float = 1800.0,
                 function: str = EVALUATE) -> None:
        self.root, self.log, self.python, self.timeout, self.function = root, log, python, timeout, function

    def __call__(self, model_path: str, data_path: str) -> dict[str, Any]:
        """Evaluate one model; raises EvaluationError when the child fails."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        out = self.log.with_name(f"{Path(model_path).name}.eval.json")
        path = os.pathsep.join(dict.fromkeys([str(self.root), str(ROOT)]))
        env = {**os.environ, "PYTHONPATH": path, "RASA_TELEMETRY_ENABLED": "false",
               "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONWARNINGS": "ignore"}
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(f"\n=== evaluate {model_path} on {data_path}\n")
            handle.flush()
            done = subprocess.run([self.python, "-m", "bot.staff.eval_worker", self.function, model_path, data_path,
                                   str(out)],
                                  cwd=self.root, env=env, stdout=handle, stderr=subprocess.STDOUT, check=False,
                                  timeout=self.timeout)
        if done.returncode != 0 or not out.exists():
            raise EvaluationError(f"evaluation failed (exit {done.returncode}); see {self.log}")
        try:
            return json.loads(out.read_text(encoding="utf-8"))
        finally:
            out.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """Child process entry point: import the named function, evaluate, write the figures."""
    function, model, data, out = (argv if argv is not None else sys.argv[1:])[:4]
    module, _, name = function.partition(":")
    logging.basicConfig(level=logging.WARNING)
    figures = getattr(importlib.import_module(module), name)(model, data)
    Path(out).write_text(json.dumps(figures, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
