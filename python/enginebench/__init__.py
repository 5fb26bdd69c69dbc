"""enginebench: measures LLM inference engines in-process.

The ``enginebench`` console script runs the same command line as the
standalone binary, inside this Python, so it drives the engines installed
next to it (vLLM, transformers, TensorRT-LLM). Same flags, same outputs.
"""

import sys


def main():
    import signal

    from enginebench._native import main as run

    # The CLI handles SIGINT itself, as SIGTERM and SIGHUP: a run stops and
    # keeps what it measured. Python's own handler would also raise
    # KeyboardInterrupt inside the engine's calls and after the CLI returns.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    sys.exit(run(sys.argv))
