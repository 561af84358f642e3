"""English lexicon of the anger detector: profanity, insults aimed at people, threats to leave.

Word patterns are matched against a whole word (`fullmatch`) in its normalised reading (lower
case, digits and symbols read as letters: "sh1t" -> "shit"), which is what keeps "Scunthorpe",
"assess", "class", "therapist", "cockpit", "Shitterton" and "hello" out. Only "fuck" may hide
inside a longer word: no ordinary word contains it.

Phrase patterns run over the words of the message joined by single spaces; apostrophes stay
inside words ("i'll", "you're").
"""

from __future__ import annotations


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


PROFANITY = "profanity"
INSULT = "insult"
THREAT = "threat"

WORDS: tuple[tuple[str, float, str], ...] = (
    (
        PROFANITY,
        0.8,
        r"\w*f+u+c+k+\w*|fuk|fuks|fukin|fuking|fukked|fck|fcks|fcking|fckin|fcked|fkn|fking|fkin|fcuk\w*|phuck\w*|phuk\w*",
    ),
    (
        PROFANITY,
        0.8,
        r"(?:bull|horse|dip|chicken|ape|bat|dog|holy|jack)?shit(?:s|ty|tier|tiest|ting|ted|head|heads|hole|holes|show|shows|storm|load|loads|bag|bags|face|e|z|ter|ters)?|shite|shyt",
    ),
    (PROFANITY, 0.8, r"cunt\w*|twat\w*|wank(?:er|ers|ing|s|y|stain)?|motherf\w*"),
    (PROFANITY, 0.6, r"wtf|stfu|gtfo|effing|effin|omfg"),
    (
        PROFANITY,
        0.55,
        r"as{2,}|as{2,}es|arse|arses|bollocks|bollox|piss|pissed|pissing|pisses|pissy",
    ),
    (PROFANITY, 0.55, r"ffs"),
    (PROFANITY, 0.45, r"bugger\w*|as{2,}ed"),
    (PROFANITY, 0.4, r"crap|crappy|crapper|craps|crapola|sucks"),
    (PROFANITY, 0.35, r"damn|damned|damnit|dammit|goddamn\w*|goddam|bloody|fml"),
    (PROFANITY, 0.3, r"hell|freaking|freakin|frickin|fricking"),
    (
        INSULT,
        0.8,
        r"(?:dumb|smart|jack|fat|lard|kiss|dip|half|wise|lazy|big|cheap|tight)as{2,}(?:es)?|as{2,}(?:hole|holes|hat|hats|clown|clowns|wipe|wipes|face|head|heads|licker|kisser|wad)|arsehole\w*",
    ),
    (
        INSULT,
        0.8,
        r"bitch(?:es|y|ing|ed|ass)?|biatch|beyotch|sonofabitch\w*|bastard\w*|cocksucker\w*|dick(?:head|heads|wad|wads|face|bag|bags)",
    ),
    (INSULT, 0.8, r"fag|fags|faggot\w*|nigg(?:er|ers|a|as)|retard|retards|retarded|tard|tards"),
    (INSULT, 0.7, r"slut\w*|whore\w*|tosser\w*|knobhead\w*|bellend\w*|douche\w*|scumbag\w*|scum"),
    (
        INSULT,
        0.6,
        r"idiot|idiots|idiotic|moron|morons|moronic|imbecile\w*|cretin\w*|dipshit\w*|halfwit\w*|nitwit\w*|dimwit\w*|numbskull\w*|numbnuts|prick|pricks|pussy|pussies|cock|cocks",
    ),
    (
        INSULT,
        0.5,
        r"jerk|jerks|jerkoff\w*|loser|losers|liar|liars|buffoon\w*|ignoramus\w*|braindead|spaz|spastic",
    ),
    (INSULT, 0.55, r"degenerate|degenerates|subhuman\w*|lowlife\w*|sleazebag\w*|vermin"),
    (INSULT, 0.5, r"twit|twits|git|gits|bozo|bozos|dick|dicks"),
    (INSULT, 0.4, r"creep|creeps|psycho|psychos|parasite|parasites|hypocrite|hypocrites"),
    (INSULT, 0.4, r"coward|cowards|leeches"),
    (
        INSULT,
        0.45,
        r"stupid|stupidest|pathetic|clown|clowns|crook|crooks|thief|thieves|scammer|scammers|fraudster\w*|swindler\w*",
    ),
    (
        INSULT,
        0.35,
        r"dumb|dumber|dumbest|useless|incompetent|incompetence|incompetents|disgrace|disgraceful|disgusting",
    ),
    (INSULT, 0.3, r"scam|scams|ripoff"),
)

CANONICAL = words(
    """
    fuck fucks fucking fucked fucker fuckers fuckin motherfucker clusterfuck fck shit shits
    shitty bullshit shithead shitshow bitch bitches bastard bastards asshole assholes ass arse
    cunt dick dickhead cock cocksucker pussy twat wanker damn dammit hell crap crappy piss
    pissed idiot idiots moron morons stupid retard retarded dumbass jerk loser losers whore slut
    """
)

SELF_WORDS = frozenset(words("i i'm im me myself am i've"))
ADDRESS_WORDS = frozenset(words("you your you're youre yours u ur ya yourself yourselves"))

