"""The query language: Lucene syntax (parsed by ``luqum``) compiled into a small tree
(``query.py``).

* ``AND``, ``OR``, ``NOT``, parentheses; two terms side by side mean ``AND``.
* ``"export licence"`` phrase; ``licen*`` prefix wildcard (also inside phrases).
* ``"export chip"~10`` proximity: all words in a window of 10 words, any order
  (``windows.py``).
* ``title:``, ``text:``, ``source:`` restrict a term or group to one field; unrestricted
  terms search title and text. ``entity:nvidia`` is any alias of a gazetteer entity.
* ``entity:listed`` is any party of the export-control knowledge base named in the text,
  ``list:"Entity List"`` one on that list; ``doctype:rule`` tests a primary source's type.
* A term written without lower-case letters and with at least one upper-case letter
  (``BIS``, ``EAR``, ``H20``, ``SMIC``) matches case-sensitively; all others ignore case.

Errors are ``QuerySyntaxError`` with the position where luqum gives one. ``lint.py`` warns
about queries that compile but probably mean something else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from luqum import tree
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.parser import parser as lucene_parser

from .query import All, Any_, Listed, Node, Not, Terms, Word
from .text import FIELDS, SYMBOLS, normalise

DEFAULT_FIELDS = ("title", "text")
_SYMBOL_SET = frozenset(SYMBOLS)
_QUERY_WORD = re.compile(rf"\w+\*?|[{re.escape(SYMBOLS)}]")


class QuerySyntaxError(ValueError):
    pass


Entities = Mapping[str, Sequence[str]]
"""Entity id -> its aliases (the gazetteer)."""


def compile_query(query: str, entities: Entities | None = None) -> Node:
    """Parse a query string into a tree of nodes. Raises ``QuerySyntaxError``."""
    if not query.strip():
        raise QuerySyntaxError("the query is empty")
    try:
        parsed = lucene_parser.parse(query)
    except IllegalCharacterError as exc:
        raise QuerySyntaxError(str(exc).rstrip("!")) from None
    except ParseError as exc:
        message = str(exc).replace("Syntax error in input : ", "").rstrip("!")
        raise QuerySyntaxError(f"syntax error: {message}") from None
    node = _Compiler(entities or {}).convert(parsed, DEFAULT_FIELDS)
    if not node.positive():
        raise QuerySyntaxError("the query must require at least one term (it has only NOT)")
    return node


def compile_aliases(aliases: Sequence[str], fields: tuple[str, ...] = DEFAULT_FIELDS) -> Node:
    """An entity: any of its aliases, each read as a phrase."""
    return Any_(tuple(_terms(alias, fields, quoted=True) for alias in aliases))


@dataclass(frozen=True)
class _Compiler:
    entities: Entities

    def convert(self, item: tree.Item, fields: tuple[str, ...]) -> Node:
        if isinstance(item, tree.Word):
            return _terms(item.value, fields)
        if isinstance(item, tree.Phrase):
            return _terms(item.value.strip('"'), fields, quoted=True)
        if isinstance(item, tree.Proximity):
            if not isinstance(item.term, tree.Phrase):
                raise _unsupported(item, 'proximity needs a quoted phrase, e.g. "export chip"~10')
            inner = _terms(item.term.value.strip('"'), fields, quoted=True)
            return Terms(inner.words, fields, f"{inner.label}~{item.degree}", int(item.degree or 1))
        if isinstance(item, tree.SearchField):
            return self._field(item, fields)
        if isinstance(item, tree.Group | tree.FieldGroup | tree.Plus):
            return self.convert(item.children[0], fields)
        if isinstance(item, tree.Not | tree.Prohibit):
            return Not(self.convert(item.children[0], fields))
        if isinstance(item, tree.AndOperation | tree.UnknownOperation):
            return All(tuple(self.convert(child, fields) for child in item.children))
        if isinstance(item, tree.OrOperation):
            return Any_(tuple(self.convert(child, fields) for child in item.children))
        if isinstance(item, tree.Fuzzy):
            raise _unsupported(item, "fuzzy terms (word~N) are not supported; quote a phrase")
        raise _unsupported(item, f"{type(item).__name__.lower()} queries are not supported")

    def _field(self, item: tree.SearchField, fields: tuple[str, ...]) -> Node:
        name = item.name.lower()
        if name == "entity":
            return self._entity(item, fields)
        if name == "list":
            return _listed(item, fields)
        if name not in FIELDS:
            known = ", ".join((*FIELDS, "entity", "list"))
            raise _unsupported(item, f"unknown field {item.name!r} (known: {known})")
        return self.convert(item.expr, (name,))

    def _entity(self, item: tree.SearchField, fields: tuple[str, ...]) -> Node:
        expr = item.expr
        if not isinstance(expr, tree.Word | tree.Phrase):
            raise _unsupported(item, "entity: takes one entity id, e.g. entity:nvidia")
        key = expr.value.strip('"').strip().lower()
        if key == "listed" and key not in self.entities:
            return Listed(None, fields, "entity:listed")
        if key not in self.entities:
            raise _unsupported(item, f"unknown entity {key!r} (see entities.yaml)")
        node = compile_aliases(self.entities[key], fields)
        return Any_(tuple(replace_label(child, f"entity:{key}") for child in node.children))


def _listed(item: tree.SearchField, fields: tuple[str, ...]) -> Listed:
    expr = item.expr
    if not isinstance(expr, tree.Word | tree.Phrase):
        raise _unsupported(item, 'list: takes one list name, e.g. list:"Entity List"')
    name = expr.value.strip('"').strip()
    return Listed(name, fields, f'list:"{name}"')


def replace_label(node: Node, label: str) -> Node:
    return Terms(node.words, node.fields, label, node.slop) if isinstance(node, Terms) else node


def _terms(raw: str, fields: tuple[str, ...], quoted: bool = False) -> Terms:
    text = normalise(raw)
    unsearchable = sorted(
        {c for c in text if not c.isalnum() and unicodedata.category(c)[0] == "S"} - _SYMBOL_SET
    )
    if unsearchable:
        shown = " ".join(repr(c) for c in unsearchable)
        raise QuerySyntaxError(
            f"{raw!r} contains {shown}, which cannot be searched for "
            f"(symbols that can: {SYMBOLS[:8]} and currency signs)"
        )
    words = tuple(Word.parse(w) for w in _QUERY_WORD.findall(text) if w != "*")
    if not words:
        raise QuerySyntaxError(f"{raw!r} contains no word to search for")
    label = f'"{raw}"' if quoted else raw
    return Terms(words, fields, label)


def _unsupported(item: tree.Item, message: str) -> QuerySyntaxError:
    position = getattr(item, "pos", None)
    where = f" at position {position}" if position is not None else ""
    return QuerySyntaxError(f"{message}{where}")
