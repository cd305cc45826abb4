"""Alembic environment: one schema for SQLite and PostgreSQL, from ``pipeline.models``."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any

from sqlalchemy import Connection

from alembic import context
from pipeline.database import database_url, make_engine
from pipeline.models import FULLTEXT_OBJECTS, Base, UTCDateTime

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or database_url()
    )


def _render_item(kind: str, item: Any, autogen_context: Any) -> str | bool:
    """Write ``UTCDateTime`` columns as plain ``sa.DateTime(timezone=True)`` in migrations,
    so that migrations do not import application code."""
    if kind == "type" and isinstance(item, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _include_object(
    item: Any, name: str | None, kind: str, reflected: bool, compare_to: Any
) -> bool:
    """Leave out the full-text search objects that migration 0011 makes by hand."""
    return not (name and name.startswith(FULLTEXT_OBJECTS))


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
        include_object=_include_object,
    )


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    with engine.begin() as connection:
        _configure(connection)
        context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
