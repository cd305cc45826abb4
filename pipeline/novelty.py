"""What a later article of a story adds: the sentences that carry facts not already known.

Pure: texts in, new-fact sentences out. A *fact* is a normalised token of one of these
kinds, so that a rewrite which says the same thing in other words adds nothing:

- ``eccn``: export control classification numbers (``3A090``, ``4A090.a``);
- ``pct``: percentages (``15%``, ``15 percent``, ``15 per cent`` are one fact);
- ``num``: amounts and other numbers, scaled (``$1.5 billion`` = ``1.5bn`` = ``1,500 million``);
- ``year`` and ``date``: years, and month + day (``Aug. 12`` = ``12 August``);
- ``product``: names mixing letters and digits (``H20``, ``MI308``, ``B30A``);
- ``entity``: capitalised words that are names (``Nvidia``, ``SMIC``, ``Malaysia``),
  a few spellings folded together (``U.S.`` = ``US`` = ``United States``).

A syndicated copy or a rewrite repeats the known facts and brings none; an article is an
update when it brings at least one hard fact (anything but an entity) or two new entities.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11,
    "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
SCALES = {
    "thousand": 1e3, "k": 1e3, "million": 1e6, "mn": 1e6, "m": 1e6, "mln": 1e6,
    "billion": 1e9, "bn": 1e9, "b": 1e9, "bln": 1e9, "trillion": 1e12, "tn": 1e12,
}  # fmt: skip
ALIASES = {
    "u.s.": "us", "u.s": "us", "usa": "us", "america": "us", "american": "us",
    "united states": "us", "u.k.": "uk", "britain": "uk", "british": "uk",
    "united kingdom": "uk", "chinese": "china", "beijing": "china", "washington": "us",
    "japanese": "japan", "tokyo": "japan", "dutch": "netherlands", "korean": "korea",
    "taiwanese": "taiwan", "malaysian": "malaysia", "european": "eu", "e.u.": "eu",
}  # fmt: skip
NOT_NAMES = frozenset(
    """a an the this that these those it its he she they we i you his her their our
    and but or so yet for nor if as at by in on of to from with without after before under
    over about into while when where which who what why how there here then than also
    however meanwhile moreover still even only just both either neither each every all
    some many most more much such no not one two three four five six seven eight nine ten
    monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow
    mr mrs ms dr chief ceo cfo president minister secretary spokesperson spokesman
    spokeswoman officials official analysts analyst people sources source reuters
    according update updated breaking exclusive new said says""".split()  # noqa: SIM905
)
_DATELINE = re.compile(r"^[A-Z][A-Z .,'-]{1,40}(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?\s*"
                       r"(?:\([^)]{1,40}\))?\s*[-–—]+\s*")  # fmt: skip
_WIRE_PREFIX = re.compile(
    r"^(?:UPDATE|REFILE|CORRECTED|EXCLUSIVE|BREAKING|WRAPUP|RPT)(?:\s*\d+)?\s*[-:–—]\s*"
)
"""Agency headline tags (``UPDATE 1-``): a new version number is not a new fact."""
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]*\s+(?=[\"'“‘(]*[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:U\.S|U\.K|E\.U|Mr|Mrs|Ms|Dr|Inc|Corp|Co|Ltd|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|"
    r"Sept|Oct|Nov|Dec|No|vs|St)\.)$"
)
_ECCN = re.compile(r"\b\d[A-E]\d{3}(?:\.[a-z0-9]+)*\b")
_PRODUCT = re.compile(r"\b(?=[A-Za-z-]*\d)(?=[\d-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]\b")
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th)$", re.IGNORECASE)
_NUMBER = r"\d(?:[\d,]*\d)?(?:\.\d+)?"
_SCALE = r"(?:thousand|million|billion|trillion|mln|bln|mn|bn|tn|[kmb])\b"
_PERCENT = re.compile(rf"({_NUMBER})\s*(?:%|percent\b|per cent\b|pct\b|percentage points?\b)")
_MONEY_OR_NUMBER = re.compile(rf"(?:US\$|[$€£¥])?\s?({_NUMBER})(?:\s*({_SCALE}))?", re.IGNORECASE)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_MONTH_DAY = re.compile(rf"\b({_MONTH})\s+(\d{{1,2}})\b", re.IGNORECASE)
_DAY_MONTH = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH})(?=\W|$)", re.IGNORECASE)
_MULTIWORD_ALIAS = re.compile(
    "|".join(re.escape(name) for name in ALIASES if " " in name), re.IGNORECASE
)
_MONTH_ALONE = re.compile(
    r"\b(?:January|February|March|April|June|July|August|September|October|November|"
    r"December|(?<=\bin )May)\b"
)
_NAME_WORDS = re.compile(
    r"\b(?:[A-Z]\.){2,}|\b[A-Z][A-Za-z&'’.-]*[A-Za-z]\b(?:\s+[A-Z][A-Za-z&'’.-]*[A-Za-z]\b)?"
)


@dataclass(frozen=True)
class NewSentence:
    """A sentence of the new article and the facts in it that were not known."""

    text: str
    facts: tuple[str, ...]
    """The new facts as they are written in ``text`` (for marking them)."""
    kinds: tuple[str, ...]
    """The kind of each new fact (``pct``, ``num``, ``entity`` …), same order."""


@dataclass(frozen=True)
class Novelty:
    sentences: tuple[NewSentence, ...]

    @property
    def hard_facts(self) -> int:
        return sum(kind != "entity" for s in self.sentences for kind in s.kinds)

    @property
    def new_entities(self) -> int:
        return sum(kind == "entity" for s in self.sentences for kind in s.kinds)

    @property
    def is_update(self) -> bool:
        """Worth telling people: one new hard fact, or two new names."""
        return self.hard_facts >= 1 or self.new_entities >= 2

    @property
    def new_fact_sentences(self) -> tuple[str, ...]:
        return tuple(s.text for s in self.sentences)


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph-structured text; abbreviations such as ``U.S.`` and
    ``Aug.`` do not end a sentence, and a leading news-agency dateline is dropped."""
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n", text or ""):
        paragraph = _DATELINE.sub("", " ".join(paragraph.split()), count=1)
        paragraph = _WIRE_PREFIX.sub("", paragraph, count=1)
        pieces = _SENTENCE_END.split(paragraph) if paragraph else []
        for piece in pieces:
            if sentences and _ABBREVIATION.search(sentences[-1]) and _continues(sentences[-1]):
                sentences[-1] = f"{sentences[-1]} {piece}"
            else:
                sentences.append(piece)
    return [s.strip() for s in sentences if s.strip()]


