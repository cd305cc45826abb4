"""Labelled evaluation of a watchlist: predictions and labels in, figures out. Pure.

Used by ``wirewatch rules test RULES ARTICLES --labels LABELS`` (docs/rules.md). The
labels file is JSON Lines, one object per line::

    {"id": "<article id as in ARTICLES>", "label": "core" | "related" | "quiet",
     "rule": "<rule name>"}            # "rule" is optional

Without ``rule`` a label is about the watchlist as a whole (``core``: must alert under
some rule; ``related``: may or may not; ``quiet``: must not); with it, about that one rule.
``core`` counts as positive, ``quiet`` as negative, ``related`` is left out. Blank lines
and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

LABELS = ("core", "related", "quiet")
POSITIVE, NEGATIVE = "core", "quiet"


class LabelsError(ConfigError):
    """A labels file that cannot be read; the message names the file and line."""


@dataclass(frozen=True)
class Label:
    id: str
    label: str
    rule: str | None = None
    line: int = 0


@dataclass(frozen=True)
class RuleHit:
    """One rule that matched an article, with its score and first piece of evidence."""

    rule: str
    score: float
    evidence: str = ""


@dataclass(frozen=True)
class Prediction:
    id: str
    title: str
    hits: tuple[RuleHit, ...] = ()

    def hit(self, rule: str) -> RuleHit | None:
        return next((hit for hit in self.hits if hit.rule == rule), None)


@dataclass(frozen=True)
class Figures:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    @property
    def precision(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, predicted: bool, positive: bool) -> Figures:
        return Figures(
            self.tp + (predicted and positive),
            self.fp + (predicted and not positive),
            self.fn + (not predicted and positive),
            self.tn + (not predicted and not positive),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "tn": self.tn,
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
        }


@dataclass(frozen=True)
class Error:
    """A false positive or false negative: the article and the rule concerned.

    ``rule`` is None for a watchlist-wide false negative (no rule matched)."""

    id: str
    title: str
    rule: str | None
    score: float | None
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "rule": self.rule,
            "score": self.score,
            "evidence": self.evidence,
        }


@dataclass(frozen=True)
class Evaluation:
    articles: int
    labelled: dict[str, int]
    """Watchlist-wide labels used, per label (core, related, quiet)."""
    overall: Figures
    rules: dict[str, Figures]
    matched: dict[str, int]
    false_positives: tuple[Error, ...]
    false_negatives: tuple[Error, ...]
    unknown_ids: int = 0
    """Labels naming an article that is not in the input."""
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "labelled": self.labelled,
            "unknown_ids": self.unknown_ids,
            "overall": self.overall.to_dict(),
            "rules": [
                {"rule": name, "matched": self.matched[name], **figures.to_dict()}
                for name, figures in self.rules.items()
            ],
            "false_positives": [error.to_dict() for error in self.false_positives],
            "false_negatives": [error.to_dict() for error in self.false_negatives],
        }


# --------------------------------------------------------------------------- labels file


def parse_labels(lines: Iterable[str], origin: str) -> list[Label]:
    """Read a labels file; raises ``LabelsError`` naming ``origin`` and the line."""
    labels: list[Label] = []
    first_seen: dict[tuple[str, str | None], int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        label = _parse_label(raw, f"{origin}:{number}", number)
        key = (label.id, label.rule)
        if key in first_seen:
            about = f" for rule {label.rule!r}" if label.rule else ""
            raise LabelsError(
                f"{origin}:{number}: id {label.id!r} is labelled twice{about} "
                f"(first on line {first_seen[key]})"
            )
        first_seen[key] = number
        labels.append(label)
    return labels


def _parse_label(raw: str, where: str, number: int) -> Label:
    try:
        item = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise LabelsError(f"{where}: invalid JSON: {exc.msg} at column {exc.colno}") from None
    if not isinstance(item, dict):
        raise LabelsError(f"{where}: expected a JSON object")
    item_id, label, rule = item.get("id"), item.get("label"), item.get("rule")
    if not isinstance(item_id, str | int) or isinstance(item_id, bool) or item_id == "":
        raise LabelsError(f'{where}: "id" must be a non-empty string')
    if label not in LABELS:
        raise LabelsError(f'{where}: "label" must be one of {", ".join(LABELS)}, not {label!r}')
    if rule is not None and (not isinstance(rule, str) or not rule):
        raise LabelsError(f'{where}: "rule" must be a rule name')
    return Label(str(item_id), label, rule, number)


# --------------------------------------------------------------------------- figures


def evaluate(
    predictions: Sequence[Prediction],
    labels: Sequence[Label],
    rule_names: Sequence[str],
    unlabelled_quiet: bool = False,
) -> Evaluation:
    """Overall figures from watchlist-wide labels; per-rule figures from the labels about
    that rule, falling back to the watchlist-wide label of the article."""
    wide = {label.id: label.label for label in labels if label.rule is None}
    per_rule = {(label.id, label.rule): label.label for label in labels if label.rule}
    default = NEGATIVE if unlabelled_quiet else None
    known = {prediction.id for prediction in predictions}

    overall = Figures()
    rules = dict.fromkeys(rule_names, Figures())
    false_positives: list[Error] = []
    false_negatives: list[Error] = []
    for prediction in predictions:
        truth = wide.get(prediction.id, default)
        if truth in (POSITIVE, NEGATIVE):
            positive = truth == POSITIVE
            overall = overall.add(bool(prediction.hits), positive)
            if prediction.hits and not positive:
                false_positives.extend(_error(prediction, hit.rule) for hit in prediction.hits)
            if positive and not prediction.hits:
                false_negatives.append(_error(prediction, None))
        for name in rule_names:
            own = per_rule.get((prediction.id, name))
            rule_truth = own or truth
            if rule_truth not in (POSITIVE, NEGATIVE):
                continue
            matched, positive = prediction.hit(name) is not None, rule_truth == POSITIVE
            rules[name] = rules[name].add(matched, positive)
            if own and matched and not positive:
                false_positives.append(_error(prediction, name))
            if own and positive and not matched:
                false_negatives.append(_error(prediction, name))

    counts = {name: 0 for name in LABELS}
    for prediction in predictions:
        truth = wide.get(prediction.id, default)
        if truth is not None:
            counts[truth] += 1
    matched = {name: sum(p.hit(name) is not None for p in predictions) for name in rule_names}
    unknown_rules = sorted({label.rule for label in labels if label.rule} - set(rule_names))
    notes = tuple(
        f"labels for rule {name!r} are ignored: no such rule in the rules file"
        for name in unknown_rules
    )
    return Evaluation(
        articles=len(predictions),
        labelled=counts,
        overall=overall,
        rules=rules,
        matched=matched,
        false_positives=tuple(false_positives),
        false_negatives=tuple(false_negatives),
        unknown_ids=sum(label.id not in known for label in labels),
        notes=notes,
    )


def _error(prediction: Prediction, rule: str | None) -> Error:
    hit = prediction.hit(rule) if rule else None
    return Error(
        prediction.id,
        prediction.title,
        rule,
        hit.score if hit else None,
        hit.evidence if hit else "",
    )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# --------------------------------------------------------------------------- text report


def render(evaluation: Evaluation) -> str:
    """The human-readable report of ``rules test --labels``."""
    counts = evaluation.labelled
    lines = [
        f"{evaluation.articles} articles; labelled: {counts['core']} core, "
        f"{counts['related']} related (left out), {counts['quiet']} quiet",
        f"overall: {_figures_line(evaluation.overall)}",
    ]
    if evaluation.unknown_ids:
        lines.append(f"{evaluation.unknown_ids} labels name articles not in ARTICLES")
    width = max((len(name) for name in evaluation.rules), default=4)
    lines.append("")
    lines.append(f"{'rule':<{width}}  matched   tp   fp   fn  precision  recall     F1")
    for name, figures in evaluation.rules.items():
        lines.append(
            f"{name:<{width}}  {evaluation.matched[name]:>7} {figures.tp:>4} {figures.fp:>4} "
            f"{figures.fn:>4}  {_number(figures.precision):>9}  {_number(figures.recall):>6}"
            f"  {_number(figures.f1):>5}"
        )
    for heading, errors in (
        ("false positives", evaluation.false_positives),
        ("false negatives", evaluation.false_negatives),
    ):
        lines.append("")
        lines.append(f"{heading} ({len(errors)}):")
        lines.extend(_error_lines(error) for error in errors)
    return "\n".join(lines)


def _figures_line(figures: Figures) -> str:
    return (
        f"precision {_number(figures.precision)}, recall {_number(figures.recall)}, "
        f"F1 {_number(figures.f1)} (tp {figures.tp}, fp {figures.fp}, fn {figures.fn}, "
        f"tn {figures.tn})"
    )


def _error_lines(error: Error) -> str:
    head = f"  - {error.id}: {error.title}"
    if error.rule is None:
        return head + "\n      (no rule matched)"
    detail = f"\n      {error.rule} ({error.score if error.score is not None else '-'})"
    return head + detail + (f" › {error.evidence}" if error.evidence else "")


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
