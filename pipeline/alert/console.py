"""The console channel: one readable block per alert on standard output."""

from __future__ import annotations

import sys
from typing import TextIO

from ..types import AlertMessage


def render_text(message: AlertMessage) -> str:
    when = message.published.strftime("%Y-%m-%d %H:%M UTC") if message.published else "undated"
    lines = [
        f"● [{message.rule}] {message.title}",
        f"  {message.source} · {when} · score {message.score:g}",
        f"  {message.url}",
    ]
    lines += [f"  › {snippet}" for snippet in message.highlights]
    if message.outlets:
        lines.append(f"  also in: {', '.join(message.outlets)}")
    return "\n".join(lines)


class ConsoleSink:
    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream

    def send(self, message: AlertMessage) -> None:
        stream = self._stream or sys.stdout
        stream.write(render_text(message) + "\n\n")
        stream.flush()
