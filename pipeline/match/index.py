"""Which rules and entities an article could match, found without evaluating them all.

Every node can say what text must occur for it to match, per branch of its ORs
(``Node.alternatives``): ways, each a list of groups of triggers, where a group is
satisfied when any one of its triggers occurs (``query.Trigger``). Triggers are known by
number (``query.number``). ``Scanner`` finds, in one Aho-Corasick pass over an article's
``Document.scan()``, which triggers occur; ``TriggerIndex`` turns those numbers into the
few items worth evaluating. The per-article steps are set operations done in C, plus one
step per trigger that can open a way needing several groups (for large rule sets, a few
array operations instead, ``PairArrays``): the cost follows the article and what it could
match, not the number of rules.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import chain, product
from operator import itemgetter

import ahocorasick

from .query import Node, Trigger, is_prefix, number

Group = frozenset[Trigger]
Rest = tuple[frozenset[int], ...]
"""The groups of a way beyond those it is filed under, as trigger numbers."""
Entry = tuple[int, Rest]
"""An item and the groups its way needs beyond the ones it is filed under."""
Split = tuple[tuple[int, ...], tuple[Entry, ...]]
"""Entries as (items that need nothing more, entries with other groups to check)."""

MAX_PAIRS = 64
"""A way is filed under every pair (trigger of its most selective group, trigger of the
second); past this many pairs, under the first group's triggers alone (``loose``)."""
ARRAY_PAIRS = 16_384
"""From this many pairs on, the pairs are kept in flat arrays instead (``PairArrays``): with
10,000 rules (about 69,000 pairs) that finds an article's candidates about 25 µs faster,
3-5 % of the whole; with 1,000 (about 7,000 pairs) the fixed cost of the array operations
makes it slower than the loop over the first triggers present (bench/match.py)."""


class Scanner:
    """One automaton over every trigger of every rule and entity: a single pass over an
    article's ``Document.scan()`` gives the numbers of the triggers that occur."""

    def __init__(self, triggers: Iterable[Trigger]) -> None:
        self.automaton = ahocorasick.Automaton()
        for trigger in sorted(set(triggers)):  # each field's patterns together in memory
            self.automaton.add_word(trigger, number(trigger))
        self.empty = not len(self.automaton)
        if not self.empty:
            self.automaton.make_automaton()

    def scan(self, scan: str) -> set[int]:
        """The numbers of the triggers found in ``scan``."""
        if self.empty:
            return set()
        return set(map(_second, self.automaton.iter(scan)))


