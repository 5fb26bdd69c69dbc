#!/usr/bin/env python3
"""Tallies the `check` summaries that benches/gate_sim.sh and benches/gate_vllm.sh saved.

    python3 benches/gate_summary.py OUT

OUT/checks/<mode>/<kind>/<policy>/<pair>.json holds one `check`'s stdout and
<pair>.code its exit code; <kind> is `aa` (identical setups) or `planted`
(the new side slowed down); <policy> is `calibrated` (check at its defaults,
a calibration stored with the baseline) or `fixed` (--noise-threshold 0.02,
what the defaults give without a calibration). Prints, per mode, kind and
policy: the pairs, the exit codes, how many pairs had any watched metric
regressed (a false alarm for A/A pairs), the verdicts per metric, and for
planted pairs the median change of each metric. OUT/load.log, when there is
one, is summarized as the machine's load average while the pairs ran.
"""

import json
import statistics
import sys
from collections import Counter
from pathlib import Path

METRICS = ["ttft", "tpot", "itl", "e2el", "output_throughput"]


def tally(folder: Path) -> str:
    pairs = sorted(folder.glob("*.json"), key=lambda p: int(p.stem))
    codes, any_regressed, verdicts, changes, spreads = Counter(), 0, {}, {}, {}
    for path in pairs:
        code = path.with_suffix(".code").read_text().strip()
        codes[code] += 1
        summary = json.loads(path.read_text() or "{}")
        checks = summary.get("checks", [])
        any_regressed += any(c.get("verdict") == "regressed" for c in checks)
        for c in checks:
            verdicts.setdefault(c["metric"], Counter())[c["verdict"]] += 1
            if c.get("change") is not None:
                changes.setdefault(c["metric"], []).append(c["change"])
            spreads.setdefault(c["metric"], set()).add(c.get("noise_threshold_source", ""))
    lines = [
        f"  pairs {len(pairs)}; exit codes {dict(sorted(codes.items()))}; "
        f"pairs with a watched metric regressed: {any_regressed} of {len(pairs)}"
    ]
    for metric in METRICS:
        if metric not in verdicts:
            continue
        counts = ", ".join(f"{k} {v}" for k, v in sorted(verdicts[metric].items()))
        median = statistics.median(changes[metric]) if changes.get(metric) else float("nan")
        lo = min(changes.get(metric, [float("nan")]))
        hi = max(changes.get(metric, [float("nan")]))
        lines.append(
            f"    {metric:<18} {counts}; change median {median:+.1%} (range {lo:+.1%} .. {hi:+.1%})"
        )
    thresholds = sorted({s for v in spreads.values() for s in v if s})
    for t in thresholds:
        lines.append(f"    noise: {t}")
    return "\n".join(lines)


def load(out: Path) -> str:
    log = out / "load.log"
    if not log.is_file():
        return ""
    rows = [line.split() for line in log.read_text().splitlines() if line.strip()]
    one = [float(r[1]) for r in rows if len(r) >= 2]
    if not one:
        return ""
    hours = (float(rows[-1][0]) - float(rows[0][0])) / 3600
    quantiles = statistics.quantiles(one, n=10)
    return (
        f"machine load average (1 min) over {hours:.1f} h, {len(one)} samples: "
        f"median {statistics.median(one):.1f}, 10% {quantiles[0]:.1f}, 90% {quantiles[-1]:.1f}, "
        f"min {min(one):.1f}, max {max(one):.1f} (2 cores)"
    )


def main() -> None:
    out = Path(sys.argv[1])
    for folder in sorted((out / "checks").glob("*/*/*")):
        mode, kind, policy = folder.relative_to(out / "checks").parts
        print(f"{mode} / {kind} / {policy}")
        print(tally(folder))
    text = load(out)
    if text:
        print(text)


if __name__ == "__main__":
    main()
