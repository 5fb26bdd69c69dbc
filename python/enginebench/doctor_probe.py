"""Run by `enginebench doctor` with the engine environment's interpreter. Reads
a JSON request on stdin: the driver's source and the run's settings; loads the
driver as the engines do and prints its `preflight` checks as JSON, with where
this Python keeps its packages (for the library search of `trtllm`)."""

import importlib.util
import json
import site
import sys
import types


def load(name, code):
    module = types.ModuleType(name)
    exec(compile(code, f"{name}.py", "exec"), module.__dict__)
    sys.modules[name] = module
    return module


request = json.load(sys.stdin)
answer = {
    "python": "%d.%d.%d" % sys.version_info[:3],
    "executable": sys.executable,
    "site_packages": site.getsitepackages() + [p for p in sys.path if p.endswith("site-packages")],
}
spec = importlib.util.find_spec("tensorrt_llm")
answer["tensorrt_llm"] = spec.submodule_search_locations[0] if spec and spec.submodule_search_locations else None
if request.get("driver"):
    load("enginebench_driver_common", request["common"])
    driver = load(request["module"], request["driver"])
    try:
        answer["checks"] = [list(c) for c in driver.preflight(
            request["model"], request["tp"], request["args"], request["settings"], request["ignore_eos"])]
    except Exception as error:  # a preflight that breaks is itself a finding
        answer["checks"] = [["fail", "preflight", f"{type(error).__name__}: {error}"]]
print(json.dumps(answer))
