"""Rules and entities -> matches. Pure: an ``Article`` in, matches and entities out.

``RuleSet`` compiles every rule once (``query.py``) and indexes the rules by the words
that must occur for them to match. For an article it normalises and indexes the text once
(``text.py``), looks up each distinct word of the article in that index, and evaluates
only the rules found: the cost grows with the article's vocabulary, not with the number
of rules. Scores and highlights come from ``evidence.py``. See docs/rules.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ..config import EntityConfig, RuleConfig
from ..errors import ConfigError
from ..types import Article, Match
from .evidence import highlight, score_hits
from .query import Node, QuerySyntaxError, Trigger, compile_aliases, compile_query
from .text import Document

__all__ = [
    "Analysis",
    "Document",
    "Matcher",
    "QuerySyntaxError",
    "RuleError",
    "RuleSet",
    "compile_query",
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


@dataclass(frozen=True)
class CompiledRule:
    name: str
    node: Node
    min_score: float = 0.0
    tags: tuple[str, ...] = ()
    description: str = ""


class TriggerIndex:
    """Finds the items (rules or entities) an article could match, without evaluating all.

    Each item is indexed under one of the word groups it requires (its rarest-looking
    group); an item found that way is kept only if every other required group is also
    satisfied by the article's vocabulary. Both steps are set look-ups, so the cost per
    article depends on the article's words and the few items they point to.
    """

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.words: dict[str, set[int]] = defaultdict(set)
        self.prefixes: dict[str, set[int]] = defaultdict(set)
        self.always: set[int] = set()
        self.groups: list[list[frozenset[Trigger]]] = []
        for number, node in enumerate(nodes):
            groups = node.required()
            self.groups.append(groups)
            if not groups:
                self.always.add(number)
                continue
            for word, is_prefix in min(groups, key=_breadth):
                (self.prefixes if is_prefix else self.words)[word].add(number)
        self.stem_lengths = {
            len(word) for groups in self.groups for g in groups for word, p in g if p
        }

    def candidates(self, vocabulary: set[str], stems: set[str]) -> list[int]:
        """``stems``: every prefix of every vocabulary word, at the lengths of ``stem_lengths``."""
        found = set(self.always)
        for word in vocabulary:
            found |= self.words.get(word, _EMPTY)
        for stem in stems:
            found |= self.prefixes.get(stem, _EMPTY)
        return sorted(
            number
            for number in found
            if all(_satisfied(group, vocabulary, stems) for group in self.groups[number])
        )


_EMPTY: frozenset[int] = frozenset()


def _breadth(group: frozenset[Trigger]) -> tuple[int, int]:
    """Smaller is more selective: fewer alternatives, fewer prefixes, longer words."""
    prefixes = sum(1 for _, is_prefix in group if is_prefix)
    return (len(group) + 2 * prefixes, -min(len(word) for word, _ in group))


def _satisfied(group: frozenset[Trigger], vocabulary: set[str], stems: set[str]) -> bool:
    return any((word in stems) if is_prefix else (word in vocabulary) for word, is_prefix in group)


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
        self._rule_index = TriggerIndex([rule.node for rule in self.rules])
        self._entity_index = TriggerIndex([node for _, node in self.entities])
        self._stem_lengths = sorted(self._rule_index.stem_lengths | self._entity_index.stem_lengths)

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
        doc = Document.of(article)
        if self.annotator is not None:
            self.annotator.annotate(doc)
        vocabulary = doc.vocabulary()
        stems = {word[:n] for word in vocabulary for n in self._stem_lengths if n <= len(word)}
        analysis = Analysis(
            self._matches(doc, vocabulary, stems), self._entities(doc, vocabulary, stems)
        )
        return analysis if self.annotator is None else self.annotator.enrich(doc, analysis)

    def match(self, article: Article) -> list[Match]:
        return list(self.analyse(article).matches)

    def _matches(self, doc: Document, vocabulary: set[str], stems: set[str]) -> tuple[Match, ...]:
        found = []
        for number in self._rule_index.candidates(vocabulary, stems):
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

    def _entities(self, doc: Document, vocabulary: set[str], stems: set[str]) -> tuple[str, ...]:
        return tuple(
            self.entities[number][0]
            for number in self._entity_index.candidates(vocabulary, stems)
            if self.entities[number][1].hits(doc)
        )
