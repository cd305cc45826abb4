"""The query tree: what a compiled rule is (``compiler.py`` builds it from the query text).

Nodes: ``Terms`` (a word, a phrase or a proximity group in some fields), ``All`` (AND),
``Any_`` (OR), ``Not``, and ``Listed`` (a party of the knowledge base). ``hits`` evaluates
a node on one article and returns the evidence. Every node can also say what text must
occur for it to match, per branch of its ORs (``alternatives``): the rule set indexes
rules by it (``index.py``) so that an article only evaluates the rules it could match.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property, partial
from typing import NamedTuple, Protocol

from .text import SEPARATORS, Document, FieldText
from .windows import smallest_windows

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


_hit = partial(tuple.__new__, Hit)
"""``Hit`` from one tuple of all five fields, made in C: ``Hit(...)`` runs a Python-level
``__new__``, a noticeable cost for the word hits an article at many rules makes."""


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
        return field.lookup(self.key)

    @cached_property
    def key(self) -> tuple[str, bool, bool]:
        """What ``FieldText.lookup`` takes."""
        return (self.text, self.prefix, self.case_sensitive)

    def trigger(self, separator: str) -> Trigger:
        return separator + self.pattern(separator)

    def pattern(self, separator: str) -> str:
        """The word as it appears in ``scan``, with the separator that ends a whole word."""
        return self.text.casefold() + ("" if self.prefix else separator)


_NUMBERS: dict[Trigger, int] = {}
_NUMBERING = threading.Lock()


def number(trigger: Trigger) -> int:
    """A number for a trigger, the same for the whole process: what a scan reports and
    what terms and the index check, as small integers rather than strings. Numbers are
    never reused."""
    found = _NUMBERS.get(trigger)
    if found is None:
        with _NUMBERING:
            found = _NUMBERS.setdefault(trigger, len(_NUMBERS))
    return found


_SEPARATOR_CHARS = frozenset(SEPARATORS.values())
MAX_ALTERNATIVES = 16
MAX_BRANCHES = 64
"""An OR of more branches than this is indexed as one way (any branch's trigger)."""


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
        present = doc.present
        for name, needed in self._needed_in_order:
            if present is None or present.issuperset(needed):
                found.extend(self._hits_in(name, doc.fields[name]))
        return found or None

    def positive(self) -> bool:
        return True

    @cached_property
    def needs(self) -> dict[str, frozenset[Trigger]]:
        """Field -> what must occur in its scan for a hit there: the phrase (up to its
        first prefix word), else each word."""
        return {name: self._needs(SEPARATORS[name]) for name in self.fields}

    @cached_property
    def needed(self) -> dict[str, frozenset[int]]:
        """``needs`` as trigger numbers, which is what ``Document.present`` holds."""
        return {name: frozenset(map(number, triggers)) for name, triggers in self.needs.items()}

    @cached_property
    def _needed_in_order(self) -> tuple[tuple[str, frozenset[int]], ...]:
        return tuple(self.needed.items())

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

    def _hits_in(self, name: str, field: FieldText) -> Iterable[Hit]:
        if self.slop is not None:
            return self._window_hits(name, field)
        if len(self.words) == 1:
            label = self.label
            return [_hit((name, p, p, label, 1.0)) for p in self.words[0].positions(field)]
        return self._phrase_hits(name, field)

    def _phrase_hits(self, name: str, field: FieldText) -> Iterable[Hit]:
        first, *rest = self.words
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
        return [(word.positions(field), count) for word, count in self._distinct_words]

    @cached_property
    def _distinct_words(self) -> tuple[tuple[Word, int], ...]:
        counts: dict[Word, int] = {}
        for word in self.words:
            counts[word] = counts.get(word, 0) + 1
        return tuple(counts.items())


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
        found: list[Hit] | None = None
        for child in self.children:
            child_hits = child.hits(doc)
            if child_hits is not None:
                found = [*found, *child_hits] if found is not None else child_hits
        return found

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
        """Each child's ways; past ``MAX_ALTERNATIVES``, one way per child (what that
        child requires), so that a long OR of specific phrases is not indexed as "any of
        their words"; past ``MAX_BRANCHES`` children, a single way."""
        either = [branch for child in self.children for branch in child.alternatives()]
        if [] in either:
            return [[]]
        if len(either) <= MAX_ALTERNATIVES:
            return either
        if len(self.children) <= MAX_BRANCHES:
            return [child.required() for child in self.children]
        return [self.required()]

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
