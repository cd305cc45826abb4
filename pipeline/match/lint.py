"""Warnings for queries that compile but probably do not say what was meant."""

from __future__ import annotations

from collections.abc import Iterator

from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser as lucene_parser


def query_warnings(query: str) -> list[str]:
    """Things that compile but are probably not what was meant: ``and``, ``or`` and
    ``not`` not written in capitals are searched for as words, not read as operators."""
    try:
        parsed = lucene_parser.parse(query)
    except (IllegalCharacterError, ParseError):
        return []
    return [
        f"{item.value!r} at position {item.pos} is searched for as a word; write "
        f"{item.value.upper()} for the operator, or quote it in a phrase to keep the word"
        for item in _walk(parsed)
        if isinstance(item, tree.Word) and item.value.upper() in _OPERATORS
    ]


_OPERATORS = ("AND", "OR", "NOT")


def _walk(item: tree.Item) -> Iterator[tree.Item]:
    yield item
    for child in item.children:
        yield from _walk(child)
