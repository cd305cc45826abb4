"""Rules -> matches. Pure: an ``Article`` in, ``Match`` records out.

Query language (parsed with ``luqum``, Lucene syntax; see docs/rules.md):

* ``AND``, ``OR``, ``NOT``, parentheses; two terms side by side mean ``AND``.
* ``"export licence"`` phrase; ``licen*`` prefix wildcard (also inside phrases).
* ``"export chip"~10`` proximity: all words within a window of 10 words, any order.
* ``title:``, ``text:``, ``source:`` restrict a term or group to one field; unrestricted
  terms search title and text.
* A term written without lower-case letters and with at least one upper-case letter
  (``BIS``, ``EAR``, ``H20``, ``SMIC``) matches case-sensitively; all others ignore case.

Text is normalised once per article (Unicode NFKC, dash and quote variants,
``U.S.`` -> ``US``) and indexed by word, so a rule costs a few dictionary look-ups.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser as lucene_parser

from .config import RuleConfig
from .errors import ConfigError
from .types import Article, Match

FIELDS = ("title", "text", "source")
DEFAULT_FIELDS = ("title", "text")
MAX_HIGHLIGHTS = 3
SNIPPET_CHARS = 280


class Matcher(Protocol):
    """What the pipeline needs of a matcher; ``RuleSet`` is the one shipped."""

    def match(self, article: Article) -> list[Match]: ...


# --------------------------------------------------------------------------- text


_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_QUOTES = dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032"), "'") | dict.fromkeys(
    map(ord, "\u201c\u201d\u201e\u201f\u2033"), '"'
)
_DOTTED_ABBREVIATION = re.compile(r"\b((?:[A-Z]\.){2,})(?![A-Za-z])")
_WORD = re.compile(r"\w+")
_QUERY_WORD = re.compile(r"\w+\*?")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")


def normalise(text: str) -> str:
    """NFKC, one kind of dash and quote, and ``U.S.``/``U.K.``/``E.U.`` without dots."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_QUOTES)
    return _DOTTED_ABBREVIATION.sub(lambda m: m.group(1).replace(".", ""), text)


@dataclass(frozen=True)
class FieldText:
    """One field of an article, normalised and indexed by word."""

    text: str
    spans: tuple[tuple[int, int], ...]
    exact: dict[str, list[int]]
    folded: dict[str, list[int]]

    @classmethod
    def index(cls, raw: str) -> FieldText:
        text = normalise(raw)
        spans: list[tuple[int, int]] = []
        exact: dict[str, list[int]] = {}
        folded: dict[str, list[int]] = {}
        for position, found in enumerate(_WORD.finditer(text)):
            word = found.group()
            spans.append(found.span())
            exact.setdefault(word, []).append(position)
            folded.setdefault(word.casefold(), []).append(position)
        return cls(text, tuple(spans), exact, folded)


@dataclass(frozen=True)
class Document:
    fields: dict[str, FieldText]

    @classmethod
    def of(cls, article: Article) -> Document:
        return cls(
            {
                "title": FieldText.index(article.title),
                "text": FieldText.index(article.text),
                "source": FieldText.index(article.source),
            }
        )


# --------------------------------------------------------------------------- query tree


@dataclass(frozen=True)
class Hit:
    field: str
    start: int
    end: int
    """Word positions, ``end`` inclusive."""
    term: str
    weight: float = 1.0


@dataclass(frozen=True)
class Word:
    """One query word: exact or prefix, case-sensitive or not."""

    text: str
    prefix: bool
    case_sensitive: bool

    @classmethod
    def parse(cls, raw: str) -> Word:
        prefix = raw.endswith("*")
        text = raw.rstrip("*")
        sensitive = any(c.isupper() for c in text) and not any(c.islower() for c in text)
        return cls(text if sensitive else text.casefold(), prefix, sensitive)

    def positions(self, field: FieldText) -> list[int]:
        index = field.exact if self.case_sensitive else field.folded
        if not self.prefix:
            return index.get(self.text, [])
        found: list[int] = []
        for word, positions in index.items():
            if word.startswith(self.text):
                found.extend(positions)
        return sorted(found)


class Node(Protocol):
    def hits(self, doc: Document) -> list[Hit] | None:
        """``None`` when the node is not satisfied, else the evidence (maybe empty)."""

    def positive(self) -> bool:
        """Whether the node can only be satisfied by some text being present."""