def _continues(previous: str) -> bool:
    """``U.S.`` or ``Inc.`` often ends a sentence; month abbreviations never do."""
    last = previous.rsplit(" ", 1)[-1].rstrip(".").lower()
    return last in MONTHS or last in {
        "u.s",
        "u.k",
        "e.u",
        "mr",
        "mrs",
        "ms",
        "dr",
        "no",
        "vs",
        "st",
    }


def facts_of(sentence: str, context_names: frozenset[str] = frozenset()) -> dict[str, str]:
    """Normalised fact → its words in ``sentence``. ``context_names``: lower-cased words
    seen capitalised inside a sentence somewhere, so a name that opens a sentence counts."""
    found: dict[str, str] = {}
    rest = _MULTIWORD_ALIAS.sub(lambda m: ALIASES[m.group(0).lower()].upper(), sentence)
    for pattern, normalise in _EXTRACTORS:
        rest = _take(pattern, normalise, rest, found)
    for match in _NAME_WORDS.finditer(rest):
        for key, surface in _names(match, rest, context_names):
            found.setdefault(key, surface)
    return found


def _take(pattern: re.Pattern[str], normalise, text: str, found: dict[str, str]) -> str:  # type: ignore[no-untyped-def]
    """Record every match of ``pattern`` and blank it out, so that a number inside an
    ECCN, a product or a date is not counted again as a number."""

    def record(match: re.Match[str]) -> str:
        key = normalise(match)
        if key is None:
            return match.group(0)
        found.setdefault(key, match.group(0).strip())
        return " " * len(match.group(0))

    return pattern.sub(record, text)


def _eccn(match: re.Match[str]) -> str:
    return "eccn:" + match.group(0).upper()


