"""The command line starts fast: importing it loads none of the heavy libraries, which
the commands import where they use them (timings are in bench/startup.py)."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT

HEAVY = ("trafilatura", "slack_sdk", "apscheduler", "numpy", "sqlalchemy")


def loaded_after(statement: str) -> set[str]:
    probe = f"import sys\n{statement}\nprint(' '.join(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return {name.split(".")[0] for name in result.stdout.split()}


def test_importing_the_cli_loads_no_heavy_module() -> None:
    assert loaded_after("import pipeline.cli") & set(HEAVY) == set()


def test_help_and_version_load_no_heavy_module() -> None:
    for args in (["--help"], ["--version"], ["matches", "--help"]):
        statement = (
            "from pipeline.cli import cli\n"
            f"try:\n    cli.main({args!r}, prog_name='wirewatch')\nexcept SystemExit:\n    pass"
        )
        assert loaded_after(statement) & set(HEAVY) == set(), args
