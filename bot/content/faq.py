"""FAQ topics (content/faq/*.yml) and the Rasa files generated from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

GENERATED_NOTE = "# Generated from content/faq/ by `python -m bot content build`. Do not edit by hand.\n"


@dataclass
class Topic:
    """One FAQ topic: its questions, answer, source and review date."""

    topic: str
    title: str
    answer: str
    source: str
    checked: date
    examples: list[str]
    path: Path | None = None

    def to_dict(self) -> dict:
        """The topic as it is stored in its YAML file."""
        return {"topic": self.topic, "title": self.title, "answer": self.answer, "source": self.source,
                "checked": self.checked, "examples": list(self.examples)}


def load_topic(path: Path) -> Topic:
    """Read one topic file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    checked = data["checked"]
    if isinstance(checked, str):
        checked = date.fromisoformat(checked)
    return Topic(str(data["topic"]), str(data["title"]), str(data["answer"]).strip(), str(data["source"]),
                 checked, [str(e).strip() for e in data["examples"]], path)


def load_topics(folder: Path) -> list[Topic]:
    """All topics, sorted by name."""
    return [load_topic(p) for p in sorted(folder.glob("*.yml"))]


class _Literal(str):
    pass


def _literal_representer(dumper: yaml.Dumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


def _dump(data: dict) -> str:
    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Literal, _literal_representer)
    return yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=10_000)


def render_nlu(topics: list[Topic]) -> str:
    """data/nlu/faq.yml: one retrieval intent faq/<topic> per topic."""
    nlu = [{"intent": f"faq/{t.topic}",
            "examples": _Literal("".join(f"- {e}\n" for e in t.examples))} for t in topics]
    return GENERATED_NOTE + _dump({"version": "3.1", "nlu": nlu})


def render_domain(topics: list[Topic]) -> str:
    """domain/faq.yml: the response utter_faq/<topic> for each topic."""
    responses = {f"utter_faq/{t.topic}": [{"text": _Literal(t.answer)}] for t in topics}
    return GENERATED_NOTE + _dump({"version": "3.1", "intents": [{"faq": {"is_retrieval_intent": True}}],
                                   "responses": responses})


def build(content_dir: Path, root: Path) -> list[Path]:
    """Write the generated NLU and domain files; returns the paths written."""
    topics = load_topics(content_dir / "faq")
    outputs = {root / "data" / "nlu" / "faq.yml": render_nlu(topics),
               root / "domain" / "faq.yml": render_domain(topics)}
    written = []
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def is_built(content_dir: Path, root: Path) -> bool:
    """True when the generated files match the content."""
    topics = load_topics(content_dir / "faq")
    pairs = {root / "data" / "nlu" / "faq.yml": render_nlu(topics),
             root / "domain" / "faq.yml": render_domain(topics)}
    return all(p.exists() and p.read_text(encoding="utf-8") == t for p, t in pairs.items())
