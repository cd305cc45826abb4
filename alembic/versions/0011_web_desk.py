"""web desk: users, API tokens, labels and a full-text index over articles

Also an index on ``entries.first_seen_at`` for the sources page's items per day.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 02:00:00

SQLite gets an FTS5 table over ``articles`` (title, text) kept current by triggers;
PostgreSQL a GIN index on ``to_tsvector('simple', …)`` of the title and text. The rule
workbench uses them to pre-select candidates before running the exact rule.
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5("
    "title, text, content='articles', content_rowid='id', tokenize='unicode61')",
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, text) "
    "VALUES (new.id, new.title, coalesce(new.text, '')); END",
    "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, coalesce(old.text, '')); END",
    "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, text) "
    "VALUES ('delete', old.id, old.title, coalesce(old.text, '')); "
    "INSERT INTO articles_fts(rowid, title, text) "
    "VALUES (new.id, new.title, coalesce(new.text, '')); END",
    "INSERT INTO articles_fts(rowid, title, text) "
    "SELECT id, title, coalesce(text, '') FROM articles",
]
SQLITE_FTS_DROP = [
    "DROP TRIGGER IF EXISTS articles_fts_insert",
    "DROP TRIGGER IF EXISTS articles_fts_delete",
    "DROP TRIGGER IF EXISTS articles_fts_update",
    "DROP TABLE IF EXISTS articles_fts",
]
POSTGRES_FTS = (
    "CREATE INDEX ix_articles_fulltext ON articles USING gin (to_tsvector('simple', "
    "regexp_replace(coalesce(title, '') || ' ' || coalesce(text, ''), '[^[:alnum:]]+', ' ', 'g')))"
)
"""Everything but letters and digits becomes a space first, so that the index holds the
words the matcher sees (PostgreSQL's parser would keep ``U.S`` or ``reuters.com`` whole).
``pipeline/web/preview.py`` queries this very expression."""


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=20), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_labels_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
        sa.UniqueConstraint("article_id", "rule", name=op.f("uq_labels_article_id_rule")),
    )
    op.create_index(op.f("ix_entries_first_seen_at"), "entries", ["first_seen_at"])
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(POSTGRES_FTS)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS_DROP:
            op.execute(statement)
    else:
        op.execute("DROP INDEX IF EXISTS ix_articles_fulltext")
    op.drop_index(op.f("ix_entries_first_seen_at"), table_name="entries")
    op.drop_table("labels")
    op.drop_table("api_tokens")
    op.drop_table("users")
