"""Masking personal names and home addresses (on top of phones and e-mails) before a message is shown to staff.

Every function here takes time in proportion to the text (each word is looked at a bounded number of times).
"""

from __future__ import annotations

import re
import unicodedata

from bot.text import fold, mask_pii

NAME_MASK = "[tên]"
ADDRESS_MASK = "[địa chỉ]"
# Where a home is: a house, alley or lane number, or a street, hamlet or building name.
_NUMBERED = r"số nhà|nhà số|căn hộ|phòng|số|lô|tổ|km"
_NAMED = r"tổ dân phố|khu phố|chung cư|tòa nhà|toà nhà|ngõ|ngách|hẻm|kiệt|đường|phố|thôn|xóm|ấp|bản|khu|tòa|toà"
_ADDRESS_PART = re.compile(
    rf"(?<!\w)(?:(?:{_NUMBERED}|{_NAMED})\s*(?P<number>\d[\w/\-]*)|(?:{_NAMED})\s+(?P<name>(?:[^\W_][\w/\-]*\s*){{1,4}}))",
    re.I)
_NAME_WORD = re.compile(r"\S+")
_JOINED = re.compile(r"[\s,]*")
MAX_NAME_WORDS = 4
# A bracketed mask such as [email] is one word; "[" is excluded inside it so "[[[[…" is not quadratic.
_WORD_RE = re.compile(r"[^\W\d_]+|\[[^\][]*\]|\d+")
_SELF = {"toi", "em", "minh", "con", "chau", "tui", "tao", "to"}
# Words that address or refer to a person and are often followed by the person's name.
_HONORIFICS = {"anh", "chi", "co", "chu", "bac", "ba", "ong", "em", "be", "di", "cau", "thim", "mo", "bo", "me"}
# Common family names: a capitalised family name followed by capitalised words is a full name.
_SURNAMES = {"nguyen", "tran", "le", "pham", "hoang", "huynh", "phan", "vu", "vo", "dang", "bui", "do", "ho",
             "ngo", "duong", "ly", "dinh", "trinh", "truong", "mai", "lam", "doan", "cao", "luong", "ha", "thai"}
_NOT_NAMES = {("ho", "chi", "minh")}
_NOT_IN_NAME = _HONORIFICS | _SELF
# After "tên tôi là …" the next words are a name even in lower case, until one of these.
_STOP = {"va", "nha", "o", "nam", "tuoi", "song", "que", "dang", "bi", "muon", "hoi", "xin", "cho", "ma",
         "nhe", "a", "day", "nay", "la", "hien", "lam", "can", "co", "khong", "ko", "k", "vay", "ne", "oi", "nhung",
         "vi", "voi", "ben", "tai", "hoc", "sinh", "di", "toi", "em", "minh", "chong", "vo", "con"}


def _words(text: str) -> list[tuple[int, int, str, str]]:
    """(start, end, original, folded) for each word."""
    return [(m.start(), m.end(), m.group(), fold(m.group())) for m in _WORD_RE.finditer(text)]


def _capitalised(word: str) -> bool:
    return word[:1].isupper() and word.isalpha()


def _joined(text: str, left: tuple[int, int, str, str], right: tuple[int, int, str, str]) -> bool:
    """True when only spaces separate two words (no punctuation in between)."""
    return text[left[1]:right[0]].strip() == ""


def _strong_cue_end(f: list[str], i: int) -> int | None:
    """Index of the first name word after "tên tôi là", "tôi tên (là)", "họ tên", else None (f: folded words)."""

    def at(k: int) -> str:
        return f[k] if k < len(f) else ""

    if at(i) == "ten" and at(i + 1) in _SELF and at(i + 2) == "la":
        return i + 3
    if at(i) == "ten" and at(i + 1) == "cua" and at(i + 2) in _SELF and at(i + 3) == "la":
        return i + 4
    if at(i) in _SELF and at(i + 1) == "ten":
        return i + 3 if at(i + 2) == "la" else i + 2
    if at(i) == "ho" and at(i + 1) == "ten":
        return i + 3 if at(i + 2) == "la" else i + 2
    return None


