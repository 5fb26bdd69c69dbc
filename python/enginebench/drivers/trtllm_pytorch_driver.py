"""TensorRT-LLM's Python LLM API (PyTorch backend) in the calling process.

``LLM(model, tensor_parallel_size=tp, **engine args)``; each request streams
through ``generate_async(token_ids, SamplingParams(...), streaming=True)`` on an
asyncio loop in a background thread, which hands deltas to ``poll`` through a
queue. The driver never reads the clock: the Rust side timestamps each delta
when ``poll`` returns it.
"""

import asyncio
import queue
import threading

from enginebench_driver_common import parse_value, sampling_options


class Driver:
    def __init__(self, model, tp, args, ignore_eos):
        import tensorrt_llm
        from tensorrt_llm import LLM, SamplingParams

        if model is None:
            raise RuntimeError("the trtllm-pytorch engine needs --model (a model folder or name)")
        self._sampling_params = SamplingParams
        self._settings = {key: parse_value(value) for key, value in args.items()}
        self._llm = LLM(model=model, tensor_parallel_size=tp, **self._settings)
        self._version = getattr(tensorrt_llm, "__version__", "unknown")
        self._tp = tp
        self._events = queue.SimpleQueue()
        self._tasks = {}
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
        params = self._sampling_params(**options)
        stream = self._stream(request_id, token_ids, params)
        self._tasks[request_id] = asyncio.run_coroutine_threadsafe(stream, self._loop)

    async def _stream(self, request_id, token_ids, params):
        seen = 0
        try:
            async for output in self._llm.generate_async(token_ids, params, streaming=True):
                total = len(output.outputs[0].token_ids)
                if output.finished and self._answers:
                    ids = list(output.outputs[0].token_ids)
                    self._events.put(("answer", request_id, ids, None))
                if total > seen or output.finished:
                    self._events.put(("tokens", request_id, total - seen, output.finished))
                    seen = total
        except asyncio.CancelledError:
            raise
        except Exception as error:  # one request failed; the run goes on
            self._events.put(("failed", request_id, f"{type(error).__name__}: {error}", None))

    def hand_over_answers(self):
        """From now on ``poll`` also returns each finished request's token ids."""
        self._answers = True

    def poll(self, timeout_s):
        tokens, failures, answers = [], [], []
        try:
            event = self._events.get(timeout=timeout_s)
        except queue.Empty:
            return tokens, failures, []
        while event is not None:
            kind, request_id, value, finished = event
            if kind == "answer":
                answers.append((request_id, value))
            elif kind == "tokens":
                tokens.append((request_id, value, finished))
                if finished:
                    self._tasks.pop(request_id, None)
            else:
                failures.append((request_id, value))
                self._tasks.pop(request_id, None)
            try:
                event = self._events.get_nowait()
            except queue.Empty:
                event = None
        if not self._answers:
            return tokens, failures, []
        return tokens, failures, [], answers

    def cancel(self, request_id):
        task = self._tasks.pop(request_id, None)
        if task is not None:
            task.cancel()

    def reset_prefix_cache(self):
        pass  # the LLM API has no public call for it; levels share the cache

    def shutdown(self):
        for task in self._tasks.values():
            task.cancel()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._llm.shutdown()

