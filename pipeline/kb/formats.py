"""The Consolidated Screening List files -> ``Party`` records. Pure: bytes in, data out.

Two formats of trade.gov's static files are read:

* JSON: ``{"results": [{"name", "alt_names": [...], "addresses": [{"country", ...}],
  "source", "programs": [...], "federal_register_notice", "start_date",
  "license_requirement", "license_policy", "type", "ids", ...}]}``
* CSV: the header ``_id,source,entity_number,type,programs,name,title,addresses,
  federal_register_notice,start_date,end_date,...,alt_names,...``; lists inside a cell
  (``alt_names``, ``programs``, ``addresses``) are separated by ``;``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import WirewatchError

CSV_REQUIRED = ("source", "name")


class KbFormatError(WirewatchError):
    """A screening-list file that cannot be read; the message names the file and record."""


@dataclass(frozen=True)
class Party:
    """One listed party: a name on one list, with what the list says about it."""

    source: str
    """The list as the CSL names it: "Entity List (EL) - Bureau of Industry and Security"."""
    name: str
    alt_names: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    programs: tuple[str, ...] = ()
    federal_register_notice: str | None = None
    start_date: str | None = None
    license_requirement: str | None = None
    license_policy: str | None = None
    kind: str | None = None
    """``Entity``, ``Individual``, ``Vessel``… (the CSL ``type``)."""

    @property
    def key(self) -> str:
        """Stable across downloads and formats: the list and the name, normalised."""
        raw = f"{self.source.casefold().strip()}\n{' '.join(self.name.casefold().split())}"
        return hashlib.sha256(raw.encode()).hexdigest()[:40]

    @property
    def list_name(self) -> str:
        return short_list_name(self.source)

    def describe(self) -> str:
        """``Entity List since 2019-05-16, 84 FR 22961``."""
        facts = [self.list_name]
        if self.start_date:
            facts[0] += f" since {self.start_date}"
        if self.federal_register_notice:
            facts.append(self.federal_register_notice)
        return ", ".join(facts)


_ABBREVIATION = re.compile(r"\s*\([A-Za-z0-9 &-]{1,12}\)")


def short_list_name(source: str) -> str:
    """ "Entity List (EL) - Bureau of Industry and Security" -> "Entity List"."""
    head = source.split(" - ")[0]
    return " ".join(_ABBREVIATION.sub("", head).split()) or source.strip()


def list_abbreviation(source: str) -> str | None:
    """ "Entity List (EL) - Bureau…" -> "EL"; ``None`` when the name carries none."""
    found = re.search(r"\(([A-Za-z0-9-]{1,12})\)", source.split(" - ")[0])
    return found.group(1) if found else None


def list_slug(source: str) -> str:
    """ "Entity List (EL) - Bureau…" -> "entity-list" (for ``kb:entity-list-added``)."""
    return re.sub(r"[^a-z0-9]+", "-", short_list_name(source).casefold()).strip("-")


def parse_list_file(body: bytes, origin: str) -> tuple[Party, ...]:
    """JSON or CSV, told apart by the content. ``origin`` names the file in errors."""
    text = _decode(body, origin)
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return parse_json(stripped, origin)
    return parse_csv(text, origin)


def parse_json(text: str, origin: str) -> tuple[Party, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise KbFormatError(f"{origin}: invalid JSON at line {exc.lineno}: {exc.msg}") from None
    results = data.get("results") if isinstance(data, dict) else data
    if not isinstance(results, list):
        raise KbFormatError(f"{origin}: no 'results' array (not a Consolidated Screening List)")
    return _unique(_json_party(record, origin, index) for index, record in enumerate(results))


def _json_party(record: Any, origin: str, index: int) -> Party:
    where = f"{origin}: results[{index}]"
    if not isinstance(record, dict):
        raise KbFormatError(f"{where}: expected an object")
    name, source = _text(record.get("name")), _text(record.get("source"))
    if not name or not source:
        raise KbFormatError(f"{where}: 'name' and 'source' are required")
    addresses = record.get("addresses") or []
    countries = [_text(a.get("country")) for a in addresses if isinstance(a, dict)]
    return Party(
        source=source,
        name=name,
        alt_names=_names(record.get("alt_names")),
        countries=_names(countries),
        programs=_names(record.get("programs")),
        federal_register_notice=_text(record.get("federal_register_notice")) or None,
        start_date=_text(record.get("start_date")) or None,
        license_requirement=_text(record.get("license_requirement")) or None,
        license_policy=_text(record.get("license_policy")) or None,
        kind=_text(record.get("type")) or None,
    )


def parse_csv(text: str, origin: str) -> tuple[Party, ...]:
    reader = csv.DictReader(io.StringIO(text))
    header = [column.strip() for column in reader.fieldnames or []]
    missing = [column for column in CSV_REQUIRED if column not in header]
    if missing:
        raise KbFormatError(
            f"{origin}: not a Consolidated Screening List CSV (no column {', '.join(missing)})"
        )
    reader.fieldnames = header
    parties = []
    for row in reader:
        where = f"{origin}: line {reader.line_num}"
        name, source = _text(row.get("name")), _text(row.get("source"))
        if not name or not source:
            raise KbFormatError(f"{where}: 'name' and 'source' are required")
        parties.append(_csv_party(row, source, name))
    return _unique(parties)


def _csv_party(row: Mapping[str, Any], source: str, name: str) -> Party:
    addresses = _split(row.get("addresses"))
    return Party(
        source=source,
        name=name,
        alt_names=_split(row.get("alt_names")),
        countries=_names(address.rsplit(",", 1)[-1] for address in addresses),
        programs=_split(row.get("programs")),
        federal_register_notice=_text(row.get("federal_register_notice")) or None,
        start_date=_text(row.get("start_date")) or None,
        license_requirement=_text(row.get("license_requirement")) or None,
        license_policy=_text(row.get("license_policy")) or None,
        kind=_text(row.get("type")) or None,
    )


def _decode(body: bytes, origin: str) -> str:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise KbFormatError(f"{origin}: not UTF-8 (byte {exc.start})") from None


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _names(values: Any) -> tuple[str, ...]:
    """Distinct non-empty strings, in order."""
    if isinstance(values, str):
        values = [values]
    cleaned = (_text(value) for value in values or ())
    return tuple(dict.fromkeys(value for value in cleaned if value))


def _split(cell: Any) -> tuple[str, ...]:
    return _names(str(cell or "").split(";"))


def _unique(parties: Iterable[Party]) -> tuple[Party, ...]:
    """One record per (list, name): a party repeated in one file is merged into the first."""
    merged: dict[str, Party] = {}
    for party in parties:
        first = merged.get(party.key)
        if first is None:
            merged[party.key] = party
            continue
        merged[party.key] = Party(
            **{
                **first.__dict__,
                "alt_names": _names((*first.alt_names, *party.alt_names)),
                "countries": _names((*first.countries, *party.countries)),
            }
        )
    return tuple(merged.values())
