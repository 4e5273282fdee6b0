"""Rules for the harms the first wave under-covered (issue 9), and the hurt-verb vocabulary the rules share.

Guarantees: patterns run on `bot.text.normalize`d text (accents folded, teencode expanded); every pattern is
linear-time (bounded word windows `(?: \\w+){0,n}`, `_Then` instead of `.*`); each rule is
(reason shown to counselors, level, pattern). A harm is "needs support" unless the words say it is happening now.
Folding makes words collide, so each family names its collisions: gả/gà, gay/gãy, cưới/cười, đăng/đang, bỏ/bố,
quất/quạt, đuổi/dưới.
"""

from __future__ import annotations

import re

from bot.triage.levels import DANGER_NOW, NEEDS_SUPPORT
from bot.triage.matchers import _AnyOf, _Gate, _Then, either_order

# "đánh" and its idioms: "đánh giá", "đánh răng", "đánh đàn" are not hitting.
# "đánh máy" (typing) folds like "đánh mấy bé/cái/lần" (hitting a few children, a few blows): typing only
# when no person or count word follows.
TYPING = r"may(?! (?:be|dua|chau|con|tre|em|nguoi|thang|phat|cai|lan|bat|cu|tat|hom|bua|ngay)\b)"  # not "roi": "rồi"
DANH = (r"danh(?! (?:gia|rang|thue|bai|dau|so|cau|bong|" + TYPING + r"|chu|thuc|lua|vong|mat|tien|rieng|du kich|co tuong|"
        r"co vua|co caro|co ca ro|dan|son|phan|giay|van|golf|tennis|bi a|bida|dien|luoi|con quay)\b)"
        r"(?! tieng\b(?<!bi danh tieng))"  # "danh tiếng" is a reputation; "bị đánh, tiếng…" lost its comma
        r"(?! ca\b(?! (?:nha|ngay|dem|me|con|vo|chong|toi|em|minh|gia|hai|ba|tuan|thang|lu|nguoi|xom|lang|phong|lop|truong)\b))"
        r"(?! trong\b(?! (?:luc|khi|nha|phong|dem|xe|lop|truong|hem|ngo|bep)\b))")
# Negations before a hurt verb: "không đánh", "chưa bao giờ đánh".
NEG = (r"(?<!khong )(?<!chua )(?<!chang )(?<!dung )(?<!khong he )(?<!chua tung )(?<!chua bao gio )"
       r"(?<!khong bao gio )(?<!chang bao gio )(?<!chua he )(?<!chua lan nao )")

_HIT_NOW = (DANH + r"|quat(?! may| tran| dien| cay| hop| ban)|vut|dam|tat|dap|bop co|chem|hanh hung|uynh|oanh|nen|"
            r"keo le|giat toc|hanh ha|sam so|xam hai|hiep dam|tra tan")

# Workplace and school: the person with power or the peers, and what they do.
_WORK_PERP = (r"(?:quan ly|truong ca|to truong|truong phong|quan doc|giam doc|sep|ong chu|ba chu|chu xuong|dong nghiep|"
              r"truong nhom|giam sat|chu quan|khach hang|thay|thay giao|co giao|giao vien|chu nhiem|hieu truong|"
              r"ban hoc|ban cung lop|ban nam|cac ban|may ban|ca lop|dan anh|dan chi|bon con trai)")
_GROPE = (r"(?:so (?:nguc|mong|dui|vung kin|soang|mo|vao (?:nguc|mong|dui|nguoi|vung kin))|bop (?:nguc|mong|dui|eo)|om eo|"
          r"om hon|om ap|cham vao (?:nguc|mong|vung kin|nguoi)|vo mong|tut quan|lot quan|lot do|chup len|quay len|"
          r"chup trom|quay trom|ga (?:toi|em|minh)|ga gam|goi y quan he|doi quan he|nhan tin (?:ga|khieu dam|bay ba|sex)|"
          r"gui anh (?:nong|sex|khieu dam|nhay cam|khoa than)|xoa (?:vai|lung|dui|dau|eo)|vuot (?:toc|ma|dui|lung)|"
          r"ep (?:\w+ )?ngoi (?:len )?dui|moi (?:\w+ ){0,2}?(?:di )?(?:du lich|nha nghi|khach san) rieng|doi (?:\w+ )?qua dem)")
_MOCK = r"(?:che gieu|cuoi nhao|bat nat|lam nhuc|treu gheo|choc gheo|ha nhuc)"

# Intimate images: "ảnh nóng", "clip khỏa thân" ("anh nóng tính" is a man with a temper).
_INTIMATE = (r"\b(?:anh|clip|video|hinh|phim)(?: rieng)? (?:nong(?! tinh| nay| gian| ruot)|khoa than|nude|sex|nhay cam|"
             r"rieng tu|tho tuc|khieu dam|quan he|luc tam|dang tam)\b")
