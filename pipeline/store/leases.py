"""The one lease primitive behind everything that is claimed: feeds, alerts, digests.

A leased table has ``id``, ``lease_owner`` and ``lease_until`` columns. ``claim`` takes
eligible rows that nobody holds (or whose holder's lease expired: it died) for one
owner; ``renew`` extends the lease on the rows the owner still holds; ``complete`` and
``release`` write an outcome and drop the lease, but only on rows the owner still holds,
and say which those were. An owner that has lost a row (its lease expired and someone
else claimed it) therefore never overwrites the new holder's work, and learns about it.

Owners are claim tokens (``host:pid/job-xxxx``), unique per claimant: two deliverers in
one process never mistake each other's rows for their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, update
from sqlalchemy.orm import Session


def free_or_expired(model: Any, now: datetime) -> ColumnElement[bool]:
    """Rows nobody holds, or whose holder's lease ran out."""
    return (model.lease_until.is_(None)) | (model.lease_until < now)


def claim(
    session: Session,
    model: Any,
    eligible: Select[Any],
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    **values: object,
) -> list[int]:
    """Lease up to ``limit`` of the rows ``eligible`` selects (ids, in its order) that are
    free or expired, setting ``values`` too. ``UPDATE … WHERE id IN (SELECT … FOR UPDATE
    SKIP LOCKED)``: on PostgreSQL, rows another transaction is claiming right now are
    skipped, not waited for, and the lease condition is re-checked on the newest row
    version; SQLite has one writer at a time and ignores the locking clause."""
    due = eligible.where(free_or_expired(model, now)).limit(limit)
    locked = due.with_for_update(skip_locked=True).scalar_subquery()
    claimed = session.scalars(
        update(model)
        .where(model.id.in_(locked))
        .values(lease_owner=owner, lease_until=now + lease, **values)
        .returning(model.id)
    ).all()
    return sorted(claimed)


def renew(
    session: Session, model: Any, ids: Sequence[int], owner: str, until: datetime
) -> set[int]:
    """Extend the lease on those of ``ids`` that ``owner`` still holds; returns them."""
    if not ids:
        return set()
    held = session.scalars(
        update(model)
        .where(model.id.in_(ids), model.lease_owner == owner)
        .values(lease_until=until)
        .returning(model.id)
    ).all()
    return set(held)


def complete(session: Session, model: Any, row_id: int, owner: str, **outcome: object) -> bool:
    """Record ``outcome`` on a row and drop its lease, if ``owner`` still holds it.
    False: the lease was lost (it expired and another owner took the row over)."""
    return bool(release(session, model, [row_id], owner, **outcome))


def fail(session: Session, model: Any, row_id: int, owner: str, error: str, retry_at: Any) -> bool:
    """Record a failed attempt on an outbox row (alert or story update): ``pending`` until
    ``retry_at``, or ``dead`` when it is None. False: ``owner`` had lost the row."""
    values: dict[str, object] = {
        "attempts": model.attempts + 1,
        "last_error": error[:2000],
        "status": "dead" if retry_at is None else "pending",
    }
    if retry_at is not None:
        values["next_attempt_at"] = retry_at
    return complete(session, model, row_id, owner, **values)


def release(
    session: Session, model: Any, ids: Sequence[int], owner: str, **values: object
) -> set[int]:
    """Drop ``owner``'s lease on ``ids`` (setting ``values``); returns the ids it held."""
    if not ids:
        return set()
    released = session.scalars(
        update(model)
        .where(model.id.in_(ids), model.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, **values)
        .returning(model.id)
    ).all()
    return set(released)
