"""Article text normalised and cut into words once, for every rule to look up.

Only what every article needs is computed up front: the normalised text, its words, and
the case-folded words joined into one string (``scan``) that the rule index searches with
one automaton pass. Everything else (word -> positions, character spans, sentences) is
built on first use, which happens only for articles that some rule could match.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass, field
from itertools import accumulate

from ..types import Article

_UNIFORM = {
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
}
"""One kind of dash and quote."""
_NOT_UNIFORM = re.compile(f"[{''.join(_UNIFORM)}]")
"""One pass of a regular expression, not ``str.translate``: on non-ASCII text translate
looks up every character and is many times slower."""
_DOTTED_ABBREVIATION = re.compile(r"(?<!\w)[A-Z]\.(?:[A-Z]\.)+(?![A-Za-z])")
_MAYBE_DOTTED = re.compile(r"[A-Z]\.[A-Z]\.")
SYMBOLS = "%‰‱&#@§+" + "".join(
    c for c in map(chr, range(0x20, 0x10000)) if unicodedata.category(c) == "Sc"
)
"""Characters that are words of their own (``25 % cut``, ``R & D``, ``$ 5bn``); every
other character that is neither a letter nor a digit separates words."""
WORD = re.compile(rf"\w+|[{re.escape(SYMBOLS)}]")
_AROUND_WORDS = re.compile(rf"(\w+|[{re.escape(SYMBOLS)}])")
_SENTENCE_END = re.compile(r"[.!?\n](?:(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|(?<=\n)\n*)")
"""What ends a sentence: its closing mark (kept in the sentence), quotes and brackets
after it, and the space before a capital or digit; or line breaks. Written to start
with one character class, which lets the regular-expression engine skip ahead to the
next candidate (three times faster than a leading look-behind)."""
_CLOSING_MARKS = frozenset(".!?")
_IRREGULAR_SPACE = ("  ", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
"""In ASCII text, the whitespace that is neither a single space nor a line break."""

FIELDS = ("title", "text", "source", "doctype")
SEPARATORS = {"title": "\x01", "text": "\x00", "source": "\x02", "doctype": "\x03"}
"""Between the words of each field's ``FieldText.scan`` (never part of a word): a pattern
written with one field's separator can only be found in that field."""


def normalise(text: str) -> str:
    """NFKC, one kind of dash and quote, and ``U.S.``/``U.K.``/``E.U.`` without dots.

    Each step first checks, with a cheap search, whether it has anything to do."""
    if not text.isascii():
        text = _NOT_UNIFORM.sub(_uniform, unicodedata.normalize("NFKC", text))
    if _MAYBE_DOTTED.search(text):
        text = _DOTTED_ABBREVIATION.sub(_without_dots, text)
    return text


def _uniform(match: re.Match[str]) -> str:
    return _UNIFORM[match.group()]


def _without_dots(match: re.Match[str]) -> str:
    return match.group().replace(".", "")


