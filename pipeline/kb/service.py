"""The I/O shell of the knowledge base: download, load, announce changes, and build the
``KnowledgeBase`` the matcher uses from what is stored.

``load_list`` is the one way a file gets in (``kb update`` and ``kb import`` both use it):
parse, compare with the stored lists, store one alert article per change (through the
outbox, like any match), then store the parties. The change articles are stored first and
are keyed by their content, so a crash in between loses no change and repeats no alert.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..alert import plan_alerts
from ..config import Config, EntityConfig, FetchSettings, KbSettings, RouteConfig
from ..errors import FetchError
from ..fetch import Fetcher
from ..store import Store
from .changes import ListChange, change_article, change_match, diff
from .eccn import EccnTable
from .formats import KbFormatError, Party, parse_list_file
from .knowledge import KnowledgeBase
from .names import aliases_of
from .store import Announcement, KbStore, LoadReport

log = logging.getLogger(__name__)

LIST_ACCEPT = "application/json, text/csv;q=0.9, */*;q=0.1"
SHRINK_LIMIT = 0.5
"""A file with fewer than half the stored parties is refused unless forced: a truncated or
wrong file must not announce thousands of removals."""


@dataclass(frozen=True)
class UpdateResult:
    report: LoadReport
    changes: tuple[ListChange, ...]
    alerts: int
    baseline: bool
    """The first load: parties stored, no changes announced."""


def download(url: str, settings: KbSettings, fetch: FetchSettings) -> bytes:
    """The list file, fetched with the feeds' safety (address guard, size cap, timeouts)."""
    limits = fetch.model_copy(update={"total_timeout": settings.timeout})
    fetcher = Fetcher(limits)
    try:
        result = fetcher.get(url, accept=LIST_ACCEPT, max_bytes=settings.max_bytes)
    finally:
        fetcher.close()
    if not result.ok:
        raise FetchError(result.outcome, f"{url}: {result.outcome}: {result.error or ''}".strip())
    return result.body


def load_list(
    store: Store,
    body: bytes,
    origin: str,
    routes: Sequence[RouteConfig],
    now: datetime,
    *,
    force: bool = False,
) -> UpdateResult:
    parties = parse_list_file(body, origin)
    if not parties:
        raise KbFormatError(f"{origin}: the file lists no parties")
    kb = KbStore(store)
    stored = kb.current()
    if not force and stored and len(parties) < SHRINK_LIMIT * len(stored):
        raise KbFormatError(
            f"{origin}: {len(parties)} parties against {len(stored)} stored; refusing to "
            "remove more than half of the lists (use --force if the lists really shrank)"
        )
    changes = tuple(diff(stored, parties))
    report = kb.load(parties, origin, now, [_announcement(c, routes, now) for c in changes])
    return UpdateResult(report, changes, report.alerts, baseline=not stored)


def _announcement(change: ListChange, routes: Sequence[RouteConfig], now: datetime) -> Announcement:
    match = change_match(change)
    return Announcement(change_article(change, now), match, tuple(plan_alerts([match], routes)))


def load_knowledge(store: Store, config: Config) -> KnowledgeBase:
    """The stored parties, the curated aliases of entities.yaml and the ECCN table."""
    parties = list(KbStore(store).current().values())
    extra = curated_aliases(parties, config.entities.entities)
    return KnowledgeBase.build(parties, EccnTable.load(config.directory), extra)


def curated_aliases(
    parties: Sequence[Party], entities: Sequence[EntityConfig]
) -> dict[str, list[str]]:
    """Party key -> the aliases of every company in entities.yaml that names the party.

    A company whose alias is a name of a listed party ("SMIC", "Huawei") lends that party
    its other aliases: Chinese names, former names, names the lists lack.
    """
    by_name: dict[tuple[str, ...], list[str]] = {}
    for party in parties:
        for name in (party.name, *party.alt_names):
            for words, _, _ in aliases_of(name):
                by_name.setdefault(_folded(words), []).append(party.key)
    extra: dict[str, list[str]] = {}
    for entity in entities:
        if entity.type != "company":
            continue
        keys = {
            key
            for alias in entity.aliases
            for words, _, _ in aliases_of(alias.rstrip("*"))
            for key in by_name.get(_folded(words), ())
        }
        for key in keys:
            extra.setdefault(key, []).extend(alias for alias in entity.aliases if "*" not in alias)
    return extra


def _folded(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(word.casefold() for word in words)


def read_list_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KbFormatError(f"{path}: cannot read: {exc.strerror or exc}") from None
