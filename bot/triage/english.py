"""Deterministic urgent-message rules for messages written in English.

Guarantees: `assess_english` uses the same levels and the same Vietnamese reason strings as the Vietnamese rules
(counselors read them); it returns NONE for Vietnamese text (its patterns are English phrases that unaccented
Vietnamese does not contain: tests/test_english.py runs it over data/nlu/*.yml), for negated reports ("he never hit
me"), for general questions, statistics, news and fiction with no concrete person, for abuse that is over, for
accidents and for jokes (weapons, self-harm and an attack on someone else now excepted). Every pattern is a regular
expression without nested unbounded repetition (gaps are bounded), so it runs in linear time.
"""

from __future__ import annotations

import re

from bot.triage.levels import DANGER_NOW, NEEDS_SUPPORT, NONE, TriageResult
from bot.triage.matchers import match_rules

_APOSTROPHE = re.compile(r"['’`´]")
_NON_WORD = re.compile(r"[^a-z0-9]+")

# Who can be hurt or who hurts: the writer or a concrete person.
_ME = r"(?:me|us|my (?:kids?|children|son|daughter|baby|mom|mum|mother|sister|friend))"
_WHO = (r"(?:he|she|they|my (?:husband|wife|partner|boyfriend|girlfriend|ex|ex husband|ex wife|father|dad|mother|mom|"
        r"mum|stepfather|stepdad|stepmother|brother|uncle|son|father in law|mother in law|boss|manager|employer|"
        r"landlord|teacher|coach)|the (?:boss|manager|employer|owner)|someone|a man|this man|this guy|her husband|"
        r"his wife)")
_NEG = r"(?<!never )(?<!not )(?<!doesnt )(?<!didnt )(?<!dont )(?<!hasnt )(?<!havent )(?<!wouldnt )(?<!wont )" \
       r"(?<!isnt )(?<!wasnt )(?<!would never )"
# Who is hurt, when the writer speaks of someone else; workplaces and schools.
_VICTIM = (r"(?:wife|husband|partner|girlfriend|boyfriend|child|children|kids?|son|daughter|mother|mom|mum|father|dad|"
           r"sister|brother|friend|neighbou?r|grandmother|grandfather|grandma|grandpa|maid|helper|worker|niece|nephew)")
_WORK = (r"(?:boss|manager|supervisor|shift manager|team leader|foreman|coworker|co worker|colleague|employer|teacher|"
         r"lecturer|professor|tutor|coach|classmate|classmates|principal|landlord)")
# A few words between who and what they do, none of them a negation ("he comes home drunk and beats me").
_GAP = r"(?: (?!(?:never|not|dont|doesnt|didnt|hasnt|havent|wont|wouldnt|isnt|wasnt|no|nobody)\b)\w+)"
_HURT_NOW = (r"(?:hitting|beating|attacking|choking|strangling|raping|kicking|punching|hurting|stabbing|assaulting|"
             r"slapping|dragging|burning)")
_HURT_PAST = (r"(?:hit|hits|beat|beats|slapped|slaps|punched|punches|kicked|kicks|choked|chokes|strangled|raped|rapes|"
              r"abused|abuses|hurt|hurts|pushed|shoved|assaulted|assaults|molested|molests|attacked|attacks|burned|"
              r"stabbed|threw (?:something|things|a \w+) at|beat up|beats up)")

