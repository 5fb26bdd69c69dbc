"""enginebench: measures LLM inference engines in-process.

The ``enginebench`` console script runs the same command line as the
standalone binary, inside this Python, so it drives the engines installed
next to it (vLLM, transformers, TensorRT-LLM). Same flags, same outputs.
"""

import sys


def main():
    from enginebench._native import main as run

    sys.exit(run(sys.argv))
