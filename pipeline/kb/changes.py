"""Changes to the lists are news: a new download compared with the stored parties, and
each change turned into an alert. Pure: parties in, changes and articles out.

A change is every party added to (or removed from) one list by one download. It becomes
an article of its own (source "Consolidated Screening List") with a match of the built-in
rule ``kb:<list>-added`` / ``kb:<list>-removed`` (``kb:entity-list-added``…), so routes
send it like any rule: by name, by the tags ``kb`` and ``list-change``, or with ``*``.
The change articles are stored in the same transaction as the parties (``kb/store.py``):
loading the same file twice finds no change the second time, and a crash stores neither.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..types import Article, Match
from .formats import Party, list_slug, short_list_name

CHANGE_SCORE = 10.0
"""The score of a list-change match (routes with ``min_score`` up to 10 carry them)."""
CHANGE_TAGS = ("kb", "list-change")
MAX_LINES = 40
CHANGE_SOURCE = "Consolidated Screening List"
CHANGE_URL = "https://www.trade.gov/consolidated-screening-list"


@dataclass(frozen=True)
class ListChange:
    source: str
    kind: str
    """``added`` or ``removed``."""
    parties: tuple[Party, ...]

    @property
    def rule(self) -> str:
        return f"kb:{list_slug(self.source)}-{self.kind}"

    @property
    def title(self) -> str:
        count = len(self.parties)
        noun = "party" if count == 1 else "parties"
        verb = "added to" if self.kind == "added" else "removed from"
        names = ", ".join(party.name for party in self.parties[:3])
        more = f" and {count - 3} more" if count > 3 else ""
        return f"{short_list_name(self.source)}: {count} {noun} {verb} the list ({names}{more})"

    def lines(self) -> list[str]:
        return [party_line(party) for party in self.parties]


def party_line(party: Party) -> str:
    """ "Huawei Technologies Co., Ltd. (CN) — Entity List since 2019-05-16, 84 FR 22961"."""
    where = f" ({', '.join(party.countries)})" if party.countries else ""
    aka = f"; also {', '.join(party.alt_names[:3])}" if party.alt_names else ""
    return f"{party.name}{where} — {party.describe()}{aka}"


def diff(stored: Mapping[str, Party], loaded: Sequence[Party]) -> list[ListChange]:
    """Added and removed parties per list, lists in name order, parties in file order.

    ``stored``: the current parties by key. A first load (nothing stored) is a baseline,
    not news: it gives no changes.
    """
    if not stored:
        return []
    loaded_keys = {party.key for party in loaded}
    added = [party for party in loaded if party.key not in stored]
    removed = [party for key, party in stored.items() if key not in loaded_keys]
    return [*_by_list(added, "added"), *_by_list(removed, "removed")]


def _by_list(parties: Iterable[Party], kind: str) -> list[ListChange]:
    groups: dict[str, list[Party]] = {}
    for party in parties:
        groups.setdefault(party.source, []).append(party)
    return [ListChange(source, kind, tuple(groups[source])) for source in sorted(groups)]


def change_article(change: ListChange, now: datetime) -> Article:
    digest = hashlib.sha256("\n".join(sorted(p.key for p in change.parties)).encode())
    lines = change.lines()
    more = len(lines) - MAX_LINES
    text = "\n".join(lines[:MAX_LINES] + ([f"… and {more} more"] if more > 0 else []))
    return Article(
        url=f"{CHANGE_URL}#{change.rule}/{digest.hexdigest()[:16]}",
        title=change.title,
        text=text,
        source=CHANGE_SOURCE,
        published=now,
        extraction="ok",
    )


def change_match(change: ListChange) -> Match:
    return Match(
        rule=change.rule,
        score=CHANGE_SCORE,
        terms=(short_list_name(change.source),),
        highlights=tuple(change.lines()[:MAX_LINES]),
        tags=CHANGE_TAGS,
    )
