"""Context cues around a disclosure: when it happened, who it is about, in what mode and tone (issue 9).

Guarantees: `read(text)` never raises and runs in time linear in the text; it only reports cues, it decides nothing
(`bot.triage.explain` and `bot.triage.policy.decide` do, as docs/triage-policy.md writes down). Patterns run on
`bot.text.normalize`d text, except the tone cues ("kkk", "😂", ":))"), which normalising would erase.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text import fold, normalize

# Long ago, or over: "hồi xưa", "10 năm trước", "hồi nhỏ", "đã mất", "đã ly hôn", "giờ thì ổn".
_PAST = re.compile(
    r"\b(?:hoi xua|ngay xua|thuo xua|xua kia|ngay truoc(?! mat| cua| nha| cong| khi| do| mat)|tu lau|lau lam roi|hoi nho|luc nho|hoi be|luc be|khi con nho|"
    r"hoi con nho|khi con be|hoi con be|tuoi tho|hoi do|luc do|thoi do|khi do|dao do|thoi con gai|hoi con gai|hoi sinh vien|thoi sinh vien|hoi di hoc|"
    r"(?:\d+|mot|hai|ba|bon|nam|sau|bay|tam|chin|muoi|may|vai|nhieu|hang|mot vai) (?:chuc )?nam (?:ve )?truoc|"
    r"cach day (?:\w+ ){1,2}nam|may chuc nam|vai chuc nam|hang chuc nam|"
    r"da (?:mat|qua doi|chet|khuat|ly hon|ly di|ly than|roi khoi|thoat)(?! ngu| tien| viec| het| niem| kha| lien| dien| mat| tich| ngon| cong| nhieu| may| con)|"
    r"(?:mat|qua doi) (?:roi|lau roi|cach day)|(?:mat|qua doi)(?: duoc| hon| tu)? (?:\d+|may|vai|hon|mot|hai|ba|nam|muoi) "
    r"(?:chuc )?nam|qua doi|ly hon (?:roi|lau roi|duoc|tu|\d+|may|nam)|ly di roi|"
    r"(?:bay gio|gio|hien gio|hien tai) (?:thi |da |cung )?(?:on|on roi|yen on|binh yen|hanh phuc|khong con)|"
    r"da qua roi|chuyen cu|chuyen qua khu|da ket thuc|khong con (?:song chung|o chung|lien lac|gap)|"
    r"(?<!tu )hoi (?:cap \d|lop \d+|moi cuoi|moi lay chong|con tre|tre|(?:19|20)\d\d)|(?<!tu )(?:nam|vao) (?:19\d\d|200\d|201\d)|"  # "từ hồi…": since, ongoing
    r"(?:bay gio|gio|hien gio|hien nay)(?: \w+){0,4} song (?:rat |kha |)(?:vui ve|em am|hanh phuc|binh yen|yen on|on dinh)|"
    r"thoi (?:chien|phap|bao cap|chien tranh|khang chien|my)|da bo (?:ruou|nhau|co bac)(?: \w+){0,3} nam|"
    r"chua (?:tung|bao gio|he) (?:\w+ )?(?:lam lai|tai pham|danh lai)|khong (?:con )?(?:tai pham|lam lai)|"
    r"(?:gio|bay gio|nay) (?:toi|em|minh|tui) (?:da |cung |)on(?: roi)?$)\b")
# A present or continuing effect: "vẫn còn sợ", "giờ ổng vẫn…", "lại bắt đầu", "đang", recent days.
# ("vấn đề", "tư vấn", "bài văn" fold to "van"; "đáng sợ", "đăng ký" fold to "dang".)
_PRESENT = re.compile(
    r"(?=\bvan\b)(?<!tu )(?<!bai )\bvan(?! de| ban| hoa| phong| hoc| chuong| minh| tay| nghe| tai| kien| on| binh thuong| khoe|"
    r" tot| vui| hanh phuc| song tot| hay nhac| nhac| nho| ke lai| hay ke| con nho)\b|"
    r"\bdang(?! ky| ki| bai| tin| len| so| yeu| ghet| thuong| tien| gia| le| ke| nho| tiec| buon| trach| tu hao| lo| hoang)\b|"
    r"(?<!nam )\bnay gio\b|\b(?:(?:vua |)moi (?:tron|thoat|chay|tron ve|thoat ve|tron duoc|thoat duoc)|moi nay|vua nay|ban nay|khi nay|hoi nay|luc nay|vua moi|vua xong|lai bat dau|bat dau lai|lai (?:danh|doa|chui|den|tim|nhan|goi|quay|dap|bi)|dao nay|gan day|hom nay|hom qua|"
    r"toi qua|dem qua|sang nay|chieu nay|toi nay|tuan nay|tuan truoc|thang nay|moi ngay|hang ngay|suot ngay|"
    r"ngay nao cung|(?:tuan|thang|dem|toi|hom) nao (?:\w+ )?cung|con so|con am anh|am anh|ac mong|"
    r"(?:bay gio|gio|nay) (?:ong|ba|anh|no|han|chong|vo|ho|bo|me|thang|chong cu|nguoi yeu cu)(?: \w+)? (?:van|lai|con|cu|hay|dang|doa))\b")
# After the last past marker, a threat or pursuit told with "nhưng", "mà", "giờ", "vẫn"… means it is not over
# ("đã ly hôn nhưng nó dọa…"); the abuse told right after its own marker ("hồi đó ổng đánh tôi") does not.
_STILL = re.compile(r"\b(?:nhung|ma|gio|bay gio|hien gio|nay|van|lai)(?: \w+){0,4} (?:doa|danh|chui|tung|phat tan|"
                    r"theo doi|rinh|nhan tin|goi dien|den nha|tim den|quay lai|bam theo|doi)\b")
# Tone: laughter and "just kidding", read on folded raw text.
_JOKE_WORD = re.compile(r"(?:ha){2,}\w*|(?:hi){2,}\w*|(?:he){2,}\w*|(?:hj){2,}\w*|(?:ke){2,}\w*|(?:ka){2,}\w*|k{2,}|"
                        r"lol|lmao|troll\w*")
_JOKE_PHRASE = re.compile(r"\b(?:dua thoi|noi dua|dua (?:ti|chut|day|ma|nha|thoi|xiu|ay|ha)|gion (?:thoi|ti|chut|ma|choi|day|nha)|"
                          r"noi gion|dua gion|ha ha)\b|[=:;]\){2,}")
_WORD = re.compile(r"[a-z0-9]+")
_JOKE_EMOJI = frozenset("😂🤣😆😹😝😜🙃😅😁🤪")
# Films, novels, games and their characters ("đập tivi" is not a film: the set only counts when watched).
_FICTION = re.compile(r"\b(?:xem phim|bo phim|(?<!quay )(?<!chup )phim|(?:xem|coi|tren|trong) (?:tivi|tv)|dien vien|dao dien|(?<!tren )(?<!qua )game|truyen|tieu thuyet|nhan vat|kich ban|"
                      r"manga|anime|drama|series|nu chinh|nam chinh|tap phim|vo kich)\b"
                      r"(?! nguoi lon| sex| doi truy| nong| khieu dam)")
# Statistics, surveys, news, school work.
_MODALITY = re.compile(
    r"\b(?:thong ke|khao sat|so lieu|ty le|ti le|phan tram|theo bao cao|bao cao (?:cua|cho thay)|nghien cuu|bai luan|"
    r"bai van|tieu luan|luan van|thuyet trinh|de tai|bai tap|bai viet|viet bai|dua tin|tin tuc|ban tin|doc bao|"
    r"tren bao|bao dien tu|bai bao|thoi su|vu an|phien toa|phong su|nghe dai|tren dai|dai phat thanh|bao chi|"
    r"bao dua tin|bao viet|trang tin|len bao|tin (?:dia phuong|thoi su))\b")
# "nếu…", "giả sử…" at the start, or an explicit supposition anywhere.
_HYPOTHETICAL = re.compile(
    r"^(?:(?:xin |cho (?:em|toi|minh|chau|con|hoi) )?hoi (?:la |ve )?|(?:cho|xin) (?:em|toi|minh) hoi )?"
    r"(?:neu|gia su|gia nhu|lo nhu|vi du|trong truong hop|truong hop)\b|"
    r"\b(?:neu nghi|nghi ngo|gia su|vi du nhu|gia nhu|lo nhu)\b")
# An explicit supposition about the future ("giả sử", "lỡ sau này"): a question, even with the writer in it.
_SUPPOSED = re.compile(r"\b(?:gia su|gia du|lo sau nay|nho sau nay|neu sau nay|lo mai nay|nho mai nay|sau nay neu|"
                       r"lo mai mot|nho mai mot|mai mot lo|mai mot nho|lo nhu mai|"
                       r"phong khi|lo nhu)\b")
# A class of people rather than someone: "nhiều ông chồng…", "những người vợ…".
_CLASS = re.compile(
    r"\b(?:nhung|nhieu|cac|mot so|hau het|phan lon|moi|bat ky|bat cu)(?: \w+)? (?:ong chong|ba vo|nguoi chong|nguoi vo|"
    r"nguoi dan ong|nguoi phu nu|dan ong|phu nu|gia dinh|ong bo|ba me|cap vo chong|nguoi cha|nguoi me|anh chong|chi vo)\b")
# The writer is the one hurt, or speaks of their partner or parent.
_FIRST_PERSON = re.compile(
    r"(?=\b(?:toi|em|minh|tui) )(?<!ban )(?<!nha )(?<!cua )\b(?:toi|em|minh|tui) (?:bi|dang bi|vua bi)\b|"
    r"\b(?:danh|hanh ha|chui|doa|nhot|xam hai) (?:toi|em|minh)\b|"
    r"\b(?:chong|vo|bo|me|nguoi yeu|ban trai) (?:toi|em|minh)\b|"
    r"\b(?:toi|em|minh|tui) (?:moi |nam nay |da |chi moi |)\d+ tuoi\b")


@dataclass(frozen=True)
class Context:
    """The cues found in one message; each is a plain yes/no."""

    past: bool = False          # a long-ago or ended marker
    present: bool = False       # a present or continuing effect
    joke: bool = False
    fiction: bool = False
    modality: bool = False      # statistics, survey, news, essay, presentation
    hypothetical: bool = False
    class_of_people: bool = False
    first_person: bool = False  # the writer or someone close is in it
    supposed: bool = False      # an explicit supposition about the future ("giả sử", "lỡ sau này")

    @property
    def past_over(self) -> bool:
        """Past and over: a past marker and nothing that says it goes on."""
        return self.past and not self.present


def _last_end(pattern: re.Pattern[str], text: str) -> int:
    """End of the last match of `pattern`, or -1 (one pass)."""
    end = -1
    for m in pattern.finditer(text):
        end = m.end()
    return end


def _is_joke(text: str, folded: str) -> bool:
    """Laughter or "just kidding": a laughing word, a joke phrase or a laughing emoji."""
    if any(ch in _JOKE_EMOJI for ch in text) or _JOKE_PHRASE.search(folded):
        return True
    return any(_JOKE_WORD.fullmatch(word) for word in set(_WORD.findall(folded)))


def read(text: str, norm: str | None = None) -> Context:
    """The context cues of a message (`norm`: its `normalize`d form, when the caller has it)."""
    norm = normalize(text) if norm is None else norm
    folded = fold(text or "")
    last_past = _last_end(_PAST, norm)
    present = bool(_PRESENT.search(norm)) or (last_past >= 0 and _STILL.search(norm, last_past) is not None)
    return Context(
        past=last_past >= 0, present=present,
        joke=_is_joke(text or "", folded),
        fiction=bool(_FICTION.search(norm)), modality=bool(_MODALITY.search(norm)) or "%" in (text or ""),
        hypothetical=bool(_HYPOTHETICAL.search(norm)), class_of_people=bool(_CLASS.search(norm)),
        first_person=bool(_FIRST_PERSON.search(norm)), supposed=bool(_SUPPOSED.search(norm)))