class FieldText:
    """One field of an article: normalised text and its words; indexes built on demand."""

    __slots__ = (
        "_offsets",
        "_pieces",
        "_positions",
        "_sentence_words",
        "_sentences",
        "_single_spaced",
        "_spans",
        "scan",
        "separator",
        "text",
        "words",
    )

    def __init__(
        self,
        text: str,
        words: list[str],
        separator: str = SEPARATORS["text"],
        pieces: list[str] | None = None,
    ) -> None:
        self.text = text
        self.words = words
        self._pieces = pieces
        """The text cut into gap, word, gap, ..., gap (``_AROUND_WORDS.split``), if known."""
        self.separator = separator
        self.scan = f"{separator}{separator.join(words)}{separator}".casefold()
        """The case-folded words, each between separators (casefold maps each character
        on its own, so this is the same as folding each word)."""
        self._positions: dict[tuple[str, bool, bool], list[int]] = {}
        self._offsets: list[int] | None = None
        self._spans: list[tuple[int, int]] | None = None
        self._sentences: list[tuple[int, int]] | None = None
        self._sentence_words: list[int] | None = None
        self._single_spaced: bool | None = None

    @classmethod
    def index(cls, raw: str, separator: str = SEPARATORS["text"]) -> FieldText:
        """One regular-expression pass cuts the text into words and the gaps between them:
        the words are what every article needs; the gaps are kept so that the character
        offsets of the words (``offsets``), which an article that matches needs for its
        highlights, cost no second pass over the text."""
        text = normalise(raw)
        pieces = _AROUND_WORDS.split(text)
        return cls(text, pieces[1::2], separator, pieces)

    @property
    def offsets(self) -> list[int]:
        """Character offsets of the words, flat: word ``i`` is ``text[o[2*i]:o[2*i+1]]``.

        ``split`` alternates gaps and words, so the running total of their lengths is
        every word's start and end, without a Python loop over the words."""
        if self._offsets is None:
            pieces = self._pieces or _AROUND_WORDS.split(self.text)
            self._offsets = list(accumulate(map(len, pieces)))
        return self._offsets

    @property
    def spans(self) -> list[tuple[int, int]]:
        """(start, end) character offsets of each word."""
        if self._spans is None:
            offsets = self.offsets
            self._spans = list(zip(offsets[0::2], offsets[1::2], strict=False))
        return self._spans

    def positions(self, word: str, *, prefix: bool, case_sensitive: bool) -> list[int]:
        """Word numbers where ``word`` occurs (or a word starting with it), in order.

        Found with ``str.find`` in ``scan``; a word's number is the count of separators
        before it. No word -> positions index is built: an article is asked about a
        few dozen words at most, and most articles about none."""
        return self.lookup((word, prefix, case_sensitive))

    def lookup(self, key: tuple[str, bool, bool]) -> list[int]:
        """``positions`` by one key, (word, prefix, case_sensitive); computed once."""
        found = self._positions.get(key)
        if found is None:
            word, prefix, case_sensitive = key
            found = self._find(word, prefix)
            if case_sensitive:
                words = self.words
                if prefix:
                    found = [p for p in found if words[p].startswith(word)]
                else:
                    found = [p for p in found if words[p] == word]
            self._positions[key] = found
        return found

    def _find(self, word: str, prefix: bool) -> list[int]:
        separator, scan = self.separator, self.scan
        needle = separator + word.casefold() + ("" if prefix else separator)
        found: list[int] = []
        number = last = 0
        at = scan.find(needle)
        while at >= 0:
            number += scan.count(separator, last, at)
            found.append(number)
            last = at
            at = scan.find(needle, at + 1)
        return found

    def sentences(self) -> list[tuple[int, int]]:
        """(start, end) of each sentence of the text, computed once."""
        if self._sentences is None:
            sentences, text = [], self.text
            start = 0
            for boundary in _SENTENCE_END.finditer(text):
                end = boundary.start()
                if text[end] in _CLOSING_MARKS:
                    end += 1
                sentences.append((start, end))
                start = boundary.end()
            if start < len(text):
                sentences.append((start, len(text)))
            self._sentences = sentences
        return self._sentences

    @property
    def single_spaced(self) -> bool:
        """Whether the text's only whitespace, line breaks aside, is single spaces (checked
        for ASCII text only, where the whitespace characters are few), computed once."""
        if self._single_spaced is None:
            text = self.text
            self._single_spaced = text.isascii() and not any(
                mark in text for mark in _IRREGULAR_SPACE
            )
        return self._single_spaced

    def sentence_words(self) -> list[int]:
        """The number of the first word of each sentence (a sentence without words has the
        number of the next word), for a binary search by word number."""
        if self._sentence_words is None:
            starts = self.offsets[0::2]
            self._sentence_words = [bisect_left(starts, start) for start, _ in self.sentences()]
        return self._sentence_words


@dataclass(frozen=True)
class Document:
    fields: dict[str, FieldText]
    present: set[int] | None = None
    """What a scan of ``scan()`` found, when one was made: the numbers (``query.number``)
    of the triggers that occur. ``None``: unknown, every term is looked up."""
    annotations: dict[str, list] = field(default_factory=dict, compare=False)  # type: ignore[type-arg]
    """What an annotator found beyond words (the knowledge base's listed parties)."""

    @classmethod
    def of(cls, article: Article) -> Document:
        return cls(
            {
                "title": FieldText.index(article.title, SEPARATORS["title"]),
                "text": FieldText.index(article.text, SEPARATORS["text"]),
                "source": FieldText.index(article.source, SEPARATORS["source"]),
                "doctype": FieldText.index(article.doctype or "", SEPARATORS["doctype"]),
            }
        )

    def scan(self) -> str:
        """Every field's ``scan`` in a row. With the text's separator ``\\0``:
        ``\\0word\\0`` finds a whole word of the text, ``\\0pre`` a prefix, and
        ``\\0a\\0b\\0`` the phrase "a b"; the title's and source's separators differ."""
        return "".join(field.scan for field in self.fields.values())