_LEAK = (r"\b(?:tung|phat tan|dang(?! ky| ki) len|dang vao|dua len|up len|post|gui cho|chia se|bi lo|lam lo|"
         r"doa|doi tien|doi \d+|chuyen (?:khoan )?(?:\d+|tien)|tong tien|neu khong)\b")

_LGBT = (r"(?:gay(?! tay| chan| xuong| rang| mui| co| lung| suon| canh)|les|lesbian|dong tinh|song tinh|chuyen gioi|lgbt|"
         r"lgbtq|bede|pede|bach hop|nguoi chuyen gioi|trans)")
_FAMILY_HURT = r"\b(?:" + DANH + r"|chui|duoi|nhot|doa|bo doi|hanh ha|dap|tat|tu mat|ruong bo|tu bo|cam cua|khoa)\b"

_CHILD_PERP = (r"(?:con trai|con gai|con dau|con re|con cai|con chau|may dua con|thang con|dua con|chau noi|"
               r"chau ngoai)")
_ELDER_HARM = (r"(?:" + DANH + r"|chui|mang chui|duoi (?:\w+ ){0,2}?(?:ra khoi nha|di|ra duong)|bo doi|bo mac|bo roi|nhot|"
               r"lay het (?:tien|luong|luong huu)|chiem (?:nha|dat|luong huu|tien)|ep (?:\w+ ){0,2}?(?:ky|sang ten|ban|cam)|"
               r"khong cho (?:\w+ )?an|khong nuoi|hanh ha|nguoc dai|xuc pham|bat nat)")

_WORKER = (r"\b(?:giup viec|osin|o sin|xuat khau lao dong|xkld|nha chu|moi gioi|lao dong (?:o|tai|ben) nuoc ngoai|"
           r"di lam (?:o|ben|tai|sang) (?:dai loan|nhat|han|malaysia|a rap|saudi|trung quoc|nuoc ngoai))\b")
_WORKER_HARM = (r"\b(?:giu (?:\w+ )?(?:ho chieu|passport|giay to|cccd|can cuoc)|thu (?:\w+ )?(?:ho chieu|passport)|"
                r"khong (?:tra|tra tien|tra cong|phat|cho) luong|no luong|quyt luong|giu luong|"
                r"khong tra (?:\w+ ){0,2}?(?:tien|cong)|khoa cua|khoa (?:toi|em|minh) (?:trong|lai)|nhot|"
                r"khong cho (?:toi |em |minh )?(?:ra ngoai|ve|ra khoi nha|nghi|lien lac|an|dung dien thoai)|"
                r"" + DANH + r"|bo doi|chui|xam hai|sam so)\b")

_KID = (r"(?:con|be|chau|dua nho|dua be|dua tre|tre|thang nho|con nho|con be|thang be|may dua nho|hai dua nho|ba dua nho|"
        r"tre con|con nit)")
_MINOR_AGE = r"\b(?:moi |chua du |chi moi )?(?:1[0-7]|[89]|muoi (?:mot|hai|ba|bon|lam|nam|sau|bay)|muoi) tuoi\b"
_MARRY = (r"\b(?:ga (?:di|cho|chong|con|em|chau|no|ban)|tao hon|an hoi|dam hoi|dam cuoi|"
          r"(?:bat|ep|buoc|sap|dinh|chuan bi|se|phai|bi) (?:\w+ ){0,2}?(?:lay chong|lay vo|ket hon|cuoi|ga))\b")

