"""What every driver shares."""

import json
import os
import sys


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


def end_tokens(*folders):
    """The model's end-of-sequence token ids and pad id, as the LLM APIs read
    them: ``generation_config.json``, else ``config.json``, in the first of
    ``folders`` that names one. ``([], None)`` when none does."""
    for folder in folders:
        if not folder or not os.path.isdir(folder):
            continue
        for name in ("generation_config.json", "config.json"):
            path = os.path.join(folder, name)
            try:
                with open(path) as f:
                    config = json.load(f)
            except (OSError, ValueError):
                continue
            ids = config.get("eos_token_id")
            ids = [ids] if isinstance(ids, int) else [i for i in (ids or []) if isinstance(i, int)]
            if ids:
                pad = config.get("pad_token_id")
                return ids, pad if isinstance(pad, int) else None
    return [], None


def version_tuple(text):
    """``"5.19.0"`` -> ``(5, 19, 0)``; stops at the first part that is not a number."""
    parts = []
    for part in text.split("+")[0].split("."):
        digits = "".join(c for c in part if c.isdigit())
        if not digits or digits != part:
            if digits and part.startswith(digits):
                parts.append(int(digits))
            break
        parts.append(int(digits))
    return tuple(parts)


_warned = set()


def warn_once(message):
    """One line on stderr, once per process."""
    if message not in _warned:
        _warned.add(message)
        print(f"warning: {message}", file=sys.stderr, flush=True)
