"""Text for people on a terminal: times, counts, cut titles, aligned columns. Pure.

Every time shown carries its zone, in one format (``2026-03-04 09:15 UTC``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

_BOLD = re.compile(r"\*\*(.+?)\*\*")
BOLD_ON, BOLD_OFF = "\x1b[1m", "\x1b[22m"


def when(moment: datetime | None, zone: str = "UTC", missing: str = "never") -> str:
    """``2026-03-04 09:15 UTC``; a naive time is taken as UTC."""
    if moment is None:
        return missing
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 rule``, ``2 rules``, ``0 entities`` (pass the plural when it is not +s)."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{count} {word}"


def cut(text: str, width: int) -> str:
    """One line of at most ``width`` characters; a cut one ends with "…"."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 1, 0)].rstrip() + "…"


def terminal_highlight(snippet: str) -> str:
    """Matched terms (``**term**``) in terminal bold; click strips the codes off a pipe."""
    return _BOLD.sub(lambda found: f"{BOLD_ON}{found.group(1)}{BOLD_OFF}", snippet)


def plain_highlight(snippet: str) -> str:
    return _BOLD.sub(lambda found: found.group(1), snippet)


def columns(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines with every column but the last padded to its widest cell."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]])
        for row in rows
    ]