_I = (
    r"(?:i|we)(?:'ll|\s+will|\s+am\s+going\s+to|'m\s+going\s+to|\s+are\s+going\s+to|\s+shall"
    r"|'re\s+going\s+to|\s+want\s+to|'d\s+like\s+to)?"
)
_ACCOUNT = (
    r"(?:contract|contracts|subscription|subscriptions|account|accounts|service|services"
    r"|membership|plan|plans|order|orders|policy)"
)
_RIVAL = (
    r"(?:provider|providers|company|carrier|operator|bank|isp|competitor|competitors"
    r"|competition|vendor|supplier|service)"
)
_AGENCY = (
    r"(?:the\s+)?(?:ftc|fcc|bbb|better\s+business\s+bureau|ombudsman|regulator|ofcom|cfpb"
    r"|attorney\s+general|authorities|police|consumer\s+\w+|trading\s+standards|press|media"
    r"|news)"
)

PHRASES: tuple[tuple[str, float, str], ...] = (
    (
        THREAT,
        0.35,
        rf"\b(?:cancel|cancelling|canceling|cancelled|terminate|terminating|close|closing|end|ending)\s+(?:my|our|the|this|your)\s+(?:\w+\s+)?{_ACCOUNT}\b",
    ),
    (
        THREAT,
        0.35,
        rf"\b(?:switch|switching|moving|move|going|go|changing|change)\s+(?:over\s+)?to\s+(?:another|a\s+different|a|your|the|other|some\s+other)\s+(?:\w+\s+)?{_RIVAL}\b",
    ),
    (
        THREAT,
        0.35,
        r"\b(?:taking|take|took)\s+(?:my|our)\s+(?:business|money|custom)\s+elsewhere|\b(?:i'm|im|i\s+am|we're|we\s+are)\s+(?:leaving|done\s+with|finished\s+with|through\s+with)\s+(?:you|your|this)",
    ),
    (
        THREAT,
        0.35,
        rf"\b{_I}\s+(?:\w+\s+)?(?:sue|suing|take\s+(?:you|this|legal\s+action)|report\s+you|file\s+(?:a\s+)?(?:formal\s+)?(?:complaint|chargeback|lawsuit)|(?:contact|call|involve|get)\s+my\s+(?:lawyer|attorney|solicitor))",
    ),
    (
        THREAT,
        0.35,
        rf"\bsee\s+you\s+in\s+court|\bmy\s+(?:lawyer|attorney|solicitor)s?\b|\blegal\s+action\b|\breport(?:ing)?\s+(?:you|this|your\s+company)\s+to\b|\bchargeback|\bcomplain\w*\s+(?:to|with)\s+{_AGENCY}",
    ),
    (
        THREAT,
        0.3,
        r"\b(?:leave|leaving|write|writing|post|posting|give|giving)\s+(?:you\s+)?(?:a\s+)?(?:bad|negative|1|one|terrible|scathing|awful|horrible)\s*(?:star\s+)?review|\btell(?:ing)?\s+(?:everyone|everybody|all\s+my\s+\w+)|\bnever\s+again\b|\bnever\s+(?:buy|use|recommend|order|deal\s+with|come\s+back)\b",
    ),
    (
        THREAT,
        0.55,
        r"\b(?:i'll|i\s+will|gonna|going\s+to)\s+(?:kill|murder|shoot|hurt|find)\s+(?:you|your|him|her|them)\b",
    ),
    (INSULT, 0.7, r"\bgo\s+to\s+hell\b|\bpiss\s+off\b|\bgo\s+(?:\w+\s+)?yoursel(?:f|ves)\b"),
    (
        INSULT,
        0.6,
        r"\bscrew\s+(?:you|this|that|off|u|yourself|yourselves|your)\b|\bkiss\s+my\b|\bup\s+yours\b",
    ),
    (
        INSULT,
        0.45,
        r"\bshut\s+up\b|\bget\s+lost\b|\bbite\s+me\b|\bshame\s+on\s+(?:you|your)\b|\bhow\s+dare\s+you\b|\bthanks\s+for\s+nothing\b|\b(?:what|why|how|who|where)\s+the\s+(?:hell|heck|fuck)\b",
    ),
    (
        INSULT,
        0.45,
        r"\byou\s+(?:people|guys|lot)\s+are\s+(?:a\s+|such\s+a\s+)?(?:\w+\s+)?(?:joke|unbelievable|ridiculous|useless|hopeless|clueless|pathetic|incompetent|disgrace)\b|\b(?:sick|tired)\s+(?:and\s+tired\s+)?of\s+(?:your|you|this)\b",
    ),
    (INSULT, 0.5, r"\bbrain\s+dead\b|\bwaste\s+of\s+(?:space|oxygen|skin)\b"),
    (
        PROFANITY,
        0.3,
        r"\bjesus\s+christ\b|\bfor\s+(?:god's|christ's|gods|christs|pete's)\s+sake\b|\bswear\s+to\s+god\b",
    ),
    (
        INSULT,
        0.35,
        r"\bworst\s+(?:\w+\s+){0,2}?(?:ever|company|service|provider|experience|support)\b|\brip\s+off\b|\bwaste\s+of\s+(?:time|money)\b",
    ),
)

# A request, not a threat: "please cancel my subscription", "how do I close my account".
POLITE = (
    r"\b(?:please|kindly|pls|plz|like\s+to|would\s+like|could\s+you|can\s+you|can\s+i"
    r"|how\s+(?:do|can)\s+i|want\s+to|wish\s+to|need\s+to|may\s+have\s+to)\b"
)
