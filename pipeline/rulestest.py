"""``rules test``: how often each rule of a draft matches an archive, with examples.
Pure: lines in, figures out."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .match import RuleSet
from .replay import read_items


@dataclass(frozen=True)
class Example:
    id: Any
    title: str
    evidence: str


@dataclass
class RuleTally:
    rule: str
    matches: int = 0
    examples: list[Example] = field(default_factory=list)


@dataclass
class RulesTestReport:
    articles: int = 0
    matched: int = 0
    invalid: int = 0
    rules: list[RuleTally] = field(default_factory=list)

    def to_record(self) -> dict[str, Any]:
        """The ``rules test --json`` contract."""
        return {
            "articles": self.articles,
            "matched": self.matched,
            "invalid": self.invalid,
            "rules": [
                {
                    "rule": tally.rule,
                    "matches": tally.matches,
                    "examples": [
                        {"id": e.id, "title": e.title, "evidence": e.evidence}
                        for e in tally.examples
                    ],
                }
                for tally in self.rules
            ],
        }


def tally(
    ruleset: RuleSet,
    lines: Iterable[str],
    examples: int,
    skipped: Callable[[int, str], None] = lambda number, problem: None,
) -> RulesTestReport:
    """Match every article of ``lines``; invalid lines are counted and passed to ``skipped``."""
    report = RulesTestReport(rules=[RuleTally(rule.name) for rule in ruleset.rules])
    by_name = {tally.rule: tally for tally in report.rules}
    for number, _, parsed in read_items(lines):
        if isinstance(parsed, ValueError):
            report.invalid += 1
            skipped(number, str(parsed))
            continue
        item_id, article = parsed
        report.articles += 1
        found = ruleset.analyse(article).matches
        report.matched += bool(found)
        for match in found:
            rule = by_name[match.rule]
            rule.matches += 1
            if len(rule.examples) < examples:
                evidence = match.highlights[0] if match.highlights else ""
                rule.examples.append(Example(item_id, article.title, evidence))
    return report
