"""Listed parties' names found in article text. Pure: parties in, an index; a document in,
hits out.

Every name and alternative name of every party becomes one or more *aliases*:

* normalised like article text (``match.text.normalise``), split into words, a leading
  "the" and trailing legal forms ("Co., Ltd.", "LLC", "GmbH", "JSC"…) removed, and a
  parenthesised part ("… (NUDT)") kept as an alias of its own;
* matched on whole words only, case-folded, except short acronyms written in capitals
  (``SMIC``, ``NUDT``), which must appear in capitals;
* names in Chinese script are matched as written, inside running text (Chinese has no
  spaces between words), never through a lossy transliteration;
* names that are too short or too ordinary to stand alone (single common words, two-letter
  acronyms, two-word personal names) are *weak*: they count only when the context confirms
  them: the party's country or words about lists and sanctions within a few words.

All aliases go into two Aho–Corasick automata (pyahocorasick): one over the article's
case-folded words joined by single spaces, one over its raw text for Chinese names. One
pass over each field finds every alias, whatever the number of names (30,000 or more).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

from ..match.text import WORD, Document, FieldText, normalise
from .formats import Party, list_abbreviation, list_slug, short_list_name
from .words import (
    CJK_CONTEXT_WORDS,
    COMMON_WORDS,
    CONTEXT_WORDS,
    COUNTRY_WORDS,
    LEGAL_FORMS,
    NEVER_ALONE,
    PLACE_NOUNS,
)

CONTEXT_WINDOW = 30
"""Words either side of a weak match in which its confirmation must occur."""
CONTEXT_CHARS = 60
"""The same for Chinese script, in characters."""
ACRONYM_MAX = 5
"""A one-word name in capitals up to this long is an acronym: matched case-sensitively."""
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PARENTHESISED = re.compile(r"\(([^()]*)\)")


@dataclass(frozen=True)
class Alias:
    party: int
    """Index of the party in ``NameIndex.parties``."""
    words: tuple[str, ...]
    """As written (normalised), for the case-sensitive check."""
    case_sensitive: bool
    weak: bool


@dataclass(frozen=True)
class NameHit:
    """A listed party named in one field; ``start``/``end`` are word positions (inclusive)."""

    field: str
    start: int
    end: int
    party: Party
    alias: str

    def on_list(self, name: str) -> bool:
        """``Entity List``, ``EL``, ``entity-list`` or the full source name, any case."""
        source = self.party.source
        known = {short_list_name(source), list_abbreviation(source) or "", source}
        wanted = name.strip().casefold()
        return wanted == list_slug(source) or wanted in {k.casefold() for k in known}


def aliases_of(name: str, *, individual: bool = False) -> list[tuple[tuple[str, ...], bool, bool]]:
    """(words, case-sensitive, weak) for each way ``name`` is matched; empty: never."""
    text = normalise(name)
    found = []
    for part in [_PARENTHESISED.sub(" ", text), *_PARENTHESISED.findall(text)]:
        if _CJK.search(part):
            compact = "".join(part.split())
            found.append(((compact,), True, len(compact) < 3))
            continue
        words = _core_words(WORD.findall(part))
        if words and not _never(words):
            sensitive = _is_acronym(words)
            found.append((tuple(words), sensitive, _is_weak(words, sensitive, individual)))
    return found


def _core_words(words: list[str]) -> list[str]:
    if len(words) > 1 and words[0].casefold() == "the":
        words = words[1:]
    while len(words) > 1 and words[-1].casefold() in LEGAL_FORMS:
        words = words[:-1]
    return words


def _is_acronym(words: Sequence[str]) -> bool:
    return len(words) == 1 and len(words[0]) <= ACRONYM_MAX and words[0].isupper()


def _never(words: Sequence[str]) -> bool:
    folded = " ".join(words).casefold()
    return len(folded) < 2 or folded in NEVER_ALONE or folded in LEGAL_FORMS


def _is_weak(words: Sequence[str], acronym: bool, individual: bool) -> bool:
    folded = [word.casefold() for word in words]
    if acronym:
        return len(folded[0]) <= 3
    if len(folded) == 1:
        return folded[0] in COMMON_WORDS or len(folded[0]) < 5 or folded[0].isdigit()
    if individual and len(folded) <= 2:
        return True
    return len(folded) == 2 and all(w in COMMON_WORDS or w in _PLACE_WORDS for w in folded)


_PLACE_WORDS = frozenset(word for words in COUNTRY_WORDS.values() for word in words)


class NameIndex:
    """Every alias of every party, compiled once; ``find`` is called once per article."""

    def __init__(
        self, parties: Sequence[Party], extra_aliases: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        """``extra_aliases``: party key -> curated aliases the list lacks."""
        self.parties = tuple(parties)
        self._words = ahocorasick.Automaton()
        self._script = ahocorasick.Automaton()
        self.alias_count = 0
        extra = extra_aliases or {}
        for number, party in enumerate(self.parties):
            individual = (party.kind or "").casefold() == "individual"
            for name in dict.fromkeys((party.name, *party.alt_names, *extra.get(party.key, ()))):
                for words, sensitive, weak in aliases_of(name, individual=individual):
                    self._add(Alias(number, words, sensitive, weak))
        for automaton in (self._words, self._script):
            if len(automaton):
                automaton.make_automaton()

    def __len__(self) -> int:
        return len(self.parties)

    def _add(self, alias: Alias) -> None:
        if _CJK.search(alias.words[0]):
            automaton, key = self._script, alias.words[0]
        else:
            automaton, key = self._words, f" {' '.join(alias.words).casefold()} "
        if key in automaton:
            automaton.get(key).append(alias)
        else:
            automaton.add_word(key, [alias])
        self.alias_count += 1

    def find(self, doc: Document, fields: Iterable[str] = ("title", "text")) -> list[NameHit]:
        hits: list[NameHit] = []
        for name in fields:
            field = doc.fields[name]
            if not field.spans:
                continue
            found = list(self._word_hits(name, field))
            found.extend(self._script_hits(name, field))
            hits.extend(
                hit
                for hit, alias in _outermost(found)
                if not alias.weak or _confirmed(hit, alias, field)
            )
        return hits

    def _word_hits(self, name: str, field: FieldText) -> Iterable[tuple[NameHit, Alias]]:
        """One automaton pass over the field's words, case-folded and joined by single
        spaces (built in C: no Python loop per word); the few hits are then checked."""
        if not len(self._words):
            return
        joined = f" {' '.join(WORD.findall(field.text)).casefold()} "
        for end_char, aliases in self._words.iter(joined):
            length = len(aliases[0].words)
            first_char = end_char - len(" ".join(aliases[0].words).casefold())
            start = joined.count(" ", 0, first_char) - 1
            written = _words(field, start, start + length)
            after = _words(field, start + length, start + length + 1)
            for alias in aliases:
                if not _as_written(alias, written):
                    continue
                if length == 1 and after and after[0].casefold() in PLACE_NOUNS:
                    continue
                party = self.parties[alias.party]
                yield NameHit(name, start, start + length - 1, party, " ".join(written)), alias

    def _script_hits(self, name: str, field: FieldText) -> Iterable[tuple[NameHit, Alias]]:
        if not len(self._script) or not _CJK.search(field.text):
            return
        starts = [start for start, _ in field.spans]
        for end_char, aliases in self._script.iter(field.text):
            first_char = end_char - len(aliases[0].words[0]) + 1
            start = max(bisect.bisect_right(starts, first_char) - 1, 0)
            end = max(bisect.bisect_right(starts, end_char) - 1, start)
            for alias in aliases:
                party = self.parties[alias.party]
                yield NameHit(name, start, end, party, aliases[0].words[0]), alias


def _as_written(alias: Alias, written: Sequence[str]) -> bool:
    """Acronyms exactly; other names as proper nouns: each capitalised word of the name is
    capitalised in the text ("Moore Threads", not "Moore threads his way")."""
    if alias.case_sensitive:
        return tuple(written) == alias.words
    return all(
        text[:1].isupper() or not name[:1].isupper()
        for name, text in zip(alias.words, written, strict=True)
    )


def _words(field: FieldText, start: int, end: int) -> list[str]:
    return [field.text[lo:hi] for lo, hi in field.spans[start:end]]


def _confirmed(hit: NameHit, alias: Alias, field: FieldText) -> bool:
    """A weak name counts when its country or words about lists occur near it."""
    if _CJK.search(alias.words[0]):
        lo = max(field.spans[hit.start][0] - CONTEXT_CHARS, 0)
        nearby = field.text[lo : field.spans[hit.end][1] + CONTEXT_CHARS]
        return any(word in nearby for word in CJK_CONTEXT_WORDS)
    nearby = _words(field, max(hit.start - CONTEXT_WINDOW, 0), hit.end + CONTEXT_WINDOW + 1)
    window = {word.casefold() for word in nearby}
    expected = set(CONTEXT_WORDS) | _list_words(hit.party)
    for country in hit.party.countries:
        expected.update(COUNTRY_WORDS.get(country.upper(), ()))
    return not window.isdisjoint(expected)


def _outermost(found: list[tuple[NameHit, Alias]]) -> list[tuple[NameHit, Alias]]:
    """Drop hits inside a longer hit ("Huawei" inside "Huawei Cloud Computing")."""
    spans = {(hit.start, hit.end) for hit, _ in found}
    return [
        (hit, alias)
        for hit, alias in found
        if not any(
            s <= hit.start and hit.end <= e and (s, e) != (hit.start, hit.end) for s, e in spans
        )
    ]


def _list_words(party: Party) -> set[str]:
    return {word.casefold() for word in WORD.findall(party.list_name)} - {"list", "of", "the"}
