"""`vllm bench serve`, with the client's own CPU time and wall time counted
around its benchmark loop only (not the imports, tokenizer loading or prompt
sampling), so the figures compare with benches/http_capacity.rs.

Usage: python benches/vllm_bench_client.py [vllm bench serve flags...]
Prints one line: `client: wall_s=... cpu_s=... output_tokens=...`.
"""

import resource
import sys
import time

import vllm.benchmarks.serve as serve

_benchmark = serve.benchmark


async def _timed_benchmark(*args, **kwargs):
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    result = await _benchmark(*args, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    tokens = result.get("total_output_tokens", 0)
    print(f"client: wall_s={wall:.3f} cpu_s={cpu:.3f} output_tokens={tokens}", flush=True)
    return result


serve.benchmark = _timed_benchmark

if __name__ == "__main__":
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser()
    serve.add_cli_args(parser)
    serve.main(parser.parse_args(sys.argv[1:]))
