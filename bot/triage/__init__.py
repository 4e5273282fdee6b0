"""Deterministic urgent-message safety net, independent of the NLU classifier.

Rules run on normalised text (accents folded, teencode expanded), so
"chồng tôi đánh tôi", "chong toi danh toi" and "ck dánh e" match alike. `explain` also reads the context
(`bot.triage.context`: long ago and over, jokes, fiction, statistics, hypotheticals, a class of people) and says
which cue set a rule verdict aside; the English rules (`bot.triage.english`) always run too and the higher level
wins, so a misdetected language never hides danger. The band policy is in `bot.triage.policy`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.text import normalize
from bot.triage.context import Context, read
from bot.triage.english import assess_english
from bot.triage.harms import DANH as _DANH
from bot.triage.harms import HARM_RULES, TYPING
from bot.triage.harms import NEG as _NEG
from bot.triage.levels import DANGER_NOW, LEVEL_RANK, NEEDS_SUPPORT, NONE, URGENT_INTENT, TriageResult
from bot.triage.matchers import _AnyOf, _Gate, _Then, match_rules

__all__ = ["DANGER_NOW", "NEEDS_SUPPORT", "NONE", "URGENT_INTENT", "Assessment", "TriageResult", "assess", "combine",
           "explain", "is_concrete", "is_question_about", "mentions_harm", "should_demote"]


# Who can be hurt: the writer or a concrete person the writer speaks about.
_ME = r"(?:toi|em|minh|con|chau|tre)"
_PERSON = (
    r"(?:toi|em|minh|con|chau|me|ma|chi|vo|chong|ba|bo|cha|anh|co|di|ban|be|nguoi yeu|"
    r"con gai|con trai|em gai|chi gai|hang xom|no|nguoi ta|ba ay|co ay|chi ay|em ay|thang be|con be)"
)
# "phụ nữ bị bạo lực", "khi bị đánh", "trẻ em bị xâm hại": a class of people, not a report.
_NOT_GENERIC = (r"(?<!phu nu )(?<!nan nhan )(?<!tre em )(?<!khi )(?<!neu )(?<!nguoi )(?<!nam gioi )(?<!ai )"
                r"(?<!nhung nguoi )(?<!truong hop )(?<!nguoi dan ong )(?<!nu gioi )(?<!phu nu va tre em )"
                r"(?<!doi tuong )(?<!da )(?<!lo )(?<!tung )(?<!chua )(?<!ban )(?<!ma )(?<!de )(?<!co the )"
                r"(?<!tre )(?<!dan ong )(?<!lgbt )(?<!be trai )(?<!be gai )(?<!nguoi than )(?<!nguoi nha )"
                r"(?<!con cai )(?<!chi em )(?<!hang xom )(?<!nam )(?<!nu )(?<!bao )(?<!sau khi )(?<!nghi )(?<!khi bi )")

# Verbs of hurting someone (folded). Kept specific: folding makes many words collide
# (giảm/giam, đợt/đốt, tắt/tát, từ từ/tự tử, tư vấn/tự vẫn, cựu/cứu). "đánh" itself is `harms.DANH`.
_HURT_STRONG = (
    _DANH + r"|dap(?! an| ung| lai)|cao cau|chui boi|chui mang|chui rua|xi va|hanh ha|nguoc dai|tra tan|bao hanh|bao luc|xam hai|hiep dam|cuong hiep|"
    r"sam so|quay roi|de doa|doa|chui|xuc pham|lam nhuc|nhot|giam giu|giam long|bat coc|bop co|hanh hung|"
    r"danh dap|dam|chem|dot|tat vao mat|bo doi|duoi danh|ruot danh|tong tien|lua ban|ep quan he|cuong ep|"
    r"ep cuoi|ep lay chong|ep ket hon|dap pha|nem do|keo toc|giat toc|siet co|bop nghet|bo dong"
)
_HURT = _HURT_STRONG + r"|tat|ep|duoi|khong cho an|giu giay to"


# Each rule: (reason shown to counselors, urgency, pattern on normalised text).
_RULES: list[tuple[str, str, re.Pattern[str] | _AnyOf | _Then | _Gate]] = [
    # --- danger now -----------------------------------------------------------
    ("kêu cứu", DANGER_NOW, _AnyOf(
        re.compile(r"\bcuu (?:toi|em|voi|minh|con|chau|me|chi|nguoi|me con|vo|be|ca nha)\b|^(?:cuu ?)+$|\bsos\b"),
        _Then(r"\b(?:giup|cuu) (?:toi|em|minh|con|chau) voi\b",
              r"\b(?:" + _DANH + r"|giet|dao|chet|bop co|dam|doa|nhot|hiep)"))),
    ("có vũ khí", DANGER_NOW, re.compile(
        r"\b(?:cam|rut|vung|cam theo|mang|lay|ke|chia) (?:dao|rieu|mac|sung|bua|xa beng|guoc|kiem|xang|axit|ong tuyp|cuoc|kim tiem)\b|"
        r"\b(?:dao|rieu|sung) (?:ke co|ke vao|doa|chem|dam)\b|\btat axit\b|\btuoi xang\b|\bdot nha\b|\bdoi dot\b")),
    ("đe dọa giết/gây thương tích", DANGER_NOW, re.compile(
        r"\b(?:doa|de doa|noi|bao|hua|the|tuyen bo)(?: la)? (?:se )?(?:giet|chem|dam chet|dot|tat axit|thu tieu|ket lieu|danh chet|cho chet)\b|"
        r"\bse (?:giet|chem|dam chet|danh chet|thu tieu)\b|\b(?:giet|chem) (?:toi|em|me|con|chau|minh|chi|vo|chong|ca nha|het)\b|"
        r"\bdanh chet\b|\bdam chet\b|\bbop co\b|\bsiet co\b|\bbop nghet\b")),
    ("đang bị tấn công", DANGER_NOW, _AnyOf(
        re.compile(r"(?=\bdang )" + _NEG + r"\bdang (?:bi |)(?:" + _DANH + r"|dap pha|dap|dam|chem|bop co|hiep dam|xam hai|nhot|giam giu|doa giet|duoi danh|ruot danh|"
                   r"tra tan|hanh ha|hanh hung|sam so|lot do|pha cua|dap cua|dot nha|cam dao|vung dao|say xin danh)\b"),
        _Then(r"\b(?:dang|van dang) o (?:ngoai|truoc) cua\b", r"\b(?:" + _DANH + r"|giet|chem|doa|dao|pha)"))),
    ("nguy cơ tự hại", DANGER_NOW, re.compile(
        r"\bkhong (?:con )?muon song\b|\bkhong thiet song\b|\bchan song\b|\btu sat\b|\btu ket lieu\b|"
        r"\b(?:muon|dinh|se|sap|nghi den|nghi toi|y dinh|tinh|da|tung|can|thu) tu tu\b|"
        r"\bket lieu (?:ban than|cuoc doi|doi|minh)\b|\bket thuc (?:cuoc doi|cuoc song|doi minh|su song)\b|"
        r"\buong (?:het|ca|nhieu|mot nam|ca lo|ca vi) (?:vi )?thuoc\b|\buong thuoc (?:sau|chuot|tru sau|diet co)\b|"
        r"\bnhay (?:cau|song|lau|tu tang)\b|\bcat (?:co )?tay\b|\brach tay\b|\bthat co\b|\btreo co\b|"
        r"\b(?:muon|dinh|sap|them|chi muon|thiet) chet(?! cuoi| me| mat| tiet| voi| doi| khiep| di duoc)\b|\bchet cho xong\b|\bchet quach\b|\bchet di cho\b|"
        r"\bbien mat khoi (?:the gian|cuoc doi)\b|\bkhong con ly do (?:gi )?de song\b|\btu lam hai\b|\btu hai ban than\b|\bsong khong noi\b|"
        # "nghĩ quẩn" is the everyday word for suicidal thoughts; "sống (chẳng) có ý nghĩa gì" said of oneself or a friend
        r"(?<!dung )(?<!khong )(?<!chang )(?<!dung co )\bnghi quan\b|\bsong (?:khong|chang|cha) (?:con )?(?:co )?(?:y nghia|muc dich)\b|\bchet (?:sao|the nao|cach nao) (?:cho )?(?:khong|do|it) dau\b|"
        r"\b(?:cach|lam sao|lam the nao)(?: de)? chet (?:ma )?(?:khong|ko|chang) (?:dau|ai biet)\b")),
    ("bị giam giữ/mua bán người", DANGER_NOW, _AnyOf(
        re.compile(
            r"(?=\bbi )" + _NOT_GENERIC + r"\bbi (?:nhot|giam giu|giam long|khoa trong|khoa trai|bat coc|canh giu|ban sang|ban qua|lua ban|ban cho|lua sang|lua qua)\b|"
            r"\b(?:nhot|giam|khoa) (?:toi|em|con|chau|minh|chi|vo|me)(?: \w+)? (?:trong|o|lai)\b|"
            r"\b(?:ban|lua|dua|cho) (?:toi|em|con|chau|chi|ban toi|nguoi|minh)(?: \w+)? (?:sang|qua) (?:trung quoc|tq|campuchia|cam|lao|myanmar|nuoc ngoai|bien gioi)\b|"
            r"\btien chuoc\b|\bdoi chuoc\b"),
        _Then(r"\bgiu (?:giay to|ho chieu|cccd|can cuoc|cmnd)\b", r"\bkhong cho (?:\w+ )?(?:ve|ra|di|lien lac|tro ve)\b"),
        _Then(r"\bbi bat giu\b", r"\b(?:doi tien|bien gioi|khong cho)\b"))),
    # --- needs support ----------------------------------------------------------
    ("bị bạo lực/xâm hại", NEEDS_SUPPORT, re.compile(
        r"(?=\b(?:bi|lai|vua|da|tung|hay|thuong|moi|van) )" + _NEG + _NOT_GENERIC + r"\b(?:bi|lai bi|vua bi|da bi|tung bi|hay bi|thuong bi|moi ngay bi|van bi)(?: (?:chong|vo|bo|me|cha|ba|anh|chi|ong|no|nguoi yeu|ho|han|gia dinh|"
        r"bo duong|me ke|me chong|bo chong|cau|chu|bac|thay|sep|chu nha|nguoi la|ban trai|nguoi|thang|ke|dua)(?: \w+)?)? (?:" + _HURT_STRONG + r")\b|"
        r"\bbi (?:chong|vo|bo|me|ong|no|nguoi yeu|ban trai|bo duong|me chong|sep|ho|han)(?: \w+)? (?:tat|ep|duoi|khong cho an|giu giay to)\b")),
    ("người thân/người quen gây bạo lực", NEEDS_SUPPORT, re.compile(
        r"\b(?:chong|vo|bo|me|cha|ba|ong|no|nguoi yeu|ban trai|ban gai|bo duong|me ke|me chong|bo chong|anh trai|chu|cau|bac|thay|sep|chu nha|"
        r"hang xom|ong ay|anh ay|han|ong ta|thang do|ho|nguoi yeu cu)(?: (?:toi|em|minh|cua toi|cua em|nha toi|ben canh|con))? "
        r"(?:(?:lai|hay|thuong|suot ngay|cu|da|vua|moi ngay|nhieu lan|tung|van|con|hom qua|toi qua|sang nay|hom nay|luon|say|roi|ve|xin|nhau|ruou) )*"
        + _NEG + r"(?:" + _HURT + r") " + _PERSON + r"\b")),
    ("người thân/người quen gây bạo lực", NEEDS_SUPPORT, re.compile(
        r"\b(?:chong|vo|bo|cha|ong|no|nguoi yeu|ban trai|bo duong|me ke|me chong|nha chong|bo chong|con trai|con re|"
        r"con dau|anh trai|sep|chu nha|chong cu|vo cu|nguoi yeu cu|ong ay|anh ta|han|ho)(?: (?:toi|em|minh|tui|cu|nha toi))?"
        r"(?: \w+){0,4} " + _NEG + r"(?:" + _DANH + r"|dap pha|dap cua|hanh ha|nguoc dai|bo doi|xich|nhot|bat quy|"
        r"xo te|quanh (?:toi|em|minh)|da vao bung|doa giet|chui boi|xuc pham|tra tan|bop co|keo toc)\b")),
    ("xâm hại tình dục", NEEDS_SUPPORT, re.compile(
        r"(?=\b(?:hiep|cuong|xam|sam|quay|ep|dong|so|lot) )" + _NEG + r"\b(?:hiep dam|cuong hiep|xam hai|sam so|quay roi|ep quan he|dong cham|so mo|so soang|lot do) (?:toi|em|con|chau|minh|be|con gai|chi toi|ban toi|em gai)\b|"
        r"\b(?:ep|bat|buoc|cuong ep|ep buoc|danh|doa) (?:toi|em|con|chau|minh|tui|vo|chi)(?: phai)? (?:quan he|lam chuyen do|lam chuyen ay|ngu voi|chieu (?:anh|ong|han|chong))\b|"
        r"\bquan he (?:khi|luc|trong khi|du) (?:toi|em|minh|tui|vo|chi)(?: \w+)? (?:khong|ko|chang) (?:muon|dong y|chiu)\b|"
        r"\b(?:om hon|om ap|so vao nguoi|so soang|so mo|ga gam|du vao nha|lot quan|lot do|quay len|quay trom)"
        r"(?: (?:toi|em|con|chau|minh|be|chi))?\b")),
    ("cưỡng ép kết hôn", NEEDS_SUPPORT, re.compile(
        r"\b(?:ep|bat|buoc|cuong ep|ep buoc) (?:toi|em|con|chau|minh|chi|ban toi|con gai|con gai toi|no)(?: \w+){0,3}? (?:phai )?(?:lay chong|lay vo|cuoi|ket hon|tao hon|lay)\b|"
        r"\bbi (?:ep|bat|buoc|gia dinh ep|bo me ep|gia dinh bat|bo me bat|cuong ep) (?:phai )?(?:lay chong|lay vo|cuoi|ket hon|tao hon)\b")),
    ("bị kiểm soát/đe dọa", NEEDS_SUPPORT, re.compile(
        r"\b(?:giu|lay|kiem tra|doc trom) (?:het )?dien thoai (?:cua )?(?:toi|em|minh)\b|\bkhong cho (?:\w+ )?(?:cam|giu|tieu|dung|xai) (?:\w+ )?tien\b|"
        r"\bbat (?:toi|em|minh|tui) (?:phai )?nghi (?:viec|lam|hoc)\b|"
        r"\b(?:kiem tra|xem|coi|theo doi) (?:\w+ )?camera (?:\w+ ){0,2}?(?:xem|coi|theo doi) (?:toi|em|minh|tui)\b|\bdoa(?: \w+){0,6} (?:lam nhuc|bo|danh|duoi|to cao|tu mat)\b|"
        r"\b(?:tong tien|doa (?:tung|phat tan|dang|gui)(?: (?:anh|clip|video|len mang|len face|len facebook))?|phat tan (?:anh|clip)|anh nong cua (?:toi|em|minh)|bi theo doi|bi rinh|bi doa)\b|"
        r"\bghep (?:anh|mat|hinh|mat toi|mat em|anh toi|anh em)(?: \w+){0,5} (?:doi truy|khieu dam|nong|sex|nude|clip nong|phim nguoi lon)\b|"
        r"\bdoa (?:se )?(?:bat|cuop|dem|giu|mang) (?:\w+ )?con (?:di|ve|khong cho|luon)?|"
        r"\b(?:khong cho|cam) (?:toi|em|minh|con|chau) (?:tien|dong nao|dong xu|xu nao|mot dong|mot xu|di lam|di hoc|ra khoi nha|ra ngoai|ve nha|ve que|ve tham|gap|"
        r"lien lac|dung dien thoai|an|di dau)\b|\btich thu (?:dien thoai|giay to|tien|dt)\b|\bthu (?:het )?(?:giay to|ho chieu)\b|"
        r"\bdi dau cung phai (?:chup|bao cao|xin phep|gui)\b|\bkiem soat (?:dinh vi|dien thoai|tien|moi)\b|"
        r"\b(?:lay het|giu het|chiem|cam het) (?:tien|luong|tai san|giay to) (?:cua )?(?:toi|em|minh)\b|"
        r"\b(?:chong|vo|ong ay|anh ay|ong|ba|bo|me chong|nha chong)(?: (?:toi|em|minh))? (?:giu|lay|cam|thu) het (?:tien|luong)\b|"
        r"\bgiu (?:giay to|ho chieu|cccd|can cuoc|cmnd) (?:cua )?(?:toi|em|minh|con)\b")),
    ("trẻ em bị bạo hành", NEEDS_SUPPORT, re.compile(
        r"\b(?:con toi|con em|con minh|chau toi|chau em|be|dua be|dua tre|em be|con gai toi|con trai toi|hoc sinh)(?: \w+){0,3} (?:bi|hay bi|thuong bi)(?: \w+){0,2} "
        r"(?:" + _DANH + r"|bao hanh|xam hai|hanh ha|sam so|nhot|bo doi|hiep dam|nguoc dai)\b")),
]
_RULES += HARM_RULES

# Serious injuries lift a report to danger now (alone they may be an accident).
_INJURY = re.compile(
    r"\bchay (?:nhieu |rat nhieu )?mau\b|\bbat tinh\b|\bngat (?:xiu|lim)\b|\bgay (?:tay|chan|xuong|rang|mui)\b|"
    r"\bvo dau\b|\bnguy kich\b|\bthoi thop\b|\bkhong tho duoc\b|\bnghet tho\b|\bcap cuu\b")

# Framing of a question ABOUT violence or the law rather than a report.
_QUESTION_ABOUT = re.compile(
    r"\b(?:la gi|la sao|la nhu the nao|the nao la|nhu the nao la|duoc coi la|co phai la|goi la|"
    r"khai niem|dinh nghia|bi phat|phat bao nhieu|xu phat|muc phat|bi xu ly|xu ly the nao|di tu|"
    r"bao nhieu nam|may nam tu|co bi tu|ngoi tu|toi gi|vi pham (?:luat|phap luat|dieu)|luat|nghi dinh|quy dinh|"
    r"dieu \d+|hanh vi nao|nhung hanh vi|cac hanh vi|cac hinh thuc|hinh thuc nao|bieu hien|dau hieu|"
    r"phong tranh|phong chong|phong ngua|tren (?:tivi|tv|bao)|tin tuc|doc bao|nghe noi|"
    r"thong ke|nguyen nhan|tac hai|hau qua cua|tai sao lai co|vi sao|gia su|lieu co|truong hop nao|bi tu|tu may nam|an tu|"
    r"lam sao de (?:phong|tranh|nhan biet|biet|giup|ho tro)|nhan biet|tim hieu|co sao khong|co duoc khong|co dung khong|duoc phep|co quyen|"
    r"coi la|tinh la|xem la|so may|so nao|so dien thoai|hotline|tong dai|duong day nong|giup ban|giup nguoi|"
    r"bang chung|ho tro nhung gi|duoc ho tro|nha tam lanh|dia chi tin cay|can lam gi|nen lam gi khi|phai lam gi khi|"
    r"cho thay|the nao thi|bao gom|gom nhung|nhung gi|co the bi|co phai|co nen|co ich gi|co can thiet|chung cu|"
    r"thi (?:lam sao|lam gi|bao|tim|nen|phai|co|goi|giup|sao)|giup (?:the nao|kieu gi)|ho tro duoc gi|tim ai|"
    r"la bao luc (?:ha|a|khong|ko|hong|phai khong|chu|nhi)|neu nghi|nghi ngo)\b"
)
# Definition and law questions: strong enough to overrule even danger-level words.
_LEGAL_QUESTION = re.compile(
    r"\b(?:la gi|the nao la|nhu the nao la|duoc coi la|coi la|khai niem|dinh nghia|bi phat|phat bao nhieu|"
    r"la (?:\w+ ){0,2}gi|truy cuu|hinh su|xu phat|muc phat|di tu|bi tu|tu may nam|bao nhieu nam|may nam tu|ngoi tu|toi gi|luat|nghi dinh|dieu \d+|"
    r"hanh vi nao|cac hanh vi|bieu hien|dau hieu|thong ke)\b")
# How to protect or prevent, in general: "làm sao để bảo vệ trẻ em…", "cách phòng tránh xâm hại".
_PREVENTION = re.compile(r"\b(?:lam sao|lam the nao|cach|bien phap|nen lam gi|lam gi)(?: de)? (?:bao ve|phong|tranh|day)\b|"
                         r"\b(?:phong tranh|phong ngua|phong chong)\b")
# Questions about the service itself: the counselors' hours, the line's days.
_SERVICE = re.compile(r"\b(?:tu van vien|tong dai|duong day nong|hotline|van phong|hoi phu nu|trung tam|ben minh|chatbot|admin)\b")
_SERVICE_ASK = re.compile(r"\b(?:may gio|gio nao|gio lam viec|lam viec (?:tu|den|luc|vao|gio)|thu may|cuoi tuan|ngay le|"
                          r"mo cua|dong cua|truc|co lam|lam viec khong|24 ?7)\b")
# Signs the message is about a concrete situation of the writer or someone they know.
_CONCRETE = re.compile(
    r"\b(?:chong|vo|bo|me|ba|cha|nguoi yeu|ban trai|con|chau|chi|em|anh|ban|hang xom)(?: gai| trai)? (?:toi|em|minh|cua toi|cua em|cua minh)\b|"
    r"(?=\b(?:toi|em|minh|con|chau|tao) )(?<!tre )(?<!phu nu va tre )\b(?:toi|em|minh|con|chau|tao) (?:dang |da |vua |lai |hay |thuong |bi )|\b(?:nha|cua) (?:toi|em|minh)\b|"
    r"\b(?:hom qua|toi qua|sang nay|hom nay|luc nay|tuan truoc|thang truoc|moi ngay|suot ngay|nhieu lan|ngay nao cung)\b|"
    r"\bnha chong\b|\b(?:bat|ep|cam|khong cho) (?:toi|em|minh|tui)\b|"
    # Someone named by who hurts them, now: "(chị tôi / hàng xóm) đang bị chồng đánh", not "khi đang bị…".
    r"(?<!khi )(?<!neu )(?<!lo )(?<!nguoi )(?<!ai )(?<!phu nu )(?<!nan nhan )\bdang bi (?:chong|vo|bo|me|cha|bo duong|me ke|me chong|bo chong|"
    r"nguoi yeu|ban trai|chong cu|nguoi yeu cu|ong ay|anh ay|han|thang do|ong chong)\b"
)

# Idioms with hurt words that are never urgent.
_IDIOMS = re.compile(
    r"\b(?:danh gia|danh rang|danh thue|danh bai|danh dau|danh so|danh cau long|danh bong|danh " + TYPING + r"|danh chu|"
    r"danh thuc|danh lua|danh vong|(?<!bi )danh tieng|danh co tuong|danh co vua|danh dan|danh son|danh phan|danh giay|"
    r"danh van|danh trong(?! (?:luc|khi|nha|phong|dem|xe|lop|truong|hem|ngo|bep)\b)|"
    r"danh ca(?! (?:nha|ngay|dem|me|con|vo|chong|toi|em|minh|gia|hai|ba|tuan|thang|lu|nguoi|xom|lang|phong|lop|truong)\b)|danh golf|danh tennis|danh bi a|danh bida|giet thoi gian|chet cuoi|cuoi chet|met muon chet|doi muon chet|"
    r"buon ngu muon chet|nong muon chet|lanh muon chet|so muon chet|buon cuoi|muon chet voi|dep chet|ngon chet|"
    r"chet me|chet mat|chet tiet|dau chet|met chet|ban chet|te chet|khat chet|dam cuoi|dam ma|dam tang|dam dong|dam da|"
    r"giet muoi|giet (?:con )?(?:sau|ga|vit|heo|lon|chuot|muoi|gian|ran)|dam bong|chay mau cam|chet may|chet dien|chet song|chet ngat|"
    r"can chet|dao cun|nhuc dau|bua bo|thu y|chem (?:gia|dep|ac|qua tay)|"
    r"(?:tien|bai|deadline|hoa don|mon|de thi|kiem tra|thoi tiet|troi|nang|kpi)(?: \w+){0,4} giet (?:toi|em|minh)(?: luon| roi| mat)|"
    r"giet (?:\w+ ){0,2}bang (?:nu cuoi|anh mat|anh nhin|giong hat)|(?:cay|hoa|rau|vuon|lan|kieng|bonsai|ca canh)(?: \w+){0,3} chet|"
    r"(?:met|doi|buon ngu|nong|lanh|ngon|dep|vui|cuoi|thich|nho|suong|ngot|cay|dau bung) (?:qua )?muon chet)\b"
)


# Words that only look like "dao" (knife) once folded: "dạo này", "đạo đức".
_FALSE_FRIENDS = re.compile(r"\b(?:dao nay|dao gan day|dao truoc|dao duc|dao ly|dao phat|dao dien|lanh dao|chi dao)\b")

# Reasons a joke marker never sets aside (kêu cứu, an attack now, serious injury); a weapon needs a present cue.
_JOKE_PROOF = frozenset({"kêu cứu", "đang bị tấn công", "người khác đang bị tấn công", "thương tích nặng"})
# Danger-now reasons of the first wave: only a definition or law question sets them aside.
_DANGER_REASONS = frozenset(reason for reason, level, _ in _RULES if level == DANGER_NOW) - {"người khác đang bị tấn công"}
# Reasons "long ago and over" never sets aside: a cry for help, or self-harm (the risk returns).
_PAST_PROOF = frozenset({"kêu cứu", "nguy cơ tự hại"})


@dataclass(frozen=True)
class Assessment:
    """The rules' verdict before and after context, and which cue set it aside."""

    raw: TriageResult                 # what the rules matched, before context
    result: TriageResult              # after context: the verdict that opens a case
    context: Context = field(default_factory=Context)
    demoted: str = ""                 # "", "media", "hypothetical", "modality", "class", "joke", "past", "question"


