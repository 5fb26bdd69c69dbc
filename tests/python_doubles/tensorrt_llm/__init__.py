"""A test double of the part of TensorRT-LLM's Python LLM API (PyTorch
backend) that the ``trtllm-pytorch`` driver calls, written from the upstream
sources (``tensorrt_llm/llmapi/llm.py``, ``executor/result.py``,
``sampling_params.py``, ``llmapi/utils.py``): not TensorRT-LLM's code, and not an
inference engine.

What it models, as the real API behaves:

- ``LLM(model, tensor_parallel_size, ...)`` starts its worker in separate
  processes (one per rank, even at TP 1) unless ``TLLM_WORKER_USE_SINGLE_PROCESS=1``
  at TP 1, read once per process; ``shutdown()`` stops them.
- An executor thread generates tokens on a timer for at most ``max_batch_size``
  requests at a time, whether or not anyone reads their results: a request runs
  until it finishes or is aborted with ``GenerationResult.abort()``, and
  cancelling the asyncio task that iterates a result does not stop it.
- ``generate_async(..., streaming=True)`` returns a result that is an async
  iterator of cumulative outputs; it needs a running event loop, as the real
  one's asyncio queue does.
- ``SamplingParams``: an unset ``end_id`` is taken from the tokenizer, and
  without one (``skip_tokenizer_init``) the request is refused;
  ``ignore_eos`` means end id -1; ``stop_token_ids`` end a request too.
- Outputs carry ``finish_reason`` (stop, length, cancelled) and, with
  ``return_perf_metrics``, ``request_perf_metrics`` (timedeltas on a steady
  clock); ``get_stats(timeout)`` returns iteration statistics as dicts when
  ``enable_iter_perf_stats`` is on, and waits up to ``timeout`` when there are none.

Double-only settings: ``step_ms`` (time per iteration), ``eos_after`` (output
position where the model emits its end token), ``fail_nth`` (the n-th request,
from 0, fails after its first token), ``fail_token`` (requests holding this
token are refused). With ``TEST_DOUBLE_LOG`` set, ``shutdown``
writes what it saw there as JSON.
"""

import asyncio
import datetime
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import List, Optional

__version__ = "0.0.0+test-double"

# Every LLM built in this process, for tests to inspect.
instances = []

_single_process = None


def _worker_use_single_process():
    """Read once per process, like the real API's cached helper."""
    global _single_process
    if _single_process is None:
        _single_process = os.environ.get("TLLM_WORKER_USE_SINGLE_PROCESS", "0") == "1"
    return _single_process


@dataclass
class SamplingParams:
    end_id: Optional[int] = None
    pad_id: Optional[int] = None
    max_tokens: int = 32
    stop_token_ids: Optional[List[int]] = None
    top_k: Optional[int] = None
    top_p: Optional[float] = None
    seed: Optional[int] = None
    temperature: Optional[float] = None
    return_perf_metrics: bool = False
    ignore_eos: bool = False
    detokenize: bool = True

    def __post_init__(self):
        if self.pad_id is None:
            self.pad_id = self.end_id
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")


class _Tokenizer:
    def __init__(self, eos_token_id, pad_token_id):
        self.eos_token_id = eos_token_id
        self.pad_token_id = pad_token_id


def _model_eos(model):
    for name in ("generation_config.json", "config.json"):
        try:
            with open(os.path.join(model, name)) as f:
                config = json.load(f)
        except (OSError, ValueError):
            continue
        eos = config.get("eos_token_id")
        if isinstance(eos, list):
            eos = eos[0] if eos else None
        if eos is not None:
            return eos, config.get("pad_token_id")
    return None, None


class _Request:
    def __init__(self, request_id, token_ids, params, result, fail):
        self.id = request_id
        self.token_ids = list(token_ids)
        self.params = params
        self.result = result
        self.fail = fail
        self.generated = []
        self.arrival = time.monotonic()
        self.first_scheduled = None
        self.first_token = None
        self.first_iter = None
        self.end_id = -1 if params.ignore_eos else params.end_id


