"""vLLM's v1 ``LLMEngine`` in the calling process.

``VLLM_ENABLE_V1_MULTIPROCESSING=0`` keeps the engine core in this process, so
``step()`` runs one scheduler iteration right here. With ``--tp`` > 1 vLLM still
starts one worker process per rank.
"""

import json
import os
import time

from enginebench_driver_common import parse_value, sampling_options

os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")

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


class Driver:
    def __init__(self, model, tp, args, ignore_eos):
        import vllm
        from vllm import EngineArgs, LLMEngine
        from vllm.sampling_params import RequestOutputKind, SamplingParams

        if model is None:
            raise RuntimeError("the vllm engine needs --model (a model folder or name)")
        self._sampling_params = SamplingParams
        self._delta = RequestOutputKind.DELTA
        settings = {"skip_tokenizer_init": True, "disable_log_stats": False}
        settings.update({key: parse_value(value) for key, value in args.items()})
        self._settings = settings
        self._engine = LLMEngine.from_engine_args(
            EngineArgs(model=model, tensor_parallel_size=tp, **settings)
        )
        self._version = vllm.__version__
        self._tp = tp
        # Generated ids per request, kept only once hand_over_answers() asks.
        self._answers = None

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
        self._engine.add_request(
            str(request_id), {"prompt_token_ids": token_ids}, self._sampling_params(**options)
        )

    def hand_over_answers(self):
        """From now on ``poll`` also returns each finished request's token ids."""
        self._answers = {}

    def poll(self, timeout_s):
        if not self._engine.has_unfinished_requests():
            time.sleep(timeout_s)
            return [], [], []
        tokens, stats, answers = [], [], []
        for output in self._engine.step():
            request_id = int(output.request_id)
            completion = output.outputs[0] if output.outputs else None
            new_tokens = len(completion.token_ids) if completion is not None else 0
            if new_tokens or output.finished:
                tokens.append((request_id, new_tokens, output.finished))
            if self._answers is not None and completion is not None:
                self._answers.setdefault(request_id, []).extend(completion.token_ids)
            if output.finished:
                engine_stats = _request_stats(output)
                if engine_stats:
                    stats.append((request_id, json.dumps(engine_stats)))
                if self._answers is not None:
                    answers.append((request_id, self._answers.pop(request_id, [])))
        if self._answers is None:
            return tokens, [], stats
        return tokens, [], stats, answers

    def cancel(self, request_id):
        self._engine.abort_request([str(request_id)])
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


def _request_stats(output):
    found = {}
    # Prompt tokens served from vLLM's prefix cache (RequestOutput.num_cached_tokens).
    cached = getattr(output, "num_cached_tokens", None)
    if isinstance(cached, int):
        found["num_cached_tokens"] = cached
    metrics = getattr(output, "metrics", None)
    for field in _STAT_FIELDS:
        value = getattr(metrics, field, None)
        if isinstance(value, (int, float)):
            found[field] = value
    return found or None
