"""Rules and entities -> matches. Pure: an ``Article`` in, matches and entities out.

``RuleSet`` compiles every rule once (``compiler.py``, into the tree of ``query.py``):
each knows, per branch of its ORs, which words, prefixes and phrases must occur for it
to match. One Aho-Corasick pass over an article's folded words (``text.py``) says which
of those occur, and the index (``index.py``) keeps only the rules with a complete
branch: only those are evaluated, so the cost follows the article and the rules it
could match, not the number of rules. Scores and highlights come from ``evidence.py``.
See docs/rules.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Protocol

from ..config import EntityConfig, RuleConfig
from ..errors import ConfigError
from ..types import Article, Match
from .compiler import QuerySyntaxError, compile_aliases, compile_query
from .evidence import highlight, weigh
from .index import Scanner, TriggerIndex
from .lint import query_warnings
from .query import Node
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
        nodes = [rule.node for rule in self.rules] + [node for _, node in self.entities]
        self._scanner = Scanner(
            chain(
                self._rule_index.triggers,
                self._entity_index.triggers,
                *(node.patterns() for node in nodes),
            )
        )

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
        present = self._scanner.scan(Document(fields).scan())
        doc = Document(fields, present)
        if self.annotator is not None:
            self.annotator.annotate(doc)
        analysis = Analysis(self._matches(doc, present), self._entities(doc, present))
        return analysis if self.annotator is None else self.annotator.enrich(doc, analysis)

    def match(self, article: Article) -> list[Match]:
        return list(self.analyse(article).matches)

    def _matches(self, doc: Document, present: set[int]) -> tuple[Match, ...]:
        found = []
        for number in self._rule_index.candidates(present):
            rule = self.rules[number]
            hits = rule.node.hits(doc)
            if not hits:
                continue
            score, terms = weigh(hits)
            if score < rule.min_score:
                continue
            found.append(
                Match(
                    rule=rule.name,
                    score=score,
                    terms=terms,
                    highlights=highlight(doc, hits),
                    tags=rule.tags,
                )
            )
        return tuple(found)

    def _entities(self, doc: Document, present: set[int]) -> tuple[str, ...]:
        return tuple(
            self.entities[number][0]
            for number in self._entity_index.candidates(present)
            if self.entities[number][1].hits(doc)
        )
