"""Rules and entities -> matches. Pure: an ``Article`` in, matches and entities out.

``RuleSet`` compiles every rule once (``query.py``) and indexes the rules by the words
that must occur for them to match. For an article it normalises and indexes the text once
(``text.py``), looks up each distinct word of the article in that index, and evaluates
only the rules found: the cost grows with the article's vocabulary, not with the number
of rules. Scores and highlights come from ``evidence.py``. See docs/rules.md.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..config import EntityConfig, RuleConfig
from ..errors import ConfigError
from ..types import Article, Match
from .evidence import highlight, score_hits
from .query import Node, QuerySyntaxError, compile_aliases, compile_query
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
    """Maps article words to the items (rules or entities) that could match them."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.words: dict[str, set[int]] = defaultdict(set)
        self.prefixes: dict[str, set[int]] = defaultdict(set)
        self.always: set[int] = set()
        for number, node in enumerate(nodes):
            triggers = node.triggers()
            if triggers is None:
                self.always.add(number)
                continue
            for word, is_prefix in triggers:
                (self.prefixes if is_prefix else self.words)[word].add(number)
        self.prefix_lengths = sorted({len(p) for p in self.prefixes})

    def candidates(self, vocabulary: Iterable[str]) -> list[int]:
        found = set(self.always)
        for word in vocabulary:
            hit = self.words.get(word)
            if hit:
                found |= hit
            for length in self.prefix_lengths:
                if length > len(word):
                    break
                hit = self.prefixes.get(word[:length])
                if hit:
                    found |= hit
        return sorted(found)


class RuleSet:
    """All rules and entities, compiled once; ``analyse`` is called once per article."""

    def __init__(
        self, rules: Sequence[CompiledRule], entities: Sequence[tuple[str, Node]] = ()
    ) -> None:
        self.rules = tuple(rules)
        self.entities = tuple(entities)
        self._rule_index = TriggerIndex([rule.node for rule in self.rules])
        self._entity_index = TriggerIndex([node for _, node in self.entities])

    @classmethod
    def from_config(
        cls,
        rules: Sequence[RuleConfig],
        origin: str = "rules.yaml",
        entities: Sequence[EntityConfig] = (),
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
        return cls(compiled, entity_nodes)

    def analyse(self, article: Article) -> Analysis:
        doc = Document.of(article)
        vocabulary = doc.vocabulary()
        return Analysis(self._matches(doc, vocabulary), self._entities(doc, vocabulary))

    def match(self, article: Article) -> list[Match]:
        return list(self.analyse(article).matches)

    def _matches(self, doc: Document, vocabulary: set[str]) -> tuple[Match, ...]:
        found = []
        for number in self._rule_index.candidates(vocabulary):
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

    def _entities(self, doc: Document, vocabulary: set[str]) -> tuple[str, ...]:
        return tuple(
            self.entities[number][0]
            for number in self._entity_index.candidates(vocabulary)
            if self.entities[number][1].hits(doc)
        )
