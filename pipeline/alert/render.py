"""Rendering alerts for people: Slack Block Kit, email text and HTML. Pure functions.

Article text is hostile input: Slack sees it escaped (``&``, ``<``, ``>``, so ``<!channel>``
stays text), email HTML sees it through Jinja2's autoescaping, and every piece is cut to
the receiver's limits.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..display import plural
from ..display import when as display_when
from ..types import AlertMessage, DigestMessage, DigestStory, FiredRule

SLACK_TEXT_LIMIT = 3000
SLACK_HEADER_LIMIT = 150
SLACK_MAX_BLOCKS = 50
SLACK_FALLBACK_LIMIT = 4000
TITLE_LIMIT = 300
_BOLD = re.compile(r"\*\*(.+?)\*\*")

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html", "j2.html"], default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
)


def truncate(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_highlight(snippet: str) -> str:
    """Escaped snippet with the matched terms (``**term**``) in Slack bold (``*term*``)."""
    escaped = slack_escape(snippet.replace("*", "\u2217").replace("\u2217\u2217", "**"))
    return _BOLD.sub(lambda m: f"*{m.group(1)}*", escaped)


def slack_link(url: str, label: str) -> str:
    safe_url = url.replace(">", "%3E").replace("<", "%3C").replace("|", "%7C")
    return (
        f"<{safe_url}|{slack_escape(label)}>"
        if safe_url.startswith("http")
        else slack_escape(label)
    )


def when(moment: datetime | None, zone: str = "UTC") -> str:
    return display_when(moment, zone, missing="undated")


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters with the line breaks kept (Slack mrkdwn needs them);
    a cut text ends with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def rule_names(message: AlertMessage) -> tuple[str, ...]:
    """Every rule the message names (one before rules were grouped per story)."""
    return tuple(rule.rule for rule in message.fired) or (message.rule,)


def slack_alert(message: AlertMessage) -> tuple[str, list[dict]]:
    """(fallback text, blocks) for one alert: title link; outlet, time, rules and score;
    each rule's description and tags; entities; evidence; the other outlets, linked."""
    title = truncate(message.title or message.url, TITLE_LIMIT)
    rules = ", ".join(f"*{slack_escape(name)}*" for name in rule_names(message))
    lines = [
        f"*{slack_link(message.url, title)}*",
        f"{slack_escape(message.source)} · {when(message.published)} · "
        f"{'rules' if len(rule_names(message)) > 1 else 'rule'} {rules} · score {message.score:g}",
    ]
    lines += [_slack_rule_line(rule) for rule in message.fired if rule.description or rule.tags]
    if message.entities:
        lines.append("Entities: " + ", ".join(slack_escape(e) for e in message.entities))
    blocks: list[dict] = [_section("\n".join(lines))]
    for snippet in message.highlights[:3]:
        blocks.append(_section("> " + slack_highlight(truncate(snippet, 600))))
    if message.outlet_links:
        links = ", ".join(slack_link(o.url, o.outlet) for o in message.outlet_links[:10])
        blocks.append(_context(f"Also carried by: {links}"))
    elif message.outlets:
        blocks.append(_context("Also carried by: " + ", ".join(map(slack_escape, message.outlets))))
    names = "+".join(rule_names(message))
    fallback = truncate(f"[{names}] {message.title} {message.url}", SLACK_FALLBACK_LIMIT)
    return slack_escape(fallback), blocks


def _slack_rule_line(rule: FiredRule) -> str:
    line = f"_{slack_escape(rule.rule)}_: {slack_escape(rule.description)}".rstrip(": ")
    if rule.tags:
        line += " · tags: " + ", ".join(f"`{slack_escape(tag)}`" for tag in rule.tags)
    return line


def slack_digest(digest: DigestMessage) -> tuple[str, list[dict]]:
    header = truncate(f"wirewatch digest: {digest.route}", SLACK_HEADER_LIMIT)
    stories = plural(len(digest.stories), "story", "stories")
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": header}},
        _context(f"{stories} · {when(digest.scheduled_for, digest.timezone)}"),
    ]
    room = SLACK_MAX_BLOCKS - len(blocks) - 1
    for story in digest.stories[:room]:
        blocks.append(_section(_slack_digest_story(story)))
    if len(digest.stories) > room:
        blocks.append(_context(f"…and {len(digest.stories) - room} more stories"))
    fallback = f"wirewatch digest {digest.route}: {stories}"
    return slack_escape(fallback), blocks


def _slack_digest_story(story: DigestStory) -> str:
    title = truncate(story.title or story.url, TITLE_LIMIT)
    rules = ", ".join(slack_escape(r) for r in story.rules)
    text = f"*{slack_link(story.url, title)}*\n{slack_escape(story.source)} · {rules}"
    if story.highlights:
        text += "\n> " + slack_highlight(truncate(story.highlights[0], 400))
    return text


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SLACK_TEXT_LIMIT)}}


def _context(text: str) -> dict:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, 2000)}]}


def email_alert(message: AlertMessage) -> tuple[str, str, str]:
    """(subject, text body, HTML body)."""
    context = {
        "m": message,
        "rules": ", ".join(rule_names(message)),
        "fired": [rule for rule in message.fired if rule.description or rule.tags],
        "title": truncate(message.title or message.url, TITLE_LIMIT),
        "when": when(message.published),
        "highlights": [truncate(snippet, 600) for snippet in message.highlights[:3]],
    }
    subject = truncate(f"[{'+'.join(rule_names(message))}] {message.title}", 200)
    return subject, _render("alert.txt", context), _render("alert.html", context)


def email_digest(digest: DigestMessage) -> tuple[str, str, str]:
    context = {
        "d": digest,
        "when": when(digest.scheduled_for, digest.timezone),
        "stories": [(_short(s), truncate(s.title or s.url, TITLE_LIMIT)) for s in digest.stories],
    }
    subject = f"wirewatch digest {digest.route}: {plural(len(digest.stories), 'story', 'stories')}"
    return subject, _render("digest.txt", context), _render("digest.html", context)


def _short(story: DigestStory) -> DigestStory:
    return replace(story, highlights=tuple(truncate(h, 400) for h in story.highlights[:1]))


def _render(name: str, context: dict) -> str:
    return _templates.get_template(name).render(**context, mark=_html_mark, link=safe_href)


def safe_href(url: str) -> str:
    """``url`` if it is an http(s) URL, else ``""``: feed-supplied links never put a
    ``javascript:`` or ``data:`` URL into an email's ``href``."""
    scheme = url.strip().partition(":")[0].lower()
    return url.strip() if scheme in ("http", "https") else ""


def _html_mark(snippet: str) -> Markup:
    """Autoescaped snippet with the matched terms in <strong>."""
    escaped = str(escape(snippet))
    return Markup(_BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", escaped))
