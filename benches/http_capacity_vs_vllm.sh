#!/usr/bin/env bash
# Client capacity: enginebench's `openai` client (benches/http_capacity.rs) and
# `vllm bench serve` (through benches/vllm_bench_client.py, which counts the
# client's CPU around its benchmark loop only), each against the instant
# server (examples/instant_server.rs) in its own process, one token per chunk.
# Prints two Markdown tables.
#
#   benches/http_capacity_vs_vllm.sh            # streams 1,64,512,2048
#   STREAMS=1,64 OUTPUT_LEN=64 benches/http_capacity_vs_vllm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
STREAMS="${STREAMS:-1,64,512,2048}"
OUTPUT_LEN="${OUTPUT_LEN:-128}"
PER_STREAM="${PER_STREAM:-4}"
VENV="${ENGINEBENCH_VENV:-$PWD/.venv}"
# 2048 streams hold 2048 sockets on each side.
ulimit -n 8192

cargo build --quiet --release --example instant_server
echo "== enginebench openai client"
ENGINEBENCH_CAPACITY_STREAMS="$STREAMS" ENGINEBENCH_CAPACITY_OUTPUT_LEN="$OUTPUT_LEN" \
ENGINEBENCH_CAPACITY_REQUESTS_PER_STREAM="$PER_STREAM" \
    cargo bench --quiet --features http --bench http_capacity

echo "== vllm bench serve ($("$VENV/bin/python" -c 'import vllm; print(vllm.__version__)'))"
log="$(mktemp)"
target/release/examples/instant_server --port 0 --threads 1 > "$log" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 50); do grep -q listening "$log" && break; sleep 0.1; done
url="$(sed -n 's/^listening on //p' "$log")"
echo "| streams | requests | chunks | wall s | chunks/s | client CPU s | CPU us/chunk |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
for c in ${STREAMS//,/ }; do
    n=$(( c * PER_STREAM > 256 ? c * PER_STREAM : 256 ))
    line="$("$VENV/bin/python" benches/vllm_bench_client.py --backend openai \
        --base-url "$url" --endpoint /v1/completions --model models/tiny-llama \
        --dataset-name random --random-input-len 16 --random-output-len "$OUTPUT_LEN" \
        --ignore-eos --num-prompts "$n" --max-concurrency "$c" --request-rate inf \
        --ready-check-timeout-sec 0 --disable-tqdm 2>&1 | grep '^client:' || true)"
    if [[ -z "$line" ]]; then echo "| $c | $n | failed | | | | |"; continue; fi
    wall="$(sed 's/.*wall_s=\([^ ]*\).*/\1/' <<<"$line")"
    cpu="$(sed 's/.*cpu_s=\([^ ]*\).*/\1/' <<<"$line")"
    chunks="$(sed 's/.*output_tokens=\([^ ]*\).*/\1/' <<<"$line")"
    awk -v c="$c" -v n="$n" -v k="$chunks" -v w="$wall" -v u="$cpu" 'BEGIN {
        printf "| %d | %d | %d | %.2f | %.0f | %.2f | %.2f |\n", c, n, k, w, k / w, u, u / k * 1e6 }'
done
