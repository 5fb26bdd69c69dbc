#!/usr/bin/env bash
# The regression gate through the real command line, on the sim with
# run-to-run variation (each trial draws a speed factor, 3% log-sd): how
# often `check` at its defaults flags identical setups, and how often it
# finds a decode step 10% slower.
#
#   benches/gate_sim.sh                        # results in results/gate-sim
#   PAIRS=40 PLANTED=40 benches/gate_sim.sh
#
# Each pair is two invocations, as a CI job makes them: `run --save-baseline
# b<i>` and then `run --baseline b<i>`, each with the gate's defaults (6
# trials, the gate's trial isolation) and a sim seed of its own (a new run
# draws new factors), then `check --baseline b<i>`. Every pair is checked at
# check's defaults with the thresholds `calibrate-noise` measured on 10
# other A/A trials (copied into each baseline), and with --noise-threshold
# 0.02, what the defaults give with no calibration. Planted pairs make the
# new side's decode step 10% slower (step_base_us and step_per_seq_us x 1.1).
# The setup is tests/trial_gate.rs's: closed loop, 16 requests of 64 prompt
# and 32 output tokens at concurrency 8. benches/gate_summary.py tallies it.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="${OUT:-$ROOT/results/gate-sim}"
PAIRS="${PAIRS:-40}"
PLANTED="${PLANTED:-40}"
JITTER="${JITTER:-3}"
mkdir -p "$OUT/bin" "$OUT/logs"
cargo build --quiet
BIN="$OUT/bin/enginebench"
cp target/debug/enginebench "$BIN"

(while sleep 10; do echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)"; done) >> "$OUT/load.log" &
logger=$!
trap 'kill $logger 2>/dev/null || true' EXIT

COMMON=(--random-input-len 64 --random-output-len 32 --num-prompts 16 --max-concurrency 8
        --engine-arg prefill_us_per_token=5 --engine-arg "run_jitter_pct=$JITTER"
        --min-duration 0 --quiet --result-dir "$OUT")
# step SLOWDOWN: the decode step's settings, slowed down by a factor.
step() {
    python3 -c "import sys; f = float(sys.argv[1]); print(f'step_base_us={4000 * f:g}'); print(f'step_per_seq_us={40 * f:g}')" "$1" |
        while read -r s; do printf -- '--engine-arg\n%s\n' "$s"; done
}
mapfile -t SAME < <(step 1)
mapfile -t SLOW < <(step 1.1)

side() {
    local name=$1
    shift
    "$BIN" run "${COMMON[@]}" "$@" > "$OUT/logs/$name.out" 2> "$OUT/logs/$name.err"
}

"$BIN" calibrate-noise "${COMMON[@]}" "${SAME[@]}" --engine-arg seed=999999 --baseline cal \
    > "$OUT/logs/calibrate.out" 2> "$OUT/logs/calibrate.err"
folder=$(find "$OUT/baselines" -mindepth 1 -maxdepth 1 -type d | head -1)

# pair KIND I NEW_STEP...: base and new invocations, then the two checks.
pair() {
    local kind=$1 i=$2 policy code
    shift 2
    side "$kind$i-base" "${SAME[@]}" --engine-arg "seed=$((2 * i))" --save-baseline "$kind$i"
    side "$kind$i-new" "$@" --engine-arg "seed=$((2 * i + 1))" --baseline "$kind$i" \
        --save-result --result-filename "$kind$i.json"
    cp "$folder/cal/noise.json" "$folder/$kind$i/noise.json"
    for policy in calibrated fixed; do
        local flags=()
        [ "$policy" = fixed ] && flags=(--noise-threshold 0.02)
        mkdir -p "$OUT/checks/sim/$kind/$policy"
        code=0
        "$BIN" check --baseline "$kind$i" --result-dir "$OUT" "${flags[@]}" "$OUT/$kind$i.json" \
            > "$OUT/checks/sim/$kind/$policy/$i.json" 2>> "$OUT/checks/sim/$kind/$policy/stderr" || code=$?
        echo "$code" > "$OUT/checks/sim/$kind/$policy/$i.code"
    done
}

for i in $(seq 1 "$PAIRS"); do pair aa "$i" "${SAME[@]}"; done
for i in $(seq 1 "$PLANTED"); do pair planted "$((1000 + i))" "${SLOW[@]}"; done

tail -12 "$OUT/logs/calibrate.out" | sed -n '/^metric/,/^$/p'
python3 benches/gate_summary.py "$OUT" | tee "$OUT/summary.txt"
