"""HF transformers' continuous batching in the calling process (CPU or CUDA).

``model.init_continuous_batching(generation_config, continuous_batching_config)``
then ``start()``; requests go in with ``add_request(ids, request_id, max_new_tokens,
streaming=True)`` and come back through ``get_result(timeout)`` with the tokens
generated so far. The manager's warm-up is not run: use ``--num-warmups``.
Tensor parallelism would need torchrun and a TP plan, which this engine does not
start, so it runs with ``--tp 1`` only.

The calls below were read in the transformers wheels 5.17.0, 5.18.0 and 5.19.0
(tested with 5.19.0): the manager's ``background_thread_status.fatal_error``
exists from 5.17 (before, ``fatal_error`` sat on the manager itself), and the
cache's ``page_size`` from 5.18 (``block_size`` before). Older versions are
refused in one line.
"""

import json

from enginebench_driver_common import parse_value, version_tuple

MINIMUM = (5, 17)
PAGE_SIZE_SINCE = (5, 18)


def check_version(version):
    """One line when this transformers is too old for the driver, else None."""
    if version_tuple(version)[:2] < MINIMUM:
        return (
            f"the hf engine needs transformers >= {'.'.join(map(str, MINIMUM))} (continuous "
            f"batching's background_thread_status.fatal_error), found {version}: "
            "pip install 'transformers>=5.17'"
        )
    return None

# --engine-arg keys that size the paged cache and the batches.
_BATCHING_KEYS = (
    "num_blocks",
    "page_size",
    "max_batch_tokens",
    "max_memory_percent",
    "max_requests_per_batch",
    "max_blocks_per_request",
    "allow_block_sharing",
    "use_async_batching",
    "use_cuda_graph",
    "scheduler_type",
)
_MODEL_KEYS = ("device", "dtype", "attn_implementation", "torch_threads")


