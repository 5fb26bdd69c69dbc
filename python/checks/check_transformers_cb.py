#!/usr/bin/env python3
"""Smoke check: HF transformers continuous batching on CPU, token-id prompts, streaming results.

    .venv/bin/python python/checks/check_transformers_cb.py [MODEL_DIR]

Loads the model with attn_implementation="sdpa", sizes the paged cache explicitly (no memory
probing), skips warm-up, submits requests with streaming=True and eos_token_id=-1 (ignore EOS),
drains get_result(timeout) and prints every streamed result. Exits non-zero if something is off.
"""
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[2]
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("ENGINEBENCH_TINY_MODEL", str(ROOT / "models/tiny-llama"))
N_REQ, PROMPT_LEN, MAX_NEW = 4, 12, 16


def rss_mib() -> float:
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def main() -> int:
    t_import = time.perf_counter()
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, ContinuousBatchingConfig, GenerationConfig
    print(f"transformers {transformers.__version__}, torch {torch.__version__},"
          f" import {time.perf_counter() - t_import:.1f} s", flush=True)
    # On a small, busy CPU box, 2+ intra-op threads make the CB loop 3-10x slower and erratic
    # (OpenMP spin-waits against other processes). vLLM's CPU worker also drops to 1 thread.
    torch.set_num_threads(int(os.environ.get("ENGINEBENCH_TORCH_THREADS", "1")))

    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(MODEL, dtype=torch.bfloat16, attn_implementation="sdpa")
    t_load = time.perf_counter() - t0
    gen = GenerationConfig(max_new_tokens=MAX_NEW, do_sample=False, eos_token_id=-1)  # greedy, no EOS
    cb = ContinuousBatchingConfig(
        page_size=64,           # tokens per page (default 256)
        num_blocks=16,          # capacity target; 16 blocks x 64 tokens = 1024 cache tokens
        max_batch_tokens=256,   # tokens per forward pass
        max_requests_per_batch=16,
        use_cuda_graph=False,
        use_async_batching=False,
        auto_switch_to_flash=False,  # stay on sdpa (becomes paged|sdpa-style internally)
    )
    t1 = time.perf_counter()
    manager = model.init_continuous_batching(generation_config=gen, continuous_batching_config=cb)
    manager.start()  # no manager.warmup(): that only captures CUDA graphs / compiles
    t_init = time.perf_counter() - t1
    print(f"load {t_load:.2f} s, init+start {t_init:.2f} s, attn {model.config._attn_implementation!r},"
          f" torch threads {torch.get_num_threads()},"
          f" rss {rss_mib():.0f} MiB", flush=True)

    t_sub = time.perf_counter()
    ids = {}
    for i in range(N_REQ):
        prompt = [(7 * i + j) % 31000 + 100 for j in range(PROMPT_LEN)]
        rid = manager.add_request(prompt, request_id=f"r{i}", max_new_tokens=MAX_NEW, streaming=True,
                                  record_timestamps=True, eos_token_id=-1)
        ids[rid] = 0
    print(f"add_request returned {list(ids)}", flush=True)

    finished, first, deadline, n_results = {}, None, time.monotonic() + 120, 0
    while len(finished) < N_REQ and time.monotonic() < deadline:
        r = manager.get_result(timeout=1.0)
        if r is None:
            if not manager.is_running():
                print("FAIL manager stopped")
                return 1
            continue
        n_results += 1
        first = first or (r, time.perf_counter())
        new = len(r.generated_tokens) - ids[r.request_id]  # generated_tokens is cumulative
        ids[r.request_id] = len(r.generated_tokens)
        print(f"{r.request_id} new={new} total={len(r.generated_tokens)} status={r.status.name}"
              f" finished={r.is_finished()} error={r.error}")
        if r.is_finished():
            finished[r.request_id] = r
    t_done = time.perf_counter()

    cache = manager.batch_processor.cache  # created lazily by the generation thread at start()
    print(f"paged cache: num_blocks={cache.num_blocks} max_batch_tokens={cache.max_batch_tokens}"
          f" page_size={manager.continuous_batching_config.page_size}"
          f" max_requests_per_batch={manager.continuous_batching_config.max_requests_per_batch}")

    r = finished.get("r0")
    if r is not None:
        print(f"GenerationOutput fields: {list(vars(r))}")
        print(f"  created_time={r.created_time:.4f} lifespan={tuple(round(x, 4) for x in r.lifespan)}"
              f" submitted(perf_counter)={t_sub:.4f} done={t_done:.4f}")
        print(f"  timestamps[:3]={[round(x, 4) for x in (r.timestamps or [])[:3]]} n={len(r.timestamps or [])}")
        print(f"  first result after {first[1] - t_sub:.3f} s; all {n_results} results in {t_done - t_sub:.3f} s")

    # Cancel: the request is dropped; check what (if anything) comes back.
    manager.add_request(list(range(100, 110)), request_id="cancel-me", max_new_tokens=10_000, streaming=True,
                        eos_token_id=-1)
    got = manager.get_result(timeout=10)
    manager.cancel_request("cancel-me")
    after = []
    while (x := manager.get_result(timeout=2.0)) is not None:
        after.append((x.request_id, len(x.generated_tokens), x.status.name))
    print(f"cancel: before {got and (got.request_id, len(got.generated_tokens), got.status.name)}, "
          f"after cancel_request (last 3 of {len(after)}): {after[-3:]}")

    t2 = time.perf_counter()
    manager.stop(block=True, timeout=10)
    print(f"stop {time.perf_counter() - t2:.2f} s, running={manager.is_running()}, rss {rss_mib():.0f} MiB")
    ok = len(finished) == N_REQ and all(len(r.generated_tokens) == MAX_NEW for r in finished.values())
    print("OK" if ok else f"FAIL finished={ {k: len(v.generated_tokens) for k, v in finished.items()} }")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