_RULES: list[tuple[str, str, re.Pattern[str]]] = [
    # --- danger now -----------------------------------------------------------
    ("kêu cứu", DANGER_NOW, re.compile(
        r"\bhelp me\b(?! (?:understand|find|know|learn|with (?:my|the|a|this) (?:homework|essay|question|project)|"
        r"to (?:find|know|understand|learn|write)|write|translate))|\b(?:please|pls|someone|somebody) help\b|"
        r"\bsave me\b|\bsos\b|\bhelp us\b|^help$|\bcall (?:the )?police for me\b")),
    ("có vũ khí", DANGER_NOW, re.compile(
        r"\b(?:has|have|got|holding|holds|pulled|grabbed|waving|with|took|takes|picked up|brought) (?:a |an |his |her |the )?"
        r"(?:knife|knives|gun|pistol|weapon|machete|axe|hammer|acid|gasoline|petrol)\b|"
        r"\b(?:knife|gun) (?:to|at|against) my\b|\bpointing a (?:gun|knife)\b|\bpour(?:ed|ing)? (?:gasoline|petrol|acid)\b")),
    ("đe dọa giết/gây thương tích", DANGER_NOW, re.compile(
        r"\bthreat(?:en|ens|ened|ening)? (?:to )?(?:kill|murder|stab|burn|shoot|hurt) " + _ME + r"\b|"
        r"\b(?:will|gonna|going to|wants to|want to|tried to|trying to|try to|is going to) (?:kill|murder|stab|shoot|strangle) "
        r"(?:me|us|my)\b(?! if| when| lol| haha)|\b(?:said|says|told me) (?:he|she|they) (?:would|will|d) kill\b")),
    ("đang bị tấn công", DANGER_NOW, re.compile(
        r"\b(?:is|are|s|re|keeps|keep) " + _HURT_NOW + r" " + _ME + r"\b(?! (?:in (?:the|a) (?:game|movie|film|dream)))|"
        r"\b(?:im|i am) being (?:hit|beaten|attacked|raped|choked|hurt|stabbed|kidnapped)\b|"
        r"\b(?:breaking|broke|kicking) (?:down )?(?:the|my) door\b|\bbreaking in\b|\boutside my (?:door|house|room)\b")),
    ("người khác đang bị tấn công", DANGER_NOW, re.compile(
        r"\b(?:is|are|s|re) " + _HURT_NOW + r" (?:his|her|their|a|the|my) " + _VICTIM + r"\b(?! at )" + _GAP + r"{0,4} "
        r"(?:right now|now|at the moment|as we speak)\b")),
    ("nguy cơ tự hại", DANGER_NOW, re.compile(
        r"\b(?:kill|killing|hurt|hurting|cut|cutting|harm|harming) (?:myself|herself|himself|themselves)\b|"
        r"\bwant(?:s)? to die\b|\bend (?:my|her|his) life\b|"
        r"\bsuicid(?:e|al)\b|\b(?:dont|do not) want to (?:live|be alive)\b|\bno reason to live\b|\boverdose\b|"
        r"\btake all (?:my|the|her|his) pills\b|\bjump (?:off|from) (?:the|a) (?:bridge|roof|building)\b")),
    ("bị giam giữ/mua bán người", DANGER_NOW, re.compile(
        r"\block(?:s|ed)? (?:me|us|my \w+) (?:in|up|inside)\b|\b(?:im|i am|we are|were) (?:being )?(?:locked|trapped|held) "
        r"(?:in|inside|captive|against|prisoner)\b|\b(?:wont|doesnt|does not|will not|dont) let (?:me|us) (?:leave|go out|go home|out)\b|"
        r"\bkidnapp?ed\b|\btraffick(?:ed|ing|ers?)\b|\bsold me\b|\bcant (?:escape|get out)\b|\bheld (?:me )?captive\b")),
    # --- needs support ----------------------------------------------------------
    ("bị bạo lực/xâm hại", NEEDS_SUPPORT, re.compile(
        r"\b" + _WHO + _GAP + r"{0,6} " + _NEG + _HURT_PAST + r" " + _ME + r"\b|"
        r"\b(?:abus(?:es|ed|ing)|beat(?:s|ing)?|hit(?:s|ting)?|hurt(?:s|ing)?|rap(?:es|ed|ing)|chok(?:es|ed|ing)|"
        r"starv(?:es|ed|ing)) (?:his|her|their|my|our) " + _VICTIM + r"\b(?! at )|"
        r"\bmy " + _VICTIM + r" (?:is|was|gets|got|has been|keeps getting) (?:being )?(?:abused|beaten|hit|raped|"
        r"assaulted|battered|mistreated|beaten up)\b|"
        r"\b" + _WHO + _GAP + r"{0,4} " + _NEG + r"(?:insults|humiliates|degrades|threatens) (?:\w+ )?me\b|"
        r"\b" + _WHO + r" (?:\w+ ){0,2}(?:screams|yells|shouts|swears) at me (?:every day|every night|all the time|"
        r"constantly|always|daily)\b|"
        r"\b(?:im|i am|i was|i have been|ive been|we are|we were) (?:being )?(?:physically )?(?:abused|beaten|hit|raped|"
        r"assaulted|battered|mistreated|molested)\b|"
        r"\bmy (?:husband|wife|partner|boyfriend|girlfriend|father|dad|mother|mom|son|family|in laws) (?:is|are) "
        r"(?:abusive|violent)\b|\b(?:domestic violence|abuse|abusive relationship) (?:at home|from my|by my)\b|"
        r"\bi (?:live|am) (?:with|in) (?:an )?abusive\b")),
    ("xâm hại tình dục", NEEDS_SUPPORT, re.compile(
        r"\b(?:forced|forces|forcing|made|makes|pressured|pressures) (?:me|us|my daughter|my son) (?:to )?(?:have sex|sleep with|"
        r"into sex|do sexual|touch him|watch porn)\b|\b" + _WHO + r" (?:(?:again|always|keeps|kept|still) ){0,2}"
        r"(?:touched|touches|touching|groped|gropes|groping|fondled|molested|raped|exposed himself to) (?:me|my)\b|"
        r"\bsexual(?:ly)? (?:harass(?:ed|es|ing)?|assault(?:ed)?|abus(?:ed|ing)) (?:me|my)\b|"
        r"\b(?:im|i am|i was|ive been|i have been) (?:being )?sexually (?:assaulted|abused|harassed)\b|"
        r"\b(?:he|she|they|my \w+) (?:keeps |kept )?(?:sexually )?harass(?:es|ed|ing)? me\b")),
    ("quấy rối tình dục nơi làm việc/trường học", NEEDS_SUPPORT, re.compile(
        r"\b(?:my|the|our) " + _WORK + r" (?:(?:always|keeps|kept|still|often) ){0,2}(?:touch(?:es|ed|ing)?|"
        r"grop(?:es|ed|ing)|harass(?:es|ed|ing)?|sends? me (?:sexual|dirty|nude)|ask(?:s|ed)? me (?:for sex|to sleep))\b")),
    ("cưỡng ép kết hôn", NEEDS_SUPPORT, re.compile(
        r"\b(?:forc(?:e|es|ed|ing)|mak(?:e|es|ing)|made|pressur(?:e|es|ed|ing)) (?:me|my daughter|my sister|her) "
        r"(?:to )?(?:marry|get married|into (?:a )?marriage)\b|\b(?:im|i am|she is|my daughter is) being forced to marry\b|"
        r"\bmarry me off\b|\bforced marriage\b(?= (?:for me|to me))")),
    ("tảo hôn", NEEDS_SUPPORT, re.compile(
        r"\b(?:1[0-7]|[5-9]|thirteen|fourteen|fifteen|sixteen|seventeen) (?:year old|years old|yo)\b" + _GAP + r"{0,6} "
        r"(?:is being married|being married off|to marry|to get married|getting married|married off|marry off)\b|"
        r"\bmarr(?:y|ying|ied) off (?:my|her|his|their) (?:1[0-7]|[5-9]) year old\b|"
        r"\b(?:child|underage) (?:marriage|bride)\b" + _GAP + r"{0,4} (?:my|our|her|next|this)\b")),
    ("bạo lực vì là LGBT", NEEDS_SUPPORT, re.compile(
        r"\b(?:because|since|for being|for) (?:i am|im|i m|being|he is|she is) (?:gay|lesbian|bi|bisexual|trans|"
        r"transgender|queer|lgbt\w*)\b|\bconversion (?:therapy|treatment|camp)\b|\bcure (?:me|my) (?:of being )?gay\b")),
    ("người cao tuổi bị con cháu ngược đãi", NEEDS_SUPPORT, re.compile(
        r"\bmy (?:son|daughter|grandson|granddaughter|grandchildren|children|kids|son in law|daughter in law)"
        + _GAP + r"{0,6} " + _NEG + _HURT_PAST + r" me\b|\b(?:takes|took|keeps|kept) (?:all )?my pension\b|"
        r"\bmy (?:son|daughter|children|kids)" + _GAP + r"{0,4} (?:starve|starves|starved|abandoned|neglect|neglects) me\b")),
    ("lao động/giúp việc bị giữ giấy tờ, quỵt lương, giam giữ", NEEDS_SUPPORT, re.compile(
        r"\b(?:my|the) (?:employer|boss|agency|broker|owner|madam|family i work for|people i work for)" + _GAP + r"{0,4} "
        r"(?:took|takes|keeps|kept|holds|has|confiscated) (?:away )?my (?:passport|id|id card|documents|papers)\b|"
        r"\b(?:employer|boss|agency|owner|family i work for|people i work for)" + _GAP + r"{0,4} "
        r"(?:doesnt|does not|didnt|did not|wont|will not|never|hasnt|has not|refuses to) (?:\w+ )?pay (?:me|my wages|my salary)\b|"
        r"\b(?:not|never) (?:been )?paid (?:me|my wages|my salary|for (?:months|weeks))\b|\bunpaid (?:wages|salary)\b")),
    ("bị kiểm soát/đe dọa", NEEDS_SUPPORT, re.compile(
        r"\b(?:took|takes|take|keeps|kept|keep|holds|held|holding|has|confiscated|taken) (?:away )?(?:all )?my "
        r"(?:passport|id|id card|documents|papers|phone|salary|wages|money)\b|\b(?:controls|controlled|controlling) "
        r"(?:all )?(?:my|the|our) (?:money|finances|phone|life)\b|\bdoesnt (?:pay|let) me\b|"
        r"\b(?:wont|doesnt|does not|will not) let me (?:work|see|talk|call|go|have)\b")),
    ("tống tiền/phát tán ảnh riêng tư, deepfake", NEEDS_SUPPORT, re.compile(
        r"\b(?:blackmail|blackmails|blackmailed|blackmailing|extort(?:s|ed|ing)?) (?:me|us|my)\b|\bsextortion\b|"
        r"\bthreat(?:en|ens|ened|ening) (?:me )?(?:to )?(?:post|share|send|leak|publish|release|spread) (?:my|our|the|"
        r"nude|naked|private|intimate|photos|pictures|videos?)\b|\b(?:will|gonna|going to|would|threaten\w* to) "
        r"(?:share|post|send|leak|publish|spread|upload) (?:my|our) (?:nude |naked |private |intimate |sex )?"
        r"(?:photos?|pictures?|pics|videos?|images?|nudes|clips?)\b|\bdeep ?fakes? (?:of|with) me\b|\bfake (?:nude|naked|sex) "
        r"(?:photos?|pictures?|videos?) of me\b|\b(?:im|i am|i was|ive been) (?:being )?blackmailed\b")),
    ("theo dõi/rình rập, lộ thông tin cá nhân", NEEDS_SUPPORT, re.compile(
        r"\b(?:stalking|stalks|stalked|following|tracking) me\b|\btrack(?:s|ed|ing)? my (?:phone|location)\b|"
        r"\b(?:im|i am|i was|ive been|i have been) (?:being )?(?:stalked|followed everywhere|tracked)\b|"
        r"\b(?:posted|shared|published|leaked) my (?:home )?(?:address|phone number|number)\b")),
    ("trẻ em bị bạo hành", NEEDS_SUPPORT, re.compile(
        r"\b(?:my|the|a|our|her|his|neighbou?rs?) (?:child|son|daughter|kid|baby|boy|girl|niece|nephew|grandchild)"
        r"(?: \w+){0,2} (?:is|was|are|gets|got) (?:being )?(?:beaten|hit|abused|whipped|molested|starved|locked)\b|"
        r"\b(?:beating|whipping|hitting|abusing) (?:the|a|their|his|her|my) (?:child|kid|son|daughter|boy|girl|baby)\b")),
    ("trẻ em bị bỏ mặc", NEEDS_SUPPORT, re.compile(
        r"\b(?:leave|leaves|left|leaving) (?:their|his|her|the|my|a) (?:kids?|children|baby|babies|son|daughter|toddler)"
        r" (?:\w+ ){0,2}(?:alone|locked|unattended)\b" + _GAP + r"{0,4} (?:without food|for days|all day|all night|hungry)\b|"
        r"\b(?:dont|doesnt|never|do not|does not) feed (?:their|his|her|the|my) (?:kids?|children|baby|son|daughter)\b")),
]

