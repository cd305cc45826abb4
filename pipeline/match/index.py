"""Which rules and entities an article could match, found without evaluating them all.

Every node can say what text must occur for it to match, per branch of its ORs
(``Node.alternatives``): ways, each a list of groups of triggers, where a group is
satisfied when any one of its triggers occurs (``query.Trigger``). Triggers and groups
are known by number (``query.number``); ``Scanner`` finds, in one Aho-Corasick pass over an
article's ``Document.scan()``, which groups are satisfied; ``TriggerIndex`` turns those
numbers into the few items worth evaluating. All per-article steps are set operations
done in C, plus one step per way whose two most selective groups both occur: the cost
follows the article and what it could match, not the number of rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import chain
from operator import itemgetter

import ahocorasick

from .query import Node, Trigger, is_prefix, number

Group = frozenset[Trigger]


class Groups:
    """The groups of triggers that the indexes of one rule set use."""

    def __init__(self) -> None:
        self.groups: set[Group] = set()

    def number(self, group: Group) -> int:
        self.groups.add(group)
        return number(group)

    def by_trigger(self) -> dict[Trigger, set[int]]:
        """Trigger -> the numbers of the groups it satisfies."""
        found: dict[Trigger, set[int]] = defaultdict(set)
        for group in self.groups:
            for trigger in group:
                found[trigger].add(number(group))
        return found


class Scanner:
    """One automaton over every trigger of every rule and entity: a single pass over an
    article's ``Document.scan()`` gives the numbers of the triggers that occur (so that
    a term whose triggers are absent is not looked up) and of the groups they satisfy."""

    def __init__(self, patterns: set[Trigger], groups: Groups) -> None:
        satisfies = groups.by_trigger()
        self.automaton = ahocorasick.Automaton()
        for pattern in patterns | satisfies.keys():
            numbers = {number(pattern), *satisfies.get(pattern, ())}
            self.automaton.add_word(pattern, tuple(numbers))
        self.empty = not len(self.automaton)
        if not self.empty:
            self.automaton.make_automaton()

    def scan(self, scan: str) -> set[int]:
        """The numbers of the triggers found in ``scan`` and of the groups they satisfy."""
        if self.empty:
            return set()
        return set(chain.from_iterable(map(_second, self.automaton.iter(scan))))


class TriggerIndex:
    """The items (rules or entities) that could match, given the satisfied groups.

    A way that needs one group is found by that group's number alone; a way that needs
    several is filed under its two most selective groups and kept when both are
    satisfied and its other groups are a subset of the satisfied ones. Items with a way
    that needs nothing known (only NOT, or a knowledge-base lookup) are always kept."""

    def __init__(self, nodes: Sequence[Node], groups: Groups) -> None:
        single: dict[int, set[int]] = defaultdict(set)
        multi: dict[int, dict[int, set[tuple[int, frozenset[int]]]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self.always: list[int] = []
        for item, node in enumerate(nodes):
            ways = node.alternatives()
            if not all(ways):
                self.always.append(item)
                continue
            for way in ways:
                first, *others = [groups.number(g) for g in sorted(set(way), key=_breadth)]
                if others:
                    multi[first][others[0]].add((item, frozenset(others[1:])))
                else:
                    single[first].add(item)
        self.single = {first: tuple(items) for first, items in single.items()}
        """Group -> items with a way that needs only that group."""
        self.multi = {
            first: {second: tuple(entries) for second, entries in pairs.items()}
            for first, pairs in multi.items()
        }
        """Most selective group -> second most selective -> (item, the other groups)."""
        self._single_keys = frozenset(self.single)
        self._multi_keys = frozenset(self.multi)

    def candidates(self, satisfied: set[int]) -> list[int]:
        found = set(self.always)
        found.update(
            chain.from_iterable(map(self.single.__getitem__, self._single_keys & satisfied))
        )
        multi = self.multi
        for first in self._multi_keys & satisfied:
            pairs = multi[first]
            for second in pairs.keys() & satisfied:
                found.update([item for item, others in pairs[second] if others <= satisfied])
        return sorted(found)


_second = itemgetter(1)


def _breadth(group: Group) -> tuple[int, int]:
    """Smaller is more selective: fewer alternatives, fewer prefixes, longer triggers
    (a phrase is longer than any of its words)."""
    prefixes = sum(1 for trigger in group if is_prefix(trigger))
    return (len(group) + 2 * prefixes, -min(len(trigger) for trigger in group))
