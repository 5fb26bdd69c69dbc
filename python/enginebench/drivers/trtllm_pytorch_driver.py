"""TensorRT-LLM's Python LLM API (PyTorch backend), driven from this process.

``LLM(model, tensor_parallel_size=tp, **engine args)``; each request streams
through ``generate_async(token_ids, SamplingParams(...), streaming=True)`` on an
asyncio loop in a background thread (the LLM API's results need a running
loop), which hands deltas to ``poll`` through a queue. The driver never reads
the clock: the Rust side timestamps each delta when ``poll`` returns it.

Where the model runs: by default, as TensorRT-LLM does for ``trtllm-serve`` and
``trtllm-bench``, in an MPI worker process the LLM API starts, even at TP 1;
requests and results cross to it through the API's own IPC. With
``single_process=true`` (TP 1 only) the driver sets
``TLLM_WORKER_USE_SINGLE_PROCESS=1`` and the worker runs in this process.

A cancelled request is aborted through ``GenerationResult.abort()``: cancelling
the asyncio task that reads it would leave it generating, and holding its batch
slot, inside the executor.
"""

import asyncio
import json
import os
import queue
import threading

from enginebench_driver_common import end_tokens, parse_value, sampling_options

SINGLE_PROCESS = "TLLM_WORKER_USE_SINGLE_PROCESS"


