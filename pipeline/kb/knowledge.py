"""What the knowledge base adds to matching: listed parties and ECCNs found in an article.

``KnowledgeBase`` is the ``Annotator`` that ``match.RuleSet`` calls for each article: it
puts the listed-party hits on the document (for ``entity:listed`` and ``list:"…"`` in
queries), and adds to every match a note per listed party and ECCN found, so that alerts
show them ("Listed: Huawei Technologies Co., Ltd. — Entity List since 2019-05-16,
84 FR 22961"). Pure: built from parties and tables, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from ..match import Analysis
from ..match.text import Document
from .eccn import EccnHit, EccnTable
from .formats import Party
from .names import NameHit, NameIndex

MAX_NOTES = 4
LISTED = "listed"
ECCNS = "eccn"


@dataclass(frozen=True)
class KnowledgeBase:
    names: NameIndex
    eccns: EccnTable

    @classmethod
    def build(
        cls,
        parties: Sequence[Party],
        eccns: EccnTable | None = None,
        extra_aliases: Mapping[str, Sequence[str]] | None = None,
    ) -> KnowledgeBase:
        return cls(NameIndex(parties, extra_aliases), eccns or EccnTable({}))

    def annotate(self, doc: Document) -> None:
        doc.annotations[LISTED] = self.names.find(doc)
        doc.annotations[ECCNS] = self.eccns.find(doc)

    def enrich(self, doc: Document, analysis: Analysis) -> Analysis:
        """Notes on every match; ``listed:<list>`` and ``eccn:<ECCN>`` among the entities."""
        listed: list[NameHit] = doc.annotations.get(LISTED, [])
        eccns: list[EccnHit] = doc.annotations.get(ECCNS, [])
        if not listed and not eccns:
            return analysis
        notes = tuple(listing_notes(listed) + eccn_notes(eccns))[:MAX_NOTES]
        matches = tuple(replace(m, highlights=m.highlights + notes) for m in analysis.matches)
        ids = [f"listed:{hit.party.list_name}" for hit in listed]
        ids += [f"eccn:{hit.eccn}" for hit in eccns]
        entities = tuple(dict.fromkeys((*analysis.entities, *ids)))
        return Analysis(matches, entities)


def listing_notes(hits: Sequence[NameHit]) -> list[str]:
    """One line per party: "Listed: <name> (as "<alias>") — Entity List since …"."""
    notes: dict[str, str] = {}
    for hit in hits:
        party = hit.party
        seen_as = f' (as "{hit.alias}")' if hit.alias and hit.alias != party.name else ""
        notes.setdefault(party.key, f"Listed: {party.name}{seen_as} — {party.describe()}")
    return list(notes.values())


def eccn_notes(hits: Sequence[EccnHit]) -> list[str]:
    return list(dict.fromkeys(hit.describe() for hit in hits))
