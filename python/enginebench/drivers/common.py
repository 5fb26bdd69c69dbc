"""What every driver shares."""

import json


def parse_value(text):
    """``--engine-arg`` values arrive as text: read numbers, booleans, JSON, else keep text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def sampling_options(request_id, max_tokens, ignore_eos, sampling):
    """``SamplingParams`` keywords shared by vLLM and TensorRT-LLM. A seed is passed
    only when sampling (greedy needs none), offset per request so requests differ."""
    options = {
        "max_tokens": max_tokens,
        "ignore_eos": ignore_eos,
        "temperature": sampling["temperature"],
        "top_p": sampling["top_p"],
    }
    if sampling["top_k"] is not None:
        options["top_k"] = sampling["top_k"]
    if sampling["temperature"] > 0 and sampling["seed"] is not None:
        options["seed"] = sampling["seed"] + request_id
    return options
