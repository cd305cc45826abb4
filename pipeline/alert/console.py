"""The console channel: one readable block per alert on standard output."""

from __future__ import annotations

import sys
from typing import TextIO

from ..display import plain_highlight
from ..types import AlertMessage, DigestMessage, UpdateMessage
from .render import rule_names, when
from .render_update import console_update


def render_text(message: AlertMessage) -> str:
    rules = ", ".join(rule_names(message))
    lines = [
        f"● [{rules}] {message.title}",
        f"  {message.source} · {when(message.published)} · score {message.score:g}",
        f"  {message.url}",
    ]
    for rule in message.fired:
        if rule.description or rule.tags:
            tags = f" (tags: {', '.join(rule.tags)})" if rule.tags else ""
            lines.append(f"  {rule.rule}: {rule.description}{tags}")
    if message.entities:
        lines.append(f"  entities: {', '.join(message.entities)}")
    lines += [f"  › {plain_highlight(snippet)}" for snippet in message.highlights]
    if message.outlet_links:
        lines.append(
            "  also in: " + ", ".join(f"{o.outlet} <{o.url}>" for o in message.outlet_links)
        )
    elif message.outlets:
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
