"""Score and highlights: why a rule matched, in a form a reader can check at a glance."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

from .query import Hit
from .text import Document, FieldText

TITLE_WEIGHT = 3.0
LEDE_WORDS = 120
DEEP_WEIGHT = 0.5
TERM_CAP = 5.0
MAX_HIGHLIGHTS = 3
SNIPPET_CHARS = 280


def score_hits(hits: Iterable[Hit]) -> float:
    """Title hits weigh 3, hits in the lede 1, deeper hits 0.5; phrases and proximity
    x1.5; each distinct term counts at most ``TERM_CAP`` so repetition cannot dominate."""
    per_term: dict[str, float] = {}
    for hit in set(hits):
        if hit.field == "title":
            base = TITLE_WEIGHT
        elif hit.field == "text" and hit.start >= LEDE_WORDS:
            base = DEEP_WEIGHT
        else:
            base = 1.0
        per_term[hit.term] = per_term.get(hit.term, 0.0) + base * hit.weight
    return round(sum(min(value, TERM_CAP) for value in per_term.values()), 2)


def highlight(doc: Document, hits: Sequence[Hit]) -> tuple[str, ...]:
    """The title (if hit) and the sentences with the most distinct terms, terms in **bold**."""
    snippets: list[str] = []
    title_hits = [hit for hit in hits if hit.field == "title"]
    if title_hits:
        title = doc.fields["title"]
        snippets.append(_mark(title, 0, len(title.text), title_hits))
    text = doc.fields["text"]
    ranked = [
        (-len({h.term for h in inside}), start, end, inside)
        for (start, end), inside in _by_sentence(text, hits).items()
    ]
    ranked.sort(key=lambda r: (r[0], r[1]))
    room = MAX_HIGHLIGHTS - len(snippets)
    for _, start, end, inside in sorted(ranked[:room], key=lambda r: r[1]):
        snippets.append(_mark(text, start, end, inside))
    return tuple(snippets)


def _by_sentence(text: FieldText, hits: Sequence[Hit]) -> dict[tuple[int, int], list[Hit]]:
    """The text's hits grouped by the sentence they start in (a binary search each, by
    word number: no character offsets needed)."""
    sentences = text.sentences()
    firsts = text.sentence_words()
    grouped: dict[tuple[int, int], list[Hit]] = {}
    for hit in hits:
        if hit.field != "text":
            continue
        number = bisect.bisect_right(firsts, hit.start) - 1
        if number >= 0:
            grouped.setdefault(sentences[number], []).append(hit)
    return grouped


def _mark(field: FieldText, start: int, end: int, hits: Sequence[Hit]) -> str:
    """``field.text[start:end]`` with each hit wrapped in ``**``, trimmed around the hits."""
    offsets = field.offsets
    ranges = sorted({(offsets[2 * h.start], offsets[2 * h.end + 1]) for h in hits})
    merged: list[list[int]] = []
    for lo, hi in ranges:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    lead = tail = ""
    if end - start > SNIPPET_CHARS:
        first = max(start, merged[0][0] - SNIPPET_CHARS // 3)
        last = min(end, first + SNIPPET_CHARS)
        lead, tail = ("…" if first > start else ""), ("…" if last < end else "")
        start, end = first, last
    pieces, cursor = [], start
    for lo, hi in merged:
        if lo < start or hi > end:
            continue
        pieces.append(field.text[cursor:lo])
        pieces.append(f"**{field.text[lo:hi]}**")
        cursor = hi
    pieces.append(field.text[cursor:end])
    return lead + " ".join("".join(pieces).split()) + tail
