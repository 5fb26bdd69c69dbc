#!/usr/bin/env python3
"""Smoke check: vLLM v1 LLMEngine in-process on CPU, token-id prompts, DELTA outputs, step() loop.

    .venv/bin/python python/checks/check_vllm.py [MODEL_DIR]

Prints one line per RequestOutput (request id, new token ids, finished), the per-request timing
stats vLLM exposes (RequestOutput.metrics: RequestStateStats), whether reset_prefix_cache()
exists, and timings. Exits non-zero if something is off.
"""
import os
import sys
import time
from pathlib import Path

# Must be set before vllm is imported.
os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")  # engine core in this process
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")  # GiB; default takes most of the RAM
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ENGINEBENCH_TINY_MODEL", str(ROOT / "models/tiny-llama"))
N_REQ, PROMPT_LEN, MAX_TOKENS = 4, 12, 16


def rss_mib() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def main() -> int:
    t_import = time.perf_counter()
    import vllm
    from vllm import EngineArgs, SamplingParams
    from vllm.sampling_params import RequestOutputKind
    from vllm.v1.engine.llm_engine import LLMEngine
    print(f"vllm {vllm.__version__}, import {time.perf_counter() - t_import:.1f} s", flush=True)

    t0 = time.perf_counter()
    args = EngineArgs(model=MODEL, skip_tokenizer_init=True, dtype="bfloat16", max_model_len=1024,
                      max_num_seqs=16, enforce_eager=True, disable_log_stats=False)
    engine = LLMEngine.from_engine_args(args)
    start_s = time.perf_counter() - t0
    print(f"engine start {start_s:.1f} s, rss {rss_mib():.0f} MiB", flush=True)
    print(f"type(engine) = {type(engine).__module__}.{type(engine).__name__}")
    print(f"has reset_prefix_cache: {hasattr(engine, 'reset_prefix_cache')}")

    params = SamplingParams(max_tokens=MAX_TOKENS, ignore_eos=True, detokenize=False,
                            output_kind=RequestOutputKind.DELTA)
    t_sub = time.monotonic()
    for i in range(N_REQ):
        ids = [(7 * i + j) % 31000 + 100 for j in range(PROMPT_LEN)]
        prompt = {"prompt_token_ids": ids}
        if i % 2:  # the non-deprecated path: pre-render the prompt into an EngineInput
            prompt = engine.renderer.render_cmpl([prompt])[0]
        rid = engine.add_request(str(i), prompt, params)
        # add_request returns the *internal* id ("<id>-<8 random chars>"); outputs carry ours.
        print(f"add_request({str(i)!r}) -> {rid!r}  (prompt type {type(prompt).__name__})")

    counts = {str(i): 0 for i in range(N_REQ)}
    finished = {}
    steps, step_times, first = 0, [], None
    while engine.has_unfinished_requests():
        ts = time.perf_counter()
        outs = engine.step()
        step_times.append(time.perf_counter() - ts)
        steps += 1
        for o in outs:
            new = o.outputs[0].token_ids
            counts[o.request_id] += len(new)
            print(f"step {steps:3d} req {o.request_id} new={len(new)} ids={list(new)} finished={o.finished}")
            if first is None:
                first = o
            if o.finished:
                finished[o.request_id] = o
    t_end = time.monotonic()

    o = finished["0"]
    m = o.metrics
    print(f"RequestOutput attrs: {sorted(k for k in vars(o))}")
    print(f"CompletionOutput attrs: {sorted(k for k in vars(o.outputs[0]))}, finish_reason={o.outputs[0].finish_reason!r}")
    print(f"metrics type: {type(m).__module__}.{type(m).__name__}")
    print(f"metrics: {m}")
    print(f"  submitted (our monotonic) {t_sub:.6f}, done {t_end:.6f}, time.time() now {time.time():.3f}")
    if m is not None:
        print(f"  queued_ts - t_sub = {m.queued_ts - t_sub:+.4f} s (monotonic clock, same as ours)")
        print(f"  first_token_ts - queued_ts = {m.first_token_ts - m.queued_ts:.4f} s,"
              f" last_token_ts - first_token_ts = {m.last_token_ts - m.first_token_ts:.4f} s")
    print(f"num_cached_tokens={o.num_cached_tokens}")

    print(f"reset_prefix_cache() -> {engine.reset_prefix_cache()}")

    # Abort: takes a list of *external* ids (the ones we passed to add_request).
    engine.add_request("abort-me", {"prompt_token_ids": list(range(100, 110))},
                       SamplingParams(max_tokens=1000, ignore_eos=True, detokenize=False,
                                      output_kind=RequestOutputKind.DELTA))
    got = engine.step()
    engine.abort_request(["abort-me"])
    after = engine.step() if engine.has_unfinished_requests() else []
    print(f"abort: first step gave {[(o.request_id, len(o.outputs[0].token_ids)) for o in got]}, "
          f"after abort_request: has_unfinished={engine.has_unfinished_requests()}, "
          f"outputs={[(o.request_id, o.finished, o.outputs[0].finish_reason) for o in after]}")
    if engine.has_unfinished_requests():
        print("FAIL abort left unfinished requests")
        return 1
    print(f"steps {steps}, step median {sorted(step_times)[len(step_times) // 2] * 1e3:.0f} ms,"
          f" total {sum(step_times):.2f} s, rss {rss_mib():.0f} MiB")
    ok = all(c == MAX_TOKENS for c in counts.values()) and len(finished) == N_REQ
    print("OK" if ok else f"FAIL counts={counts}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
