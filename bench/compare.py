"""A/B two source trees of the relay on the same machine, interleaved round by round.

    .venv/bin/python -m bench.compare /path/to/original /path/to/patched [--rounds 2] [--scale]

Prints a markdown table: ingest (wrk top rate, server and Redis CPU per request, p99; fixed
rate p99) for `serve --workers 1` and `--workers 2`, debounce precision with one worker, and
with --scale the 1,000-target drain with one worker. Each round runs A then B, so slow drift in
the machine's other load hits both alike. Bounded like the main run (about 1.5 minutes per
round, plus 2 x 1.5 minutes with --scale).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from bench import ingest, precision, scale
from bench.harness import Stack, hmac_hook, pct


def _ingest_rows(stack: Stack, bodies: Path) -> list[tuple[str, float]]:
    config = stack.config(
        "ingest",
        {"site": {"project": "site", "branch": "main", "debounce": "30s", "max_wait": "5m"}},
        {ingest.HOOK: hmac_hook(["site"])},
    )
    rows: list[tuple[str, float]] = []
    for workers in (1, 2):
        who = ingest.Contender(f"relay-{workers}", "", "relay", workers)
        served = ingest.launch(stack, who, config)
        try:
            run = ingest.measure(stack, who, served, bodies)
            fixed = ingest.fixed_rate(stack, who, served)
        finally:
            served.stop()
        rows += [
            (f"w{workers} req/s", run.rate),
            (f"w{workers} server CPU µs/req", run.cpu_us["server"]),
            (f"w{workers} Redis CPU µs/req", run.cpu_us["redis"]),
            (f"w{workers} p99 ms (wrk)", run.latency_ms["99"]),
            (f"w{workers} p99 ms at {ingest.FIXED_RATE}/s", fixed.p99_ms),
            (f"w{workers} non-2xx", float(run.non_2xx)),
        ]
    return rows


def _worker_rows(stack: Stack, with_scale: bool) -> list[tuple[str, float]]:
    result = precision.run(stack, workers=1)
    rows = [
        ("precision, 1 worker: bursts within bounds (of 50)", float(result.within)),
        ("precision, 1 worker: build - due, max ms", max(result.lateness()) * 1000),
        ("precision, 1 worker: claim -> call answered, median ms", pct(result.dispatch_ms, 50)),
    ]
    if with_scale:
        drained = scale.run(stack, (1,)).rounds[0]
        rows.append(("scale, 1 worker: 1,000 builds in s", drained.drain_seconds))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare")
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--scale", action="store_true")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="relay-compare-"))
    bodies = ingest.write_bodies(work / "bodies.txt")
    table: dict[str, dict[str, list[float]]] = {}
    for round_ in range(args.rounds):
        for side, src in (("A", args.a), ("B", args.b)):
            with Stack(work / f"{side}{round_}", src.resolve()) as stack:
                rows = _ingest_rows(stack, bodies)
                if round_ == 0:
                    rows += _worker_rows(stack, args.scale)
            for name, value in rows:
                table.setdefault(name, {}).setdefault(side, []).append(value)
            print(f"compare: round {round_ + 1} {side} done", file=sys.stderr, flush=True)
    print(f"| figure | A: {args.a} | B: {args.b} | B / A (medians) |")
    print("| --- | --- | --- | --- |")
    for name, sides in table.items():
        a, b = statistics.median(sides["A"]), statistics.median(sides["B"])
        cells = [" / ".join(f"{v:,.1f}" for v in sides[s]) for s in ("A", "B")]
        print(f"| {name} | {cells[0]} | {cells[1]} | {b / a if a else float('nan'):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