def _strip_idioms(norm: str) -> str:
    return " ".join(_FALSE_FRIENDS.sub(" ", _IDIOMS.sub(" ", norm)).split())


def _match(norm: str) -> TriageResult:
    """Every rule on the (idiom-stripped) text, before context; injuries lift support to danger."""
    level, reasons = match_rules(_RULES, norm)
    if level == NEEDS_SUPPORT and _INJURY.search(norm):
        level = DANGER_NOW
        reasons.append("thương tích nặng")
    return TriageResult(level, tuple(reasons)) if level != NONE else TriageResult()


def _demotion(raw: TriageResult, ctx: Context, norm: str) -> str:
    """The context cue that sets a rule verdict aside, or "" (the order is the policy: docs/triage-policy.md)."""
    reasons = set(raw.reasons)
    if not ctx.first_person:
        for cue, name in ((ctx.fiction, "media"), (ctx.hypothetical, "hypothetical"), (ctx.modality, "modality")):
            if cue:
                return name
        if ctx.class_of_people and not _CONCRETE.search(norm):
            return "class"
    if ctx.supposed and raw.urgency != DANGER_NOW and not ctx.present:
        return "hypothetical"  # "giả sử em bị sếp quấy rối thì báo ai": the answer, with a line that help is there
    if ctx.joke and not reasons & _JOKE_PROOF and not ("có vũ khí" in reasons and ctx.present):
        return "joke"
    if ctx.past_over and not reasons & _PAST_PROOF:
        return "past"
    if not _CONCRETE.search(norm) and "kêu cứu" not in reasons:
        framing = _LEGAL_QUESTION if raw.urgency == DANGER_NOW else _QUESTION_ABOUT
        if framing.search(norm):
            return "question"
        if not reasons & _DANGER_REASONS and _QUESTION_ABOUT.search(norm):
            return "question_now"  # "how do I help a friend who is being hit": the policy asks (a safety check)
    return ""


