"""Proximity windows: where a group of words occurs close together, in any order."""

from __future__ import annotations

from collections.abc import Iterator, Sequence


def smallest_windows(lists: Sequence[tuple[Sequence[int], int]]) -> Iterator[tuple[int, int]]:
    """(first, last) position of each shortest stretch of text that holds, for every
    ``(positions, count)``, ``count`` of those positions; one per last position.

    A sliding window over all positions in text order: it grows on the right and then
    drops positions on the left while it still holds everything. Different words may
    share a position (``chip*`` and ``chips`` both at one word)."""
    if any(len(positions) < count for positions, count in lists):
        return
    events = sorted((p, key) for key, (positions, _) in enumerate(lists) for p in positions)
    needed = [count for _, count in lists]
    have = [0] * len(lists)
    missing = len(lists)
    left = 0
    for position, key in events:
        have[key] += 1
        if have[key] == needed[key]:
            missing -= 1
        if missing:
            continue
        while True:
            first, first_key = events[left]
            if have[first_key] == needed[first_key]:
                break
            have[first_key] -= 1
            left += 1
        yield first, position
        have[first_key] -= 1
        missing += 1
        left += 1
