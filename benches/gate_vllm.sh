#!/usr/bin/env bash
# The regression gate on a real engine: how often `check`, at its defaults,
# flags identical runs of vLLM (CPU build, in this process, the tiny random
# Llama), and whether it finds a planted real slowdown; for each trial
# isolation mode, so that the gate's default mode is the cheapest one whose
# A/A false-alarm rate meets 5%.
#
#   benches/gate_vllm.sh                       # results in results/gate-vllm
#   MODES="none engine" PAIRS_NONE=20 benches/gate_vllm.sh
#   MODES=none PAIRS_NONE=8 PLANTED_NONE=1 benches/gate_vllm.sh    # about 30 min
#
# Each A/A pair is two separate invocations, one after the other, as a CI
# job compares a stored baseline with today's run: run i saves baseline r<i>
# and run i+1 is checked against it (so N+1 runs give N pairs). Each run has
# the gate's defaults (6 trials) with --trial-isolation MODE; the modes take
# turns, so that the machine's load over the hours falls on all of them.
# Every pair is checked twice: at check's defaults with the thresholds that
# `calibrate-noise` measured first (10 A/A trials, copied into each
# baseline), and with --noise-threshold 0.02, which is what the defaults
# give when no calibration is stored. Planted pairs slow the new side's
# model down for real: its OpenMP threads bound to one core
# (VLLM_CPU_OMP_THREADS_BIND=0) instead of vLLM's automatic binding.
# The machine's load average is logged every 30 s (load.log);
# benches/gate_summary.py tallies the checks.
#
# An engine start costs about 35 s here and a trial about 12 s (the process
# mode pays a start per trial): the defaults run for about four hours on a
# 2-core machine.
# Needs python/setup-env.sh (.venv with vllm-cpu, models/tiny-llama).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="${ENGINEBENCH_VENV:-$ROOT/.venv}"
MODEL="${MODEL:-$ROOT/models/tiny-llama}"
OUT="${OUT:-$ROOT/results/gate-vllm}"
MODES="${MODES:-none engine process}"
declare -A PAIRS=([none]="${PAIRS_NONE:-20}" [engine]="${PAIRS_ENGINE:-20}" [process]="${PAIRS_PROCESS:-12}")
declare -A PLANTED=([none]="${PLANTED_NONE:-3}" [engine]="${PLANTED_ENGINE:-3}" [process]="${PLANTED_PROCESS:-1}")
SLOW_BIND="${SLOW_BIND:-0}"
INTERLEAVED="${INTERLEAVED:-6}"
# CALIBRATE=0 reuses the calibrations of an earlier run into the same OUT.
CALIBRATE="${CALIBRATE:-1}"
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
export PYO3_PYTHON="$VENV/bin/python" VIRTUAL_ENV="$VENV"

mkdir -p "$OUT/bin"
# Release, as a CI job would gate; a copy, so that builds during the hours
# this runs cannot change it. BIN=PATH uses a binary built before.
BIN="${BIN:-}"
if [ -z "$BIN" ]; then
    cargo build --quiet --release --features vllm,embed-python
    BIN="$OUT/bin/enginebench"
    cp target/release/enginebench "$BIN"
fi

(while sleep 30; do echo "$(date +%s) $(cut -d' ' -f1-3 /proc/loadavg)"; done) >> "$OUT/load.log" &
logger=$!
trap 'kill $logger 2>/dev/null || true' EXIT

SETTINGS=(max_model_len=1024 max_num_seqs=16 enforce_eager=true dtype=bfloat16)
COMMON=(--engine vllm --model "$MODEL" --dataset-name random --random-input-len 128
        --random-output-len 32 --num-prompts 16 --max-concurrency 8 --num-warmups 4
        --ignore-eos --seed 0 --min-duration 0 --quiet)
for s in "${SETTINGS[@]}"; do COMMON+=(--engine-arg "$s"); done

# side MODE NAME [FLAGS...]: one invocation, its output in MODE/logs.
side() {
    local mode=$1 name=$2
    shift 2
    mkdir -p "$OUT/$mode/logs"
    echo "$(date +%T) $mode $name"
    "$BIN" run "${COMMON[@]}" --result-dir "$OUT/$mode" --trial-isolation "$mode" "$@" \
        > "$OUT/$mode/logs/$name.out" 2> "$OUT/$mode/logs/$name.err" ||
        echo "  failed with exit code $?: $(tail -1 "$OUT/$mode/logs/$name.err")"
}

