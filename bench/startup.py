"""Start-up time of the command line: ``wirewatch --help`` and ``--version`` (wall time,
best of N runs) and the biggest imports of ``pipeline.cli`` (``python -X importtime``).

    .venv/bin/python bench/startup.py [--runs 5] [--tree DIR]

``--tree`` times another checkout (e.g. one exported from main) with the same Python.
Target: about 0.3 s or less for ``--help``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("trafilatura", "slack_sdk", "apscheduler", "numpy", "sqlalchemy", "pydantic", "jinja2")


def start_time(args: list[str], tree: Path, runs: int) -> tuple[float, float]:
    """Best of ``runs`` (wall, CPU) seconds of ``python -m pipeline ARGS`` run in ``tree``;
    CPU time (user + system) is what a loaded machine disturbs least."""
    best_wall = best_cpu = float("inf")
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "pipeline", *args], cwd=tree, capture_output=True, check=True
        )
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
    return best_wall, best_cpu


def biggest_imports(tree: Path, count: int = 8) -> list[tuple[int, str]]:
    """(cumulative microseconds, module) of the slowest top-level imports."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import pipeline.cli"],
        cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    rows = []
    for line in result.stderr.splitlines()[1:]:
        _, cumulative, name = (
            part.strip() for part in line.removeprefix("import time:").split("|")
        )
        if not name.startswith(" "):
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:count]


def heavy_loaded(tree: Path) -> list[str]:
    probe = f"import sys, pipeline.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tree, capture_output=True, text=True)
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tree", type=Path, default=ROOT)
    options = parser.parse_args()
    tree = options.tree.resolve()
    os.environ.pop("PYTHONPATH", None)
    print(f"tree: {tree}  python: {sys.version.split()[0]}  load: {os.getloadavg()[0]:.1f}")
    for args in (["--help"], ["--version"]):
        wall, cpu = start_time(args, tree, options.runs)
        print(
            f"wirewatch {args[0]:<10} wall {wall:.3f} s, CPU {cpu:.3f} s (best of {options.runs})"
        )
    print(f"heavy modules imported by pipeline.cli: {', '.join(heavy_loaded(tree)) or 'none'}")
    print("slowest imports of pipeline.cli (cumulative):")
    for micros, name in biggest_imports(tree):
        print(f"  {micros / 1000:8.1f} ms  {name}")


if __name__ == "__main__":
    main()
