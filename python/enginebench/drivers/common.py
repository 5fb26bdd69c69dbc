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