# judge MODE KIND PAIR BASELINE RESULT: check at the defaults and at the fixed 2%.
judge() {
    local mode=$1 kind=$2 pair=$3 baseline=$4 result=$5 policy code
    local folder
    folder=$(find "$OUT/$mode/baselines" -mindepth 1 -maxdepth 1 -type d | head -1)
    cp "$folder/cal/noise.json" "$folder/$baseline/noise.json"
    for policy in calibrated fixed; do
        local flags=()
        [ "$policy" = fixed ] && flags=(--noise-threshold 0.02)
        mkdir -p "$OUT/checks/$mode/$kind/$policy"
        code=0
        "$BIN" check --baseline "$baseline" --result-dir "$OUT/$mode" "${flags[@]}" "$result" \
            > "$OUT/checks/$mode/$kind/$policy/$pair.json" 2>> "$OUT/checks/$mode/$kind/$policy/stderr" || code=$?
        echo "$code" > "$OUT/checks/$mode/$kind/$policy/$pair.code"
    done
}

for mode in $MODES; do
    [ "$CALIBRATE" = 1 ] || break
    mkdir -p "$OUT/$mode/logs"
    echo "$(date +%T) $mode calibrate-noise"
    "$BIN" calibrate-noise "${COMMON[@]}" --result-dir "$OUT/$mode" --trial-isolation "$mode" \
        --baseline cal > "$OUT/$mode/logs/calibrate.out" 2> "$OUT/$mode/logs/calibrate.err"
done

rounds=0
for mode in $MODES; do [ "${PAIRS[$mode]}" -gt "$rounds" ] && rounds=${PAIRS[$mode]}; done
for i in $(seq 0 "$rounds"); do
    for mode in $MODES; do
        [ "${PAIRS[$mode]}" -gt 0 ] && [ "$i" -le "${PAIRS[$mode]}" ] || continue
        side "$mode" "r$i" --save-baseline "r$i" --save-result --result-filename "r$i.json"
        [ "$i" -gt 0 ] && judge "$mode" aa "$i" "r$((i - 1))" "$OUT/$mode/r$i.json"
    done
done

planted=0
for mode in $MODES; do [ "${PLANTED[$mode]}" -gt "$planted" ] && planted=${PLANTED[$mode]}; done
for j in $(seq 1 "$planted"); do
    for mode in $MODES; do
        [ "$j" -le "${PLANTED[$mode]}" ] || continue
        side "$mode" "p$j" --save-baseline "p$j"
        VLLM_CPU_OMP_THREADS_BIND="$SLOW_BIND" side "$mode" "p$j-slow" --baseline "p$j" --save-result --result-filename "p$j-slow.json"
        judge "$mode" planted "$j" "p$j" "$OUT/$mode/p$j-slow.json"
    done
done

# Interleaved pairs: one invocation runs both sides, `run --baseline ib
# --rerun-baseline`, the stored baseline's setup re-run with its trials
# interleaved A B B A with the new side's (trial isolation none), so that a
# shift of the machine's load between invocations falls on both sides. Its
# verdicts are those of the result's `baseline.changes` (the seven metrics
# judged as one family, at the noise thresholds calibrated in none mode),
# written where gate_summary.py reads checks.
if [ "$INTERLEAVED" -gt 0 ]; then
    side none ib --save-baseline ib
    folder=$(find "$OUT/none/baselines" -mindepth 1 -maxdepth 1 -type d | head -1)
    cp "$folder/cal/noise.json" "$folder/ib/noise.json"
    mkdir -p "$OUT/checks/interleaved/aa/calibrated"
    for i in $(seq 1 "$INTERLEAVED"); do
        side none "ib$i" --baseline ib --rerun-baseline --save-result --result-filename "ib$i.json"
        python3 - "$OUT/none/ib$i.json" "$OUT/checks/interleaved/aa/calibrated/$i" <<'PY'
import json, sys
result, out = sys.argv[1], sys.argv[2]
checks = []
for c in json.load(open(result))["baseline"]["changes"]:
    if c["metric"] in ("ttft", "tpot", "itl", "e2el", "output_throughput"):
        change = (c.get("change") or {}).get("mean", {}).get("point_estimate")
        checks.append({"metric": c["metric"], "verdict": c["verdict"], "change": change,
                       "noise_threshold_source": (c.get("noise_threshold") or {}).get("source", "")})
json.dump({"checks": checks}, open(out + ".json", "w"))
open(out + ".code", "w").write("1\n" if any(c["verdict"] == "regressed" for c in checks) else "0\n")
PY
    done
fi

python3 benches/gate_summary.py "$OUT" | tee "$OUT/summary.txt"