_INJURY = re.compile(r"\b(?:bleeding|unconscious|passed out|cant breathe|broken (?:arm|rib|ribs|nose|leg|bone|jaw)|"
                     r"hospital|ambulance)\b")
_NOW = re.compile(r"\b(?:right now|tonight|at the moment|at this moment|as we speak|currently|come quickly|hurry)\b")
# A question about violence or the law in general, statistics, news, fiction or a hypothesis.
_GENERAL = re.compile(
    r"\b(?:what is|what are|whats|what counts as|definition|define|meaning of|is it (?:illegal|a crime|legal)|"
    r"what does the law|which law|the law say|penalty|punish(?:ed|ment)|statistics?|survey|percent|how many|"
    r"news|article|report(?:ed)? that|movie|film|novel|book|story|series|tv show|episode|character|game|"
    r"hypothetical(?:ly)?|what if|suppose|imagine|if someone|if a (?:man|woman|person|husband|wife)|essay|homework|"
    r"research|how (?:can|do|should) (?:i|we|parents|people|one) (?:protect|prevent|recognise|recognize|support)|"
    r"signs of|in general|people who|women who|victims of)\b")
# The writer or someone they know, here and now.
_CONCRETE = re.compile(
    r"\b(?:my (?:husband|wife|partner|boyfriend|girlfriend|ex|father|dad|mother|mom|mum|son|daughter|child|kids|"
    r"boss|manager|sister|brother|friend|neighbour|neighbor)|(?:im|i am|i was|ive been) being|right now|tonight|"
    r"last night|yesterday|today|this morning|again)\b")
