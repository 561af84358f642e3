"""Reply guard (rule R7: say "I'll help you").

`check(text)` reads an outbound agent message before it is sent and reports the brush-off and
blame phrases in it, in Russian and English ("это не моя компетенция", "обращайтесь в
бухгалтерию", "звоните позже", "not my department", "contact the vendor", "the manager is in a
meeting"), with a better wording. The caller does not send a flagged message unless the agent
overrides; this module only reads text: no database, no settings, a fraction of a millisecond
for a typical reply.

How a reply is read:

1. Only what the agent wrote counts: lines quoted with ">" and the history after an
   attribution ("On … wrote:", "… написал(а):") or an Outlook header are skipped, and so is a
   match inside quotation marks («звоните позже», "call back later"): the agent is quoting.
2. The rest is split into words (ё as е) with their offsets, sentences and clauses; each word is
   rendered as "stem:word", so a pattern can ask for a stem ("компетенц") or an exact form
   ("обратитесь", an imperative, whose stem "обрат" is also that of "я обратился").
3. The phrases of guard_phrases run over it (both languages, whatever the reply's language),
   each starting only at the words it can start with. A match preceded in its clause by a
   negation ("не нужно звонить позже", "no need to call back later"), by the writer as subject
   ("I'll call you back later"), or followed by "не нужен"/"not needed" is not a finding.
4. A reply that takes the matter on (a commitment with a time in one sentence: "я передам …,
   он перезвонит до 16:00", "I'll call you by 3 pm"; or something already done: "refunded")
   is not flagged for sending the customer elsewhere, asking them to call later or naming an
   absent person. Disclaimers, blame, refusals and red tape are flagged whatever follows.

At most MAX_CHARS characters and MAX_TOKENS words are read.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pomogu.contact import guard_phrases as lex
from pomogu.triage.text import detect_language, normalise, stem

__all__ = ["MAX_CHARS", "MAX_TOKENS", "Finding", "GuardResult", "check"]

MAX_CHARS = 10_000
MAX_TOKENS = 1_500
MAX_FINDINGS = 20
MAX_CANDIDATES = 200
# How many words before a match are searched for a negation or the writer as subject.
LOOKBACK = 3
LOOKAHEAD = 3
# How far from a match quotation marks are looked for.
QUOTE_REACH = 300

# The same words as pomogu.triage.text.words, with their offsets.
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+")
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)
# Between two words: what ends a sentence, and what ends a clause.
_SENTENCE_RE = re.compile(r"[!?;…\n—–]|\.\s|\s-\s")
_CLAUSE_RE = re.compile(r"[,(){}\[\]]|:(?!\d)")
# Quotation marks around the agent's quoting of someone: «…», “…”, „…“, "…", '…'.
_QUOTE_RE = re.compile(
    r"«[^»\n]{1,300}»|“[^”\n]{1,300}”|„[^“”\n]{1,300}[“”]|\"[^\"\n]{1,300}\""
    r"|(?<!\w)'(?=\S)[^\n]{1,300}?(?<=\S)'(?!\w)|(?<!\w)‘[^’\n]{1,300}’(?!\w)"
)
# The start of quoted history in a reply.
_ATTRIBUTION_RE = re.compile(
    r"(?:wrote|написал|написала|написали|написал\(а\)|пишет|schrieb|a écrit)\s*:\s*$",
    re.IGNORECASE,
)
_SEPARATOR_RE = re.compile(
    r"\s*-{2,}\s*(?:original message|forwarded message|исходное сообщение|пересылаемое сообщение"
    r"|ursprüngliche nachricht)\s*-{2,}\s*",
    re.IGNORECASE,
)
_FROM_RE = re.compile(r"\s*\*?(?:from|от)\*?\s?:\s*\S", re.IGNORECASE)
_SENT_RE = re.compile(r"\s*\*?(?:sent|date|отправлено|дата)\*?\s?:", re.IGNORECASE)
_GMAIL_RU_RE = re.compile(r"\d{1,2}:\d{2}.*<[^>\s]+@[^>\s]+>\s*:\s*$")


@dataclass(frozen=True)
class Finding:
    """One brush-off phrase in a reply: which, and the exact slice of the text."""

    phrase: str  # a stable id: "not_my_competence", "call_back_later", "custom:…"
    category: str  # guard_phrases.CATEGORIES
    text: str  # text[start:end] of the checked reply
    start: int
    end: int
    language: str  # the language of the phrase: "ru" or "en"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GuardResult:
    """What the guard found in a reply, and a better wording when it found something."""

    flagged: bool
    findings: list[Finding] = field(default_factory=list)
    language: str = "en"
    suggestion: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "flagged": self.flagged,
            "language": self.language,
            "findings": [f.to_dict() for f in self.findings],
            "suggestion": self.suggestion,
        }


@dataclass(frozen=True, slots=True)
class _Token:
    word: str
    stem: str
    start: int
    end: int
    sentence: int
    filler: bool
    comma: bool  # a clause ends after this word


def check(text: str, *, extra_phrases: Sequence[str] = ()) -> GuardResult:
    """Check one outbound reply. `extra_phrases` are an installation's own phrases (category
    "custom"), matched by stems like the built-in ones."""
    text = text[:MAX_CHARS]
    spans = _own_spans(text)
    tokens = _tokens(text, spans)
    language = _language(text, spans)
    if not tokens:
        return GuardResult(flagged=False, findings=[], language=language)
    line, positions = _render(tokens)

    builtin = lex.builtin()
    found = _findings(builtin.phrases, tokens, line, positions, text)
    if any(yields or f.category == lex.BLAME_THIRD_PARTY for f, yields in found):
        said = _ownership(builtin, tokens, line, positions)
        owned = _owned(said)
        found = [
            (f, yields)
            for f, yields in found
            if not (yields and owned)
            and not (
                f.category == lex.BLAME_THIRD_PARTY
                and _sentence_at(tokens, f.start) in said["accepts"]
            )
        ]
    candidates = [f for f, _yields in found]
    phrases = tuple(p for p in extra_phrases if isinstance(p, str) and p.strip())
    if phrases:
        custom = _findings(lex.custom(phrases), tokens, line, positions, text)
        candidates += [f for f, _yields in custom]

    findings = _non_overlapping(candidates)[:MAX_FINDINGS]
    if not findings:
        return GuardResult(flagged=False, findings=[], language=language)
    return GuardResult(
        flagged=True,
        findings=findings,
        language=language,
        suggestion=SUGGESTIONS[language][findings[0].category],
    )


# ---------------- Reading the reply ----------------


def _own_spans(text: str) -> list[tuple[int, int]]:
    """The parts of the text the agent wrote: no ">" lines, nothing from quoted history on."""
    spans: list[tuple[int, int]] = []
    lines = text.splitlines(keepends=True)
    offset = 0
    for index, line in enumerate(lines):
        start = offset
        offset += len(line)
        stripped = line.strip()
        if not stripped:
            continue
        if _history_starts(lines, index):
            break
        if stripped.startswith(">"):
            continue
        if spans and spans[-1][1] == start:
            spans[-1] = (spans[-1][0], offset)
        else:
            spans.append((start, offset))
    return spans


def _history_starts(lines: list[str], index: int) -> bool:
    line = lines[index].strip()
    if len(line) > 400:
        return False
    if _SEPARATOR_RE.fullmatch(line):
        return True
    if _FROM_RE.match(line) and any(_SENT_RE.match(x) for x in lines[index + 1 : index + 6]):
        return True
    joined = line
    if index + 1 < len(lines) and not line.endswith(":"):
        joined = f"{line} {lines[index + 1].strip()}"  # an attribution wrapped over two lines
    if not joined.endswith(":"):
        return False
    if _ATTRIBUTION_RE.search(joined[-40:]):
        # "On … wrote:", "… написал(а):" with a date or an address, or a short line of its own
        # ("Иван Петров написал(а):")
        return (
            joined.lower().startswith(("on ", "в ", "le ", "am "))
            or bool(re.search(r"\d|@", joined))
            or (_ATTRIBUTION_RE.search(line) is not None and len(line.split()) <= 8)
        )
    return bool(_GMAIL_RU_RE.search(joined))


def _tokens(text: str, spans: list[tuple[int, int]]) -> list[_Token]:
    """The words of the agent's parts, with their sentence and whether a clause ends after
    them; fillers marked."""
    tokens: list[_Token] = []
    sentence = 0
    previous_end = -1
    previous_word = ""
    for span_start, span_end in spans:
        new_span = True
        for match in _WORD_RE.finditer(text, span_start, span_end):
            if len(tokens) >= MAX_TOKENS:
                return tokens
            start, end = match.span()
            comma = False
            if tokens:
                gap = text[previous_end:start]
                if new_span or _SENTENCE_RE.search(gap):
                    sentence += 1
                elif _CLAUSE_RE.search(gap):
                    comma = True
                if comma:
                    tokens[-1] = replace(tokens[-1], comma=True)
            new_span = False
            word = normalise(match.group()).replace("’", "'")
            filler = word in lex.FILLERS
            if tokens and (previous_word, word) in lex.FILLER_PAIRS:
                filler = True
                if tokens[-1].sentence == sentence:
                    tokens[-1] = replace(tokens[-1], filler=True)
            tokens.append(_Token(word, stem(word), start, end, sentence, filler, False))
            previous_end = end
            previous_word = word
    return tokens


def _render(tokens: list[_Token]) -> tuple[str, list[int]]:
    """The line the patterns run over: "# stem:word stem:word, ·stem:word # …", and where each
    token starts in it."""
    parts = ["# "]
    position = 2
    positions: list[int] = []
    sentence = tokens[0].sentence
    for token in tokens:
        if token.sentence != sentence:
            parts.append("# ")
            position += 2
            sentence = token.sentence
        positions.append(position)
        rendered = (
            f"{'·' if token.filler else ''}{token.stem}:{token.word}{',' if token.comma else ''} "
        )
        parts.append(rendered)
        position += len(rendered)
    parts.append("# ")
    return "".join(parts), positions


def _language(text: str, spans: list[tuple[int, int]]) -> str:
    """ "ru" or "en": the alphabet when the text has one, else the language identifier."""
    sample = "".join(text[a:b] for a, b in spans)[:2000] or text[:2000]
    cyrillic = len(_CYRILLIC_RE.findall(sample))
    latin = len(_LATIN_RE.findall(sample))
    if cyrillic and latin:
        detected = detect_language(sample)
        if detected in ("ru", "en"):
            return detected
    return "ru" if cyrillic > latin else "en"


# ---------------- Matching ----------------


def _scan(
    lexicon: lex.Lexicon, tokens: list[_Token], line: str, positions: list[int]
) -> list[tuple[lex.Compiled, int, int]]:
    """Every match of the lexicon: (pattern, first token, last token). Each token is tried only
    with the patterns that can start with it."""
    out: list[tuple[lex.Compiled, int, int]] = []
    for i, token in enumerate(tokens):
        for n in lexicon.starting_at(token.word, token.stem):
            pattern = lexicon.patterns[n]
            if pattern.anchored and not _clause_start(tokens, i):
                continue
            match = pattern.regex.match(line, positions[i])
            if match is not None:
                out.append((pattern, i, bisect.bisect_right(positions, match.end() - 2) - 1))
    return out


def _findings(
    lexicon: lex.Lexicon, tokens: list[_Token], line: str, positions: list[int], text: str
) -> list[tuple[Finding, bool]]:
    """The findings, each with whether a reply that takes ownership redeems it."""
    found: list[tuple[Finding, bool]] = []
    for pattern, i, j in _scan(lexicon, tokens, line, positions):
        if len(found) >= MAX_CANDIDATES:
            break
        start, end = tokens[i].start, tokens[j].end
        if _turned_around(pattern, tokens, i, j) or _quoted(text, start, end):
            continue
        finding = Finding(
            phrase=pattern.phrase,
            category=pattern.category,
            text=text[start:end],
            start=start,
            end=end,
            language=pattern.language,
        )
        found.append((finding, pattern.yields))
    return found


def _clause_start(tokens: list[_Token], i: int) -> bool:
    """Nothing but fillers between the start of the sentence or clause and word i."""
    j = i - 1
    while j >= 0 and tokens[j].sentence == tokens[i].sentence:
        if tokens[j].comma:
            return True
        if not tokens[j].filler:
            return False
        j -= 1
    return True


def _turned_around(pattern: lex.Compiled, tokens: list[_Token], i: int, j: int) -> bool:
    """A negation or the writer just before the match, or "not needed" just after it."""
    sentence = tokens[i].sentence
    seen = 0
    k = i - 1
    while k >= 0 and seen < LOOKBACK and tokens[k].sentence == sentence and not tokens[k].comma:
        word = tokens[k].word
        if word in lex.NEGATORS:
            return True
        if not tokens[k].filler:
            if seen == 0 and pattern.category == lex.CALL_LATER and word in lex.SELF_SUBJECTS:
                return True
            seen += 1
        k -= 1
    after = [t.word for t in tokens[j + 1 : j + 1 + LOOKAHEAD] if t.sentence == sentence]
    return any(word in lex.NOT_NEEDED for word in after) or "unnecessary" in after


def _quoted(text: str, start: int, end: int) -> bool:
    """Is text[start:end] inside quotation marks on its line? (The agent is quoting.)"""
    low = max(text.rfind("\n", 0, start) + 1, start - QUOTE_REACH)
    high = text.find("\n", end)
    high = min(len(text) if high < 0 else high, end + QUOTE_REACH)
    window = text[low:high]
    if not any(mark in window for mark in "«“„\"'‘"):
        return False
    return any(
        a <= start - low and end - low <= b
        for a, b in (m.span() for m in _QUOTE_RE.finditer(window))
    )


def _ownership(
    builtin: lex.Builtin, tokens: list[_Token], line: str, positions: list[int]
) -> dict[str, set[int]]:
    """For "commitment", "time", "done" and "accepts": the sentences where they are said."""
    said: dict[str, set[int]] = {
        "commitment": set(),
        "time": set(),
        "done": set(),
        "accepts": set(),
    }
    for pattern, i, _j in _scan(builtin.ownership, tokens, line, positions):
        said[pattern.category].add(tokens[i].sentence)
    return said


def _owned(said: dict[str, set[int]]) -> bool:
    """Does the reply take the matter on: a commitment and a time in one sentence, or
    something already done?"""
    return bool(said["done"]) or bool(said["commitment"] & said["time"])


def _sentence_at(tokens: list[_Token], offset: int) -> int:
    starts = [t.start for t in tokens]
    return tokens[bisect.bisect_left(starts, offset)].sentence


def _non_overlapping(findings: list[Finding]) -> list[Finding]:
    """The longest of overlapping findings, in text order."""
    kept: list[Finding] = []
    # the longest first; of two on the same words, the blame rather than the redirection
    for finding in sorted(
        findings, key=lambda f: (f.start - f.end, f.category in lex.YIELDING, f.start)
    ):
        if all(finding.end <= k.start or finding.start >= k.end for k in kept):
            kept.append(finding)
    return sorted(kept, key=lambda f: f.start)


# ---------------- Better wordings ----------------

SUGGESTIONS: dict[str, dict[str, str]] = {
    "ru": {
        lex.NOT_MY_JOB: (
            "Я помогу: сам передам ваш вопрос коллеге, который им занимается, и прослежу, чтобы "
            "вам ответили до …. Номер вашего обращения — …."
        ),
        lex.GO_ELSEWHERE: (
            "Я сам передам ваш вопрос в … и прослежу, чтобы вам ответили до …; обращаться "
            "куда-то ещё вам не нужно. Номер вашего обращения — …."
        ),
        lex.CALL_LATER: (
            "Перезванивать не нужно: я сам свяжусь с вами до … и расскажу, что удалось сделать. "
            "Номер вашего обращения — …."
        ),
        lex.ABSENT_PERSON: (
            "Пока … нет на месте, вашим вопросом занимаюсь я: передам все подробности, и вам "
            "ответят до …. Если к этому времени ответа не будет, я позвоню вам сам."
        ),
        lex.BLAME_THIRD_PARTY: (
            "За результат перед вами отвечаем мы, даже если работу выполняет подрядчик или "
            "служба доставки. Я сам свяжусь с ними и сообщу вам решение до …."
        ),
        lex.BLAME_CUSTOMER: (
            "Давайте разберёмся вместе: я организую проверку и до … сообщу, что мы можем "
            "сделать — по гарантии или на самых удобных для вас условиях."
        ),
        lex.REFUSAL: (
            "Я понимаю, как это для вас важно. Вот что я могу сделать уже сейчас: …. "
            "О следующем шаге сообщу до …."
        ),
        lex.RED_TAPE: (
            "Давайте я всё упрощу: чек, коробка и лишние бумаги не нужны, покупку я найду сам. "
            "Оформлю … и сообщу вам результат до …."
        ),
        lex.CUSTOM: (
            "Я помогу: беру ваш вопрос на себя и отвечу до …. Номер вашего обращения — …."
        ),
    },
    "en": {
        lex.NOT_MY_JOB: (
            "I'll help: I'm passing your question to the colleague who handles it myself and "
            "will make sure you hear back by …. Your case number is …."
        ),
        lex.GO_ELSEWHERE: (
            "I'll pass this to our … team myself and make sure you hear back by …; there's no "
            "need to contact anyone else. Your case number is …."
        ),
        lex.CALL_LATER: (
            "No need to call back: I'll get in touch with you by … and tell you where things "
            "stand. Your case number is …."
        ),
        lex.ABSENT_PERSON: (
            "While … is away, I'm looking after your request: I'll pass on the details and you'll "
            "hear back by …. If you haven't by then, I'll call you myself."
        ),
        lex.BLAME_THIRD_PARTY: (
            "Getting this right is our job, even when a contractor or courier does the work. "
            "I'll take it up with them myself and let you know the outcome by …."
        ),
        lex.BLAME_CUSTOMER: (
            "Let's get to the bottom of this together: I'll arrange a check and let you know by "
            "… what we can do, under warranty or on the best terms we can offer."
        ),
        lex.REFUSAL: (
            "I understand how important this is. Here's what I can do right now: …. I'll update "
            "you on the next step by …."
        ),
        lex.RED_TAPE: (
            "Let me make this simple: no receipt, box or forms needed — I'll find your purchase "
            "myself, arrange … and confirm by …."
        ),
        lex.CUSTOM: (
            "I'll help: I'm taking this on myself and will get back to you by …. Your case "
            "number is …."
        ),
    },
}
