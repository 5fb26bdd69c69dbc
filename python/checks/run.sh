#!/usr/bin/env bash
# Runs the Python smoke checks one after the other (never in parallel: each engine takes GBs).
#   bash python/checks/run.sh            # after python/setup-env.sh
# Prints "N passed, N failed" and exits non-zero if any check failed. Logs go to $ENGINEBENCH_CHECK_LOGS
# (default: a temp dir).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PY="${ENGINEBENCH_VENV:-$ROOT/.venv}/bin/python"
LOGS="${ENGINEBENCH_CHECK_LOGS:-$(mktemp -d)}"
mkdir -p "$LOGS"
passed=0 failed=0
for check in check_vllm check_transformers_cb; do
    start=$(date +%s)
    if "$PY" "$ROOT/python/checks/$check.py" >"$LOGS/$check.log" 2>&1; then
        passed=$((passed + 1)); echo "PASS $check ($(( $(date +%s) - start )) s)"
    else
        failed=$((failed + 1)); echo "FAIL $check ($(( $(date +%s) - start )) s), last lines of $LOGS/$check.log:"
        tail -n 20 "$LOGS/$check.log"
    fi
done
echo "$passed passed, $failed failed"
[[ $failed == 0 ]]
