"""The Python driver's own time per step, outside vLLM's ``step()``, against
vLLM's own offline loop (``LLM._run_engine``) on the same engine.

One real ``LLMEngine`` (the tiny model); ``step`` is wrapped to time it, and each
loop's time per iteration minus the time inside ``step()`` is what the loop
itself costs. Trials alternate between the loops:

- ``driver``: ``enginebench``'s vLLM driver ``poll()`` (DELTA outputs: one per
  running request per step, every token timestamped by the caller);
- ``vllm-final``: vLLM's loop as ``LLM.generate`` runs it (FINAL_ONLY outputs:
  only finished requests come back);
- ``vllm-delta``: the same loop on DELTA outputs, the like-for-like baseline.

The pyo3 round trip between the Rust driver and ``poll()`` is measured apart,
by ``cargo bench --bench python_poll``.

    VLLM_CPU_KVCACHE_SPACE=1 .venv/bin/python benches/vllm_step_overhead.py \\
        --model models/tiny-llama [--requests 16] [--output-len 64] [--trials 6]
"""

import argparse
import importlib.util
import math
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVERS = os.path.join(HERE, "..", "python", "enginebench", "drivers")


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class TimedStep:
    """Wraps ``engine.step`` and keeps the time spent inside its last call."""

    def __init__(self, step):
        self.step = step
        self.inside = 0.0

    def __call__(self):
        start = time.perf_counter()
        try:
            return self.step()
        finally:
            self.inside = time.perf_counter() - start


def prompts(args, seed):
    rng = random.Random(seed)
    return [[rng.randrange(10, 30000) for _ in range(args.input_len)] for _ in range(args.requests)]


def run_driver(driver, args, seed):
    timed = TimedStep(driver._engine.step)
    driver._step = timed
    greedy = {"temperature": 0.0, "top_p": 1.0, "top_k": None, "seed": None}
    for i, ids in enumerate(prompts(args, seed)):
        driver.submit(seed * 10_000 + i, ids, args.output_len, True, greedy)
    outside = []
    while driver._ids:
        start = time.perf_counter()
        driver.poll(0.0)
        outside.append(time.perf_counter() - start - timed.inside)
    return statistics.median(outside), len(outside)


def run_vllm_loop(engine, params, args, seed):
    """LLM._run_engine's loop (vllm/entrypoints/common/offline.py), without tqdm."""
    from vllm.outputs import RequestOutput

    timed = TimedStep(engine.step)
    for i, ids in enumerate(prompts(args, seed)):
        engine.add_request(str(seed * 10_000 + i), {"prompt_token_ids": ids}, params)
    outputs, outside = [], []
    while True:
        start = time.perf_counter()
        if not engine.has_unfinished_requests():
            break
        step_outputs = timed()
        for output in step_outputs:
            assert isinstance(output, RequestOutput)
            if output.finished:
                outputs.append(output)
        outside.append(time.perf_counter() - start - timed.inside)
    return statistics.median(outside), len(outside)


def interval(samples):
    """Mean and a 95% t-interval."""
    mean = statistics.fmean(samples)
    if len(samples) < 2:
        return mean, mean, mean
    t = {2: 12.71, 3: 4.30, 4: 3.18, 5: 2.78, 6: 2.57, 7: 2.45, 8: 2.36, 9: 2.31, 10: 2.26}.get(len(samples), 2.0)
    half = t * statistics.stdev(samples) / math.sqrt(len(samples))
    return mean, mean - half, mean + half


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--input-len", type=int, default=32)
    parser.add_argument("--output-len", type=int, default=64)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--engine-core", default="inline", choices=["inline", "process"])
    args = parser.parse_args()

    load("enginebench_driver_common", os.path.join(DRIVERS, "common.py"))
    vllm_driver = load("enginebench_driver_vllm", os.path.join(DRIVERS, "vllm_driver.py"))
    engine_args = {"max_model_len": "512", "max_num_seqs": str(args.requests), "enforce_eager": "true",
                   "dtype": "bfloat16"}
    driver = vllm_driver.Driver(args.model, 1, engine_args, True, {"engine_core": args.engine_core})
    from vllm.sampling_params import RequestOutputKind, SamplingParams

    final = SamplingParams(max_tokens=args.output_len, ignore_eos=True, detokenize=False)
    delta = SamplingParams(max_tokens=args.output_len, ignore_eos=True, detokenize=False,
                           output_kind=RequestOutputKind.DELTA)
    loops = {
        "driver": lambda seed: run_driver(driver, args, seed),
        "vllm-final": lambda seed: run_vllm_loop(driver._engine, final, args, seed),
        "vllm-delta": lambda seed: run_vllm_loop(driver._engine, delta, args, seed),
    }
    for name, loop in loops.items():  # warm-up, not counted
        loop(1)
    results = {name: [] for name in loops}
    for trial in range(args.trials):
        order = list(loops)
        random.Random(trial).shuffle(order)
        for name in order:
            per_step, steps = loops[name](100 + trial)
            results[name].append(per_step * 1e6)
    print(f"{args.requests} requests x {args.output_len} tokens, engine core {args.engine_core}, "
          f"{args.trials} interleaved trials; time per step outside step() (us; each trial's median "
          f"step, then their mean [95% interval]), load average {os.getloadavg()[0]:.2f}:")
    for name, samples in results.items():
        mean, low, high = interval(samples)
        print(f"  {name:11s} {mean:7.1f} [{low:.1f}, {high:.1f}]")
    driver.shutdown()


if __name__ == "__main__":
    main()
