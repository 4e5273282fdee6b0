"""Vietnamese text normalisation: diacritics folding, teencode expansion, masking."""

from __future__ import annotations

import re
import unicodedata

# Teencode and shorthand residents type, mapped to the plain (accent-folded) word.
# Applied token by token after folding, so keys are ASCII.
TEENCODE: dict[str, str] = {
    "ko": "khong", "k": "khong", "kh": "khong", "hok": "khong", "hong": "khong",
    "hem": "khong", "khg": "khong", "kg": "khong", "hk": "khong",
    "dc": "duoc", "dk": "duoc",
    "j": "gi", "ji": "gi", "z": "vay", "zay": "vay", "dzay": "vay", "v": "vay",
    "vk": "vo", "ck": "chong", "bx": "vo", "ox": "chong",
    "e": "em", "a": "anh", "c": "chi", "mk": "minh", "mik": "minh", "mh": "minh",
    "bn": "ban", "ng": "nguoi", "ngta": "nguoi ta", "nc": "nuoc",
    "tui": "toi", "t": "toi", "tao": "toi",
    "ntn": "nhu the nao", "bik": "biet",
    "nhiu": "nhieu", "bh": "bao gio", "bjo": "bao gio", "h": "gio", "r": "roi",
    "rui": "roi", "wa": "qua", "qa": "qua", "ms": "moi", "mn": "moi nguoi", "ad": "admin",
    "oke": "ok", "okie": "ok", "uk": "u", "uhm": "u", "um": "u", "uh": "u",
    "ns": "noi", "nt": "nhan tin", "sdt": "so dien thoai",
    "tks": "cam on", "thanks": "cam on", "thank": "cam on",
    "cty": "cong ty", "vs": "voi", "lm": "lam",
    "ik": "di", "ak": "a", "ah": "a", "oy": "roi", "ui": "oi", "cj": "chi", "cx": "cung",
    "khum": "khong", "hum": "khong", "hnay": "hom nay", "hqua": "hom qua", "mng": "moi nguoi",
    "pk": "phai khong", "bme": "bo me", "nyc": "nguoi yeu cu", "ny": "nguoi yeu", "gd": "gia dinh",
}

# Shorthand residents type with its accents (keys lower-case NFC): expanded like TEENCODE.
ACCENTED_TEENCODE: dict[str, str] = {
    "hông": "khong", "hổng": "khong", "hôk": "khong", "khôg": "khong", "đc": "duoc", "đk": "duoc", "rùi": "roi",
    "zậy": "vay", "dzậy": "vay", "zị": "vay", "dzị": "vay",
}
_EDGE_PUNCT_RE = re.compile(r"^[^\w]+|[^\w]+$")

# The longest resident message the system keeps: webhooks, REST and cases cut text to this many characters.
MAX_MESSAGE_CHARS = 4000

_TAG_RE = re.compile(r"<[^>]{0,200}>")
_NON_WORD_RE = re.compile(r"[^0-9a-z\s]")
_SPACE_RE = re.compile(r"\s+")
_REPEAT_RE = re.compile(r"([a-z])\1{2,}")
_DOUBLE_OK = "uo"  # folded Vietnamese keeps "uu" (cứu) and "oo" (xoong)
_PHONE_RE = re.compile(r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)")
# An e-mail is a run of local-part characters, "@", then a domain with at least one dot. The scanner in
# `_mask_emails` reads each run once; a single regex backtracks quadratically over a long run of letters.
_EMAIL_LOCAL_RE = re.compile(r"[\w.+-]+")
_EMAIL_DOMAIN_RE = re.compile(r"[\w-]+(?:\.[\w-]+)+")


def fold(text: str) -> str:
    """Return lower-case text without Vietnamese diacritics (đ → d)."""
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return text.replace("đ", "d")


def has_diacritics(text: str) -> bool:
    """True when the text contains any Vietnamese accented letter."""
    return fold(text) != text.lower()


def normalize(text: str) -> str:
    """Fold accents, strip markup, squash repeats and expand teencode, for matching.

    Teencode expands only in words typed without accents: folded, "hẻm" (alley), "tụi" (they), "ạ" and "à"
    (particles) would read as "hem", "tui", "a", the shorthand for "không", "tôi", "anh". A few shorthands
    typed with their accents ("hông", "đc") are in ACCENTED_TEENCODE.
    """
    text = _TAG_RE.sub(" ", text or "")
    words: list[str] = []
    for chunk in text.split():
        lowered = unicodedata.normalize("NFC", chunk.lower())
        folded = fold(chunk)
        accented = folded != lowered
        folded = _NON_WORD_RE.sub(" ", folded)
        folded = _REPEAT_RE.sub(lambda m: m.group(1) * (2 if m.group(1) in _DOUBLE_OK else 1), folded)
        if not accented:
            words.extend(TEENCODE.get(w, w) for w in folded.split())
        elif (short := ACCENTED_TEENCODE.get(_EDGE_PUNCT_RE.sub("", lowered))) is not None:
            words.append(short)
        else:
            words.extend(folded.split())
    return _SPACE_RE.sub(" ", " ".join(words)).strip()


def tokens(text: str) -> list[str]:
    """Normalised word tokens of a message."""
    return normalize(text).split()


def _mask_emails(text: str) -> str:
    """Replace each e-mail address with [email] in linear time (same matches as `[\\w.+-]+@domain`)."""
    out: list[str] = []
    done = pos = 0
    while (run := _EMAIL_LOCAL_RE.search(text, pos)) is not None:
        pos = run.end()
        # Backtracking into the run cannot find an "@" (the run has none), so only its end can precede one.
        domain = _EMAIL_DOMAIN_RE.match(text, pos + 1) if text.startswith("@", pos) else None
        if domain is not None:
            out += (text[done:run.start()], "[email]")
            done = pos = domain.end()
    out.append(text[done:])
    return "".join(out)


def mask_pii(text: str) -> str:
    """Mask phone numbers and e-mail addresses in text shown to staff or logs (linear in the text)."""
    return _PHONE_RE.sub("[số điện thoại]", _mask_emails(text or ""))


def is_meaningful(text: str) -> bool:
    """False for empty, emoji-only or single-character messages."""
    return len(re.sub(r"[^0-9a-z]", "", fold(_TAG_RE.sub(" ", text or "")))) >= 2