class RequestOutput:
    """The LLM API's GenerationResult for one request, as an async iterator."""

    def __init__(self, llm, request_id, prompt_token_ids, sampling_params):
        try:
            self._loop = asyncio.get_running_loop()
            self._queue = asyncio.Queue()
        except RuntimeError:
            self._loop = None  # the real result then has no asyncio queue either
            self._queue = None
        self._llm = llm
        self.request_id = request_id
        self.prompt_token_ids = prompt_token_ids
        self.sampling_params = sampling_params
        self.outputs = [SimpleNamespace(index=0, token_ids=[], finish_reason=None, request_perf_metrics=None)]
        self._done = False
        self._aborted = False

    @property
    def finished(self):
        return self._done

    def abort(self):
        self._llm._abort_request(self.request_id)
        self._aborted = True

    def aborted(self):
        return self._aborted

    def _deliver(self, update):
        """From the executor thread."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, update)

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self._done:
            raise StopAsyncIteration
        assert self._queue is not None, "The asyncio event loop was not present during initialization, so async operations are not available."
        update = await self._queue.get()
        if isinstance(update, Exception):
            self._done = True
            raise update
        tokens, finish_reason, perf = update
        completion = self.outputs[0]
        completion.token_ids = completion.token_ids + tokens
        if finish_reason is not None:
            completion.finish_reason = finish_reason
            completion.request_perf_metrics = perf
            self._done = True
        return self


class LLM:
    def __init__(self, model, tensor_parallel_size=1, skip_tokenizer_init=False, enable_iter_perf_stats=False,
                 max_batch_size=64, max_seq_len=2048, step_ms=2.0, eos_after=None, fail_nth=None,
                 fail_token=None):
        if not os.path.isfile(os.path.join(model, "config.json")):
            raise FileNotFoundError(f"no config.json in {model}")
        self.tensor_parallel_size = tensor_parallel_size
        self.args = SimpleNamespace(max_seq_len=int(max_seq_len))
        eos, pad = _model_eos(model)
        self.tokenizer = None if skip_tokenizer_init or eos is None else _Tokenizer(eos, pad)
        self._eos = eos if eos is not None else 2
        self._stats_on = bool(enable_iter_perf_stats)
        self._max_batch = int(max_batch_size)
        self._step = float(step_ms) / 1000.0
        self._eos_after = None if eos_after is None else int(eos_after)
        self._fail_nth = None if fail_nth is None else int(fail_nth)
        self._fail_token = None if fail_token is None else int(fail_token)
        self._lock = threading.Lock()
        self._queued, self._active = [], []
        self._stats = []
        self._iteration = 0
        self._next_id = 0
        self.requests = []
        self.aborted = []
        self.closed = False
        single = tensor_parallel_size == 1 and _worker_use_single_process()
        ranks = 0 if single else tensor_parallel_size
        # Real processes standing in for the MPI workers: they live until shutdown.
        self._workers = [
            subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
            for _ in range(ranks)
        ]
        self._running = True
        self._thread = threading.Thread(target=self._executor_loop, daemon=True)
        self._thread.start()
        instances.append(self)

    def generate_async(self, prompt_token_ids, sampling_params=None, streaming=False):
        params = sampling_params or SamplingParams()
        if params.end_id is None:
            if self.tokenizer is None:
                raise ValueError(
                    "tokenizer is required to reset end_id if it is None, or you can explicitly specify "
                    "the end_id for sampling_params"
                )
            params.end_id = self.tokenizer.eos_token_id
            params.pad_id = self.tokenizer.pad_token_id or params.end_id
        if len(prompt_token_ids) + params.max_tokens > self.args.max_seq_len:
            raise ValueError(f"prompt + output exceeds max_seq_len {self.args.max_seq_len}")
        if self._fail_token is not None and self._fail_token in prompt_token_ids:
            raise RuntimeError("the test double was told to fail this request")
        with self._lock:
            request_id = self._next_id
            self._next_id += 1
        result = RequestOutput(self, request_id, list(prompt_token_ids), params)
        fail = self._fail_nth is not None and request_id == self._fail_nth
        request = _Request(request_id, prompt_token_ids, params, result, fail)
        with self._lock:
            self.requests.append(request)
            self._queued.append(request)
        return result

    def _abort_request(self, request_id):
        with self._lock:
            for pool in (self._queued, self._active):
                for request in pool:
                    if request.id == request_id:
                        pool.remove(request)
                        self.aborted.append(request_id)
                        request.result._deliver(([], "cancelled", None))
                        return

    def _executor_loop(self):
        while self._running:
            time.sleep(self._step)
            with self._lock:
                self._iterate()

    def _iterate(self):
        start = time.monotonic()
        while self._queued and len(self._active) < self._max_batch:
            request = self._queued.pop(0)
            request.first_scheduled = start
            self._active.append(request)
        for request in list(self._active):
            position = len(request.generated)
            token = self._eos if position == self._eos_after else 3 + (request.token_ids[-1] * 31 + position) % 997
            if token == self._eos and position != self._eos_after:
                token += 1
            if request.first_token is None:
                request.first_token = time.monotonic()
                request.first_iter = self._iteration
            if request.fail and position == 1:
                self._active.remove(request)
                request.result._deliver(RuntimeError("the test double was told to fail this request"))
                continue
            params = request.params
            if token == request.end_id:
                reason, new = "stop", []  # the end token is not returned
            elif params.stop_token_ids and token in params.stop_token_ids:
                reason, new = "stop", [token]
            else:
                new = [token]
                reason = "length" if position + 1 >= params.max_tokens else None
            request.generated.extend(new)
            perf = self._perf(request) if reason is not None and params.return_perf_metrics else None
            request.result._deliver((new, reason, perf))
            if reason is not None:
                self._active.remove(request)
        if self._stats_on:
            self._stats.append({"iter": self._iteration, "iterLatencyMS": (time.monotonic() - start) * 1e3,
                                "numActiveRequests": len(self._active), "numQueuedRequests": len(self._queued)})
        self._iteration += 1

    def _perf(self, request):
        delta = lambda t: datetime.timedelta(seconds=t)  # noqa: E731
        timing = SimpleNamespace(arrival_time=delta(request.arrival), first_scheduled_time=delta(request.first_scheduled),
                                 first_token_time=delta(request.first_token), last_token_time=delta(time.monotonic()))
        return SimpleNamespace(timing_metrics=timing, first_iter=request.first_iter, last_iter=self._iteration,
                               iter=self._iteration, kv_cache_metrics=SimpleNamespace(num_total_allocated_blocks=1))

    def get_stats(self, timeout=2):
        with self._lock:
            stats, self._stats = self._stats, []
        if not stats and timeout:
            time.sleep(timeout)
        return stats

    def shutdown(self):
        with self._lock:
            left_running = [r.id for r in self._queued + self._active]
            self._running = False
        self._thread.join(timeout=10)
        pids = [w.pid for w in self._workers]
        for worker in self._workers:
            worker.stdin.close()
            worker.wait(timeout=10)
        self.closed = True
        log = os.environ.get("TEST_DOUBLE_LOG")
        if log:
            with open(log, "w") as out:
                json.dump({
                    "requests": len(self.requests),
                    "closed": True,
                    "tensor_parallel_size": self.tensor_parallel_size,
                    "worker_pids": pids,
                    "single_process": not self._workers,
                    "left_running_at_shutdown": left_running,
                    "aborted": self.aborted,
                    "ignore_eos": [r.params.ignore_eos for r in self.requests],
                    "end_id": [r.end_id for r in self.requests],
                    "pad_id": [r.params.pad_id for r in self.requests],
                    "detokenize": [r.params.detokenize for r in self.requests],
                    "return_perf_metrics": [r.params.return_perf_metrics for r in self.requests],
                    "top_k": [r.params.top_k for r in self.requests],
                    "top_p": [r.params.top_p for r in self.requests],
                    "temperature": [r.params.temperature for r in self.requests],
                    "enable_iter_perf_stats": self._stats_on,
                }, out)
