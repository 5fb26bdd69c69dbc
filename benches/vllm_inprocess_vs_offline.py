"""Output throughput of vLLM driven by enginebench against vLLM's own offline
loop (``LLM.generate``), on the same engine args and workload, in interleaved
trials, each run in a fresh process:

- ``enginebench/process``: the vllm engine with ``engine_core=process`` (vLLM's
  default: the engine core busy-loops in a process of its own);
- ``enginebench/inline``: ``engine_core=inline`` (``VLLM_ENABLE_V1_MULTIPROCESSING=0``:
  scheduling, the model step and output processing one after another, here);
- ``vllm/process``: ``LLM.generate`` in vLLM's default mode (no progress bar), and
  with ``--vllm-inline`` also ``vllm/inline``, ``LLM.generate`` with
  ``VLLM_ENABLE_V1_MULTIPROCESSING=0``.

Every run does a warm-up batch first, then times one batch of ``--requests``
prompts of random token ids, all submitted at once, ``ignore_eos`` so every
request produces ``--output-len`` tokens. For enginebench the throughput is the
result file's ``output_throughput`` (output tokens / first scheduled to last
finished); for vLLM, output tokens / the time ``generate`` took. Ratios are per
trial (each enginebench run over the vLLM run of the same trial), summarised as
a geometric mean with a 95% t-interval.

    .venv/bin/python benches/vllm_inprocess_vs_offline.py --model models/tiny-llama \\
        --enginebench target/release/enginebench [--trials 4] [--requests 64] \\
        [--input-len 128] [--output-len 128] [--max-num-seqs 16] [--vllm-inline]

Needs a binary built with --features vllm,embed-python. Run it on a quiet
machine: the load average is printed with the figures.
"""

import argparse
import glob
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ENGINE_ARGS = {"max_model_len": "512", "enforce_eager": "true", "dtype": "bfloat16"}


def own_loop(args):
    """vLLM's own offline loop, in this (fresh) process; prints its throughput."""
    os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = "1" if args.own_loop == "process" else "0"
    from vllm import LLM, SamplingParams

    llm = LLM(model=args.model, skip_tokenizer_init=True, max_num_seqs=args.max_num_seqs,
              max_model_len=int(ENGINE_ARGS["max_model_len"]), enforce_eager=True, dtype="bfloat16")
    params = SamplingParams(max_tokens=args.output_len, ignore_eos=True, detokenize=False)
    rng = random.Random(args.seed)
    batch = lambda n: [{"prompt_token_ids": [rng.randrange(10, 30000) for _ in range(args.input_len)]}  # noqa: E731
                       for _ in range(n)]
    llm.generate(batch(args.max_num_seqs), params, use_tqdm=False)
    prompts = batch(args.requests)
    start = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    elapsed = time.perf_counter() - start
    tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
    print(json.dumps({"output_throughput": tokens / elapsed, "tokens": tokens}))


def enginebench(args, mode, seed):
    with tempfile.TemporaryDirectory() as results:
        command = [args.enginebench, "run", "--engine", "vllm", "--model", args.model,
                   "--engine-arg", f"engine_core={mode}", "--engine-arg", f"max_num_seqs={args.max_num_seqs}",
                   "--random-input-len", str(args.input_len), "--random-output-len", str(args.output_len),
                   "--num-prompts", str(args.requests), "--num-warmups", str(args.max_num_seqs),
                   "--seed", str(seed), "--ignore-eos", "--save-result", "--result-dir", results]
        for key, value in ENGINE_ARGS.items():
            command += ["--engine-arg", f"{key}={value}"]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (path,) = [p for p in glob.glob(os.path.join(results, "*.json"))]
        with open(path) as f:
            result = json.load(f)
        assert result["total_output_tokens"] == args.requests * args.output_len, result
        return result["output_throughput"]


def vllm(args, mode, seed):
    command = [sys.executable, os.path.abspath(__file__), "--own-loop", mode, "--model", args.model,
               "--requests", str(args.requests), "--input-len", str(args.input_len),
               "--output-len", str(args.output_len), "--max-num-seqs", str(args.max_num_seqs),
               "--seed", str(seed)]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    # vLLM logs to stdout too, also while it shuts down: the figure is the JSON line.
    (line,) = [line for line in out.splitlines() if line.startswith('{"output_throughput"')]
    return json.loads(line)["output_throughput"]


def geometric_interval(ratios):
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(mean), math.exp(mean), math.exp(mean)
    t = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36}.get(len(logs), 2.26)
    half = t * statistics.stdev(logs) / math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--enginebench", default="target/release/enginebench")
    parser.add_argument("--trials", type=int, default=4)
    parser.add_argument("--requests", type=int, default=64)
    parser.add_argument("--input-len", type=int, default=128)
    parser.add_argument("--output-len", type=int, default=128)
    parser.add_argument("--max-num-seqs", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--vllm-inline", action="store_true",
                        help="also time LLM.generate with VLLM_ENABLE_V1_MULTIPROCESSING=0")
    parser.add_argument("--own-loop", choices=["process", "inline"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.own_loop:
        return own_loop(args)
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VIRTUAL_ENV", os.path.dirname(os.path.dirname(sys.executable)))
    runs = {
        "enginebench/process": lambda seed: enginebench(args, "process", seed),
        "enginebench/inline": lambda seed: enginebench(args, "inline", seed),
        "vllm/process": lambda seed: vllm(args, "process", seed),
    }
    if args.vllm_inline:
        runs["vllm/inline"] = lambda seed: vllm(args, "inline", seed)
    loads = [os.getloadavg()[0]]
    throughput = {name: [] for name in runs}
    for trial in range(args.trials):
        order = list(runs)
        random.Random(trial).shuffle(order)
        for name in order:
            throughput[name].append(runs[name](1000 + trial))
            loads.append(os.getloadavg()[0])
        print(f"trial {trial + 1} (load average {os.getloadavg()[0]:.1f}): "
              + ", ".join(f"{n} {throughput[n][-1]:.0f}" for n in runs), flush=True)
    print(f"\n{args.requests} requests x {args.input_len} -> {args.output_len} tokens, max_num_seqs "
          f"{args.max_num_seqs}, {args.trials} interleaved trials, load average {min(loads):.2f}..{max(loads):.2f}")
    print("output throughput (tok/s), mean of trials:")
    for name, samples in throughput.items():
        print(f"  {name:20s} {statistics.fmean(samples):8.1f}")
    print("ratio to vLLM's own loop, geometric mean [95% interval]:")
    for ours in ("enginebench/process", "enginebench/inline"):
        for theirs in [name for name in runs if name.startswith("vllm/")]:
            ratios = [a / b for a, b in zip(throughput[ours], throughput[theirs])]
            mean, low, high = geometric_interval(ratios)
            print(f"  {ours:20s} / {theirs:13s} {mean:.3f} [{low:.3f}, {high:.3f}]")


if __name__ == "__main__":
    main()
