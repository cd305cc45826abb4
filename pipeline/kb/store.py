"""Storage of the knowledge base: parties with first/last seen, and each load.

Works through the main ``Store``'s sessions (one engine, one schema); the tables are
``kb_parties`` and ``kb_updates`` (``pipeline/models.py``). ORM rows never leave this
module: callers get ``Party`` records and the small views below.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from .. import models as m
from ..store import PlannedAlert, Store
from ..store.articles import _article_row
from ..store.outbox import insert_alerts
from ..types import Article, Match
from .formats import Party

CHUNK = 500


@dataclass(frozen=True)
class PartyView:
    party: Party
    first_seen_at: datetime
    last_seen_at: datetime
    removed_at: datetime | None


@dataclass(frozen=True)
class LoadReport:
    parties: int
    added: int
    removed: int
    returned: int = 0
    """Parties removed earlier and listed again."""
    alerts: int = 0
    """Alerts queued for the changes."""


@dataclass(frozen=True)
class Announcement:
    """A list change as an article with its match and the alerts the routes plan for it."""

    article: Article
    match: Match
    alerts: tuple[PlannedAlert, ...]


@dataclass(frozen=True)
class KbStatus:
    lists: dict[str, int]
    """Current parties per list (source)."""
    removed: int
    last_update: datetime | None
    last_origin: str | None


class KbStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def current(self) -> dict[str, Party]:
        """The parties listed now, by key."""
        with self.store.session() as session:
            rows = session.scalars(select(m.KbParty).where(m.KbParty.removed_at.is_(None)))
            return {row.key: _party(row) for row in rows}

    def load(
        self,
        parties: Sequence[Party],
        origin: str,
        now: datetime,
        announcements: Sequence[Announcement] = (),
    ) -> LoadReport:
        """Make the stored lists equal to ``parties`` and store the announcements of the
        changes, all in ONE transaction: new parties are inserted (first seen now), known
        ones updated (last seen now), missing ones marked removed; a removed party that
        reappears is listed again. A crash stores neither the parties nor the alerts."""
        by_key = {party.key: party for party in parties}
        with self.store.session() as session:
            alerts = sum(_announce(session, item, now) for item in announcements)
            rows = {row.key: row for row in session.scalars(select(m.KbParty))}
            fresh = [_values(p, now) for key, p in by_key.items() if key not in rows]
            for chunk in _chunks(fresh):
                session.execute(insert(m.KbParty), chunk)
            returned = 0
            for key, party in by_key.items():
                row = rows.get(key)
                if row is not None and (row.removed_at is not None or _changed(row, party)):
                    returned += row.removed_at is not None
                    _refresh(row, party)
            seen = [row.id for key, row in rows.items() if key in by_key]
            for chunk in _chunks(seen):
                session.execute(
                    update(m.KbParty).where(m.KbParty.id.in_(chunk)).values(last_seen_at=now)
                )
            gone = [r.id for k, r in rows.items() if k not in by_key and r.removed_at is None]
            for chunk in _chunks(gone):
                session.execute(
                    update(m.KbParty).where(m.KbParty.id.in_(chunk)).values(removed_at=now)
                )
            report = LoadReport(len(by_key), len(fresh) + returned, len(gone), returned, alerts)
            session.add(
                m.KbUpdate(
                    origin=origin[:2048],
                    loaded_at=now,
                    parties=report.parties,
                    added=report.added,
                    removed=report.removed,
                )
            )
        return report

    def status(self) -> KbStatus:
        with self.store.session() as session:
            counts = session.execute(
                select(m.KbParty.source, func.count())
                .where(m.KbParty.removed_at.is_(None))
                .group_by(m.KbParty.source)
                .order_by(m.KbParty.source)
            ).all()
            removed = session.scalar(select(func.count()).where(m.KbParty.removed_at.is_not(None)))
            last = session.execute(
                select(m.KbUpdate.loaded_at, m.KbUpdate.origin)
                .order_by(m.KbUpdate.loaded_at.desc(), m.KbUpdate.id.desc())
                .limit(1)
            ).first()
        return KbStatus(
            {source: count for source, count in counts},
            removed or 0,
            last[0] if last else None,
            last[1] if last else None,
        )

    def search(self, text: str, limit: int = 20) -> list[PartyView]:
        """Parties (removed ones too) whose name or alternative names contain ``text``,
        in any case and script. Compared in Python: the JSON of alternative names is
        stored escaped on some backends, so SQL ``LIKE`` would miss Chinese names."""
        wanted = text.strip().casefold()
        with self.store.session() as session:
            rows = session.scalars(
                select(m.KbParty).order_by(m.KbParty.removed_at.is_not(None), m.KbParty.name)
            )
            found = [
                PartyView(_party(row), row.first_seen_at, row.last_seen_at, row.removed_at)
                for row in rows
                if any(wanted in name.casefold() for name in (row.name, *(row.alt_names or ())))
            ]
        return found[:limit]


def _announce(session: Session, item: Announcement, now: datetime) -> int:
    """A story of its own for each change (never joined to another as a near-duplicate,
    which would suppress its alert), its article, match and pending alerts."""
    article, match = item.article, item.match
    story = m.Story(title=article.title, first_seen_at=now, last_seen_at=now, article_count=1)
    session.add(story)
    session.flush()
    stamp = now.isoformat()
    digest = hashlib.sha256(f"{article.url}\n{stamp}".encode()).hexdigest()
    row = _article_row(article, f"{article.url}/{stamp}", digest, story.id, now)
    session.add(row)
    session.flush()
    session.add(
        m.MatchRow(
            article_id=row.id,
            rule=match.rule,
            score=match.score,
            terms=list(match.terms),
            highlights=list(match.highlights),
            created_at=now,
        )
    )
    return insert_alerts(session, item.alerts, story.id, row.id, now)


def _party(row: m.KbParty) -> Party:
    return Party(
        source=row.source,
        name=row.name,
        alt_names=tuple(row.alt_names or ()),
        countries=tuple(row.countries or ()),
        programs=tuple(row.programs or ()),
        federal_register_notice=row.federal_register_notice,
        start_date=row.start_date,
        license_requirement=row.license_requirement,
        license_policy=row.license_policy,
        kind=row.kind,
    )


def _values(party: Party, now: datetime) -> dict[str, Any]:
    return {
        "key": party.key,
        **_facts(party),
        "first_seen_at": now,
        "last_seen_at": now,
        "removed_at": None,
    }


def _facts(party: Party) -> dict[str, Any]:
    return {
        "source": party.source[:300],
        "name": party.name,
        "alt_names": list(party.alt_names),
        "countries": list(party.countries),
        "programs": list(party.programs),
        "federal_register_notice": (party.federal_register_notice or "")[:300] or None,
        "start_date": (party.start_date or "")[:40] or None,
        "license_requirement": party.license_requirement,
        "license_policy": party.license_policy,
        "kind": (party.kind or "")[:40] or None,
    }


def _changed(row: m.KbParty, party: Party) -> bool:
    return any(getattr(row, name) != value for name, value in _facts(party).items())


def _refresh(row: m.KbParty, party: Party) -> None:
    for name, value in _facts(party).items():
        if getattr(row, name) != value:
            setattr(row, name, value)
    row.removed_at = None


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