class Driver:
    def __init__(self, model, tp, args, ignore_eos, settings):
        import transformers

        if model is None:
            raise RuntimeError("the hf engine needs --model (a model folder)")
        too_old = check_version(transformers.__version__)
        if too_old:
            raise RuntimeError(too_old)
        import torch
        from transformers import AutoModelForCausalLM, GenerationConfig
        from transformers.generation.configuration_utils import ContinuousBatchingConfig

        unknown = sorted(set(args) - set(_BATCHING_KEYS) - set(_MODEL_KEYS))
        if unknown:
            known = ", ".join(_MODEL_KEYS + _BATCHING_KEYS)
            raise RuntimeError(f"unknown hf engine arg {unknown[0]!r} (known: {known})")
        if "torch_threads" in args:
            # On small CPUs torch's default thread count fights the driver for cores.
            torch.set_num_threads(int(args["torch_threads"]))
        device = args.get("device") or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = args.get("dtype", "bfloat16")
        attention = args.get("attn_implementation", "sdpa")
        self._model = AutoModelForCausalLM.from_pretrained(
            model, dtype=getattr(torch, dtype), attn_implementation=attention
        ).to(device)
        batching = {key: parse_value(args[key]) for key in _BATCHING_KEYS if key in args}
        if "page_size" in batching and version_tuple(transformers.__version__) < PAGE_SIZE_SINCE:
            batching["block_size"] = batching.pop("page_size")  # its name before 5.18
        eos = self._model.config.eos_token_id
        generation = GenerationConfig(do_sample=False, eos_token_id=eos if eos is not None else -1)
        self._manager = self._model.init_continuous_batching(
            generation_config=generation,
            continuous_batching_config=ContinuousBatchingConfig(**batching),
        )
        self._manager.start()
        self._seen = {}
        self._answers = False  # hand over generated ids (hand_over_answers)
        self._settings = {
            "device": device,
            "dtype": dtype,
            "attn_implementation": attention,
            # Continuous batching may switch to another kernel (flash attention when
            # installed, paged|eager for eager): the one that runs.
            "attn_implementation_used": str(getattr(self._model.config, "_attn_implementation", attention)),
            "torch_threads": str(torch.get_num_threads()),
        }
        self._settings.update({key: str(value) for key, value in batching.items()})
        self._version = transformers.__version__
        self._torch = torch.__version__

    def describe(self):
        config = self._model.config
        settings = dict(self._settings, torch=self._torch)
        return {
            "version": self._version,
            "tensor_parallel_size": 1,
            "max_model_len": getattr(config, "max_position_embeddings", None),
            "vocab_size": getattr(config, "vocab_size", None),
            "settings": settings,
        }

    def submit(self, request_id, token_ids, max_tokens, ignore_eos, sampling):
        if sampling["temperature"] > 0:
            raise ValueError("the hf engine decodes greedily: use --temperature 0")
        options = {"eos_token_id": -1} if ignore_eos else {}
        accepted = self._manager.add_request(
            token_ids,
            request_id=str(request_id),
            max_new_tokens=max_tokens,
            streaming=True,
            record_timestamps=True,
            **options,
        )
        if accepted is None:
            raise ValueError("the continuous batching manager refused the request")
        self._seen[request_id] = 0

    def hand_over_answers(self):
        """From now on ``poll`` also returns each finished request's token ids."""
        self._answers = True

    def poll(self, timeout_s):
        tokens, failures, stats, answers = [], [], [], []
        result = self._manager.get_result(timeout=timeout_s)
        while result is not None:
            self._record(result, tokens, failures, stats, answers)
            result = self._manager.get_result(timeout=0)
        error = self._manager.background_thread_status.fatal_error
        if error is not None and not tokens and not failures:
            raise RuntimeError(f"the generation thread failed: {error}")
        if not self._answers:
            return tokens, failures, stats
        return tokens, failures, stats, answers

    def _record(self, result, tokens, failures, stats, answers):
        from transformers.generation.continuous_batching.requests import RequestStatus

        request_id = int(result.request_id)
        if request_id not in self._seen:
            return  # cancelled or unknown: nothing to report
        if result.status == RequestStatus.FAILED:
            failures.append((request_id, result.error or "failed"))
            del self._seen[request_id]
            return
        total = len(result.generated_tokens)
        finished = result.status == RequestStatus.FINISHED
        if total > self._seen[request_id] or finished:
            tokens.append((request_id, total - self._seen[request_id], finished))
            self._seen[request_id] = total
        if finished:
            del self._seen[request_id]
            stats.append((request_id, json.dumps(_request_stats(result))))
            if self._answers:
                answers.append((request_id, list(result.generated_tokens)))

    def cancel(self, request_id):
        self._seen.pop(request_id, None)
        self._manager.cancel_request(str(request_id))

    def reset_prefix_cache(self):
        pass  # no public call; block sharing only spans requests in flight together

    def shutdown(self):
        self._manager.stop(block=True, timeout=30)


def _request_stats(result):
    """The manager's own perf_counter times (seconds), beside the driver's."""
    found = {"created_time": result.created_time, "lifespan": list(result.lifespan)}
    if result.timestamps:
        found["first_token_time"] = result.timestamps[0]
        found["last_token_time"] = result.timestamps[-1]
    return found


def preflight(model, tp, args, settings, ignore_eos):
    """What `enginebench doctor` checks for this engine, without loading the
    model: a list of (status, check, detail) with status ok, warn or fail."""
    import importlib.metadata
    import os

    checks = []
    try:
        version = importlib.metadata.version("transformers")
    except importlib.metadata.PackageNotFoundError:
        return [("fail", "transformers package", "not installed: pip install 'transformers>=5.17' torch psutil")]
    too_old = check_version(version)
    checks.append(("fail", "transformers package", too_old) if too_old else ("ok", "transformers package", f"transformers {version} (tested with 5.19.0)"))
    for package in ("torch", "psutil"):
        try:
            checks.append(("ok", f"{package} package", f"{package} {importlib.metadata.version(package)}"))
        except importlib.metadata.PackageNotFoundError:
            checks.append(("fail", f"{package} package", f"not installed: pip install {package}"))
    if tp != 1:
        checks.append(("fail", "tensor parallelism", "the hf engine runs with --tp 1 only (transformers shards a model only under torchrun)"))
    if model is None or not os.path.isfile(os.path.join(model, "config.json")):
        checks.append(("fail", "model", f"no config.json in {model}: --model must be a model folder"))
    else:
        checks.append(("ok", "model", f"{model}"))
    if args.get("device", "").startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            checks.append(("fail", "device", "device=cuda, but torch sees no GPU"))
    return checks
