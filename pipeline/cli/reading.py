"""Listings of what was found: ``matches`` and ``stories``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from ..clock import utcnow
from ..display import cut, plural, terminal_highlight, when
from ..errors import ConfigError
from .common import Env, cutoff, echo_json, friendly_errors

if TYPE_CHECKING:
    from ..listing import MatchedStory, StoryLine
    from ..store import Store

TITLE_WIDTH = 90


@click.command()
@click.option(
    "--since", default="24h", show_default=True,
    help="Published this recently: 90m, 24h, 7d … (undated articles: by when they were fetched).",
)  # fmt: skip
@click.option("--rule", metavar="NAME", help="Only stories this rule matched.")
@click.option("--limit", default=200, show_default=True, help="At most this many stories.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per match and line.")
@click.pass_obj
@friendly_errors
def matches(env: Env, since: str, rule: str | None, limit: int, as_json: bool) -> None:
    """List the stories that rules matched, newest published first: one entry per story
    with its rules, story id, outlet, URL, entities and highlighted evidence."""
    from ..listing import matched_stories

    start = cutoff(since, "--since", utcnow())
    store = env.read_store()
    if rule:
        check_rule_name(env, store, rule)
    found = matched_stories(store, start, rule, limit)
    if as_json:
        for story in found:
            for record in match_records(story):
                echo_json(record)
        return
    if not found:
        click.echo(
            f"no matches published in the last {since}" + (f" for rule {rule}" if rule else "")
        )
        return
    for story in found:
        click.echo("\n".join(match_lines(story)))


def check_rule_name(env: Env, store: Store, rule: str) -> None:
    """A rule of rules.yaml, or one with stored matches; anything else is a typo."""
    from ..config import load_rules_file, resolve_config_dir
    from ..listing import known_rule

    path = resolve_config_dir(env.config_dir) / "rules.yaml"
    names = [r.name for r in load_rules_file(path).rules]
    if rule not in names and not known_rule(store, rule):
        raise ConfigError(f"--rule: no rule named {rule!r} in {path} (rules: {', '.join(names)})")


def match_lines(story: MatchedStory) -> list[str]:
    rules = ", ".join(f"{hit.rule} ({hit.score:g})" for hit in story.hits)
    lines = [
        f"{when(story.published, missing='undated')}  #{story.story_id}  {rules}",
        f"    {cut(story.title, TITLE_WIDTH)}",
        f"    {story.source} · {story.url}",
    ]
    if story.entities:
        lines.append(f"    entities: {', '.join(story.entities)}")
    for snippet in story.hits[0].highlights[:2]:
        lines.append(f"    › {terminal_highlight(snippet)}")
    return lines


def match_records(story: MatchedStory) -> list[dict[str, Any]]:
    """The ``matches --json`` contract: one object per (story, rule)."""
    return [
        {
            "rule": hit.rule,
            "score": hit.score,
            "terms": list(hit.terms),
            "highlights": list(hit.highlights),
            "matched_at": hit.matched_at.isoformat(),
            "title": story.title,
            "url": story.url,
            "source": story.source,
            "published": story.published.isoformat() if story.published else None,
            "story": story.story_id,
            "entities": list(story.entities),
            "rules": [other.rule for other in story.hits],
        }
        for hit in story.hits
    ]


@click.command()
@click.option(
    "--since", default="24h", show_default=True, help="Stories seen since: 90m, 24h, 7d …"
)
@click.option("--limit", default=100, show_default=True, help="At most this many.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_obj
@friendly_errors
def stories(env: Env, since: str, limit: int, as_json: bool) -> None:
    """List recent stories, newest first, with their URL, outlets, articles and rules.

    A story is one news event: the first article and every copy, syndicated version or
    update of it that wirewatch recognised as the same story.
    """
    from ..listing import story_lines

    start = cutoff(since, "--since", utcnow())
    found = story_lines(env.read_store(), start, limit)
    for story in found:
        if as_json:
            echo_json(story_record(story))
        else:
            click.echo("\n".join(story_text(story)))
    if not found and not as_json:
        click.echo(f"no stories in the last {since}")


def story_text(story: StoryLine) -> list[str]:
    carried = f"{plural(story.articles, 'article')} from {plural(len(story.outlets), 'outlet')}"
    return [
        f"#{story.id}  {when(story.first_seen)}  {carried}  {cut(story.title, TITLE_WIDTH)}",
        f"    {story.url}",
        f"    outlets: {', '.join(story.outlets) or '-'}",
        f"    rules: {', '.join(story.rules) or '-'}",
    ]


def story_record(story: StoryLine) -> dict[str, Any]:
    return {
        "story": story.id,
        "title": story.title,
        "url": story.url,
        "first_seen": story.first_seen.isoformat(),
        "last_seen": story.last_seen.isoformat(),
        "articles": story.articles,
        "outlets": list(story.outlets),
        "rules": list(story.rules),
    }
