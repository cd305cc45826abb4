"""Workers and the figures of ``wirewatch status``: heartbeats, with their age, and who
holds which leases."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from .. import models as m
from .base import StoreBase
from .views import ALERT_STATUSES

STALE_HEARTBEAT = timedelta(seconds=60)
"""A running worker beats every 15 s; one silent for this long is presumed dead."""


class WorkerStore(StoreBase):
    def register_worker(self, worker: str, now: datetime) -> None:
        """Record a worker's heartbeat (the first one registers it)."""
        with self.session() as session:
            row = session.get(m.Worker, worker)
            if row is None or row.stopped_at is not None:
                session.merge(m.Worker(worker_id=worker, started_at=now, heartbeat_at=now))
            else:
                row.heartbeat_at = now

    def unregister_worker(self, worker: str, now: datetime) -> None:
        with self.session() as session:
            row = session.get(m.Worker, worker)
            if row is not None:
                row.stopped_at = now

    def status(self, now: datetime) -> dict[str, object]:
        """Figures for ``wirewatch status`` and the metrics endpoint."""
        day = now - timedelta(hours=24)
        with self.session() as session:

            def count(model: type[m.Base], *where: object) -> int:
                return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

            alerts = dict(
                session.execute(
                    select(m.AlertRow.status, func.count()).group_by(m.AlertRow.status)
                ).all()
            )
            workers = session.scalars(select(m.Worker).order_by(m.Worker.started_at.desc())).all()
            feed = m.Feed
            due = (feed.next_check_at.is_(None)) | (feed.next_check_at <= now)
            return {
                "feeds": count(feed),
                "feeds_due": count(feed, feed.enabled.is_(True), due),
                "feeds_failing": count(feed, feed.enabled.is_(True), feed.consecutive_failures > 0),
                "feeds_disabled": count(feed, feed.enabled.is_(False)),
                "feeds_leased": count(feed, feed.lease_owner.is_not(None), feed.lease_until >= now),
                "articles_24h": count(m.Article, m.Article.fetched_at >= day),
                "matches_24h": count(m.MatchRow, m.MatchRow.created_at >= day),
                "alerts": {status: alerts.get(status, 0) for status in ALERT_STATUSES},
                "workers": [worker_record(w, now) for w in workers[:20]],
            }


def worker_record(worker: m.Worker, now: datetime) -> dict[str, object]:
    """A worker for ``status``: ``stale`` when it is not stopped but has been silent for
    longer than ``STALE_HEARTBEAT`` (killed, or its host is gone)."""
    age = (now - worker.heartbeat_at).total_seconds()
    return {
        "worker": worker.worker_id,
        "started": worker.started_at.isoformat(),
        "heartbeat": worker.heartbeat_at.isoformat(),
        "heartbeat_age_seconds": round(max(age, 0.0), 1),
        "stale": worker.stopped_at is None and age > STALE_HEARTBEAT.total_seconds(),
        "stopped": worker.stopped_at.isoformat() if worker.stopped_at else None,
    }
