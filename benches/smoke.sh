#!/usr/bin/env bash
# Every criterion bench in a quick mode, with criterion's plots on, so that a
# bench that cannot run (a panic in criterion's plot step, say) fails CI.
# Extra cargo flags (e.g. --features http) come as arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
CRITERION_DIR="${CARGO_TARGET_DIR:-target}/criterion"
rm -rf "$CRITERION_DIR"
cargo bench --locked "$@" --bench harness_overhead -- --warm-up-time 0.1 --measurement-time 0.2
cargo bench --locked "$@" --bench engines -- --quick
if [[ " $* " == *http* ]]; then
    cargo bench --locked "$@" --bench http_capacity -- --quick
fi
# The plots were drawn, with their text: criterion writes an SVG per benchmark.
plots=$(find "$CRITERION_DIR" -name 'pdf.svg' | wc -l)
with_text=$(grep -l '<text' $(find "$CRITERION_DIR" -name 'pdf.svg') | wc -l)
echo "criterion plots: $plots pdf.svg files, $with_text with text"
[[ $plots -gt 0 && $plots -eq $with_text ]]
