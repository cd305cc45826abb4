"""Rules and entities -> matches. Pure: an ``Article`` in, matches and entities out.

``RuleSet`` compiles every rule once (``query.py``): each knows, per branch of its ORs,
which words, prefixes and phrases must occur for it to match. One Aho-Corasick automaton
over all of them scans an article's folded words once (``text.py``); ``TriggerIndex``
keeps only the rules with a complete branch, and only those are evaluated: the cost
follows the article and the rules it could match, not the number of rules. Scores and
highlights come from ``evidence.py``. See docs/rules.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Protocol

import ahocorasick

from ..config import EntityConfig, RuleConfig
from ..errors import ConfigError
from ..types import Article, Match
from .evidence import highlight, score_hits
from .lint import query_warnings
from .query import (
    Node,
    QuerySyntaxError,
    Trigger,
    compile_aliases,
    compile_query,
    is_prefix,
)
from .text import Document

__all__ = [
    "Analysis",
    "Document",
    "Matcher",
    "QuerySyntaxError",
    "RuleError",
    "RuleSet",
    "compile_query",
    "rule_warnings",
]


class RuleError(ConfigError):
    """A rule that cannot be compiled; the message names file, rule and position."""


@dataclass(frozen=True)
class Analysis:
    matches: tuple[Match, ...]
    entities: tuple[str, ...]
    """Ids of the gazetteer entities found in the article."""


class Annotator(Protocol):
    """Finds what words alone cannot (the knowledge base: listed parties, ECCNs)."""

    def annotate(self, doc: Document) -> None:
        """Put findings in ``doc.annotations`` before the rules are evaluated."""

    def enrich(self, doc: Document, analysis: Analysis) -> Analysis:
        """Add the findings to the matches and entities."""


class Matcher(Protocol):
    """What the pipeline needs of a matcher; ``RuleSet`` is the one shipped."""

    def analyse(self, article: Article) -> Analysis: ...


def rule_warnings(rules: Sequence[RuleConfig], origin: str = "rules.yaml") -> list[str]:
    """Doubtful spots in rules that compile, each naming file, rule and position."""
    return [
        f"{origin}: rules[{index}] ({rule.name}): query: {warning}"
        for index, rule in enumerate(rules)
        for warning in query_warnings(rule.query)
    ]


@dataclass(frozen=True)
class CompiledRule:
    name: str
    node: Node
    min_score: float = 0.0
    tags: tuple[str, ...] = ()
    description: str = ""


class Scanner:
    """One Aho-Corasick automaton over every trigger of every rule and entity: a single
    pass over an article's ``Document.scan()`` says which of them occur."""

    def __init__(self, patterns: set[Trigger]) -> None:
        self.automaton = ahocorasick.Automaton()
        for pattern in patterns:
            self.automaton.add_word(pattern, pattern)
        if patterns:
            self.automaton.make_automaton()
        self.empty = not patterns

    def present(self, text: str) -> frozenset[Trigger]:
        if self.empty:
            return frozenset()
        return frozenset(map(_second, self.automaton.iter(text)))


class TriggerIndex:
    """Finds the items (rules or entities) an article could match, without evaluating all.

    An item can be satisfied in one or more ways (``Node.alternatives``: one per branch of
    its ORs), each needing some groups of triggers. The item is indexed under the most
    selective group of each way; an item found that way is kept only if, for one of its
    ways, every group has a trigger among those the scan found. Both steps are set
    look-ups, so the cost per article depends on the triggers that occur and the few
    items they point to.
    """

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.keyed: dict[Trigger, list[int]] = defaultdict(list)
        """Items that need nothing more than the key's group: found by the key alone."""
        self.checked: dict[Trigger, list[tuple[int, Group]]] = defaultdict(list)
        """(item, group) for items that need one more group: kept if it occurs."""
        self.checked_all: dict[Trigger, list[tuple[int, list[Group]]]] = defaultdict(list)
        """(item, groups) for items that need several more groups: kept if all occur."""
        self.checked_ways: dict[Trigger, list[tuple[int, list[Group], list[list[Group]]]]] = (
            defaultdict(list)
        )
        """(item, groups, ways) for the rest: kept if all groups and one way occur."""
        self.always: list[int] = []
        for number, node in enumerate(nodes):
            ways = node.alternatives()
            if not all(ways):
                self.always.append(number)
                continue
            for key, needed, ways_left in _keys(ways):
                self._add(number, key, needed, ways_left)
        # frozensets, so that intersecting with an article's triggers walks the smaller set
        self._keys = [
            frozenset(table)
            for table in (self.keyed, self.checked, self.checked_all, self.checked_ways)
        ]

    def _add(self, number: int, key: Group, needed: list[Group], ways: list[list[Group]]) -> None:
        for trigger in key:
            if ways:
                self.checked_ways[trigger].append((number, needed, ways))
            elif len(needed) > 1:
                self.checked_all[trigger].append((number, needed))
            elif needed:
                self.checked[trigger].append((number, needed[0]))
            else:
                self.keyed[trigger].append(number)

    def candidates(self, present: frozenset[Trigger]) -> list[int]:
        found = set(self.always)
        absent = present.isdisjoint
        keyed, checked, checked_all, checked_ways = (keys & present for keys in self._keys)
        for trigger in keyed:
            found.update(self.keyed[trigger])
        for trigger in checked:
            found.update(number for number, group in self.checked[trigger] if not absent(group))
        for trigger in checked_all:
            found.update(
                number
                for number, groups in self.checked_all[trigger]
                if not any(map(absent, groups))
            )
        for trigger in checked_ways:
            found.update(
                number
                for number, groups, ways in self.checked_ways[trigger]
                if not any(map(absent, groups)) and any(not any(map(absent, way)) for way in ways)
            )
        return sorted(found)


