"""Users, API tokens and labels in the database: the web desk's own rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .. import models as m
from ..errors import ConfigError
from ..store import Store
from .auth import (
    Principal,
    check_role,
    dummy_verify,
    hash_password,
    new_token,
    token_hash,
    verify_password,
)
from .evaluate import LABELS, LabelRecord


def add_user(store: Store, name: str, role: str, password: str, now: datetime) -> None:
    """Create the user, or set a new password and role if the name exists."""
    check_role(role)
    if not name.strip():
        raise ConfigError("a user needs a name")
    if len(password) < 8:
        raise ConfigError("the password must have at least 8 characters")
    hashed = hash_password(password)
    with store.session() as session:
        row = session.scalar(select(m.User).where(m.User.name == name))
        if row is None:
            session.add(m.User(name=name, role=role, password_hash=hashed, created_at=now))
        else:
            row.role, row.password_hash = role, hashed


def authenticate(store: Store, name: str, password: str) -> Principal | None:
    with store.session() as session:
        row = session.scalar(select(m.User).where(m.User.name == name))
        stored = (row.password_hash, row.role) if row else None
    if stored is None:
        dummy_verify(password)
        return None
    return Principal(name, stored[1]) if verify_password(stored[0], password) else None


def user_role(store: Store, name: str) -> str | None:
    with store.session() as session:
        return session.scalar(select(m.User.role).where(m.User.name == name))


def create_token(store: Store, name: str, role: str, now: datetime) -> str:
    """A new token; only its hash is kept, so this is the one time it can be shown."""
    check_role(role)
    token = new_token()
    with store.session() as session:
        session.add(m.ApiToken(name=name, role=role, token_hash=token_hash(token), created_at=now))
    return token


def token_principal(store: Store, token: str, now: datetime) -> Principal | None:
    digest = token_hash(token)
    with store.session() as session:
        row = session.scalar(select(m.ApiToken).where(m.ApiToken.token_hash == digest))
        if row is None:
            return None
        row.last_used_at = now
        return Principal(row.name, row.role, via="token")


# --------------------------------------------------------------------------- labels


def set_label(
    store: Store, article_id: int, rule: str, label: str, user: str, now: datetime
) -> None:
    """Label an article for ``rule`` (empty: the watchlist); ``label`` empty removes it."""
    if label and label not in LABELS:
        raise ConfigError(f"unknown label {label!r} (known: {', '.join(LABELS)})")
    with store.session() as session:
        if session.get(m.Article, article_id) is None:
            raise ConfigError(f"no article {article_id}")
        where = (m.Label.article_id == article_id, m.Label.rule == rule)
        if not label:
            session.execute(delete(m.Label).where(*where))
            return
        changed = session.execute(
            update(m.Label).where(*where).values(label=label, user_name=user, created_at=now)
        ).rowcount
        if not changed:
            try:
                with session.begin_nested():
                    session.add(
                        m.Label(article_id=article_id, rule=rule, label=label,
                                user_name=user, created_at=now)
                    )  # fmt: skip
            except IntegrityError:
                session.execute(update(m.Label).where(*where).values(label=label))


def labels(store: Store, rules: Sequence[str] | None = None) -> list[LabelRecord]:
    """Every label (or those for ``rules`` and the watchlist), oldest first."""
    query = select(m.Label).order_by(m.Label.id)
    if rules is not None:
        query = query.where(m.Label.rule.in_([*rules, ""]))
    with store.session() as session:
        return [LabelRecord(r.article_id, r.label, r.rule) for r in session.scalars(query)]


def labels_of_article(store: Store, article_id: int) -> dict[str, str]:
    """Rule (empty: watchlist) -> label, for one article."""
    with store.session() as session:
        rows = session.scalars(select(m.Label).where(m.Label.article_id == article_id))
        return {row.rule: row.label for row in rows}


def story_article_ids(store: Store, story_id: int) -> list[int]:
    """Labelling a story labels each of its articles."""
    query = select(m.Article.id).where(m.Article.story_id == story_id).order_by(m.Article.id)
    with store.session() as session:
        return list(session.scalars(query))