def _product(match: re.Match[str]) -> str | None:
    word = match.group(0)
    if _ORDINAL.match(word) or re.fullmatch(r"\d+(?:s|m|b|bn|mn|k|tn|pc)", word, re.I):
        return None
    parts = [part for part in word.split("-") if any(c.isdigit() for c in part)]
    return "product:" + "".join(parts).upper()


def _percent(match: re.Match[str]) -> str:
    return f"pct:{_value(match.group(1)):g}"


def _month_day(match: re.Match[str]) -> str | None:
    month, day = MONTHS.get(match.group(1).lower().rstrip(".")), int(match.group(2))
    return f"date:{month}-{day}" if month and 1 <= day <= 31 else None


def _day_month(match: re.Match[str]) -> str | None:
    day, month = int(match.group(1)), MONTHS.get(match.group(2).lower().rstrip("."))
    return f"date:{month}-{day}" if month and 1 <= day <= 31 else None


def _month(match: re.Match[str]) -> str:
    return f"month:{MONTHS[match.group(0).lower()]}"


def _number(match: re.Match[str]) -> str | None:
    digits, scale = match.group(1), (match.group(2) or "").lower()
    value = _value(digits) * SCALES.get(scale, 1.0)
    if not scale and "," not in digits and "." not in digits and 1900 <= value <= 2099:
        return f"year:{int(value)}"
    return f"num:{value:g}"


def _value(digits: str) -> float:
    return float(digits.replace(",", ""))


_EXTRACTORS = (
    (_ECCN, _eccn),
    (_PERCENT, _percent),
    (_MONTH_DAY, _month_day),
    (_DAY_MONTH, _day_month),
    (_MONTH_ALONE, _month),
    (_PRODUCT, _product),
    (_MONEY_OR_NUMBER, _number),
)


def _names(
    match: re.Match[str], sentence: str, context_names: frozenset[str]
) -> Iterable[tuple[str, str]]:
    phrase = match.group(0)
    alias = ALIASES.get(phrase.lower())
    if alias:
        yield f"entity:{alias}", phrase
        return
    opens_sentence = not sentence[: match.start()].strip(" \"'“‘(")
    for index, word in enumerate(phrase.split()):
        key = re.sub(r"['’]s$", "", word).strip(".'’").lower()
        key = ALIASES.get(key, ALIASES.get(key + ".", key))
        if not key or key in NOT_NAMES or key in MONTHS:
            continue
        bare = re.sub(r"['’]s$", "", word)
        first = opens_sentence and index == 0
        if first and not (bare.isupper() and len(bare) > 1) and key not in context_names:
            continue
        yield f"entity:{key}", word


def names_in_context(texts: Iterable[str]) -> frozenset[str]:
    """Lower-cased words written capitalised after the first word of some sentence."""
    names: set[str] = set()
    for text in texts:
        for sentence in split_sentences(text):
            for match in _NAME_WORDS.finditer(sentence):
                if sentence[: match.start()].strip(" \"'“‘("):
                    names.update(
                        re.sub(r"['’]s$", "", w).strip(".'’").lower()
                        for w in match.group(0).split()
                    )
    return frozenset(names)


def known_facts(texts: Sequence[str], context_names: frozenset[str]) -> set[str]:
    known: set[str] = set()
    for text in texts:
        for sentence in split_sentences(text):
            known.update(facts_of(sentence, context_names))
    return known


def novelty(known_texts: Sequence[str], new_text: str) -> Novelty:
    """The sentences of ``new_text`` that carry facts absent from every known text."""
    context = names_in_context([*known_texts, new_text])
    known = known_facts(known_texts, context)
    sentences: list[NewSentence] = []
    for sentence in split_sentences(new_text):
        fresh = {
            key: surface for key, surface in facts_of(sentence, context).items() if key not in known
        }
        if fresh:
            known.update(fresh)
            sentences.append(
                NewSentence(
                    sentence,
                    tuple(fresh.values()),
                    tuple(key.partition(":")[0] for key in fresh),
                )
            )
    return Novelty(tuple(sentences))


def article_text(title: str, text: str | None) -> str:
    """The text novelty is judged on: the headline is a sentence too."""
    return f"{title}\n{text or ''}" if title else text or ""
