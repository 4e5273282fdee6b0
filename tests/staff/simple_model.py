"""A small, real (not stubbed) intent model for pipeline tests: nearest neighbour over the training data.

It learns from the same files Rasa does (data/nlu/*.yml), applies the same safety net as the Rasa
pipeline (bot.triage rules force report_violence), and is scored on the held-out set with the same
figures as bot/staff/evaluation.py. Degrading the data really degrades it, so the gate can fail honestly.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import yaml

from bot.text import normalize
from bot.triage import assess

URGENT = "report_violence"
EQUIVALENT = {("out_of_scope", "nlu_fallback")}


def _features(text: str) -> Counter[str]:
    norm = normalize(text)
    words = norm.split()
    grams = Counter(words)
    grams.update(f"{a} {b}" for a, b in itertools.pairwise(words))
    padded = f" {norm} "
    grams.update(padded[i:i + 4] for i in range(len(padded) - 3))
    return grams


def training_examples(root: Path) -> list[tuple[str, str]]:
    """(intent, text) from every NLU file under root/data/nlu."""
    pairs = []
    for path in sorted((root / "data" / "nlu").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                if line.strip().startswith("- "):
                    pairs.append((str(block["intent"]), line.strip()[2:].strip()))
    return pairs


class NearestNeighbourTrainer:
    """Implements the pipeline's Trainer protocol without Rasa."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def validate(self, root: Path, log: Path) -> tuple[bool, str]:
        """Every NLU file must parse and contain examples."""
        self.calls.append("validate")
        try:
            pairs = training_examples(root)
        except yaml.YAMLError:
            return False, "tệp dữ liệu huấn luyện sai cú pháp"
        return (bool(pairs), f"{len(pairs)} câu huấn luyện")

    def train(self, root: Path, out_dir: Path, name: str, log: Path) -> Path:
        """Store the examples as the 'model'."""
        self.calls.append("train")
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{name}.tar.gz"
        path.write_text(json.dumps(training_examples(root), ensure_ascii=False), encoding="utf-8")
        return path


class _Index:
    """Inverted index of the training examples for fast cosine similarity."""

    def __init__(self, model: list[tuple[str, str]]) -> None:
        self.labels = [intent for intent, _ in model]
        self.postings: defaultdict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, (_, text) in enumerate(model):
            feats = _features(text)
            norm = math.sqrt(sum(v * v for v in feats.values())) or 1.0
            for key, value in feats.items():
                self.postings[key].append((i, value / norm))

    def predict(self, text: str) -> str:
        """Safety net first (as in the Rasa pipeline), then the most similar training example."""
        if assess(text).urgent:
            return URGENT
        feats = _features(text)
        norm = math.sqrt(sum(v * v for v in feats.values())) or 1.0
        scores: defaultdict[int, float] = defaultdict(float)
        for key, value in feats.items():
            for i, weight in self.postings.get(key, ()):
                scores[i] += weight * value / norm
        if not scores:
            return "nlu_fallback"
        best = max(scores, key=lambda i: scores[i])
        return self.labels[best] if scores[best] >= 0.3 else "nlu_fallback"


def evaluate(model_path: str, data_path: str) -> dict[str, Any]:
    """Same figures (and keys) as bot.staff.evaluation.evaluate()."""
    index = _Index([tuple(p) for p in json.loads(Path(model_path).read_text(encoding="utf-8"))])
    items = yaml.safe_load(Path(data_path).read_text(encoding="utf-8"))["messages"]
    gold, pred = [], []
    for item in items:
        label = index.predict(item["text"])
        gold.append(item["intent"])
        pred.append(item["intent"] if (item["intent"], label) in EQUIVALENT else label)
    urgent = [p == URGENT for p, i in zip(pred, items) if i["urgent"] != "none"]
    calm = [p == URGENT for p, i in zip(pred, items) if i["urgent"] == "none"]
    per_intent: dict[str, dict[str, float]] = {}
    for label in sorted(set(gold)):
        tp = sum(g == label == p for g, p in zip(gold, pred))
        fp = sum(g != label and p == label for g, p in zip(gold, pred))
        fn = sum(g == label and p != label for g, p in zip(gold, pred))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[label] = {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn}
    labels = sorted(set(gold) | set(pred))
    position = {label: i for i, label in enumerate(labels)}
    matrix = [[0] * len(labels) for _ in labels]
    for g, p in zip(gold, pred):
        matrix[position[g]][position[p]] += 1
    counts: defaultdict[str, int] = defaultdict(int)
    misses = []
    for item, p in zip(items, pred):
        counts[p] += 1
        if item["urgent"] != "none" and p != URGENT:
            misses.append({"text": item["text"], "pred_intent": p})
    return {"messages": len(items), "intent_accuracy": sum(g == p for g, p in zip(gold, pred)) / len(gold),
            "macro_f1": sum(v["f1"] for v in per_intent.values()) / len(per_intent),
            "urgent_recall": sum(urgent) / len(urgent), "false_alarm_rate": sum(calm) / len(calm),
            "per_intent": per_intent, "confusion": {"labels": labels, "matrix": matrix}, "misses": misses}
