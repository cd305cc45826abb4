"""The console channel: one readable block per alert on standard output."""

from __future__ import annotations

import sys
from typing import TextIO

from ..types import AlertMessage, DigestMessage, UpdateMessage
from .render import when
from .render_update import console_update


def render_text(message: AlertMessage) -> str:
    lines = [
        f"● [{message.rule}] {message.title}",
        f"  {message.source} · {when(message.published)} · score {message.score:g}",
        f"  {message.url}",
    ]
    lines += [f"  › {snippet}" for snippet in message.highlights]
    if message.outlets:
        lines.append(f"  also in: {', '.join(message.outlets)}")
    return "\n".join(lines)


def render_digest(digest: DigestMessage) -> str:
    lines = [f"══ digest {digest.route} · {when(digest.scheduled_for, digest.timezone)} ══"]
    for number, story in enumerate(digest.stories, start=1):
        lines.append(f"{number}. {story.title}")
        lines.append(f"   {story.source} · rules: {', '.join(story.rules)}")
        lines.append(f"   {story.url}")
    return "\n".join(lines)


class ConsoleSink:
    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self._stream = stream

    def send(self, message: AlertMessage) -> None:
        self._write(render_text(message))

    def send_digest(self, digest: DigestMessage) -> None:
        self._write(render_digest(digest))

    def send_update(self, update: UpdateMessage) -> None:
        self._write(console_update(update))

    def _write(self, text: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(text + "\n\n")
        stream.flush()
