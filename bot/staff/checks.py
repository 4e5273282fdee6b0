"""Content checks run before training and before any import: what staff must fix, in Vietnamese."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.content.provinces import Provinces
from bot.staff.store import HOTLINE_GROUPS, Content
from bot.staff.yamlio import is_date, safe_load
from bot.text import has_diacritics, normalize
from bot.triage import assess

ERROR, WARNING = "error", "warning"
MIN_EXAMPLES = 10
MIN_PLAIN_EXAMPLES = 3
MAX_ANSWER = 2000          # Messenger's limit for one text message
LONG_ANSWER = 1500         # house style (docs/content-format.md)
NEAR_DUPLICATE = 0.9       # token Jaccard
REVIEW_MAX_AGE = timedelta(days=365)
TOPIC_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,60}$")
TIME_RE = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")
TIME_WORDS = ("sáng", "trưa", "chiều", "tối", "cả ngày")

# Phone numbers as written in Vietnamese text: mobile/landline (0…, +84…), 1800/1900 lines and the
# national short codes. "Điều 111", "111/2013/NĐ-CP" and the like are not phone numbers.
PHONE_RE = re.compile(
    r"(?<![\w/.,-])(?:(?:\+84|0)(?:[ .-]?\d){8,10}|1[89]00(?:[ .-]?\d){4,6}|11[1-5])(?![\d/]|[.,]\d)")
_NOT_PHONE_BEFORE = re.compile(r"(?:điều|khoản|điểm|chương|mục|số hiệu|năm|ngày)\s*$", re.IGNORECASE)
NUMBER_RE = re.compile(r"^(?:11[1-5]|1[89]00\d{4,6}|0\d{9,10}|0\d{8})$")


@dataclass(frozen=True)
class Problem:
    """One finding: where it is, how serious, and what to do (in Vietnamese)."""

    code: str
    severity: str
    area: str            # "faq", "events", "hotlines", "file"
    item: str            # topic name, "3" (event number, 1-based) or "counseling:1"
    field: str | None
    message: str
    example: str | None = None

    def key(self) -> tuple[str, str, str, str | None, str | None]:
        """Identity of the finding, used to tell new problems from ones that were already there."""
        return self.code, self.area, self.item, self.field, self.example

    def where(self) -> str:
        """Location in Vietnamese, e.g. "chủ đề counseling_center, trường answer"."""
        if self.area == "faq":
            place = f"chủ đề {self.item} (content/faq/{self.item}.yml)"
        elif self.area == "events":
            place = f"sự kiện số {self.item} (content/events.yml)"
        elif self.area == "hotlines":
            group, _, number = self.item.partition(":")
            label = "số khẩn cấp" if group == "emergency" else "số tư vấn"
            place = f"{label} thứ {number} (content/hotlines.yml)" if number else "content/hotlines.yml"
        else:
            place = self.item
        return place + (f", trường {self.field}" if self.field else "")

    def line(self) -> str:
        """One printable line."""
        label = "LỖI" if self.severity == ERROR else "Cảnh báo"
        return f"[{label}] {self.where()}: {self.message}"


def phone_numbers(text: str) -> list[str]:
    """Phone numbers mentioned in a text, as digits (+84 written as 0)."""
    found = []
    for match in PHONE_RE.finditer(text or ""):
        if _NOT_PHONE_BEFORE.search(text[max(0, match.start() - 12):match.start()]):
            continue
        digits = re.sub(r"\D", "", match.group())
        if match.group().startswith("+84"):
            digits = "0" + digits[2:]
        found.append(digits)
    return found


def directory_numbers(content: Content) -> set[str]:
    """Every number in the hotline directory, digits only."""
    return {re.sub(r"\D", "", str(h.get("number") or "")) for g in HOTLINE_GROUPS for h in content.hotlines.get(g, [])}


def _age_problems(value: Any, today: date, area: str, item: str, field: str, stale_severity: str) -> list[Problem]:
    if value is None or value == "":
        return [Problem("missing_field", ERROR, area, item, field, "thiếu ngày rà soát (YYYY-MM-DD)")]
    if not is_date(value):
        return [Problem("bad_date", ERROR, area, item, field, f"“{value}” không phải ngày hợp lệ (YYYY-MM-DD)")]
    if value > today:
        return [Problem("future_date", ERROR, area, item, field,
                        f"ngày rà soát {value:%d/%m/%Y} nằm trong tương lai: kiểm tra lại")]
    if today - value > REVIEW_MAX_AGE:
        return [Problem("stale_review", stale_severity, area, item, field,
                        f"nội dung được rà soát lần cuối ngày {value:%d/%m/%Y}, đã quá một năm: hãy kiểm tra lại "
                        "với nguồn rồi cập nhật ngày rà soát")]
    return []


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def check_topic(name: str, topic: dict[str, Any], numbers: set[str], today: date) -> list[Problem]:
    """Checks that concern one FAQ topic alone."""
    out: list[Problem] = []

    def add(code: str, field: str | None, message: str, severity: str = ERROR, example: str | None = None) -> None:
        out.append(Problem(code, severity, "faq", name, field, message, example))

    if not TOPIC_NAME_RE.match(name):
        add("bad_topic_name", "topic", "mã chủ đề chỉ gồm chữ thường không dấu, số và dấu gạch dưới, ví dụ safety_plan")
    if topic.get("topic") != name:
        add("topic_mismatch", "topic", f"mã chủ đề “{topic.get('topic')}” phải trùng tên tệp “{name}”")
    for field, label in (("title", "tiêu đề"), ("answer", "câu trả lời"), ("source", "nguồn")):
        if _blank(topic.get(field)):
            add("missing_field" if field != "source" else "missing_source", field, f"thiếu {label}")
    out += _age_problems(topic.get("checked"), today, "faq", name, "checked", ERROR)
    answer = str(topic.get("answer") or "")
    if len(answer) > MAX_ANSWER:
        add("answer_too_long", "answer", f"câu trả lời dài {len(answer)} ký tự, vượt giới hạn {MAX_ANSWER} ký tự "
            "của Messenger: hãy rút gọn")
    elif len(answer) > LONG_ANSWER:
        add("answer_long", "answer", f"câu trả lời dài {len(answer)} ký tự (nên dưới {LONG_ANSWER})", WARNING)
    for number in dict.fromkeys(phone_numbers(answer)):
        if number not in numbers:
            add("unknown_phone", "answer", f"câu trả lời có số điện thoại {number} không có trong danh bạ đường dây "
                "nóng (content/hotlines.yml): sửa số trong câu trả lời hoặc thêm số vào danh bạ")
    examples = topic.get("examples")
    if not isinstance(examples, list):
        add("missing_field", "examples", "thiếu danh sách câu hỏi mẫu")
        return out
    texts = [str(e).strip() for e in examples if not _blank(e)]
    if len(texts) < len(examples):
        add("empty_example", "examples", "có câu hỏi mẫu để trống")
    if len(texts) < MIN_EXAMPLES:
        add("few_examples", "examples", f"chỉ có {len(texts)} câu hỏi mẫu, cần ít nhất {MIN_EXAMPLES}")
    plain_count = sum(not has_diacritics(t) for t in texts)
    if plain_count < MIN_PLAIN_EXAMPLES:
        add("few_plain_examples", "examples", f"chỉ có {plain_count} câu hỏi mẫu gõ không dấu, cần ít nhất "
            f"{MIN_PLAIN_EXAMPLES} (người dân hay gõ không dấu, ví dụ “bao luc gia dinh la gi”)")
    seen: dict[str, str] = {}
    for text in texts:
        key = " ".join(text.lower().split())
        if not normalize(text):
            add("empty_example", "examples", f"câu hỏi mẫu “{text}” không có chữ", example=text)
        elif key in seen:
            add("duplicate_in_topic", "examples", f"câu hỏi mẫu “{text}” bị lặp lại trong cùng chủ đề", WARNING,
                example=text)
        else:
            seen[key] = text
    return out


def sounds_urgent(text: str) -> bool:
    """True when the safety net would treat the text as a report of violence (not a question about it)."""
    return assess(text).urgent


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def similar_pairs(items: list[tuple[Any, str]], threshold: float = NEAR_DUPLICATE,
                  same_group: Callable[[Any, Any], bool] = lambda a, b: a == b
                  ) -> Iterable[tuple[int, int, float]]:
    """Pairs (i, j, score) of texts from different groups with token Jaccard ≥ threshold (prefix filtering)."""
    sets = [frozenset(normalize(text).split()) for _, text in items]
    freq: dict[str, int] = defaultdict(int)
    for s in sets:
        for tok in s:
            freq[tok] += 1
    index: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(sets):
        if not s:
            continue
        ordered = sorted(s, key=lambda t: (freq[t], t))
        prefix = ordered[:len(s) - math.ceil(threshold * len(s)) + 1]
        candidates: set[int] = set()
        for tok in prefix:
            candidates.update(index[tok])
        for j in sorted(candidates):
            if same_group(items[i][0], items[j][0]):
                continue
            score = _jaccard(s, sets[j])
            if score >= threshold:
                yield j, i, score
        for tok in prefix:
            index[tok].append(i)


def other_nlu_examples(nlu_dir: Path) -> list[tuple[str, str]]:
    """(intent, example) pairs of every NLU file except the generated FAQ one."""
    pairs = []
    for path in sorted(nlu_dir.glob("*.yml")):
        if path.name == "faq.yml":
            continue
        try:
            data = safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue  # reported by `rasa data validate`, the next step of the pipeline
        for block in data.get("nlu") or []:
            if "intent" not in block:
                continue
            for line in str(block.get("examples") or "").splitlines():
                line = line.strip()
                if line.startswith("- "):
                    pairs.append((str(block["intent"]), line[2:].strip()))
    return pairs


def check_duplicates(content: Content, others: list[tuple[str, str]]) -> list[Problem]:
    """Identical or near-identical examples in two topics, or in a topic and another intent."""
    items: list[tuple[tuple[str, str], str]] = []
    for name, topic in content.topics.items():
        for ex in topic.get("examples") or []:
            if not _blank(ex):
                items.append((("faq", name), str(ex).strip()))
    items += [(("intent", intent), text) for intent, text in others]
    out: list[Problem] = []
    reported: set[tuple[str, str]] = set()
    for i, j, score in similar_pairs(items, same_group=lambda a, b: a == b or (a[0] == b[0] == "intent")):
        (ga, ta), (gb, tb) = items[i], items[j]
        if ga[0] != "faq":
            (ga, ta), (gb, tb) = (gb, tb), (ga, ta)
        exact = normalize(ta) == normalize(tb)
        other = f"chủ đề {gb[1]}" if gb[0] == "faq" else f"ý định {gb[1]} (data/nlu)"
        code = "duplicate_example" if exact else "near_duplicate_example"
        if (ga[1], ta) in reported:
            continue
        reported.add((ga[1], ta))
        what = "trùng với" if exact else f"gần giống ({score:.0%}) với"
        out.append(Problem(code, ERROR, "faq", ga[1], "examples",
                           f"câu hỏi mẫu “{ta}” {what} “{tb}” của {other}: bỏ một câu hoặc viết lại cho rõ chủ đề",
                           ta))
    return out


def check_events(content: Content, provinces: Provinces | None, today: date) -> list[Problem]:
    """Required fields, dates, times and provinces of the events calendar."""
    out: list[Problem] = []
    seen: dict[tuple[Any, ...], int] = {}
    for n, event in enumerate(content.events, start=1):
        item = str(n)

        def add(code: str, field: str | None, message: str, severity: str = ERROR, _item: str = item) -> None:
            out.append(Problem(code, severity, "events", _item, field, message))

        for field, label in (("title", "tên sự kiện"), ("province", "tỉnh/thành"), ("source", "nguồn")):
            if _blank(event.get(field)):
                add("missing_source" if field == "source" else "missing_field", field, f"thiếu {label}")
        day = event.get("date")
        if _blank(day):
            add("missing_field", "date", "thiếu ngày diễn ra")
        elif not is_date(day):
            add("bad_date", "date", f"“{day}” không phải ngày hợp lệ (YYYY-MM-DD)")
        if not _blank(event.get("time")) and not _valid_time(event.get("time")):
            add("bad_time", "time", f"giờ “{event.get('time')}” không hợp lệ: ghi HH:MM (ví dụ 08:00) hoặc "
                "sáng/trưa/chiều/tối/cả ngày")
        province = event.get("province")
        if provinces is not None and not _blank(province) and provinces.current_of(str(province)) is None:
            add("unknown_province", "province", f"không nhận ra tỉnh/thành “{province}” (xem content/provinces.yml)")
        out.extend(_age_problems(event.get("checked"), today, "events", item, "checked", WARNING))
        key = (event.get("title"), event.get("date"), event.get("province"))
        if key in seen:
            add("duplicate_event", None, f"trùng với sự kiện số {seen[key]}", WARNING)
        else:
            seen[key] = n
    return out


def _valid_time(value: Any) -> bool:
    if isinstance(value, time):
        return True
    text = str(value).strip()
    return bool(TIME_RE.match(text)) or text.lower() in TIME_WORDS


def valid_number(number: str) -> bool:
    """True for a short code 111–115, a 1800/1900 line or a 10–11 digit number starting with 0."""
    return bool(NUMBER_RE.match(number))


def check_hotlines(content: Content, provinces: Provinces | None, today: date) -> list[Problem]:
    """Required fields and number formats of the hotline directory, scopes, one national default line, 113."""
    out: list[Problem] = []
    seen: dict[str, str] = {}
    for group in HOTLINE_GROUPS:
        for n, line in enumerate(content.hotlines.get(group) or [], start=1):
            item = f"{group}:{n}"

            def add(code: str, field: str | None, message: str, severity: str = ERROR, _item: str = item) -> None:
                out.append(Problem(code, severity, "hotlines", _item, field, message))

            number = str(line.get("number") or "").strip()
            if not number:
                add("missing_field", "number", "thiếu số điện thoại")
            elif not valid_number(number):
                add("bad_number", "number", f"số “{number}” không đúng dạng: chỉ gồm chữ số, ví dụ 113, 19001234 hoặc "
                    "0912345678 (10 số, bắt đầu bằng 0)")
            elif number in seen:
                add("duplicate_number", "number", f"số {number} đã có ở {seen[number]}", WARNING)
            else:
                seen[number] = f"dòng {group}:{n}"
            for field, label in (("organisation", "tên cơ quan/tổ chức"), ("source", "nguồn")):
                if _blank(line.get(field)):
                    add("missing_source" if field == "source" else "missing_field", field, f"thiếu {label}")
            out.extend(_age_problems(line.get("checked"), today, "hotlines", item, "checked", ERROR))
            province = line.get("province")
            if group == "emergency" and not _blank(province):
                add("emergency_province", "province", "số khẩn cấp dùng cho cả nước: để trống tỉnh/thành")
            if provinces is not None and not _blank(province) and provinces.current_of(str(province)) is None:
                add("unknown_province", "province", f"không nhận ra tỉnh/thành “{province}”")
            if group == "emergency" and line.get("default"):
                add("emergency_default", "default", "chỉ số tư vấn mới có thể là số mặc định")
            if group == "counseling":
                out.extend(_scope_problems(line, item))
    emergency = {str(h.get("number") or "").strip() for h in content.hotlines.get("emergency") or []}
    if "113" not in emergency:
        out.append(Problem("missing_113", ERROR, "hotlines", "emergency:", "number",
                           "danh bạ phải có số khẩn cấp 113: câu trả lời khẩn cấp của trợ lý luôn nhắc số này"))
    counseling = content.hotlines.get("counseling") or []
    defaults = [n for n, h in enumerate(counseling, start=1) if h.get("default")]
    if counseling and len(defaults) != 1:
        out.append(Problem("default_line", ERROR, "hotlines", "counseling:", "default",
                           f"cần đúng một số tư vấn mặc định (cột “Mặc định” = có), hiện có {len(defaults)}"))
    for n in defaults:
        if _line_scope(counseling[n - 1]) != "national":
            out.append(Problem("default_not_national", ERROR, "hotlines", f"counseling:{n}", "default",
                               "số mặc định được đưa cho người dân mọi tỉnh, nên phải là số toàn quốc (Phạm vi = "
                               "toàn quốc), không phải số riêng của một tỉnh"))
    return out


def _line_scope(line: dict[str, Any]) -> str | None:
    """A counseling line's scope as the assistant reads it (inferred from the province when not written)."""
    scope = line.get("scope")
    if _blank(scope):
        return "province" if not _blank(line.get("province")) else "national"
    return scope if scope in ("national", "province") else None


