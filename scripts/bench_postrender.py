#!/usr/bin/env python3
"""Benchmark the post-renderer the way Helm runs it: the real console script, once per stream.

    .venv/bin/python scripts/bench_postrender.py [--runs 5] [--sizes 1,100,1000]

For chart-like streams of 1, 100 and 1,000 engines (a DaemonSet, two Services and a
ConfigMap each) it prints the median wall time, the peak RSS of the child process, the
overall objects/s, and the objects/s beyond the cost of one engine (interpreter start and
imports included in the latter). Results go in docs/postrender.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postrender.chartlike import engines_stream  # noqa: E402

OBJECTS_PER_ENGINE = 4


def executable() -> str:
    local = ROOT / ".venv" / "bin" / "lmcache-postrender"
    found = str(local) if local.exists() else shutil.which("lmcache-postrender")
    if not found:
        sys.exit("lmcache-postrender not found: run scripts/setup.sh")
    return found


def run_once(exe: str, stream: Path, log: str) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of one run with stdin from `stream`."""
    with open(stream, "rb") as stdin, open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        proc = subprocess.Popen([exe, "--log", log], stdin=stdin, stdout=devnull)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"lmcache-postrender failed on {stream} (exit {proc.returncode}); see {log}")
    return wall, usage.ru_maxrss  # KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per size (median reported)")
    parser.add_argument("--sizes", default="1,100,1000", help="engine counts, comma-separated")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    exe = executable()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "postrender.log")
        for size in sizes:
            stream = Path(tmp) / f"engines-{size}.yaml"
            stream.write_text(engines_stream(size))
            run_once(exe, stream, log)  # warm the page cache and .pyc files
            samples = [run_once(exe, stream, log) for _ in range(args.runs)]
            wall = statistics.median(s[0] for s in samples)
            rss = max(s[1] for s in samples)
            rows.append((size, size * OBJECTS_PER_ENGINE, stream.stat().st_size, wall, rss))

    base_objects, base_wall = rows[0][1], rows[0][3]
    print(f"lmcache-postrender: {exe}")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} runs\n")
    print(
        "| engines | objects | input | wall (median) | peak RSS | objects/s | objects/s beyond 1 engine |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for size, objects, nbytes, wall, rss in rows:
        marginal = (
            f"{(objects - base_objects) / (wall - base_wall):,.0f}"
            if objects > base_objects and wall > base_wall
            else "-"
        )
        print(
            f"| {size:,} | {objects:,} | {nbytes / 1024:,.0f} KiB | {wall * 1000:,.0f} ms"
            f" | {rss / 1024:,.0f} MiB | {objects / wall:,.0f} | {marginal} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
