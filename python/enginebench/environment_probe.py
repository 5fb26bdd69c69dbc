"""Run by the standalone binary with the engine environment's interpreter: prints
that Python's version, prefix and import path as JSON, so the embedded
interpreter can adopt them."""

import json
import sys

print(
    json.dumps(
        {
            "version": "%d.%d" % sys.version_info[:2],
            "prefix": sys.prefix,
            "path": [entry for entry in sys.path if entry],
        }
    )
)