def _weak_cue_end(words: list[tuple[int, int, str, str]], i: int) -> int | None:
    """Index of a possible (capitalised) name after "tôi là" or "chị", "anh"…, else None."""
    f = words[i][3]
    if f in _SELF and i + 1 < len(words) and words[i + 1][3] == "la":
        return i + 2
    if f in _HONORIFICS:
        return i + 1
    return None


def mask_names(text: str) -> str:
    """Replace personal names with [tên]: after "tên tôi là", "tôi là X", "chị X", "anh X", and full names."""
    text = unicodedata.normalize("NFC", text or "")
    words = _words(text)
    folded = [w[3] for w in words]
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        start = _strong_cue_end(folded, i)
        if start is not None and start < len(words) \
                and text[words[start - 1][1]:words[start][0]].strip() in ("", ":"):
            upper = _capitalised(words[start][2])
            end = start
            while end < len(words) and end - start < MAX_NAME_WORDS and words[end][2].isalpha() \
                    and (end == start or _joined(text, words[end - 1], words[end])) \
                    and (_capitalised(words[end][2]) if upper else words[end][3] not in _STOP):
                end += 1
            if end > start:
                spans.append((words[start][0], words[end - 1][1]))
                i = end
                continue
        start = _weak_cue_end(words, i)
        if start is None and _capitalised(words[i][2]) and words[i][3] in _SURNAMES:
            start = i
        if start is not None:
            end = start
            while end < len(words) and end - start < MAX_NAME_WORDS and _capitalised(words[end][2]) \
                    and words[end][3] not in _NOT_IN_NAME \
                    and (end == start or _joined(text, words[end - 1], words[end])):
                end += 1
            if start < len(words) and start != i and start > 0 and not _joined(text, words[start - 1], words[start]):
                end = start
            run = tuple(w[3] for w in words[start:end])
            if (start == i and end - start < 2) or run in _NOT_NAMES:
                end = start
            if end > start:
                spans.append((words[start][0], words[end - 1][1]))
                i = end
                continue
        i += 1
    return _replace_spans(text, spans, NAME_MASK)


def _replace_spans(text: str, spans: list, mask: str) -> str:
    """`text` with each (start, end) span, in order and not overlapping, replaced by `mask`, in one pass."""
    pieces, done = [], 0
    for begin, finish in spans:
        pieces += (text[done:begin], mask)
        done = finish
    pieces.append(text[done:])
    return "".join(pieces)


def mask_addresses(text: str) -> str:
    """Replace house numbers, alleys, streets and hamlets (with their names) by [địa chỉ]."""
    spans: list[list[int]] = []
    pos = 0
    while (match := _ADDRESS_PART.search(text, pos)) is not None:
        end = _place_end(match)
        pos = max(end, match.start() + 1)
        if end < 0:
            continue  # "đường đi", "phố xá": not a place name
        if spans and _JOINED.fullmatch(text[spans[-1][1]:match.start()]):
            spans[-1][1] = end
        else:
            spans.append([match.start(), end])
    return _replace_spans(text, spans, ADDRESS_MASK)


def _place_end(match: re.Match[str]) -> int:
    """Where a found address part ends: after its number, or after the capitalised words of its name (else -1)."""
    if match.group("number") is not None:
        return match.end("number")
    end = -1
    for word in _NAME_WORD.finditer(match.group("name")):
        if not (word.group(0)[:1].isupper() or word.group(0)[:1].isdigit()):
            break
        end = match.start("name") + word.end()
    return end


def mask_personal(text: str) -> str:
    """Mask e-mail addresses, phone numbers and personal names."""
    return mask_names(mask_pii(text))
