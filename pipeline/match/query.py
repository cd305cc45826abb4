"""The query language: Lucene syntax (parsed by ``luqum``) compiled into a small tree.

* ``AND``, ``OR``, ``NOT``, parentheses; two terms side by side mean ``AND``.
* ``"export licence"`` phrase; ``licen*`` prefix wildcard (also inside phrases).
* ``"export chip"~10`` proximity: all words in a window of 10 words, any order
  (``windows.py``).
* ``title:``, ``text:``, ``source:`` restrict a term or group to one field; unrestricted
  terms search title and text. ``entity:nvidia`` is any alias of a gazetteer entity.
* ``entity:listed`` is any party of the export-control knowledge base named in the text,
  ``list:"Entity List"`` one on that list; ``doctype:rule`` tests a primary source's type.
* A term written without lower-case letters and with at least one upper-case letter
  (``BIS``, ``EAR``, ``H20``, ``SMIC``) matches case-sensitively; all others ignore case.

Every node can say what text must occur for it to match, per branch of its ORs
(``alternatives``): the rule set indexes rules by it so that an article only evaluates
the rules it could match. ``lint.py`` warns about queries that compile but probably
mean something else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import NamedTuple, Protocol

from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser as lucene_parser

from .text import FIELDS, SEPARATORS, SYMBOLS, Document, FieldText, normalise
from .windows import smallest_windows

DEFAULT_FIELDS = ("title", "text")
_SYMBOL_SET = frozenset(SYMBOLS)
_QUERY_WORD = re.compile(rf"\w+\*?|[{re.escape(SYMBOLS)}]")

Trigger = str
"""Text that must occur in ``Document.scan()``, with the separator of one field (here the
text's, ``\\0``): ``\\0word\\0`` (a whole word, case-folded), ``\\0pre`` (a prefix) or
``\\0export\\0control\\0`` (a phrase)."""


# --------------------------------------------------------------------------- query tree


class Hit(NamedTuple):
    """A tuple rather than a dataclass: articles create thousands, and tuples are cheap."""

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
        return field.positions(self.text, prefix=self.prefix, case_sensitive=self.case_sensitive)

    def trigger(self, separator: str) -> Trigger:
        return separator + self.pattern(separator)

    def pattern(self, separator: str) -> str:
        """The word as it appears in ``scan``, with the separator that ends a whole word."""
        return self.text.casefold() + ("" if self.prefix else separator)


_SEPARATOR_CHARS = frozenset(SEPARATORS.values())
MAX_ALTERNATIVES = 16


def is_prefix(trigger: Trigger) -> bool:
    return trigger[-1] not in _SEPARATOR_CHARS


def _selectivity(trigger: Trigger) -> tuple[bool, int]:
    return (not is_prefix(trigger), len(trigger))


class Node(Protocol):
    def hits(self, doc: Document) -> list[Hit] | None:
        """``None`` when the node is not satisfied, else the evidence (maybe empty)."""

    def positive(self) -> bool:
        """Whether the node can only be satisfied by some text being present."""

    def triggers(self) -> frozenset[Trigger] | None:
        """Words of which at least one must occur for a match; ``None``: no such set."""

    def required(self) -> list[frozenset[Trigger]]:
        """Groups of words that must all be satisfied (one word of each group occurs)."""

    def alternatives(self) -> list[list[frozenset[Trigger]]]:
        """Ways the node can be satisfied, each a list of groups that must all be (the
        ``required`` of one branch of each OR); at most ``MAX_ALTERNATIVES``, beyond
        which it falls back to ``[required()]``. ``[[]]``: no requirement known."""

    def patterns(self) -> set[Trigger]:
        """Every trigger of every term in the node (what the scan must look for)."""


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
            if doc.present is not None and not doc.present.issuperset(self.needs[name]):
                continue
            field = doc.fields[name]
            if self.slop is None:
                found.extend(self._sequence_hits(name, field))
            else:
                found.extend(self._window_hits(name, field))
        return found or None

    def positive(self) -> bool:
        return True

    @cached_property
    def needs(self) -> dict[str, frozenset[Trigger]]:
        """Field -> what must occur in its scan for a hit there: the phrase (up to its
        first prefix word), else each word."""
        return {name: self._needs(SEPARATORS[name]) for name in self.fields}

    def _needs(self, separator: str) -> frozenset[Trigger]:
        if self.slop is not None or len(self.words) == 1:
            return frozenset(word.trigger(separator) for word in self.words)
        pattern = separator
        for word in self.words:
            pattern += word.pattern(separator)
            if word.prefix:
                break
        return frozenset({pattern})

    def triggers(self) -> frozenset[Trigger]:
        """The most selective group: a whole word (or phrase) before a prefix, then the
        longest."""
        return max(self.required(), key=lambda group: _selectivity(next(iter(group))))

    def required(self) -> list[frozenset[Trigger]]:
        """One group per word (a phrase counts as one), with its trigger in each field."""
        if self.slop is None and len(self.words) > 1:
            return [frozenset().union(*self.needs.values())]
        return [
            frozenset(word.trigger(SEPARATORS[name]) for name in self.fields) for word in self.words
        ]

    def alternatives(self) -> list[list[frozenset[Trigger]]]:
        return [self.required()]

    def patterns(self) -> set[Trigger]:
        return set().union(*self.needs.values())

    def _sequence_hits(self, name: str, field: FieldText) -> Iterable[Hit]:
        first, *rest = self.words
        if not rest:
            return [Hit(name, p, p, self.label) for p in first.positions(field)]
        return self._phrase_hits(name, field, first, rest)

    def _phrase_hits(
        self, name: str, field: FieldText, first: Word, rest: list[Word]
    ) -> Iterable[Hit]:
        tails = [set(word.positions(field)) for word in rest]
        for start in first.positions(field):
            if all(start + offset + 1 in tail for offset, tail in enumerate(tails)):
                yield Hit(name, start, start + len(rest), self.label, 1.5)

    def _window_hits(self, name: str, field: FieldText) -> Iterable[Hit]:
        """Every shortest window that holds all the words, if it spans at most ``slop``."""
        window = max(self.slop or 0, len(self.words) - 1)
        for start, end in smallest_windows(self._distinct_positions(field)):
            if end - start <= window:
                yield Hit(name, start, end, self.label, 1.5)

    def _distinct_positions(self, field: FieldText) -> list[tuple[list[int], int]]:
        """(positions, how many occurrences are needed) for each distinct query word."""
        needed: dict[Word, int] = {}
        for word in self.words:
            needed[word] = needed.get(word, 0) + 1
        return [(word.positions(field), count) for word, count in needed.items()]


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

    def triggers(self) -> frozenset[Trigger] | None:
        """Any one child's triggers will do: take the smallest set."""
        sets = [t for t in (child.triggers() for child in self.children) if t is not None]
        return min(sets, key=len) if sets else None

    def required(self) -> list[frozenset[Trigger]]:
        return [group for child in self.children for group in child.required()]

    def alternatives(self) -> list[list[frozenset[Trigger]]]:
        combined: list[list[frozenset[Trigger]]] = [[]]
        for child in self.children:
            combined = [mine + theirs for mine in combined for theirs in child.alternatives()]
            if len(combined) > MAX_ALTERNATIVES:
                return [self.required()]
        return combined

    def patterns(self) -> set[Trigger]:
        return set().union(*(child.patterns() for child in self.children))


@dataclass(frozen=True)
class Any_:
    children: tuple[Node, ...]

    def hits(self, doc: Document) -> list[Hit] | None:
        results = [child.hits(doc) for child in self.children]
        satisfied = [r for r in results if r is not None]
        return [hit for r in satisfied for hit in r] if satisfied else None

    def positive(self) -> bool:
        return all(child.positive() for child in self.children)

    def triggers(self) -> frozenset[Trigger] | None:
        sets = [child.triggers() for child in self.children]
        if any(t is None for t in sets):
            return None
        return frozenset().union(*sets)  # type: ignore[arg-type]

    def required(self) -> list[frozenset[Trigger]]:
        either = self.triggers()
        return [either] if either is not None else []

    def alternatives(self) -> list[list[frozenset[Trigger]]]:
        either = [branch for child in self.children for branch in child.alternatives()]
        if [] in either:
            return [[]]
        return either if len(either) <= MAX_ALTERNATIVES else [self.required()]

    def patterns(self) -> set[Trigger]:
        return set().union(*(child.patterns() for child in self.children))


@dataclass(frozen=True)
class Not:
    child: Node

    def hits(self, doc: Document) -> list[Hit] | None:
        return [] if self.child.hits(doc) is None else None

    def positive(self) -> bool:
        return False

    def triggers(self) -> None:
        return None

    def required(self) -> list[frozenset[Trigger]]:
        return []

    def alternatives(self) -> list[list[frozenset[Trigger]]]:
        return [[]]

    def patterns(self) -> set[Trigger]:
        return self.child.patterns()


@dataclass(frozen=True)
class Listed:
    """A listed party named in the text (found by the knowledge base), on any list or one."""

    list_name: str | None
    fields: tuple[str, ...]
    label: str

    def hits(self, doc: Document) -> list[Hit] | None:
        found = [
            Hit(hit.field, hit.start, hit.end, self.label)
            for hit in doc.annotations.get("listed", ())
            if hit.field in self.fields and (self.list_name is None or hit.on_list(self.list_name))
        ]
        return found or None

    def positive(self) -> bool:
        return True

    def triggers(self) -> None:
        return None

    def required(self) -> list[frozenset[Trigger]]:
        return []

    def alternatives(self) -> list[list[frozenset[Trigger]]]:
        return [[]]

    def patterns(self) -> set[Trigger]:
        return set()


# --------------------------------------------------------------------------- compiling


class QuerySyntaxError(ValueError):
    pass


Entities = Mapping[str, Sequence[str]]
"""Entity id -> its aliases (the gazetteer)."""


def compile_query(query: str, entities: Entities | None = None) -> Node:
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
    node = _Compiler(entities or {}).convert(parsed, DEFAULT_FIELDS)
    if not node.positive():
        raise QuerySyntaxError("the query must require at least one term (it has only NOT)")
    return node


def compile_aliases(aliases: Sequence[str], fields: tuple[str, ...] = DEFAULT_FIELDS) -> Node:
    """An entity: any of its aliases, each read as a phrase."""
    return Any_(tuple(_terms(alias, fields, quoted=True) for alias in aliases))


@dataclass(frozen=True)
class _Compiler:
    entities: Entities

    def convert(self, item: tree.Item, fields: tuple[str, ...]) -> Node:
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
            return self._field(item, fields)
        if isinstance(item, tree.Group | tree.FieldGroup | tree.Plus):
            return self.convert(item.children[0], fields)
        if isinstance(item, tree.Not | tree.Prohibit):
            return Not(self.convert(item.children[0], fields))
        if isinstance(item, tree.AndOperation | tree.UnknownOperation):
            return All(tuple(self.convert(child, fields) for child in item.children))
        if isinstance(item, tree.OrOperation):
            return Any_(tuple(self.convert(child, fields) for child in item.children))
        if isinstance(item, tree.Fuzzy):
            raise _unsupported(item, "fuzzy terms (word~N) are not supported; quote a phrase")
        raise _unsupported(item, f"{type(item).__name__.lower()} queries are not supported")

    def _field(self, item: tree.SearchField, fields: tuple[str, ...]) -> Node:
        name = item.name.lower()
        if name == "entity":
            return self._entity(item, fields)
        if name == "list":
            return _listed(item, fields)
        if name not in FIELDS:
            known = ", ".join((*FIELDS, "entity", "list"))
            raise _unsupported(item, f"unknown field {item.name!r} (known: {known})")
        return self.convert(item.expr, (name,))

    def _entity(self, item: tree.SearchField, fields: tuple[str, ...]) -> Node:
        expr = item.expr
        if not isinstance(expr, tree.Word | tree.Phrase):
            raise _unsupported(item, "entity: takes one entity id, e.g. entity:nvidia")
        key = expr.value.strip('"').strip().lower()
        if key == "listed" and key not in self.entities:
            return Listed(None, fields, "entity:listed")
        if key not in self.entities:
            raise _unsupported(item, f"unknown entity {key!r} (see entities.yaml)")
        node = compile_aliases(self.entities[key], fields)
        return Any_(tuple(replace_label(child, f"entity:{key}") for child in node.children))


def _listed(item: tree.SearchField, fields: tuple[str, ...]) -> Listed:
    expr = item.expr
    if not isinstance(expr, tree.Word | tree.Phrase):
        raise _unsupported(item, 'list: takes one list name, e.g. list:"Entity List"')
    name = expr.value.strip('"').strip()
    return Listed(name, fields, f'list:"{name}"')


def replace_label(node: Node, label: str) -> Node:
    return Terms(node.words, node.fields, label, node.slop) if isinstance(node, Terms) else node


def _terms(raw: str, fields: tuple[str, ...], quoted: bool = False) -> Terms:
    text = normalise(raw)
    unsearchable = sorted(
        {c for c in text if not c.isalnum() and unicodedata.category(c)[0] == "S"} - _SYMBOL_SET
    )
    if unsearchable:
        shown = " ".join(repr(c) for c in unsearchable)
        raise QuerySyntaxError(
            f"{raw!r} contains {shown}, which cannot be searched for "
            f"(symbols that can: {SYMBOLS[:8]} and currency signs)"
        )
    words = tuple(Word.parse(w) for w in _QUERY_WORD.findall(text) if w != "*")
    if not words:
        raise QuerySyntaxError(f"{raw!r} contains no word to search for")
    label = f'"{raw}"' if quoted else raw
    return Terms(words, fields, label)


def _unsupported(item: tree.Item, message: str) -> QuerySyntaxError:
    position = getattr(item, "pos", None)
    where = f" at position {position}" if position is not None else ""
    return QuerySyntaxError(f"{message}{where}")