def _higher(a: TriageResult, b: TriageResult) -> TriageResult:
    return b if LEVEL_RANK[b.urgency] > LEVEL_RANK[a.urgency] else a


def explain(text: str, full: bool = False) -> Assessment:
    """The Vietnamese and English rules with the context: raw verdict, final verdict, and why they differ.

    The context is read when a rule fired, or always with `full` (the policy reads it for classifier-only guesses).
    """
    raw_norm = normalize(text)
    norm = _strip_idioms(raw_norm)
    english = assess_english(text)
    if not norm:
        return Assessment(english, english)
    raw = _match(norm)
    ctx = read(text, raw_norm) if raw.urgent or full else Context()
    demoted = _demotion(raw, ctx, norm) if raw.urgent else ""
    result = TriageResult() if demoted else raw
    return Assessment(_higher(raw, english), _higher(result, english), ctx, demoted if not english.urgent else "")


def assess(text: str) -> TriageResult:
    """Classify a message with the deterministic rules and the context cues (no classifier)."""
    return explain(text).result


def is_question_about(text: str) -> bool:
    """True when the message asks about violence or the law in general terms."""
    return bool(_QUESTION_ABOUT.search(normalize(text)))


_HARM_WORD = re.compile(r"\b(?:" + _HURT + r"|giet|chet|dao|sung|so hai|nguy hiem|cuu|tu tu)\b")


