"""Rules and archives: ``rules`` (check, test) and ``replay``. Nothing is sent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..clock import utcnow
from ..display import plural, terminal_highlight
from .common import Env, echo_json, friendly_errors

if TYPE_CHECKING:
    from ..match import RuleSet

RULES_FILE = click.Path(dir_okay=False, path_type=Path)


@click.group(invoke_without_command=True)
@click.pass_context
@friendly_errors
def rules(ctx: click.Context) -> None:
    """Check rule files and try them on an archive; alone, it checks rules.yaml."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(rules_check)


@rules.command("check")
@click.argument("rules_file", required=False, type=RULES_FILE)
@click.pass_obj
@friendly_errors
def rules_check(env: Env, rules_file: Path | None) -> None:
    """Validate every rule of RULES_FILE (default: rules.yaml of the config directory).

    Errors name the file, the rule and the position in its query; exit code 2.
    Warnings (e.g. a lower-case ``and`` searched for as a word) go to stderr; exit code 0.
    """
    from ..config import load_rules_file
    from ..match import rule_warnings

    path, ruleset = load_ruleset(env, rules_file)
    for warning in rule_warnings(load_rules_file(path).rules, str(path)):
        click.echo(f"wirewatch: warning: {warning}", err=True)
    entities = plural(len(ruleset.entities), "entity", "entities")
    click.echo(f"{path}: {plural(len(ruleset.rules), 'rule')} OK ({entities})")


@rules.command("test")
@click.argument("rules_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("articles", type=click.File("rb"))
@click.option("--examples", default=3, show_default=True, help="Examples shown per rule.")
@click.option(
    "--labels",
    "labels_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON Lines labels (id, label core|related|quiet, rule?): print precision, "
    "recall and F1 overall and per rule, with the false positives and negatives.",
)
@click.option(
    "--unlabelled",
    type=click.Choice(["ignore", "quiet"]),
    default="ignore",
    show_default=True,
    help="With --labels: leave unlabelled articles out, or count them as quiet.",
)
@click.option(
    "--json", "as_json", is_flag=True,
    help="One JSON object with every figure (with --labels: the evaluation).",
)  # fmt: skip
@click.pass_obj
@friendly_errors
def rules_test(
    env: Env,
    rules_file: Path,
    articles: Any,
    examples: int,
    labels_file: Path | None,
    unlabelled: str,
    as_json: bool,
) -> None:
    """Try a draft RULES_FILE on an archive (ARTICLES: JSON Lines, or - for stdin).

    Prints, for each rule, how many articles it matched and a few examples with their
    evidence, so a rule can be judged before it is deployed. Nothing is stored or sent.
    With --labels, measures the rules against labelled articles instead (docs/rules.md).
    """
    from ..jsonlines import jsonl_lines
    from ..progress import track

    _, ruleset = load_ruleset(env, rules_file)
    lines = track(jsonl_lines(articles, articles.name), "matching")
    if labels_file is not None:
        from ..rules_test import run_labelled

        click.echo(run_labelled(ruleset, lines, labels_file, unlabelled == "quiet", as_json))
        return
    from ..rules_test import tally

    report = tally(ruleset, lines, examples, skipped=_warn_skipped)
    if as_json:
        echo_json(report.to_record())
        return
    click.echo(f"{plural(report.articles, 'article')}, {report.matched} matched at least one rule")
    for rule in report.rules:
        click.echo(f"\n{rule.rule}: {plural(rule.matches, 'match', 'matches')}")
        for example in rule.examples:
            click.echo(f"  - {example.id}: {example.title}")
            if example.evidence:
                click.echo(f"      › {terminal_highlight(example.evidence)}")


def _warn_skipped(number: int, problem: str) -> None:
    click.echo(f"line {number}: skipped: {problem}", err=True)


def load_ruleset(env: Env, rules_file: Path | None) -> tuple[Path, RuleSet]:
    """Rules from RULES_FILE or the config directory, with the entities.yaml beside them."""
    from ..config import load_entities, load_rules_file, resolve_config_dir
    from ..match import RuleSet

    config_dir = resolve_config_dir(env.config_dir)
    path = rules_file or config_dir / "rules.yaml"
    beside = path.parent if (path.parent / "entities.yaml").exists() else config_dir
    entities = load_entities(beside).entities
    return path, RuleSet.from_config(load_rules_file(path).rules, str(path), entities)


@click.command()
@click.argument("source", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Exactly one JSON object per input line.")
@click.option("--rules", "rules_file", type=RULES_FILE, help="Use this rules file instead.")
@click.option(
    "--db",
    "replay_db",
    metavar="URL",
    help="Dedupe against this database (same URL forms as the global --db) instead of a "
    "fresh in-memory one; read-only unless --write.",
)
@click.option(
    "--write",
    is_flag=True,
    help="Store the replayed articles into --db (they then count as seen by the pipeline).",
)
@click.pass_obj
@friendly_errors
def replay(
    env: Env,
    source: Any,
    as_json: bool,
    rules_file: Path | None,
    replay_db: str | None,
    write: bool,
) -> None:
    """Dedupe and match a JSON Lines archive (SOURCE, or - for stdin); nothing is sent.

    Each line: {"id", "title", "text", "url"?, "published"?, "source"?}. With --json,
    prints {"id", "duplicate_of", "story", "matches": [{"rule", "score", "highlights"}],
    "alerts"} per input, in input order; "alerts" is whether the pipeline would alert on
    it (never on a duplicate). Exits 1 if any input line was invalid.
    """
    from ..config import load_settings, resolve_config_dir
    from ..jsonlines import jsonl_lines
    from ..progress import track
    from ..replay import replay as run_replay
    from ..replay_db import replay_store
    from .dbcheck import check_url_form

    if write and not replay_db:
        raise click.UsageError("--write needs --db URL")
    if replay_db:
        check_url_form(replay_db, explicit=replay_db)
    _, matcher = load_ruleset(env, rules_file)
    window = load_settings(resolve_config_dir(env.config_dir)).dedupe.story_window
    lines = track(jsonl_lines(source, source.name), "replaying")
    failed = 0
    with replay_store(replay_db, window, write=write) as store:
        for result in run_replay(lines, matcher, store, utcnow):
            failed += result.error is not None
            if as_json:
                click.echo(result.to_json())
            elif result.error:
                click.echo(f"{result.id}: error: {result.error}")
            else:
                click.echo(_replay_line(result))
    if failed:
        click.echo(f"wirewatch: {plural(failed, 'invalid input line')}", err=True)
        sys.exit(1)


def _replay_line(result: Any) -> str:
    verdict = f"duplicate of {result.duplicate_of}" if result.duplicate_of else "new"
    rules_hit = ", ".join(f"{m.rule} ({m.score:g})" for m in result.matches) or "no match"
    alerts = "would alert" if result.alerts else "no alert"
    return f"{result.id}: {verdict}, story {result.story}: {rules_hit}; {alerts}"
