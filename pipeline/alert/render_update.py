"""Rendering ``update`` alerts: Slack Block Kit and email text/HTML. Pure functions.

An update says "Update", names the story (or replies in its Slack thread), lists the new
sentences with the new facts marked, and links the original article. Article text is
hostile input here too: escaped for Slack and HTML, cut to the receiver's limits.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from markupsafe import escape

from ..types import UpdateMessage
from .render import (
    SLACK_FALLBACK_LIMIT,
    TITLE_LIMIT,
    slack_escape,
    slack_link,
    truncate,
    when,
)

MAX_SENTENCES = 8
SENTENCE_LIMIT = 600


def mark_facts(sentence: str, facts: tuple[str, ...], mark: Callable[[str], str],
               plain: Callable[[str], str]) -> str:  # fmt: skip
    """``sentence`` with each fact passed through ``mark`` and the rest through ``plain``."""
    wanted = sorted({f for f in facts if f}, key=len, reverse=True)
    if not wanted:
        return plain(sentence)
    pattern = re.compile("|".join(re.escape(fact) for fact in wanted))
    pieces, last = [], 0
    for found in pattern.finditer(sentence):
        pieces += [plain(sentence[last : found.start()]), mark(found.group(0))]
        last = found.end()
    return "".join([*pieces, plain(sentence[last:])])


def _sentences(update: UpdateMessage) -> list[tuple[str, tuple[str, ...]]]:
    marked = list(update.marked) + [()] * (len(update.new_facts) - len(update.marked))
    return [
        (truncate(sentence, SENTENCE_LIMIT), facts)
        for sentence, facts in zip(update.new_facts[:MAX_SENTENCES], marked, strict=False)
    ]


def slack_update(update: UpdateMessage, *, in_thread: bool) -> tuple[str, list[dict]]:
    """(fallback text, blocks): a section per new sentence. In the original's thread the
    story is known already; elsewhere the message names it and links the original."""
    story = truncate(update.story_title or update.original_url, TITLE_LIMIT)
    if in_thread:
        head = f"*Update* · rule *{slack_escape(update.rule)}*"
    else:
        head = (
            f"*Update* to {slack_link(update.original_url, story)} · "
            f"rule *{slack_escape(update.rule)}*"
        )
    lines = [
        "• " + mark_facts(text, facts, lambda f: f"*{slack_escape(f)}*", slack_escape)
        for text, facts in _sentences(update)
    ]
    source = ", ".join(update.sources or (update.source,))
    blocks: list[dict] = [
        _section(head),
        *(_section(line) for line in lines),
        _context(
            f"New in {slack_link(update.url, truncate(update.title or update.url, 200))} · "
            f"{slack_escape(source)} · {when(update.published)}"
        ),
    ]
    fallback = truncate(f"Update [{update.rule}] {update.story_title}: " + " ".join(
        update.new_facts), SLACK_FALLBACK_LIMIT)  # fmt: skip
    return slack_escape(fallback), blocks


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, 2000)}]}


def email_update(update: UpdateMessage) -> tuple[str, str, str]:
    """(subject, text body, HTML body); the subject is the original's, as a reply."""
    story = truncate(update.story_title or update.original_url, TITLE_LIMIT)
    subject = truncate(f"Update: [{update.rule}] {update.story_title}", 200)
    source = ", ".join(update.sources or (update.source,))
    text_lines = [f"Update to: {story}", update.original_url, ""]
    html_items = []
    for sentence, facts in _sentences(update):
        text_lines.append("  * " + mark_facts(sentence, facts, lambda f: f"[{f}]", str))
        html_items.append(
            "<li>" + mark_facts(sentence, facts, lambda f: f"<strong>{escape(f)}</strong>",
                                lambda t: str(escape(t))) + "</li>"
        )  # fmt: skip
    text_lines += [
        "",
        f"New in: {update.title}",
        update.url,
        f"{source} · {when(update.published)}",
    ]
    text_lines += ["", "-- ", "wirewatch"]
    html = (
        '<!doctype html>\n<html><body style="font-family: sans-serif; max-width: 640px">\n'
        f'<h2 style="font-size: 18px">Update to <a href="{escape(update.original_url)}">'
        f"{escape(story)}</a></h2>\n"
        f'<p style="color: #555">rule <strong>{escape(update.rule)}</strong> · new facts '
        "in bold</p>\n<ul>\n" + "\n".join(html_items) + "\n</ul>\n"
        f'<p style="color: #555">New in <a href="{escape(update.url)}">'
        f"{escape(update.title or update.url)}</a> · {escape(source)} · "
        f"{escape(when(update.published))}</p>\n"
        '<p style="color: #999; font-size: 12px">Sent by wirewatch.</p>\n</body></html>\n'
    )
    return subject, "\n".join(text_lines) + "\n", html


def console_update(update: UpdateMessage) -> str:
    lines = [f"◆ Update [{update.rule}] {update.story_title}", f"  {update.original_url}"]
    lines += [
        "  + " + mark_facts(text, facts, lambda f: f"[{f}]", str)
        for text, facts in _sentences(update)
    ]
    lines.append(f"  new in: {update.title} ({update.source}) {update.url}")
    return "\n".join(lines)
