"""Which language a resident wrote in: "vi" unless another language is certain.

Guarantees: `detect_language` returns an ISO 639-1 code and returns "vi" for empty, very short or ambiguous text and
for any text with a Vietnamese signal (a letter only Vietnamese uses, or an unaccented Vietnamese or teencode word),
so "ck e dang danh e", "toi so qua", "cuu", "ok", "hi" and "alo" stay Vietnamese. Other Latin-script text needs the
detector (lingua, in its low-accuracy mode over the few languages in `_LATIN`) to be confident; text in another
script is named by its script. The detector is built on first use, once per process, from data in its package (no
download). The measurements behind these choices are in docs/languages.md.
"""

from __future__ import annotations

import re
import threading
import unicodedata

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from bot.text import TEENCODE, fold

VIETNAMESE = "vi"
MIN_CONFIDENCE = 0.8  # lingua's relative confidence of its first language (docs/languages.md)
MIN_LETTERS = 6       # Latin text shorter than this stays Vietnamese
MIN_WORDS = 2
ENGLISH_SHARE = 0.5   # this share of frequent English words makes a message English

# Latin-script languages the detector chooses among. Vietnamese is one of them, so that a Vietnamese sentence
# the word list below misses still draws the detector's vote.
_LATIN = (Language.VIETNAMESE, Language.ENGLISH, Language.FRENCH, Language.GERMAN, Language.SPANISH,
          Language.INDONESIAN, Language.MALAY)
# Other scripts are recognised by their letters (no detector: one script, one language here).
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("HANGUL", "ko"), ("HIRAGANA", "ja"), ("KATAKANA", "ja"), ("CJK", "zh"), ("THAI", "th"), ("KHMER", "km"),
    ("LAO", "lo"), ("CYRILLIC", "ru"), ("ARABIC", "ar"), ("DEVANAGARI", "hi"), ("MYANMAR", "my"),
)

# Combining marks that only Vietnamese puts on Latin letters here: hook above, dot below, horn. A letter with two
# marks (ố, ầ, ặ) or a tilde on i, u, y or e (ĩ, ũ, ỹ, ẽ) is Vietnamese too; à, é, ô… alone are shared with French.
_VI_MARKS = {"\u0309", "\u0323", "\u031b"}
_VI_LETTERS = set("đăĐĂ")
_TILDE_VOWELS = set("iuyeIUYE")

# An unaccented Vietnamese syllable: onset, vowel cluster, final consonant. Most English words are not one
# ("help", "husband", "again", "you", "see"); `_SYLLABLE_SHARE` of the words of three letters or more must be.
_SYLLABLE = re.compile(
    r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdghklmnprstvx])?"
    r"(?:oai|oay|oeo|uay|uoi|uou|uya|uye|uyu|ieu|yeu|ai|ao|au|ay|eo|eu|ia|ie|iu|oa|oe|oi|oo|ua|ue|ui|uo|uu|uy|ye|"
    r"[aeiouy])(?:ch|nh|ng|[cmnptk])?")
_SYLLABLE_SHARE = 0.7



def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# Unaccented Vietnamese words and teencode that are not words of English or the other languages in `_LATIN`.
_VI_WORDS = _wordset("""
ban toi minh chong vo khong duoc nguoi nhung cua voi roi lam gi sao danh chi anh em oi nha nhe nhi cuu giup muon
biet hoi xin chao vay thoi luon nua chua dau duoi nhieu ngay thang tuan chieu truong hoc nhan goi dien thoai
phai khi thi cung qua lai bao gio nhu nao ong chau gai trai nhau thuong yeu ghet buon vui khoc ngoi ve vao
luat phat hanh luc gia dinh xam hai vien tro tinh thanh phuong huyen
alo ak ck vk ko kh khg hok khum dk mk mik mh ntn bik ngta bme hnay hqua bx cj ik rui nhiu wa zay dzay mng sdt
cty cx
""")
# English words Vietnamese writers use alone or with one other word ("ok", "hi ad", "thank u", "see you"): such a
# message stays Vietnamese.
_PHATIC = _wordset("ok okay oke okie hi hello helo hey bye thanks thank you u tks thx sorry yes no ad admin")

# Frequent English words. lingua needs more text than "he has a knife" to be sure (docs/languages.md), so a message
# made mostly of these is English without asking it.
_ENGLISH = _wordset("""
i me my mine you your he him his she her it its we us our they them their this that these those there here
a an the and or but if so not no never do does did done is am are was were be been being have has had will would
can could should must may might shall to of in on at by for from with without about into over after before again
now still just very too what who whom where when why how which help please hit hits hitting beat beats beating
hurt hurts hurting kill kills afraid scared fear safe unsafe danger husband wife boyfriend girlfriend partner father
mother dad mom mum son daughter child children kid kids boss man woman someone somebody people police call phone
number talk speak want need get got go going come home house room out up down because always every day night today
tonight yesterday tomorrow know think feel like love hate money passport work job school week month year years
ago old one two all some any more much many something nothing anything everything really also only even then than
im ive dont doesnt didnt cant wont isnt sorry speak write understand information question english vietnam vietnamese
hello hi thanks thank yes okay pls plz delete data friend friends say says said tell told wants wanted die dead
live lives life
""")
_CLOSE = {"ms": "id"}  # Malay and Indonesian share most words: their votes are added up, as Indonesian