Group = frozenset[Trigger]


def _keys(ways: list[list[Group]]) -> list[tuple[Group, list[Group], list[list[Group]]]]:
    """(key, groups also needed, ways of which one is also needed) to index an item under:
    one key that every way needs, if there is one, else the most selective group of each
    way. Ways that differ by one group each become one group (any of their triggers)."""
    common = set(ways[0]).intersection(*ways[1:])
    if not common:
        return [(key, [g for g in groups if g != key], []) for groups, key in _each_key(ways)]
    key = min(common, key=_breadth)
    needed = [group for group in ways[0] if group in common and group != key]
    left = [[group for group in groups if group not in common] for groups in ways]
    if not all(left):
        return [(key, needed, [])]
    if all(len(way) == 1 for way in left):
        return [(key, [*needed, frozenset().union(*(way[0] for way in left))], [])]
    return [(key, needed, left)]


def _each_key(ways: list[list[Group]]) -> list[tuple[list[Group], Group]]:
    return [(groups, min(groups, key=_breadth)) for groups in ways]


_second = itemgetter(1)


def _breadth(group: frozenset[Trigger]) -> tuple[int, int]:
    """Smaller is more selective: fewer alternatives, fewer prefixes, longer triggers
    (a phrase is longer than any of its words)."""
    prefixes = sum(1 for trigger in group if is_prefix(trigger))
    return (len(group) + 2 * prefixes, -min(len(trigger) for trigger in group))


class RuleSet:
    """All rules and entities, compiled once; ``analyse`` is called once per article."""

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        entities: Sequence[tuple[str, Node]] = (),
        annotator: Annotator | None = None,
    ) -> None:
        self.annotator = annotator
        self.rules = tuple(rules)
        self.entities = tuple(entities)
        nodes = [rule.node for rule in self.rules] + [node for _, node in self.entities]
        self._scanner = Scanner(set().union(*(node.patterns() for node in nodes)))
        self._rule_index = TriggerIndex([rule.node for rule in self.rules])
        self._entity_index = TriggerIndex([node for _, node in self.entities])

    @classmethod
    def from_config(
        cls,
        rules: Sequence[RuleConfig],
        origin: str = "rules.yaml",
        entities: Sequence[EntityConfig] = (),
        annotator: Annotator | None = None,
    ) -> RuleSet:
        gazetteer = {entity.id: entity.aliases for entity in entities}
        compiled = []
        for index, rule in enumerate(rules):
            try:
                node = compile_query(rule.query, gazetteer)
            except QuerySyntaxError as exc:
                raise RuleError(f"{origin}: rules[{index}] ({rule.name}): query: {exc}") from None
            compiled.append(
                CompiledRule(rule.name, node, rule.min_score, tuple(rule.tags), rule.description)
            )
        entity_nodes = [(entity.id, compile_aliases(entity.aliases)) for entity in entities]
        return cls(compiled, entity_nodes, annotator)

    def analyse(self, article: Article) -> Analysis:
        fields = Document.of(article).fields
        doc = Document(fields, self._scanner.present(Document(fields).scan()))
        if self.annotator is not None:
            self.annotator.annotate(doc)
        analysis = Analysis(self._matches(doc), self._entities(doc))
        return analysis if self.annotator is None else self.annotator.enrich(doc, analysis)

    def match(self, article: Article) -> list[Match]:
        return list(self.analyse(article).matches)

    def _matches(self, doc: Document) -> tuple[Match, ...]:
        found = []
        assert doc.present is not None
        for number in self._rule_index.candidates(doc.present):
            rule = self.rules[number]
            hits = rule.node.hits(doc)
            if not hits:
                continue
            score = score_hits(hits)
            if score < rule.min_score:
                continue
            found.append(
                Match(
                    rule=rule.name,
                    score=score,
                    terms=tuple(sorted({hit.term for hit in hits})),
                    highlights=highlight(doc, hits),
                    tags=rule.tags,
                )
            )
        return tuple(found)

    def _entities(self, doc: Document) -> tuple[str, ...]:
        assert doc.present is not None
        return tuple(
            self.entities[number][0]
            for number in self._entity_index.candidates(doc.present)
            if self.entities[number][1].hits(doc)
        )
