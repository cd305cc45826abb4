#!/usr/bin/env bash
# The whole test suite, RUNS times in a row (default 3), with every core kept busy by a
# spinning process: a suite that passes here does not depend on a sleep being long enough.
#
#   bash bench/loaded_suite.sh            # 3 runs, one spinner per core
#   RUNS=1 bash bench/loaded_suite.sh -x  # extra arguments go to pytest
#
# Prints one line per run (pytest's summary and the wall-clock time) and exits 1 if any
# run failed. Needs the test environment (`make test` once) and PostgreSQL as for it.
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-3}
spinners=()
for _ in $(seq 1 "$(nproc)"); do
  timeout 7200 python3 -c "while True: pass" &
  spinners+=($!)
done
trap 'kill "${spinners[@]}" 2>/dev/null' EXIT
echo "loaded suite: $runs runs, ${#spinners[@]} spinning processes, load $(cut -d' ' -f1-3 /proc/loadavg)"

failed=0
for run in $(seq 1 "$runs"); do
  start=$(date +%s)
  log=$(mktemp -t wirewatch-loaded-run$run.XXXXXX)
  .venv/bin/python -m pytest -q -p no:cacheprovider "$@" >"$log" 2>&1 || failed=1
  echo "run $run: $(tail -n 1 "$log") ($(( $(date +%s) - start )) s," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)); output in $log"
  grep -E '^(FAILED|ERROR) ' "$log"
done
exit "$failed"