_UNGATED: list[tuple[str, str, re.Pattern[str] | _AnyOf | _Then]] = [
    ("người khác đang bị tấn công", DANGER_NOW, re.compile(
        r"(?=\bdang bi )" + NEG + r"\bdang bi (?:\w+ ){1,4}?(?:" + _HIT_NOW + r")\b|"
        r"\bdang (?:\w+ ){0,3}?(?:" + DANH + r"|quat|vut) (?:\w+ ){0,2}?bang (?:that lung|roi|gay|cay|day|ghe|chai|gach|dao)\b|"
        # "đang bị quất thắt lưng": the belt without "bằng"
        r"\bdang (?:\w+ ){0,3}?(?:" + DANH + r"|quat|vut) (?:\w+ ){0,2}?(?:that lung|day dien|day thung|cay roi|roi may)\b")),
    # Screams heard while someone is being hit ("đang bị đánh, tiếng la cứu").
    ("người khác đang bị tấn công", DANGER_NOW, either_order(
        r"\bdang bi (?:\w+ ){0,4}?(?:danh|quat|dap|dam|chem|hanh hung)\b",
        r"\b(?:la cuu|keu cuu|tieng la|gao khoc|khoc thet|la het|tieng khoc|van xin|la that thanh)\b")),
    ("người khác đang bị tấn công", DANGER_NOW, re.compile(
        r"\bdang (?:loi|keo|dap|dam|dot|quat|ruot|duoi|tum toc|nen|xo|da) (?:\w+ ){1,5}?(?:ra (?:\w+ ){0,2}?)?"
        r"(?:danh|dap|dam|quat|nen|dot)\b|"  # dragged off "to beat": no fishing or cards after such a verb
        r"\b(?:keu cuu|la cuu|la that thanh|gao thet)(?: \w+){0,4} (?:tieng )?(?:dap|dam|danh|dap dau|dap vao)\b")),
    ("nguy cơ tự hại", DANGER_NOW, re.compile(
        r"\b(?:tin nhan|thu|loi nhan) (?:\w+ )?(?:tuyet menh|vinh biet)\b|\bthu tuyet menh\b|"
        r"\btu (?:cat|rach|lam dau|dot|danh) (?:tay|minh|ban than|co tay|nguoi)\b")),
    ("quấy rối tình dục nơi làm việc/trường học", NEEDS_SUPPORT, _AnyOf(
        re.compile(r"\b" + _WORK_PERP + r"(?: \w+){0,5} (?:" + _GROPE + "|" + _MOCK + r")\b"),
        re.compile(r"(?=\bbi )" + NEG + r"\bbi (?:\w+ ){0,4}?(?:" + _GROPE + "|" + _MOCK + r")\b"),
        re.compile(r"\b(?:so nguc|bop nguc|bop mong|so mong|so vao vung kin|tut quan (?:toi|em|minh)|"
                   r"ga (?:toi|em|minh) (?:di )?(?:nha nghi|khach san|quan he|ngu))\b"))),
    ("tống tiền/phát tán ảnh riêng tư, deepfake", NEEDS_SUPPORT, _AnyOf(
        either_order(_INTIMATE, _LEAK),
        re.compile(r"\bghep (?:mat|anh|hinh|khuon mat)(?: \w+){0,5} (?:vao )?(?:anh|clip|video|hinh|phim) "
                   r"(?:nong|sex|khoa than|nude|nhay cam|doi truy|khieu dam)\b"),
        either_order(r"\bdeepfake\b", r"\b(?:toi|em|minh|con toi|con em|vo toi)\b"),
        either_order(r"\b(?:khong thi|neu khong|bang khong|ko thi) (?:\w+ ){0,2}?(?:tung|phat tan|dang len|up|post|gui cho)\b",
                     r"\b(?:anh|clip|hinh|video)\b"))),
    ("theo dõi/rình rập, lộ thông tin cá nhân", NEEDS_SUPPORT, re.compile(
        r"\b(?:gan|lap|cai|dat|giau) (?:\w+ ){0,2}?dinh vi\b|"
        r"\b(?:dang(?! ky| ki)|tung|phat tan|chia se|bi lo|bi dang|bi tung|cong khai) (?:\w+ ){0,3}?(?:dia chi|so dien thoai|"
        r"thong tin ca nhan|thong tin|cccd|can cuoc|noi lam viec|cho lam)(?: \w+){0,6} (?:cua )?(?:toi|em|minh)\b|"
        r"\b(?:bam theo|bam duoi|rinh rap|dung rinh|rinh (?:truoc|ngoai|o|ben|nha|toi|em|minh)) ?(?:toi|em|minh|con|chi)?\b|"
        r"\bchan duong (?:toi|em|minh)\b|\bdoxx?\b|\bboc phot dia chi\b|"
        # someone waiting or lurking outside the writer's home or work: "hắn đang đứng đợi trước cửa nhà em"
        r"\b(?:han|ong ta|anh ta|thang do|ga do|nguoi yeu cu|chong cu|ban trai cu|vo cu|ke la|nguoi la)"
        r"(?: \w+){0,2} (?:dang |cu |hay |lai |ngay nao cung )?(?:dung|ngoi|doi|cho|lang vang|quanh quan)(?: \w+){0,2} "
        r"(?:truoc|ngoai|o|duoi) (?:cua|cong|nha|ngo|hem|cho lam|cong ty|truong)(?: \w+){0,2} (?:toi|em|minh|tui)\b")),
    ("bạo lực vì là LGBT", NEEDS_SUPPORT, _AnyOf(
        either_order(_FAMILY_HURT, r"\bvi (?:\w+ ){0,2}?(?:la |bi )?(?:nguoi )?" + _LGBT + r"\b"),
        re.compile(r"\b(?:ep|bat|buoc|dua|doa|dan|cho) (?:\w+ ){0,3}?(?:di )?(?:chua|tri|dieu tri|tri lieu|chuyen doi)"
                   r"(?: \w+){0,2}? (?:benh )?" + _LGBT + r"\b"),
        _Then(r"\b(?:phat hien|biet|nghi|noi|thu nhan|come out|comeout) (?:\w+ ){0,2}?(?:la )?" + _LGBT + r"\b",
              r"\b(?:dua|bat|ep|doa|se dua|dan) (?:\w+ ){0,3}?(?:di )?(?:chua|tri|dieu tri|tri lieu|kham|tam than|thay cung|"
              r"thay phap)|" + _FAMILY_HURT))),
    ("người cao tuổi bị con cháu ngược đãi", NEEDS_SUPPORT, re.compile(
        r"\b" + _CHILD_PERP + r"(?: (?!bi\b)\w+){0,5} " + NEG + _ELDER_HARM + r"\b")),
    ("lao động/giúp việc bị giữ giấy tờ, quỵt lương, giam giữ", NEEDS_SUPPORT, _AnyOf(
        either_order(_WORKER, _WORKER_HARM),
        re.compile(r"\b(?:chu|chu nha|ong chu|ba chu|cong ty|moi gioi|chu xuong|sep|quan ly)(?: \w+){0,3} "
                   r"(?:giu|thu|tich thu|cat giu) (?:\w+ )?(?:ho chieu|passport)\b|"
                   r"\bbi (?:\w+ ){0,2}?(?:giu|thu|tich thu) (?:\w+ )?(?:ho chieu|passport)\b"))),
    ("trẻ em bị bỏ mặc", NEEDS_SUPPORT, re.compile(
        r"\b" + _KID + r"(?: \w+){0,4} bi (?:\w+ ){0,3}?(?:bo doi|bo mac|bo roi|bo mot minh|bo lai mot minh)\b|"
        r"\bbo (?:doi|mac) " + _KID + r"\b|"
        r"\bbo " + _KID + r"(?: \w+){0,5} (?:mot minh|1 minh)(?: \w+){0,3} (?:ca ngay|ca dem|qua dem|nhieu ngay|may ngay|"
        r"ca tuan|khong cho an|khong ai)\b|"
        r"\b" + _KID + r"(?: \w+){0,3} bo ra duong\b")),
    ("tảo hôn", NEEDS_SUPPORT, _AnyOf(
        either_order(_MARRY, _MINOR_AGE),
        re.compile(r"\b(?:sap bi|bi|ep|bat|dinh|chuan bi) (?:\w+ ){0,2}?(?:tao hon|ga di|ga chong|ga cho)\b"))),
]

