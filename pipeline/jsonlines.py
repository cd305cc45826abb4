"""Reading a JSON Lines archive (``replay``, ``rules test``) with one clear sentence for
the inputs that are not JSON Lines: not UTF-8, one pretty-printed or array document,
or nothing at all. Per-line problems (a bad object) stay the caller's business."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from .errors import WirewatchError


class NotJsonLines(WirewatchError):
    """The input as a whole is not JSON Lines (exit 1, like any bad input)."""


def jsonl_lines(raw: Iterable[bytes], name: str) -> Iterator[str]:
    """The decoded lines of ``raw``; raises ``NotJsonLines`` for a whole-input problem."""
    seen = False
    for number, data in enumerate(raw, start=1):
        line = _decode(data, name, number)
        if not seen and line.strip():
            seen = True
            _check_first_line(line, name, number)
        yield line
    if not seen:
        raise NotJsonLines(f"{name} is empty: no JSON Lines to read")


def _decode(data: bytes, name: str, number: int) -> str:
    try:
        return data.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise NotJsonLines(
            f"{name}: line {number} is not UTF-8 (byte {exc.start + 1}): not JSON Lines"
        ) from None


def _check_first_line(line: str, name: str, number: int) -> None:
    text = line.strip()
    try:
        first = json.loads(text)
    except json.JSONDecodeError:
        if text[0] in "{[" and not text.endswith(("}", "]")):
            raise NotJsonLines(
                f"{name}: line {number} starts a JSON document spread over several lines "
                "(pretty-printed?): not JSON Lines, which needs one object per line"
            ) from None
        return
    if isinstance(first, list):
        raise NotJsonLines(
            f"{name}: line {number} is a JSON array: not JSON Lines, which needs one object "
            "per line (jq -c '.[]' converts it)"
        )