@dataclass(frozen=True)
class Terms:
    """A single word, an exact phrase (``slop`` None) or a proximity group."""

    words: tuple[Word, ...]
    fields: tuple[str, ...]
    label: str
    slop: int | None = None

    def hits(self, doc: Document) -> list[Hit] | None:
        found: list[Hit] = []
        for name in self.fields:
            field = doc.fields[name]
            if self.slop is None:
                found.extend(self._sequence_hits(name, field))
            else:
                found.extend(self._window_hits(name, field))
        return found or None

    def positive(self) -> bool:
        return True

    def _sequence_hits(self, name: str, field: FieldText) -> Iterable[Hit]:
        first, *rest = self.words
        tails = [set(word.positions(field)) for word in rest]
        weight = 1.0 if not rest else 1.5
        for start in first.positions(field):
            if all(start + offset + 1 in tail for offset, tail in enumerate(tails)):
                yield Hit(name, start, start + len(rest), self.label, weight)

    def _window_hits(self, name: str, field: FieldText) -> Iterable[Hit]:
        """Every occurrence of the first word with all others within ``slop`` words."""
        lists = [word.positions(field) for word in self.words]
        if not all(lists):
            return
        window = max(self.slop or 0, len(self.words) - 1)
        for anchor in lists[0]:
            span = [anchor]
            for positions in lists[1:]:
                near = _nearest(positions, anchor)
                if abs(near - anchor) > window:
                    break
                span.append(near)
            else:
                if max(span) - min(span) <= window:
                    yield Hit(name, min(span), max(span), self.label, 1.5)


def _nearest(positions: Sequence[int], anchor: int) -> int:
    index = bisect.bisect_left(positions, anchor)
    candidates = positions[max(index - 1, 0) : index + 1]
    return min(candidates, key=lambda p: abs(p - anchor))


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]

    def hits(self, doc: Document) -> list[Hit] | None:
        found: list[Hit] = []
        for child in self.children:
            child_hits = child.hits(doc)
            if child_hits is None:
                return None
            found.extend(child_hits)
        return found

    def positive(self) -> bool:
        return any(child.positive() for child in self.children)


@dataclass(frozen=True)
class Any_:
    children: tuple[Node, ...]

    def hits(self, doc: Document) -> list[Hit] | None:
        results = [child.hits(doc) for child in self.children]
        satisfied = [r for r in results if r is not None]
        return [hit for r in satisfied for hit in r] if satisfied else None

    def positive(self) -> bool:
        return all(child.positive() for child in self.children)


@dataclass(frozen=True)
class Not:
    child: Node

    def hits(self, doc: Document) -> list[Hit] | None:
        return [] if self.child.hits(doc) is None else None

    def positive(self) -> bool:
        return False


# --------------------------------------------------------------------------- compiling


class RuleError(ConfigError):
    """A rule that cannot be compiled; the message names file, rule and position."""


class QuerySyntaxError(ValueError):
    pass


def compile_query(query: str) -> Node:
    """Parse a query string into a tree of nodes. Raises ``QuerySyntaxError``."""
    if not query.strip():
        raise QuerySyntaxError("the query is empty")
    try:
        parsed = lucene_parser.parse(query)
    except IllegalCharacterError as exc:
        raise QuerySyntaxError(str(exc).rstrip("!")) from None
    except ParseError as exc:
        message = str(exc).replace("Syntax error in input : ", "").rstrip("!")
        raise QuerySyntaxError(f"syntax error: {message}") from None
    node = _convert(parsed, DEFAULT_FIELDS)
    if not node.positive():
        raise QuerySyntaxError("the query must require at least one term (it has only NOT)")
    return node


def _convert(item: tree.Item, fields: tuple[str, ...]) -> Node:
    if isinstance(item, tree.Word):
        return _terms(item.value, fields)
    if isinstance(item, tree.Phrase):
        return _terms(item.value.strip('"'), fields, quoted=True)
    if isinstance(item, tree.Proximity):
        if not isinstance(item.term, tree.Phrase):
            raise _unsupported(item, 'proximity needs a quoted phrase, e.g. "export chip"~10')
        inner = _terms(item.term.value.strip('"'), fields, quoted=True)
        return Terms(inner.words, fields, f"{inner.label}~{item.degree}", int(item.degree or 1))
    if isinstance(item, tree.SearchField):
        name = item.name.lower()
        if name not in FIELDS:
            raise _unsupported(item, f"unknown field {item.name!r} (known: {', '.join(FIELDS)})")
        return _convert(item.expr, (name,))
    if isinstance(item, tree.Group | tree.FieldGroup | tree.Plus):
        return _convert(item.children[0], fields)
    if isinstance(item, tree.Not | tree.Prohibit):
        return Not(_convert(item.children[0], fields))
    if isinstance(item, tree.AndOperation | tree.UnknownOperation):
        return All(tuple(_convert(child, fields) for child in item.children))
    if isinstance(item, tree.OrOperation):
        return Any_(tuple(_convert(child, fields) for child in item.children))
    if isinstance(item, tree.Fuzzy):
        raise _unsupported(
            item, "fuzzy terms (word~N) are not supported; quote a phrase for proximity"
        )
    raise _unsupported(item, f"{type(item).__name__.lower()} queries are not supported")