def _scope_problems(line: dict[str, Any], item: str) -> list[Problem]:
    """A counseling line is either national (no province) or a province's own (with its province)."""
    scope = _line_scope(line)
    if scope is None:
        return [Problem("bad_scope", ERROR, "hotlines", item, "scope",
                        f"phạm vi “{line.get('scope')}” không hợp lệ: ghi “national” (toàn quốc) hoặc “province” (tỉnh)")]
    if scope == "national" and not _blank(line.get("province")):
        return [Problem("national_province", ERROR, "hotlines", item, "province",
                        "số toàn quốc không ghi tỉnh/thành: để trống tỉnh/thành, hoặc đổi phạm vi thành “tỉnh”")]
    if scope == "province" and _blank(line.get("province")):
        return [Problem("province_missing", ERROR, "hotlines", item, "province",
                        "số của một tỉnh cần ghi tỉnh/thành: ghi tên tỉnh, hoặc đổi phạm vi thành “toàn quốc”")]
    return []


def check_content(content: Content, today: date, provinces: Provinces | None = None,
                  others: list[tuple[str, str]] | None = None) -> list[Problem]:
    """Every check, errors first; `others` are the (intent, example) pairs of the non-FAQ NLU data."""
    problems = [Problem("unreadable", ERROR, "file", f"content/{label}", None, message)
                for label, message in content.load_errors]
    numbers = directory_numbers(content)
    for name, topic in content.topics.items():
        problems += check_topic(name, topic, numbers, today)
    problems += check_duplicates(content, others or [])
    problems += check_events(content, provinces, today)
    problems += check_hotlines(content, provinces, today)
    return sorted(problems, key=lambda p: (p.severity != ERROR, p.area, p.item))


def new_problems(before: list[Problem], after: list[Problem]) -> tuple[list[Problem], list[Problem]]:
    """Split `after` into problems a change introduces and problems that were already there."""
    old = {p.key() for p in before}
    return [p for p in after if p.key() not in old], [p for p in after if p.key() in old]


def errors(problems: list[Problem]) -> list[Problem]:
    """Only the blocking problems."""
    return [p for p in problems if p.severity == ERROR]
