"""One message per story and channel: the rules that fired together on a story are sent
as one alert naming them all, each with its description and tags. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Protocol, TypeVar

from ..types import AlertMessage, FiredRule


class RuleInfo(Protocol):
    name: str
    description: str
    tags: list[str]


class HasMessage(Protocol):
    channel: str
    message: AlertMessage


P = TypeVar("P", bound=HasMessage)


def describe(message: AlertMessage, rules: Mapping[str, RuleInfo]) -> AlertMessage:
    """The message with its rule's description and tags from rules.yaml (a rule since
    removed keeps what the message had)."""
    info = rules.get(message.rule)
    description = info.description if info else message.description
    tags = tuple(info.tags) if info else message.tags
    fired = (FiredRule(message.rule, message.score, description, tags),)
    return replace(message, description=description, tags=tags, fired=fired)


def by_story(pending: Iterable[P]) -> list[list[P]]:
    """Alerts grouped by (story, channel), in the order each group first appears."""
    groups: dict[tuple[object, str], list[P]] = {}
    for alert in pending:
        story = alert.message.story_id
        key = (story if story is not None else alert.message.key, alert.channel)
        groups.setdefault(key, []).append(alert)
    return list(groups.values())


def combine(messages: Sequence[AlertMessage], channel: str = "") -> AlertMessage:
    """One message for several rules on one story: the best-scoring rule leads; every
    rule is named in ``fired``; evidence, terms and tags are merged without repeats."""
    if len(messages) == 1:
        return messages[0]
    ordered = sorted(messages, key=lambda message: -message.score)
    lead = ordered[0]
    fired = tuple(rule for message in ordered for rule in message.fired)
    return replace(
        lead,
        key=f"{'+'.join(rule.rule for rule in fired)}/{lead.story_id}/{channel}",
        highlights=_merged(message.highlights for message in ordered),
        terms=_merged(message.terms for message in ordered),
        tags=_merged(message.tags for message in ordered),
        fired=fired,
    )


def _merged(groups: Iterable[Sequence[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item for group in groups for item in group))