class TriggerIndex:
    """The items (rules or entities) that could match, given the triggers that occur.

    A way that needs one group is filed under each trigger of that group. A way that
    needs several is filed under each pair of triggers from its two most selective groups,
    and kept when both occur and each of its other groups has a trigger that occurs.
    Items with a way that needs nothing known (only NOT, or a knowledge-base lookup) are
    always kept."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        single: dict[int, set[int]] = defaultdict(set)
        loose: dict[int, set[Entry]] = defaultdict(set)
        paired: dict[int, dict[int, set[Entry]]] = defaultdict(lambda: defaultdict(set))
        self.always: list[int] = []
        self.triggers: set[Trigger] = set()
        """Every trigger the index files under (the scan must look for them all)."""
        for item, node in enumerate(nodes):
            ways = node.alternatives()
            if not all(ways):
                self.always.append(item)
                continue
            for way in ways:
                first, *others = sorted(set(way), key=_breadth)
                self.triggers.update(first, *others)
                if not others:
                    for trigger in first:
                        single[number(trigger)].add(item)
                elif len(first) * len(others[0]) > MAX_PAIRS:
                    entry = (item, _numbered(others))
                    for trigger in first:
                        loose[number(trigger)].add(entry)
                else:
                    entry = (item, _numbered(others[1:]))
                    for one, two in product(first, others[0]):
                        paired[number(one)][number(two)].add(entry)
        self.single = {trigger: tuple(items) for trigger, items in single.items()}
        """Trigger -> items with a way that needs only a group it belongs to."""
        self.loose = {trigger: _split(entries) for trigger, entries in loose.items()}
        """Trigger -> items with a way whose first group it belongs to, too broad to pair."""
        self.paired = {
            first: (frozenset(seconds), {two: _split(entries) for two, entries in seconds.items()})
            for first, seconds in paired.items()
        }
        """Trigger of a way's most selective group -> (the triggers of its second group,
        and for each of those the items); empty when ``arrays`` holds them instead."""
        self.arrays: PairArrays | None = None
        if sum(len(seconds) for seconds, _ in self.paired.values()) >= ARRAY_PAIRS:
            self.arrays, self.paired = PairArrays(self.paired), {}
        self._single_keys = frozenset(self.single)
        self._loose_keys = frozenset(self.loose)
        self._paired_keys = frozenset(self.paired)

    def candidates(self, present: set[int]) -> list[int]:
        found = set(self.always)
        found.update(chain.from_iterable(map(self.single.__getitem__, self._single_keys & present)))
        for first in self._loose_keys & present:
            _add(found, self.loose[first], present)
        if self.arrays is not None:
            for split in self.arrays.opened(present):
                _add(found, split, present)
            return sorted(found)
        paired = self.paired
        for first in self._paired_keys & present:
            seconds, items = paired[first]
            if not present.isdisjoint(seconds):
                for second in seconds & present:
                    _add(found, items[second], present)
        return sorted(found)


class PairArrays:
    """``TriggerIndex.paired`` in flat arrays, for large rule sets.

    For each first trigger, the range of its second triggers in ``seconds``; ``splits[i]``
    holds the entries of pair ``i``. Which pairs have both triggers present is then a
    dozen array operations per article, where the loop costs a Python step and a set
    probe per second trigger of each first trigger present (about 150 first triggers and
    800 second ones per article at 10,000 rules), spread over tens of thousands of small
    sets that do not stay in the caches."""

    def __init__(self, paired: dict[int, tuple[frozenset[int], dict[int, Split]]]) -> None:
        import numpy as np  # here, not at the top: only large rule sets need it

        self._np = np
        self.size = 1 + max(
            (n for first, (seconds, _) in paired.items() for n in (first, *seconds)), default=-1
        )
        self.start = np.zeros(self.size, np.int64)
        self.count = np.zeros(self.size, np.int64)
        seconds_flat: list[int] = []
        self.splits: list[Split] = []
        for first in sorted(paired):
            seconds, items = paired[first]
            self.start[first], self.count[first] = len(seconds_flat), len(seconds)
            for second in sorted(seconds):
                seconds_flat.append(second)
                self.splits.append(items[second])
        self.seconds = np.array(seconds_flat, np.int64)

    def opened(self, present: set[int]) -> list[Split]:
        """The entries of every pair whose two triggers are both in ``present``."""
        np = self._np
        numbers = np.fromiter(present, np.int64, len(present))
        numbers = numbers[numbers < self.size]  # triggers numbered after this index
        counts = self.count[numbers]
        has_seconds = counts > 0
        firsts, counts = numbers[has_seconds], counts[has_seconds]
        if not len(firsts):
            return []
        occurs = np.zeros(self.size, np.bool_)
        occurs[numbers] = True
        ends = np.cumsum(counts)  # each first trigger's range of pairs, laid end to end:
        slots = np.arange(ends[-1]) + np.repeat(self.start[firsts] - (ends - counts), counts)
        splits = self.splits
        return [splits[i] for i in slots[occurs[self.seconds[slots]]].tolist()]


def _split(entries: Iterable[Entry]) -> Split:
    entries = list(entries)
    return tuple(item for item, rest in entries if not rest), tuple(e for e in entries if e[1])


def _add(found: set[int], split: Split, present: set[int]) -> None:
    bare, checked = split
    found.update(bare)
    if checked:
        found.update(_complete(checked, present))


def _complete(entries: Iterable[Entry], present: set[int]) -> list[int]:
    """The items whose other groups each have a trigger in ``present``."""
    return [item for item, rest in entries if all(not present.isdisjoint(group) for group in rest)]


def _numbered(groups: Iterable[Group]) -> Rest:
    return tuple(frozenset(map(number, group)) for group in groups)


_second = itemgetter(1)


def _breadth(group: Group) -> tuple[int, int]:
    """Smaller is more selective: fewer alternatives, fewer prefixes, longer triggers
    (a phrase is longer than any of its words)."""
    prefixes = sum(1 for trigger in group if is_prefix(trigger))
    return (len(group) + 2 * prefixes, -min(len(trigger) for trigger in group))
