"""``wirewatch rules test``: how often each rule of a draft matches an archive, with
examples (``tally``, pure: lines in, figures out); and with ``--labels``, read the labels
and evaluate.

The figures of an evaluation come from ``evaluate.py`` (pure); this module only reads the
inputs, runs the rule set over each article and hands predictions and labels over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .evaluate import Evaluation, LabelsError, Prediction, RuleHit, evaluate, parse_labels, render
from .match import Matcher, RuleSet
from .replay import parse_item, read_items


def predict(
    lines: Iterable[str], matcher: Matcher, warn: Callable[[str], None]
) -> list[Prediction]:
    """One prediction per article line; unreadable lines are reported and skipped."""
    predictions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item_id, article = parse_item(line)
        except ValueError as exc:
            warn(f"line {number}: skipped: {exc}")
            continue
        hits = tuple(
            RuleHit(match.rule, match.score, match.highlights[0] if match.highlights else "")
            for match in matcher.analyse(article).matches
        )
        predictions.append(Prediction(str(item_id), article.title, hits))
    return predictions


def evaluate_file(
    lines: Iterable[str],
    matcher: Matcher,
    rule_names: list[str],
    labels_path: Path,
    unlabelled_quiet: bool,
    warn: Callable[[str], None],
) -> Evaluation:
    try:
        with labels_path.open(encoding="utf-8") as handle:
            labels = parse_labels(handle, str(labels_path))
    except OSError as exc:
        raise LabelsError(f"{labels_path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise LabelsError(f"{labels_path}: not UTF-8 text") from None
    return evaluate(predict(lines, matcher, warn), labels, rule_names, unlabelled_quiet)


def run_labelled(
    ruleset: RuleSet, lines: Iterable[str], labels_path: Path, unlabelled_quiet: bool, as_json: bool
) -> str:
    """The whole ``rules test --labels`` command: the report to print (text or JSON)."""
    names = [rule.name for rule in ruleset.rules]
    evaluation = evaluate_file(lines, ruleset, names, labels_path, unlabelled_quiet, to_stderr)
    for note in evaluation.notes:
        to_stderr(f"note: {note}")
    return json.dumps(evaluation.to_dict(), ensure_ascii=False) if as_json else render(evaluation)


def to_stderr(message: str) -> None:
    """One line on stderr (a skipped input line, a note about the labels)."""
    click.echo(message, err=True)


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
