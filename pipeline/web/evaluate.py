"""Precision and recall of one rule against analysts' labels (pure).

Labels follow the ``rules test --labels`` contract: ``core`` is positive, ``quiet``
negative, ``related`` is left out. A label with a rule name is about that rule; one
without (``rule`` empty) is about the watchlist as a whole and counts for every rule
that has no label of its own on that article.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .preview import StoredArticle

LABELS = ("core", "related", "quiet")


@dataclass(frozen=True)
class LabelRecord:
    article_id: int
    label: str
    rule: str = ""
    """Empty: about the watchlist as a whole."""


@dataclass(frozen=True)
class Evaluation:
    rule: str
    true_positives: tuple[int, ...]
    false_positives: tuple[int, ...]
    false_negatives: tuple[int, ...]

    @property
    def labelled(self) -> int:
        return len(self.true_positives) + len(self.false_positives) + len(self.false_negatives)

    @property
    def precision(self) -> float | None:
        found = len(self.true_positives) + len(self.false_positives)
        return len(self.true_positives) / found if found else None

    @property
    def recall(self) -> float | None:
        wanted = len(self.true_positives) + len(self.false_negatives)
        return len(self.true_positives) / wanted if wanted else None


def labels_for_rule(labels: Iterable[LabelRecord], rule: str) -> dict[int, str]:
    """Article id -> label for ``rule``: its own label, else the watchlist label."""
    chosen: dict[int, str] = {}
    for record in labels:
        if record.rule == rule or (record.rule == "" and record.article_id not in chosen):
            chosen[record.article_id] = record.label
    return chosen


def evaluate(rule: str, matched: Iterable[int], labels: Mapping[int, str]) -> Evaluation:
    """``matched``: the articles the rule matches; ``labels``: from ``labels_for_rule``."""
    hits = set(matched)
    positives = {a for a, label in labels.items() if label == "core"}
    negatives = {a for a, label in labels.items() if label == "quiet"}
    return Evaluation(
        rule,
        tuple(sorted(hits & positives)),
        tuple(sorted(hits & negatives)),
        tuple(sorted(positives - hits)),
    )


def labels_jsonl(labels: Iterable[LabelRecord]) -> str:
    """The ``rules test --labels`` file: one JSON object per line, ``id`` as a string."""
    lines = []
    for record in labels:
        item: dict[str, str] = {"id": str(record.article_id), "label": record.label}
        if record.rule:
            item["rule"] = record.rule
        lines.append(json.dumps(item, ensure_ascii=False))
    return "".join(line + "\n" for line in lines)


def articles_jsonl_line(item: StoredArticle) -> str:
    """One article in the ARTICLES format of ``rules test`` and ``replay``."""
    article = item.article
    record = {
        "id": str(item.id), "title": article.title, "text": article.text, "url": article.url,
        "source": article.source,
        "published": article.published.isoformat() if article.published else None,
    }  # fmt: skip
    return json.dumps(record, ensure_ascii=False) + "\n"
