"""Train NLU pipeline variants and compare them on the held-out file (docs/nlu-pipeline.md).

Usage: python scripts/compare_pipelines.py [--data tests/eval/heldout.yml]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.staff.evaluation import evaluate  # noqa: E402

BASE = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))


def variant(tokenizer: str, char_ngrams: bool) -> dict:
    """The project config with another tokenizer and with or without char n-grams."""
    config = yaml.safe_load(yaml.safe_dump(BASE))
    pipeline = []
    for step in config["pipeline"]:
        if step["name"].endswith("Tokenizer"):
            step = {"name": tokenizer}
        if step.get("analyzer") == "char_wb" and not char_ngrams:
            continue
        pipeline.append(step)
    config["pipeline"] = pipeline
    return config


VARIANTS = {
    "whitespace tokens, word + char n-grams (no normalisation)": variant("WhitespaceTokenizer", True),
    "normalised tokens, word n-grams only": variant("bot.nlu.tokenizer.VietnameseTokenizer", False),
    "normalised tokens, word + char n-grams (chosen)": variant("bot.nlu.tokenizer.VietnameseTokenizer", True),
}


def main() -> int:
    """Train each variant, evaluate, print a Markdown table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="tests/eval/heldout.yml")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in VARIANTS.items():
            cfg = Path(tmp) / "config.yml"
            cfg.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
            fixed = "variant"
            start = time.perf_counter()
            subprocess.run([str(ROOT / ".venv/bin/rasa"), "train", "nlu", "--config", str(cfg), "--domain", "domain",
                            "--out", tmp, "--fixed-model-name", fixed, "--num-threads", "2"],
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            seconds = time.perf_counter() - start
            result = evaluate(str(Path(tmp) / f"{fixed}.tar.gz"), args.data)
            t = result["triage"]
            acc = result["intent_accuracy_by_diacritics"]
            rows.append(f"| {name} | {result['intent_accuracy'] * 100:.1f}% | {acc['with_diacritics'] * 100:.1f}% | "
                        f"{acc['without_diacritics'] * 100:.1f}% | {result['macro_f1']:.3f} | "
                        f"{t['all']['classifier_only_recall'] * 100:.1f}% / {t['all']['classifier_only_false_alarm'] * 100:.1f}% | "
                        f"{t['all']['urgent_recall'] * 100:.1f}% / {t['all']['false_alarm_rate'] * 100:.1f}% | {seconds:.0f} s |")
            print(rows[-1], flush=True)
    print("\n| pipeline | intent accuracy | with diacritics | without | macro-F1 | classifier alone: urgent recall / false alarms "
          "| with safety net: recall / false alarms | NLU training |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
