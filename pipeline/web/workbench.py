"""The rule workbench's decisions, behind the routes: a draft previewed against stored
articles, and every rule measured against the labels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import RuleConfig
from ..errors import ConfigError
from ..match import RuleSet
from . import accounts
from .desk import Desk
from .evaluate import Evaluation, LabelRecord, evaluate, labels_for_rule
from .preview import DRAFT, Preview, compile_pair, load_articles, period_start, preview

MAX_DAYS = 365


@dataclass(frozen=True)
class Draft:
    name: str
    query: str
    days: int = 30


@dataclass(frozen=True)
class Outcome:
    draft: Draft
    preview: Preview | None
    evaluation: Evaluation | None
    labels: dict[int, str]
    """Article id -> label for this rule (its own, else the watchlist's)."""
    error: str | None = None


def saved_query(desk: Desk, name: str) -> str | None:
    return next((rule.query for rule in desk.rules() if rule.name == name), None)


def try_draft(desk: Desk, draft: Draft) -> Outcome:
    """Preview the draft over its period and measure it against the labels."""
    all_labels = accounts.labels(desk.store)
    chosen = labels_for_rule(all_labels, draft.name)
    try:
        ruleset = compile_pair(draft.query, saved_query(desk, draft.name), desk.entities())
    except ConfigError as exc:
        return Outcome(draft, None, None, chosen, error=str(exc).removeprefix("draft: "))
    since = period_start(desk.clock(), max(1, min(draft.days, MAX_DAYS)))
    result = preview(desk.store.engine, ruleset, since)
    matched = _matching_labelled(desk, ruleset, chosen, DRAFT)
    return Outcome(draft, result, evaluate(draft.name, matched, chosen), chosen)


def evaluate_all(desk: Desk, rules: Sequence[RuleConfig]) -> list[Evaluation]:
    """Each saved rule's precision and recall against the labels."""
    if not rules:
        return []
    all_labels = accounts.labels(desk.store)
    ruleset = desk.ruleset()
    results = []
    for rule in rules:
        chosen = labels_for_rule(all_labels, rule.name)
        matched = _matching_labelled(desk, ruleset, chosen, rule.name)
        results.append(evaluate(rule.name, matched, chosen))
    return results


def _matching_labelled(
    desk: Desk, ruleset: RuleSet, labels: dict[int, str], rule: str
) -> list[int]:
    """The labelled articles that ``rule`` of ``ruleset`` matches (labels are few)."""
    with desk.store.session() as session:
        stored = load_articles(session, sorted(labels))
    return [
        item.id
        for item in stored
        if any(match.rule == rule for match in ruleset.analyse(item.article).matches)
    ]


def export_labels(desk: Desk) -> list[LabelRecord]:
    return accounts.labels(desk.store)
