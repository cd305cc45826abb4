"""The I/O shell of ``wirewatch rules test``: read ARTICLES, match, and with ``--labels``
read the labels and evaluate.

The figures come from ``evaluate.py`` (pure); this module only reads the inputs, runs the
rule set over each article and hands predictions and labels over.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path

import click

from .evaluate import Evaluation, LabelsError, Prediction, RuleHit, evaluate, parse_labels, render
from .match import Matcher, RuleSet
from .replay import parse_item


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
