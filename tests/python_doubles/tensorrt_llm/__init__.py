"""A test double of the small part of an LLM-serving Python API that the
``trtllm-pytorch`` driver calls: ``LLM(model, tensor_parallel_size, **kwargs)``,
``generate_async(token_ids, SamplingParams, streaming=True)`` as an async
iterator of cumulative outputs, and ``shutdown()``.

It generates tokens on a timer (``step_ms`` per token, ``--engine-arg``), fails
requests longer than ``max_seq_len``, and records what it was asked, so tests
can check what the driver passed through. It is not an inference engine.
"""

import asyncio
import json
import os
from dataclasses import dataclass
from types import SimpleNamespace

__version__ = "0.0.0+test-double"

# Every LLM ever built in this process, for tests to inspect.
instances = []


@dataclass
class SamplingParams:
    max_tokens: int
    ignore_eos: bool = False
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = None
    seed: int = None

    def __post_init__(self):
        if self.max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")


class LLM:
    def __init__(self, model, tensor_parallel_size=1, step_ms=2.0, max_seq_len=2048, fail_token=None):
        if not os.path.isfile(os.path.join(model, "config.json")):
            raise FileNotFoundError(f"no config.json in {model}")
        self.tensor_parallel_size = tensor_parallel_size
        self.step_s = float(step_ms) / 1000.0
        self.fail_token = fail_token
        self.args = SimpleNamespace(max_seq_len=int(max_seq_len))
        self.requests = []
        self.closed = False
        instances.append(self)

    async def _generate(self, token_ids, params):
        self.requests.append((list(token_ids), params))
        if len(token_ids) + params.max_tokens > self.args.max_seq_len:
            raise ValueError(f"prompt + output exceeds max_seq_len {self.args.max_seq_len}")
        if self.fail_token is not None and self.fail_token in token_ids:
            raise RuntimeError("the test double was told to fail this request")
        generated = []
        while len(generated) < params.max_tokens:
            await asyncio.sleep(self.step_s)
            generated.append(len(generated) % 100)
            finished = len(generated) == params.max_tokens
            yield SimpleNamespace(outputs=[SimpleNamespace(token_ids=list(generated))], finished=finished)

    def generate_async(self, token_ids, sampling_params, streaming=False):
        if not streaming:
            raise ValueError("the test double only streams")
        return self._generate(token_ids, sampling_params)

    def shutdown(self):
        self.closed = True
        log = os.environ.get("TEST_DOUBLE_LOG")
        if log:
            with open(log, "w") as out:
                json.dump({"requests": len(self.requests), "closed": True,
                           "tensor_parallel_size": self.tensor_parallel_size,
                           "ignore_eos": [p.ignore_eos for _, p in self.requests]}, out)