_WORD_RE = re.compile(r"[a-z]+")
_RAW_WORD_RE = re.compile(r"[^\W\d_]+|[.!?]")

_detector: LanguageDetector | None = None
_lock = threading.Lock()

# How counselors (in Vietnamese) read a code.
_NAMES = {
    "vi": "tiếng Việt", "en": "tiếng Anh", "fr": "tiếng Pháp", "de": "tiếng Đức", "es": "tiếng Tây Ban Nha",
    "id": "tiếng Indonesia", "ms": "tiếng Mã Lai", "tl": "tiếng Tagalog (Philippines)", "ko": "tiếng Hàn",
    "ja": "tiếng Nhật", "zh": "tiếng Trung", "th": "tiếng Thái", "km": "tiếng Khmer", "lo": "tiếng Lào",
    "ru": "tiếng Nga", "ar": "tiếng Ả Rập", "hi": "tiếng Hindi", "my": "tiếng Myanmar",
}


def language_name(code: str) -> str:
    """The Vietnamese name of a language code, e.g. "en" → "tiếng Anh"."""
    return _NAMES.get(code, f"ngôn ngữ khác ({code})")


def _get_detector() -> LanguageDetector:
    global _detector
    with _lock:
        if _detector is None:
            _detector = LanguageDetectorBuilder.from_languages(*_LATIN).with_low_accuracy_mode().build()
        return _detector


def has_vietnamese_letter(text: str) -> bool:
    """True when the text has a letter only Vietnamese writes (ư, ơ, đ, ă, ạ, ả, …)."""
    for ch in text:
        if ch in _VI_LETTERS:
            return True
        if ord(ch) <= 0x7F or not ch.isalpha() or not unicodedata.name(ch, "").startswith("LATIN"):
            continue
        base, *marks = unicodedata.normalize("NFD", ch)
        if _VI_MARKS & set(marks) or len(marks) > 1 or (marks == ["\u0303"] and base in _TILDE_VOWELS):
            return True
    return False


def _words(text: str) -> list[str]:
    """The folded words of a Latin text, without capitalised names inside a sentence ("my husband Minh").

    A Text Written In Title Case keeps all its words.
    """
    kept: list[str] = []
    every: list[str] = []
    start = True
    for raw in _RAW_WORD_RE.findall(text):
        if raw in ".!?":
            start = True
            continue
        folded = _WORD_RE.findall(fold(raw))
        every += folded
        if not (raw[0].isupper() and not raw.isupper() and not start):
            kept += folded
        start = False
    return kept if len(kept) * 2 >= len(every) else every


def _looks_vietnamese(words: list[str]) -> bool:
    """True when the unaccented words read as Vietnamese: a Vietnamese-only word, or mostly Vietnamese syllables."""
    if any(w in _VI_WORDS for w in words):
        return True
    long_words = [w for w in words if len(w) >= 3]
    if not long_words:
        return True  # only words of one or two letters: too little to tell
    syllables = sum(bool(_SYLLABLE.fullmatch(w)) or (w in TEENCODE and w not in _PHATIC) for w in long_words)
    return syllables >= _SYLLABLE_SHARE * len(long_words)


def _script_language(text: str) -> str | None:
    """The language of a text written mostly in a script other than Latin, if any."""
    counts: dict[str, int] = {}
    latin = 0
    for ch in text:
        if not ch.isalpha():
            continue
        if ch.isascii() or "LATIN" in unicodedata.name(ch, ""):
            latin += 1
            continue
        name = unicodedata.name(ch, "")
        for script, code in _SCRIPTS:
            if name.startswith(script) or (script == "CJK" and "IDEOGRAPH" in name):
                counts[code] = counts.get(code, 0) + 1
                break
    if not counts:
        return None
    # Japanese mixes kana with Chinese characters: any kana makes it Japanese.
    if "ja" in counts:
        counts["ja"] += counts.pop("zh", 0)
    code, n = max(counts.items(), key=lambda item: item[1])
    return code if n > latin else None


def detect_language(text: str) -> str:
    """ISO 639-1 code of the message's language; "vi" unless another language is certain."""
    text = (text or "")[:1000]
    if has_vietnamese_letter(text):
        return VIETNAMESE
    script = _script_language(text)
    if script is not None:
        return script
    words = _words(text)
    if (len(words) < MIN_WORDS or sum(map(len, words)) < MIN_LETTERS or all(w in _PHATIC for w in words)
            or (len(words) == MIN_WORDS and any(w in _PHATIC for w in words)) or _looks_vietnamese(words)):
        return VIETNAMESE
    if sum(w in _ENGLISH for w in words) >= ENGLISH_SHARE * len(words):
        return "en"
    votes: dict[str, float] = {}
    for value in _get_detector().compute_language_confidence_values(text):
        code = value.language.iso_code_639_1.name.lower()
        code = _CLOSE.get(code, code)
        votes[code] = votes.get(code, 0.0) + value.value
    code, confidence = max(votes.items(), key=lambda item: item[1], default=(VIETNAMESE, 1.0))
    return VIETNAMESE if code == VIETNAMESE or confidence < MIN_CONFIDENCE else code
