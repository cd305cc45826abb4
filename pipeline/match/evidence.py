"""Score and highlights: why a rule matched, in a form a reader can check at a glance."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from itertools import repeat

from .query import Hit
from .text import Document, FieldText

TITLE_WEIGHT = 3.0
LEDE_WORDS = 120
DEEP_WEIGHT = 0.5
TERM_CAP = 5.0
MAX_HIGHLIGHTS = 3
SNIPPET_CHARS = 280


def weigh(hits: Iterable[Hit]) -> tuple[float, tuple[str, ...]]:
    """The score and the distinct terms hit, in order.

    Title hits weigh 3, hits in the lede 1, deeper hits 0.5; phrases and proximity
    x1.5; each distinct term counts at most ``TERM_CAP`` so repetition cannot dominate.
    With these weights every score is a whole number of quarters, which a float holds
    exactly: it is rounded to two decimals only when some other weight made it not."""
    per_term: dict[str, float] = {}
    for field, start, _, term, weight in set(hits):
        if field == "title":
            base = TITLE_WEIGHT
        elif field == "text" and start >= LEDE_WORDS:
            base = DEEP_WEIGHT
        else:
            base = 1.0
        per_term[term] = per_term.get(term, 0.0) + base * weight
    score = sum(map(min, per_term.values(), repeat(TERM_CAP)), 0.0)
    if not (score * 4).is_integer():
        score = round(score, 2)
    return score, tuple(sorted(per_term))


def highlight(doc: Document, hits: Sequence[Hit]) -> tuple[str, ...]:
    """The title (if hit) and the sentences with the most distinct terms, terms in **bold**."""
    title_hits, by_sentence = _grouped(doc.fields["text"], hits)
    snippets: list[str] = []
    if title_hits:
        title = doc.fields["title"]
        snippets.append(_mark(title, 0, len(title.text), title_hits))
    if by_sentence:
        text = doc.fields["text"]
        sentences = text.sentences()
        for number in _best(by_sentence, MAX_HIGHLIGHTS - len(snippets)):
            start, end = sentences[number]
            snippets.append(_mark(text, start, end, by_sentence[number]))
    return tuple(snippets)


def _grouped(text: FieldText, hits: Sequence[Hit]) -> tuple[list[Hit], dict[int, list[Hit]]]:
    """The title's hits, and the text's by the number of the sentence they start in: a
    binary search each, by word number, in the sentences' first words (computed once per
    article, and only when the text has a hit)."""
    title_hits: list[Hit] = []
    by_sentence: dict[int, list[Hit]] = {}
    firsts: list[int] | None = None
    for hit in hits:
        if hit.field == "title":
            title_hits.append(hit)
        elif hit.field == "text":
            if firsts is None:
                firsts = text.sentence_words()
            number = bisect.bisect_right(firsts, hit.start) - 1
            if number >= 0:
                by_sentence.setdefault(number, []).append(hit)
    return title_hits, by_sentence


def _best(by_sentence: dict[int, list[Hit]], room: int) -> list[int]:
    """The ``room`` sentences with the most distinct terms (the earlier on a tie), in
    text order."""
    if len(by_sentence) <= room:
        return sorted(by_sentence)
    ranked = sorted((-len({hit.term for hit in inside}), n) for n, inside in by_sentence.items())
    return sorted(number for _, number in ranked[:room])


def _mark(field: FieldText, start: int, end: int, hits: Sequence[Hit]) -> str:
    """``field.text[start:end]`` with each hit wrapped in ``**``, trimmed around the hits."""
    merged = _merged_ranges(field.offsets, hits)
    lead = tail = ""
    if end - start > SNIPPET_CHARS:
        first = max(start, merged[0][0] - SNIPPET_CHARS // 3)
        last = min(end, first + SNIPPET_CHARS)
        lead, tail = ("…" if first > start else ""), ("…" if last < end else "")
        start, end = first, last
    text = field.text
    pieces, cursor = [], start
    for lo, hi in merged:
        if lo < start or hi > end:
            continue
        pieces.append(text[cursor:lo])
        pieces.append(f"**{text[lo:hi]}**")
        cursor = hi
    pieces.append(text[cursor:end])
    return lead + _squashed("".join(pieces), field.single_spaced) + tail


def _squashed(snippet: str, single_spaced: bool) -> str:
    """Every run of whitespace one space, none at the ends. In a single-spaced field a
    snippet without a line break (any sentence of the text) has only the ends to trim."""
    if single_spaced and "\n" not in snippet:
        return snippet.strip()
    return " ".join(snippet.split())


def _merged_ranges(offsets: list[int], hits: Sequence[Hit]) -> list[list[int]]:
    """The hits' character ranges, in order, overlapping ones merged."""
    if len(hits) == 1:
        (hit,) = hits
        return [[offsets[2 * hit.start], offsets[2 * hit.end + 1]]]
    merged: list[list[int]] = []
    for lo, hi in sorted({(offsets[2 * h.start], offsets[2 * h.end + 1]) for h in hits}):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return merged