# For each rule, substrings one of which every match contains: on text without them the rule is skipped (speed only).
_NEEDLES: dict[str, tuple[str, ...]] = {
    "người khác đang bị tấn công": ("dang", "keu cuu", "la cuu", "la that thanh", "gao thet"),
    "nguy cơ tự hại": ("tuyet menh", "vinh biet", "tu cat", "tu rach", "tu lam dau", "tu dot", "tu danh"),
    "quấy rối tình dục nơi làm việc/trường học": (
        "so ", "bop ", "om ", "cham vao", "vo mong", "tut quan", "lot ", "chup ", "quay ", "ga ", "goi y", "doi quan",
        "nhan tin", "gui anh", "che gieu", "cuoi nhao", "bat nat", "lam nhuc", "treu gheo", "choc gheo", "ha nhuc",
        "xoa ", "vuot ", "ngoi", "moi ", "qua dem"),
    "tống tiền/phát tán ảnh riêng tư, deepfake": (
        "nong", "khoa than", "nude", "sex", "nhay cam", "rieng tu", "tho tuc", "khieu dam", "quan he", "tam", "deepfake",
        "khong thi", "neu khong", "bang khong", "ko thi"),
    "theo dõi/rình rập, lộ thông tin cá nhân": (
        "dinh vi", "dia chi", "so dien thoai", "thong tin", "cccd", "can cuoc", "noi lam viec", "cho lam", "bam ",
        "rinh", "chan duong", "dox", "boc phot", "truoc ", "ngoai ", "duoi ", " o "),
    "bạo lực vì là LGBT": ("gay", "les", "dong tinh", "song tinh", "chuyen gioi", "lgbt", "bede", "pede", "bach hop",
                           "trans"),
    "người cao tuổi bị con cháu ngược đãi": ("con ", "chau "),
    "lao động/giúp việc bị giữ giấy tờ, quỵt lương, giam giữ": (
        "ho chieu", "passport", "giup viec", "osin", "o sin", "xuat khau", "xkld", "nha chu", "moi gioi", "lao dong",
        "di lam"),
    "trẻ em bị bỏ mặc": ("bo doi", "bo mac", "bo roi", "bo mot minh", "bo lai", "mot minh", "1 minh", "ra duong"),
    "tảo hôn": ("tuoi", "tao hon", "ga "),
}
HARM_RULES: list[tuple[str, str, _Gate]] = [(reason, level, _Gate(_NEEDLES[reason], rule))
                                            for reason, level, rule in _UNGATED]