class Driver:
    def __init__(self, model, tp, args, ignore_eos, settings):
        if model is None:
            raise RuntimeError("the trtllm-pytorch engine needs --model (a model folder or name)")
        single = settings.get("single_process") == "true"
        if single and tp > 1:
            raise RuntimeError("single_process=true runs TensorRT-LLM's worker in this process: --tp 1 only")
        if single:
            os.environ[SINGLE_PROCESS] = "1"  # read (and cached) by the LLM API when LLM() starts
        import tensorrt_llm
        from tensorrt_llm import LLM, SamplingParams

        self._sampling_params = SamplingParams
        self._settings = {key: parse_value(value) for key, value in args.items()}
        llm_args = dict(self._settings)
        # Iteration statistics (get_stats) are off by default in the LLM API.
        llm_args.setdefault("enable_iter_perf_stats", True)
        self._llm = LLM(model=model, tensor_parallel_size=tp, **llm_args)
        self._version = getattr(tensorrt_llm, "__version__", "unknown")
        self._tp = tp
        in_process = tp == 1 and os.environ.get(SINGLE_PROCESS, "0") == "1"
        self._settings["worker"] = (
            f"in this process ({SINGLE_PROCESS}=1)" if in_process
            else "MPI worker process(es) started by the LLM API (TensorRT-LLM's default)"
        )
        self._settings["detokenize"] = False
        self._end = {}
        if not ignore_eos and getattr(self._llm, "tokenizer", None) is None:
            # Without a tokenizer the LLM API refuses requests with no end_id.
            ids, pad = end_tokens(model)
            if not ids:
                raise RuntimeError(
                    f"TensorRT-LLM runs without a tokenizer here and the model at {model} names no "
                    "end token (eos_token_id in generation_config.json or config.json): pass --ignore-eos"
                )
            self._end = {"end_id": ids[0], "pad_id": ids[0] if pad is None else pad}
            if len(ids) > 1:
                self._end["stop_token_ids"] = ids[1:]
        self._events = queue.SimpleQueue()
        self._results = {}  # our id -> the LLM API's result, while it runs
        self._cancelled = set()
        self._latest_iteration = None
        self._answers = False  # hand over generated ids (hand_over_answers)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def describe(self):
        args = getattr(self._llm, "args", None)
        return {
            "version": self._version,
            "tensor_parallel_size": self._tp,
            "max_model_len": getattr(args, "max_seq_len", None),
            "vocab_size": None,
            "settings": {key: str(value) for key, value in sorted(self._settings.items())},
        }

    def submit(self, request_id, token_ids, max_tokens, ignore_eos, sampling):
        options = sampling_options(request_id, max_tokens, ignore_eos, sampling)
        if sampling["temperature"] <= 0:
            # Greedy as the LLM API defines it: top_k 1 (or unset) and top_p unset.
            options.pop("top_p")
            options.pop("temperature")
            options["top_k"] = 1
        options.update(detokenize=False, return_perf_metrics=True)
        if not ignore_eos:
            options.update(self._end)
        params = self._sampling_params(**options)
        asyncio.run_coroutine_threadsafe(self._stream(request_id, token_ids, params), self._loop)

    async def _stream(self, request_id, token_ids, params):
        seen = 0
        try:
            if request_id in self._cancelled:
                return
            result = self._llm.generate_async(token_ids, params, streaming=True)
            self._results[request_id] = result
            async for output in result:
                if request_id in self._cancelled:
                    continue  # aborted: drain to the final, cancelled output
                completion = output.outputs[0]
                total = len(completion.token_ids)
                if output.finished:
                    self._events.put(("stats", request_id, self._request_stats(completion), None))
                    if self._answers:
                        self._events.put(("answer", request_id, list(completion.token_ids), None))
                if total > seen or output.finished:
                    self._events.put(("tokens", request_id, total - seen, output.finished))
                    seen = total
        except Exception as error:  # one request failed; the run goes on
            self._events.put(("failed", request_id, f"{type(error).__name__}: {error}", None))
        finally:
            self._results.pop(request_id, None)

    def _request_stats(self, completion):
        stats = {"finish_reason": completion.finish_reason}
        perf = getattr(completion, "request_perf_metrics", None)
        if perf is not None:
            timing = perf.timing_metrics
            seconds = {
                name: getattr(timing, name).total_seconds()
                for name in ("arrival_time", "first_scheduled_time", "first_token_time", "last_token_time")
            }
            stats["engine_timing"] = dict(
                seconds,
                clock="steady_clock s",
                queue_ms=(seconds["first_scheduled_time"] - seconds["arrival_time"]) * 1e3,
                ttft_ms=(seconds["first_token_time"] - seconds["arrival_time"]) * 1e3,
                e2el_ms=(seconds["last_token_time"] - seconds["arrival_time"]) * 1e3,
                first_iter=perf.first_iter,
                last_iter=perf.last_iter,
            )
        iteration = self._latest_stats()
        if iteration is not None:
            stats["latest_iteration"] = iteration
        return json.dumps(stats)

    def _latest_stats(self):
        """The newest of the LLM API's iteration statistics (get_stats), kept as
        they come: dicts, or JSON text in older releases."""
        try:
            collected = self._llm.get_stats(timeout=0)
        except Exception:  # statistics are extra data
            collected = []
        if collected:
            last = collected[-1]
            self._latest_iteration = json.loads(last) if isinstance(last, str) else last
        return self._latest_iteration

    def hand_over_answers(self):
        """From now on ``poll`` also returns each finished request's token ids."""
        self._answers = True

    def poll(self, timeout_s):
        tokens, failures, stats, answers = [], [], [], []
        try:
            event = self._events.get(timeout=timeout_s)
        except queue.Empty:
            return tokens, failures, stats
        while event is not None:
            kind, request_id, value, finished = event
            if kind == "answer":
                answers.append((request_id, value))
            elif kind == "tokens":
                tokens.append((request_id, value, finished))
            elif kind == "stats":
                stats.append((request_id, value))
            else:
                failures.append((request_id, value))
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                event = None
        if not self._answers:
            return tokens, failures, stats
        return tokens, failures, stats, answers

    def cancel(self, request_id):
        self._cancelled.add(request_id)
        self._loop.call_soon_threadsafe(self._abort, request_id)

    def _abort(self, request_id):
        result = self._results.get(request_id)
        if result is not None and not result.finished:
            result.abort()

    def reset_prefix_cache(self):
        pass  # the LLM API has no public call for it; levels share the cache

    def shutdown(self):
        for request_id in list(self._results):
            self.cancel(request_id)
        done = threading.Event()
        self._loop.call_soon_threadsafe(done.set)
        done.wait(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._llm.shutdown()


TEST_DOUBLE_TAG = "+test-double"


def preflight(model, tp, args, settings, ignore_eos):
    """What `enginebench doctor` checks for this engine, without starting it."""
    import importlib.metadata
    import importlib.util
    import shutil

    checks = []
    try:
        version = importlib.metadata.version("tensorrt_llm")
    except importlib.metadata.PackageNotFoundError:
        if importlib.util.find_spec("tensorrt_llm") is None:
            return [("fail", "tensorrt_llm package", "not installed: pip install tensorrt_llm from NVIDIA's index (pypi.nvidia.com), or use its container")]
        import tensorrt_llm  # on the path but not installed (a source tree)

        version = getattr(tensorrt_llm, "__version__", "unknown")
    # The test double of the LLM API (tests/python_doubles) says what it is in
    # its version; it runs on CPU with no MPI, and measures nothing.
    double = version.endswith(TEST_DOUBLE_TAG)
    what = "the test double of the LLM API; it measures nothing" if double else "LLM API, PyTorch backend"
    checks.append(("ok", "tensorrt_llm package", f"tensorrt_llm {version} ({what})"))
    single = settings.get("single_process") == "true"
    if single and tp > 1:
        checks.append(("fail", "worker", "single_process=true needs --tp 1"))
    elif single or (tp == 1 and os.environ.get(SINGLE_PROCESS) == "1"):
        checks.append(("ok", "worker", f"in this process ({SINGLE_PROCESS}=1)"))
    else:
        checks.append(("ok", "worker", f"{tp} MPI worker process(es) started by the LLM API"))
    if importlib.util.find_spec("mpi4py") is None and not double:
        checks.append(("fail", "mpi4py", "not installed: the LLM API starts its workers with mpi4py (pip install mpi4py)"))
    if tp > 1 and shutil.which("mpirun") is None:
        checks.append(("warn", "mpi", "mpirun is not on PATH: multi-node runs need an MPI installation"))
    if model is None or not os.path.isfile(os.path.join(model, "config.json")):
        checks.append(("warn", "model", f"no config.json in {model}: a hub name is resolved by TensorRT-LLM itself"))
    else:
        checks.append(("ok", "model", model))
    return checks