def _terms(raw: str, fields: tuple[str, ...], quoted: bool = False) -> Terms:
    words = tuple(Word.parse(w) for w in _QUERY_WORD.findall(normalise(raw)) if w != "*")
    if not words:
        raise QuerySyntaxError(f"{raw!r} contains no word to search for")
    label = f'"{raw}"' if quoted else raw
    return Terms(words, fields, label)


def _unsupported(item: tree.Item, message: str) -> QuerySyntaxError:
    position = getattr(item, "pos", None)
    where = f" at position {position}" if position is not None else ""
    return QuerySyntaxError(f"{message}{where}")


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class CompiledRule:
    name: str
    node: Node
    min_score: float
    tags: tuple[str, ...]
    description: str = ""


class RuleSet:
    """All rules, compiled once; ``match`` is called once per article."""

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = tuple(rules)

    @classmethod
    def from_config(cls, rules: Sequence[RuleConfig], origin: str = "rules.yaml") -> RuleSet:
        compiled = []
        for index, rule in enumerate(rules):
            try:
                node = compile_query(rule.query)
            except QuerySyntaxError as exc:
                raise RuleError(f"{origin}: rules[{index}] ({rule.name}): query: {exc}") from None
            compiled.append(
                CompiledRule(rule.name, node, rule.min_score, tuple(rule.tags), rule.description)
            )
        return cls(compiled)

    def match(self, article: Article) -> list[Match]:
        doc = Document.of(article)
        matches = []
        for rule in self.rules:
            hits = rule.node.hits(doc)
            if not hits:
                continue
            score = score_hits(hits, doc)
            if score < rule.min_score:
                continue
            matches.append(
                Match(
                    rule=rule.name,
                    score=score,
                    terms=tuple(sorted({hit.term for hit in hits})),
                    highlights=highlight(doc, hits),
                    tags=rule.tags,
                )
            )
        return matches


# --------------------------------------------------------------------------- evidence


TITLE_WEIGHT = 3.0
LEDE_WORDS = 120
TERM_CAP = 5.0


def score_hits(hits: Iterable[Hit], doc: Document) -> float:
    """Title hits weigh 3, hits in the lede 1, deeper hits 0.5; phrases and proximity
    x1.5; each distinct term counts at most ``TERM_CAP`` so repetition cannot dominate."""
    per_term: dict[str, float] = {}
    for hit in set(hits):
        if hit.field == "title":
            base = TITLE_WEIGHT
        elif hit.field == "text" and hit.start >= LEDE_WORDS:
            base = 0.5
        else:
            base = 1.0
        per_term[hit.term] = per_term.get(hit.term, 0.0) + base * hit.weight
    return round(sum(min(value, TERM_CAP) for value in per_term.values()), 2)


def highlight(doc: Document, hits: Sequence[Hit]) -> tuple[str, ...]:
    """The title (if hit) and the sentences with the most distinct terms, terms in **bold**."""
    snippets: list[str] = []
    title_hits = [hit for hit in hits if hit.field == "title"]
    if title_hits:
        snippets.append(_mark(doc.fields["title"], 0, len(doc.fields["title"].text), title_hits))
    text = doc.fields["text"]
    text_hits = [hit for hit in hits if hit.field == "text"]
    ranked = []
    for start, end in _sentences(text.text):
        inside = [h for h in text_hits if start <= text.spans[h.start][0] < end]
        if inside:
            ranked.append((-len({h.term for h in inside}), start, end, inside))
    ranked.sort()
    room = MAX_HIGHLIGHTS - len(snippets)
    for _, start, end, inside in sorted(ranked[:room], key=lambda r: r[1]):
        snippets.append(_mark(text, start, end, inside))
    return tuple(snippets)


def _sentences(text: str) -> Iterable[tuple[int, int]]:
    start = 0
    for boundary in _SENTENCE_END.finditer(text):
        yield start, boundary.start()
        start = boundary.end()
    if start < len(text):
        yield start, len(text)


def _mark(field: FieldText, start: int, end: int, hits: Sequence[Hit]) -> str:
    """Copy ``field.text[start:end]`` with each hit wrapped in ``**``, trimmed around the hits."""
    ranges = sorted({(field.spans[h.start][0], field.spans[h.end][1]) for h in hits})
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    lead = tail = ""
    if end - start > SNIPPET_CHARS:
        first = max(start, merged[0][0] - SNIPPET_CHARS // 3)
        last = min(end, first + SNIPPET_CHARS)
        lead, tail = ("…" if first > start else ""), ("…" if last < end else "")
        start, end = first, last
    pieces, cursor = [], start
    for lo, hi in merged:
        if lo < start or hi > end:
            continue
        pieces.append(field.text[cursor:lo])
        pieces.append(f"**{field.text[lo:hi]}**")
        cursor = hi
    pieces.append(field.text[cursor:end])
    return lead + " ".join("".join(pieces).split()) + tail