# Abuse that is over ("ten years ago", "my late father", "after the divorce") unless it still goes on.
_OVER = re.compile(r"\b(?:\w+ (?:years|decades) ago|when i was (?:a )?(?:kid|child|little|young|teenager)|"
                   r"used to|my late|passed away|died|long ago|years back|divorced)\b")
_ONGOING = re.compile(r"\b(?:still|again|now|anymore|keeps|every day|every night|right now|tonight|today)\b")
_JOKE = re.compile(r"\b(?:lol|lmao|lmfao|rofl|haha\w*|hehe\w*|jk|just kidding|joking|kidding)\b|[\U0001F602\U0001F923]")
_ACCIDENT = re.compile(r"\b(?:by accident|accidentally|by mistake|while playing|didnt mean to)\b")
_ALWAYS_SERIOUS = ("nguy cơ tự hại", "có vũ khí", "người khác đang bị tấn công")


def english_text(text: str) -> str:
    """Lower-case ASCII words of a message, apostrophes dropped ("I'm" → "im"), for the English rules."""
    return " ".join(_NON_WORD.sub(" ", _APOSTROPHE.sub("", (text or "").lower()[:5000])).split())


def assess_english(text: str) -> TriageResult:
    """Classify an English message with the deterministic English rules."""
    norm = english_text(text)
    if not norm:
        return TriageResult()
    level, reasons = match_rules(_RULES, norm)
    if level == NONE:
        return TriageResult()
    serious = any(r in _ALWAYS_SERIOUS for r in reasons)
    if (_JOKE.search(norm) or _JOKE.search(text or "") or _ACCIDENT.search(norm)) and not serious:
        return TriageResult()
    if _OVER.search(norm) and not _ONGOING.search(norm) and "kêu cứu" not in reasons:
        return TriageResult()
    if _GENERAL.search(norm) and not _CONCRETE.search(norm) and "kêu cứu" not in reasons:
        return TriageResult()
    if level == NEEDS_SUPPORT and (_INJURY.search(norm) or _NOW.search(norm)):
        level = DANGER_NOW
        reasons.append("thương tích nặng" if _INJURY.search(norm) else "dấu hiệu đang xảy ra")
    return TriageResult(level, tuple(reasons))
