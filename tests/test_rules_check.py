"""``rules check`` warnings: doubtful spots that compile, named by file, rule and position."""

from pathlib import Path

from pipeline.config import RuleConfig
from pipeline.match import rule_warnings
from tests.conftest import Cli, write_config


def test_lowercase_operators_are_named_with_rule_and_position() -> None:
    rules = [
        RuleConfig(name="fine", query='chips AND "research and development"'),
        RuleConfig(name="sloppy", query="chips and wafers or not potato"),
    ]
    assert rule_warnings(rules, "rules.yaml") == [
        "rules.yaml: rules[1] (sloppy): query: 'and' at position 6 is searched for as a word; "
        "write AND for the operator, or quote it in a phrase to keep the word",
        "rules.yaml: rules[1] (sloppy): query: 'or' at position 17 is searched for as a word; "
        "write OR for the operator, or quote it in a phrase to keep the word",
        "rules.yaml: rules[1] (sloppy): query: 'not' at position 20 is searched for as a word; "
        "write NOT for the operator, or quote it in a phrase to keep the word",
    ]


def test_rules_check_prints_warnings_and_still_passes(cli: Cli) -> None:
    config = write_config(
        Path(cli.env["WIREWATCH_CONFIG"]),
        feeds=[],
        rules=[{"name": "ok", "query": "chips"}, {"name": "sloppy", "query": "chips or wafers"}],
    )
    result = cli("rules", "check")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"wirewatch: warning: {config / 'rules.yaml'}: rules[1] (sloppy): query: 'or' at "
        "position 6 is searched for as a word; write OR for the operator, or quote it in a "
        "phrase to keep the word"
    ]
    assert "2 rules OK" in result.stdout


def test_the_shipped_watchlist_has_no_warnings(cli: Cli) -> None:
    write_config(Path(cli.env["WIREWATCH_CONFIG"]), feeds=[])
    result = cli("rules", "check")
    assert result.returncode == 0 and result.stderr == ""
