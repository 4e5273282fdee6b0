"""Round-trip YAML editing that keeps comments, quoting and layout of the content files."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    ScalarString,
)

_STR_TAG = "tag:yaml.org,2002:str"


def round_trip() -> YAML:
    """A ruamel.yaml instance configured like the hand-written content files."""
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 100_000
    rt.indent(mapping=2, sequence=4, offset=2)
    return rt


def load_rt(text: str) -> Any:
    """Parse YAML text into ruamel's commented structures."""
    return round_trip().load(text)


def dump_rt(data: Any) -> str:
    """Serialise commented structures back to text."""
    out = io.StringIO()
    round_trip().dump(data, out)
    return out.getvalue()


def plain(value: Any) -> Any:
    """Convert ruamel structures (and datetimes) into plain dicts, lists, str, date."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, ScalarString):
        return str(value)
    if isinstance(value, datetime):
        return value.date() if (value.hour, value.minute, value.second) == (0, 0, 0) else value
    return value


def _resolves_to_str(text: str) -> bool:
    """True when PyYAML (YAML 1.1, used by the loaders) reads the plain text back as a string."""
    if text != text.strip() or "\n" in text or not text:
        return False
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False))
    return tag == _STR_TAG


def styled(value: Any, like: Any = None, literal: bool = False, quoted: bool = False) -> Any:
    """A scalar ready to dump: keeps the style of `like`; quotes strings YAML 1.1 would misread."""
    if not isinstance(value, str):
        return value
    if literal:
        return LiteralScalarString(value)
    if isinstance(like, ScalarString):
        return type(like)(value)
    if quoted or not _resolves_to_str(value):
        return DoubleQuotedScalarString(value)
    return value


def update_map(target: CommentedMap, values: dict[str, Any], order: Iterable[str],
               literal: Iterable[str] = (), quoted: Iterable[str] = ()) -> None:
    """Set the keys of `order` from `values` in place (None or missing removes); other keys stay."""
    order = list(order)
    literal, quoted = set(literal), set(quoted)
    for key in order:
        if values.get(key) is None and key in target:
            del target[key]
    for key in order:
        new = values.get(key)
        if new is None:
            continue
        if key in target:
            if plain(target[key]) == new:
                continue
            target[key] = _styled_value(new, target[key], key in literal, key in quoted)
            continue
        before = [k for k in order[:order.index(key)] if k in target]
        pos = list(target.keys()).index(before[-1]) + 1 if before else 0
        target.insert(pos, key, _styled_value(new, None, key in literal, key in quoted))


def _styled_value(new: Any, old: Any, literal: bool, quoted: bool) -> Any:
    if isinstance(new, list):
        return update_seq(old if isinstance(old, CommentedSeq) else CommentedSeq(), new)
    return styled(new, old, literal=literal, quoted=quoted)


def update_seq(target: CommentedSeq, values: list[Any]) -> CommentedSeq:
    """Replace a list of scalars in place, keeping the style of items whose text is unchanged."""
    if plain(list(target)) == values:
        return target
    old = {str(v): v for v in target if isinstance(v, str)}
    items = [old[v] if isinstance(v, str) and v in old else styled(v) for v in values]
    del target[:]
    target.extend(items)
    return target


def new_map(values: dict[str, Any], order: Iterable[str], literal: Iterable[str] = (),
            quoted: Iterable[str] = ()) -> CommentedMap:
    """A fresh mapping with keys in the house order."""
    target = CommentedMap()
    update_map(target, values, order, literal, quoted)
    return target


def atomic_write(path: Path, text: str) -> None:
    """Write a text file atomically (temporary file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def safe_load(text: str) -> Any:
    """yaml.safe_load with the C parser when available (same results, several times faster)."""
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # a safe loader, C or Python


def same_data(text: str, expected: Any) -> bool:
    """True when PyYAML reads `text` back as exactly `expected` (plain data)."""
    return plain(safe_load(text)) == expected


def is_date(value: Any) -> bool:
    """True for a date (not a datetime with a time of day)."""
    return isinstance(value, date) and not isinstance(value, datetime)
