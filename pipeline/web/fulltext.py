"""Full-text pre-selection for the rule workbench: the words a rule cannot match without
become an SQLite FTS5 or PostgreSQL tsquery expression. The index only narrows the
articles down; the exact rule (``pipeline.match``) decides on what it returns.

``necessary_groups`` is pure: a rule's query tree in, a conjunction of word groups out
(one word of each group must occur in the title or text). A rule with no such group
(only ``source:`` terms, say) gets no pre-selection.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..match.query import All, Any_, Node, Terms

Trigger = tuple[str, bool]
"""A word for the full-text index: (case-folded text, whether it is a prefix)."""

SEARCHED_FIELDS = frozenset({"title", "text"})
_ABBREVIATION = re.compile(r"^[a-z]{2,5}$")
"""Short words that the matcher also finds written with dots (``U.S.`` is ``US``)."""


def necessary_groups(node: Node) -> list[frozenset[Trigger]]:
    """Groups of words of which one each must occur in the title or text."""
    if isinstance(node, Terms):
        if not SEARCHED_FIELDS & set(node.fields):
            return []
        return [  # a symbol word (``%``, ``$``) is not in the full-text index: no constraint
            frozenset({(word.text.casefold(), word.prefix)})
            for word in node.words
            if any(c.isalnum() for c in word.text)
        ]
    if isinstance(node, All):
        return [group for child in node.children for group in necessary_groups(child)]
    if isinstance(node, Any_):
        either = _one_of(node)
        return [either] if either is not None else []
    return []


def _one_of(node: Node) -> frozenset[Trigger] | None:
    """A set of words of which at least one must occur, or None."""
    if isinstance(node, Terms):
        groups = necessary_groups(node)
        return min(groups, key=len) if groups else None
    if isinstance(node, All):
        sets = [s for s in (_one_of(child) for child in node.children) if s is not None]
        return min(sets, key=len) if sets else None
    if isinstance(node, Any_):
        sets = [_one_of(child) for child in node.children]
        if any(s is None for s in sets):
            return None
        return frozenset().union(*sets)  # type: ignore[arg-type]
    return None


def fts5_query(groups: list[frozenset[Trigger]]) -> str | None:
    """``("export" OR "licen"*) AND ("chip"*)`` for SQLite FTS5."""
    return _conjunction(groups, _fts5_word, " OR ", " AND ")


def _fts5_word(word: str, prefix: bool) -> str:
    term = f'"{word}"' + ("*" if prefix else "")
    if not prefix and _ABBREVIATION.match(word):
        return f'{term} OR "{" ".join(word)}"'
    return term


def tsquery(groups: list[frozenset[Trigger]]) -> str | None:
    """``('export' | 'licen':*) & ('chip':*)`` for PostgreSQL ``to_tsquery('simple', …)``."""
    return _conjunction(groups, _ts_word, " | ", " & ")


def _conjunction(
    groups: list[frozenset[Trigger]], word: Callable[[str, bool], str], either: str, both: str
) -> str | None:
    if not groups:
        return None
    return both.join(
        "(" + either.join(word(text, prefix) for text, prefix in sorted(group)) + ")"
        for group in groups
    )


def _ts_word(word: str, prefix: bool) -> str:
    pieces = [piece for piece in re.split(r"[^\w]|_", word) if piece]
    term = " <-> ".join(f"'{piece}'" for piece in pieces) or "''"
    if prefix:
        return f"{term}:*" if len(pieces) == 1 else f"({term})"
    if _ABBREVIATION.match(word):
        return f"{term} | ({' <-> '.join(repr(c) for c in word)})"
    return term