def mentions_harm(text: str) -> bool:
    """True when the message names any act of harm or danger (a hurt verb, a weapon, death, "cứu")."""
    return bool(_HARM_WORD.search(_strip_idioms(normalize(text))))


def is_concrete(text: str) -> bool:
    """True when the message speaks of a concrete person or moment (my husband, yesterday, I am…)."""
    return bool(_CONCRETE.search(normalize(text)))


def should_demote(text: str, rules: TriageResult | None = None) -> bool:
    """A classifier-only urgent guess to overrule: an idiom or a general question, with no rule firing."""
    norm = normalize(text)
    if (rules if rules is not None else assess(text)).urgent:
        return False
    if _IDIOMS.search(norm):
        return True
    if _CONCRETE.search(norm):
        return False
    # Definition/law, prevention and service questions overrule the classifier; "… thì làm sao?" alone may be the
    # writer's own story.
    return bool(_LEGAL_QUESTION.search(norm) or _PREVENTION.search(norm)
                or (_SERVICE.search(norm) and _SERVICE_ASK.search(norm)))


# Present-moment cues that make a classifier-only report "danger now" rather than "needs support".
_NOW_CUES = re.compile(
    r"\b(?:dang|ngay bay gio|bay gio|luc nay|dem nay|toi nay|tron|tron trong|ngoai cua|dap cua|pha cua|cuu|"
    r"nhanh len|khan cap|so qua|run|mau|dao|sung|xang|khong tho|bat tinh|nuot|uong thuoc)\b")


def combine(rules: TriageResult, intent: str | None, confidence: float,
            threshold: float = 0.5, text: str = "") -> TriageResult:
    """Merge the rule verdict with the classifier's: either can open a case."""
    if rules.urgent:
        return rules
    if intent == URGENT_INTENT and confidence >= threshold:
        reason = f"bộ phân loại: report_violence ({confidence:.2f})"
        if text and _NOW_CUES.search(_strip_idioms(normalize(text))):
            return TriageResult(DANGER_NOW, (reason, "dấu hiệu đang xảy ra"))
        return TriageResult(NEEDS_SUPPORT, (reason,))
    return rules
