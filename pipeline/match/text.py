"""Article text normalised once and indexed by word, for every rule to look up."""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, field

from ..types import Article

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
_QUOTES = dict.fromkeys(map(ord, "\u2018\u2019\u201a\u201b\u2032"), "'") | dict.fromkeys(
    map(ord, "\u201c\u201d\u201e\u201f\u2033"), '"'
)
_DOTTED_ABBREVIATION = re.compile(r"\b((?:[A-Z]\.){2,})(?![A-Za-z])")
WORD = re.compile(r"\w+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")

FIELDS = ("title", "text", "source", "doctype")


def normalise(text: str) -> str:
    """NFKC, one kind of dash and quote, and ``U.S.``/``U.K.``/``E.U.`` without dots."""
    text = unicodedata.normalize("NFKC", text).translate(_DASHES).translate(_QUOTES)
    return _DOTTED_ABBREVIATION.sub(lambda m: m.group(1).replace(".", ""), text)


@dataclass(frozen=True)
class FieldText:
    """One field of an article: normalised text, word spans, and word -> positions."""

    text: str
    spans: tuple[tuple[int, int], ...]
    exact: dict[str, list[int]]
    folded: dict[str, list[int]]
    prefix_cache: dict[tuple[str, bool], list[int]] = field(default_factory=dict, compare=False)
    sorted_words: dict[bool, list[str]] = field(default_factory=dict, compare=False)
    sentence_spans: list[tuple[int, int]] = field(default_factory=list, compare=False)

    @classmethod
    def index(cls, raw: str) -> FieldText:
        text = normalise(raw)
        spans: list[tuple[int, int]] = []
        exact: dict[str, list[int]] = {}
        folded: dict[str, list[int]] = {}
        for position, found in enumerate(WORD.finditer(text)):
            word = found.group()
            spans.append(found.span())
            exact.setdefault(word, []).append(position)
            folded.setdefault(word.casefold(), []).append(position)
        return cls(text, tuple(spans), exact, folded)

    def positions(self, word: str, *, prefix: bool, case_sensitive: bool) -> list[int]:
        index = self.exact if case_sensitive else self.folded
        if not prefix:
            return index.get(word, [])
        key = (word, case_sensitive)
        if key not in self.prefix_cache:
            self.prefix_cache[key] = sorted(
                p for w in self._words_starting(word, case_sensitive) for p in index[w]
            )
        return self.prefix_cache[key]

    def sentences(self) -> list[tuple[int, int]]:
        """(start, end) of each sentence of the text, computed once."""
        if not self.sentence_spans and self.text:
            start = 0
            for boundary in _SENTENCE_END.finditer(self.text):
                self.sentence_spans.append((start, boundary.start()))
                start = boundary.end()
            if start < len(self.text):
                self.sentence_spans.append((start, len(self.text)))
        return self.sentence_spans

    def _words_starting(self, prefix: str, case_sensitive: bool) -> list[str]:
        """Binary search in the sorted vocabulary: no scan of every word per prefix."""
        words = self.sorted_words.get(case_sensitive)
        if words is None:
            words = sorted(self.exact if case_sensitive else self.folded)
            self.sorted_words[case_sensitive] = words
        start = bisect.bisect_left(words, prefix)
        end = start
        while end < len(words) and words[end].startswith(prefix):
            end += 1
        return words[start:end]


@dataclass(frozen=True)
class Document:
    fields: dict[str, FieldText]
    annotations: dict[str, list] = field(default_factory=dict, compare=False)  # type: ignore[type-arg]
    """What an annotator found beyond words (the knowledge base's listed parties)."""

    @classmethod
    def of(cls, article: Article) -> Document:
        return cls(
            {
                "title": FieldText.index(article.title),
                "text": FieldText.index(article.text),
                "source": FieldText.index(article.source),
                "doctype": FieldText.index(article.doctype or ""),
            }
        )

    def vocabulary(self) -> set[str]:
        """Every case-folded word of the article, in any field."""
        words: set[str] = set()
        for field_text in self.fields.values():
            words.update(field_text.folded)
        return words
