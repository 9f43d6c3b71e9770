"""The markdown of each benchmark's section of docs/benchmarks.md, and the table helpers."""

from __future__ import annotations

from bench import precision as precision_mod
from bench.footprint import Idle
from bench.harness import pct
from bench.ingest import (
    CONNECTIONS,
    CONTENDERS,
    FIXED_RATE,
    FIXED_SECONDS,
    WRK_SECONDS,
    IngestResult,
)
from bench.precision import PrecisionResult
from bench.profile import Profile
from bench.scale import ScaleResult, latency_summary
from bench.storm import DELIVERIES, StormResult

# -- formatting ---------------------------------------------------------------------------------


def fmt_n(value: float, digits: int = 0) -> str:
    return f"{value:,.{digits}f}"


def fmt_ms(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:,.0f}"


def fmt_mib(kib: int) -> str:
    return f"{kib / 1024:.0f} MiB"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def md_table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def ingest_section(ing: IngestResult) -> str:
    labels = {c.key: c.label for c in CONTENDERS}
    rows = []
    for c in CONTENDERS:
        if not any(r.key == c.key for r in ing.runs):
            continue
        r = ing.best(c.key)
        statuses = ", ".join(f"{n:,} x {s}" for s, n in sorted(r.statuses.items()))
        rows.append(
            [
                labels[r.key],
                fmt_n(r.rate),
                fmt_ms(r.latency_ms["50"]),
                fmt_ms(r.latency_ms["99"]),
                fmt_ms(r.latency_ms["99.9"]),
                statuses,
                fmt_n(r.non_2xx),
                str(ing.forged.get(r.key, "")),
                fmt_n(r.cpu_us["server"]),
                fmt_n(r.cpu_us["redis"]) if r.key.startswith("relay") else "-",
                fmt_n(r.cpu_us["wrk"]),
                f"{r.busy * 100:.0f} %",
            ]
        )
    table = md_table(
        [
            "contender",
            "req/s",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "answers",
            "non-2xx",
            "forged →",
            "server CPU µs/req",
            "Redis CPU µs/req",
            "wrk CPU µs/req",
            "machine busy",
        ],
        rows,
    )
    ratios = []
    for relay_key, bare_key in (("relay-1", "bare-1"), ("relay-2", "bare-2")):
        if any(r.key == relay_key for r in ing.runs) and any(r.key == bare_key for r in ing.runs):
            relay, bare, hook = ing.best(relay_key), ing.best(bare_key), ing.best("webhook")
            relay_total = relay.cpu_us["server"] + relay.cpu_us["redis"]
            ratios.append(
                [
                    relay_key,
                    f"{relay.rate / bare.rate:.2f}",
                    f"{relay.rate / hook.rate:.2f}",
                    f"{bare.cpu_us['server'] / relay.cpu_us['server']:.2f}",
                    f"{hook.cpu_us['server'] / relay_total:.2f}",
                ]
            )
    ratio_table = md_table(
        [
            "relay",
            "a/b (req/s)",
            "a/c (req/s)",
            "a/b in CPU per request (bare / relay)",
            "a/c in CPU per request (webhook / relay + Redis)",
        ],
        ratios,
    )
    stored = md_table(
        ["run", "202s counted by wrk", "accepted in Redis", "duplicates in Redis"],
        [
            [
                f"{r.key}, round {i + 1}",
                f"{r.statuses.get(202, 0):,}",
                f"{r.stored:,}",
                f"{r.duplicates or 0:,}",
            ]
            for c in CONTENDERS
            for i, r in enumerate(x for x in ing.runs if x.key == c.key)
            if r.stored is not None
        ],
    )
    fixed_rows = []
    for c in CONTENDERS:
        f = ing.best_fixed(c.key)
        if f is None:
            continue
        every = " / ".join(fmt_ms(x.p99_ms) for x in ing.fixed if x.key == c.key)
        fixed_rows.append(
            [
                labels[f.key],
                f"{f.rate:.0f}/s x {f.sent:,}",
                fmt_ms(f.p50_ms),
                f"**{fmt_ms(f.p99_ms)}** ({every})",
                fmt_ms(f.p99_planned_ms),
                fmt_ms(f.max_ms),
                ", ".join(f"{n:,} x {s}" for s, n in sorted(f.statuses.items())),
            ]
        )
    fixed = md_table(
        [
            "contender",
            "rate",
            "p50 ms",
            "p99 ms (every round)",
            "p99 from planned send, ms",
            "max ms",
            "answers",
        ],
        fixed_rows,
    )
    modules = "; ".join(
        f"{key}: " + ", ".join(f"{m} {'yes' if on else 'no'}" for m, on in mods.items())
        for key, mods in ing.modules.items()
        if key.startswith(("relay", "bare"))
    )
    rounds = "; ".join(
        f"{c.key} " + " / ".join(fmt_n(r.rate) for r in ing.runs if r.key == c.key)
        for c in CONTENDERS
        if any(r.key == c.key for r in ing.runs)
    )
    return f"""## 1. Ingest

wrk (1 thread, {CONNECTIONS} keep-alive connections, {WRK_SECONDS} s after a warm-up) sends
60,000 different pre-signed bodies in turn (~450 bytes of entry-publish JSON each,
`X-Hub-Signature-256: sha256=<hex>`), so the relay's body-digest dedupe (on, default window)
never sees a repeat and every request is verified and written to Redis (AOF on,
`appendfsync everysec`). Best of the rounds; every round's rate: {rounds}. Redis is flushed
before each run. CPU per request is the process's user + system time over the run divided by
the requests wrk completed: unlike requests/s it hardly depends on what else the two cores
are doing.

{table}

Ratios (same run):

{ratio_table}

Every 202 is a stored delivery: the relay's own counts in Redis against wrk's (Redis may count
up to {CONNECTIONS} more: the requests in flight when wrk stopped, answered after it left).

{stored}

Fixed rate: bench.loadgen (a separate process) paces {FIXED_RATE} requests/s for
{FIXED_SECONDS:.0f} s open-loop over {CONNECTIONS} connections in every round (Debian has no
wrk2: `apt-cache search wrk2` finds nothing); the round with the lowest p99 is shown, every
round's p99 in brackets. Latency is from the actual send, and also from the planned send time,
which includes any wait for a free connection (no coordinated omission).

{fixed}

Event loop and parsers actually loaded (from /proc/PID/maps): {modules}.
"""


def storm_section(st: StormResult) -> str:
    rows = []
    for r in st.runs:
        rows.append(
            [
                r.name,
                f"{r.sent:,} in {r.seconds:.1f} s ({r.sent / r.seconds:,.0f}/s)",
                ", ".join(f"{n:,} x {s}" for s, n in sorted(r.statuses.items())),
                f"{fmt_ms(r.p50_ms)} / {fmt_ms(r.p99_ms)}",
                f"{r.recorded:,} / {r.stream:,}",
                f"{r.triggers} covering {r.covered:,}",
                f"{r.longest_span_s:.2f} s (max_wait {r.max_wait_s:g} s)",
                f"**{r.builds}** (expected {r.expected_builds})",
            ]
        )
    table = md_table(
        [
            "storm",
            "sent",
            "answers",
            "ack p50 / p99 ms",
            "recorded: counts / stream",
            "triggers",
            "longest burst",
            "builds at the fake",
        ],
        rows,
    )
    per_delivery = st.memory_delta / DELIVERIES
    scaled = DELIVERIES / st.direct_sent * st.direct_builds if st.direct_sent else 0
    relay_builds = st.runs[0].builds if st.runs else 0
    cap_mb = st.stream_bytes / DELIVERIES * 100_000 / 1e6
    return f"""## 2. Storm

10,000 signed deliveries for one target from bench.loadgen (32 connections, each body
different), `relay serve --workers {st.serve_workers}` and one `relay worker`, builds counted at
the fake Pages API (its call log). Storm A is one burst (debounce 2 s, max_wait 60 s); storm B
is paced at 1,000/s for 10 s against max_wait 4 s: one build per started max_wait window.
"Covering" adds up the delivery counts the relay recorded on its triggers: every delivery is
in exactly one build.

{table}

Baseline, the CMS pointed straight at a deploy hook: {st.direct_sent:,} of the same deliveries
posted to a deploy hook of the fake gave **{st.direct_builds:,} builds**, one per delivery, so
10,000 would give {scaled:,.0f} (linear: every hook call is a build; the demonstration is kept
small to stay far below the API's 1,200 requests per 5 minutes, past which Cloudflare answers
429 and the rest of the storm is lost). Relay vs direct: {relay_builds} build vs {scaled:,.0f},
a ratio of 1 : {scaled / max(relay_builds, 1):,.0f}.

Redis memory for the 10,000 deliveries of storm A (INFO used_memory, before the storm and right
after the last acknowledgement): {st.memory_delta / 1e6:.1f} MB, {per_delivery:,.0f} bytes per
delivery; of it the two delivery streams (`MEMORY USAGE`) are {st.stream_bytes / 1e6:.1f} MB and
the rest is mostly the digest-dedupe keys, which expire after `digest_window` (5 min). The
streams are capped at `server.keep_deliveries` (100,000 by default: ~{cap_mb:.0f} MB).
"""


def precision_section(results: list[PrecisionResult]) -> str:
    rows = []
    for p in results:
        quiet_last = precision_mod.summary(p.after_last("quiet"))
        cap_first = precision_mod.summary(p.after_first("cap"))
        late = precision_mod.summary(p.lateness())
        rows.append(
            [
                str(p.workers),
                f"{p.builds} / {len(p.bursts)}",
                f"{p.within} / {len(p.bursts)}",
                f"{fmt_ms(quiet_last[0])} / {fmt_ms(quiet_last[1])}",
                f"{fmt_ms(cap_first[0])} / {fmt_ms(cap_first[1])}",
                f"{fmt_ms(late[0])} / {fmt_ms(late[1])}",
                f"{fmt_ms(pct(p.claim_ms, 50))} / {fmt_ms(max(p.claim_ms, default=0))}",
                f"{fmt_ms(pct(p.dispatch_ms, 50))} / {fmt_ms(max(p.dispatch_ms, default=0))}",
            ]
        )
    table = md_table(
        [
            "workers",
            "builds / bursts",
            "within both bounds",
            "quiet-bound: build - last, median / max ms",
            "cap-bound: build - first, median / max ms",
            "build - due, median / max ms",
            "claim - due (Redis clock), median / max ms",
            "claim → Cloudflare call answered, median / max ms",
        ],
        rows,
    )
    q, mw, slack = precision_mod.QUIET, precision_mod.MAX_WAIT, precision_mod.SLACK
    return f"""## 3. Debounce precision

50 bursts on 25 targets (quiet {q:g} s, max_wait {mw:g} s), interleaved in time (each target's
first burst starts 120 ms after the previous target's; its second 5 s later): 25 quiet-bound
bursts (5 deliveries 200 ms apart: due {q:g} s after the last) and 25 cap-bound ones (12
deliveries 250 ms apart: due {mw:g} s after the first). Times are the send times of the
deliveries and the fake's log time of each build call (same clock). Targets: build - last ≤
{(q + slack) * 1000:.0f} ms and build - first ≤ {(mw + slack) * 1000:.0f} ms for every burst.

{table}

The last two columns split the delay: the claim (the debounce itself, a 100 ms poll) and the
time from the claim to Cloudflare's answer, which is the RQ queue (one job at a time per worker,
forked per job, deploys and the 0.3 s watch polls of this set-up sharing it) plus the job.
"""


def scale_section(sc: ScaleResult, storm: StormResult | None) -> str:
    rows = []
    for r in sc.rounds:
        claim = latency_summary(r.claim_ms)
        build = latency_summary(r.build_ms)
        rows.append(
            [
                str(r.workers),
                f"{r.sent:,} in {r.send_seconds:.1f} s, {r.non_2xx} non-2xx",
                f"**{r.builds:,}** / {r.triggers:,} covering {r.covered:,}",
                " / ".join(fmt_ms(v) for v in claim),
                " / ".join(f"{v / 1000:.1f}" for v in build),
                f"{r.drain_seconds:.0f} s ({r.builds / max(r.drain_seconds, 0.001):.1f}/s)",
                "yes" if r.settled else "no (timeout)",
            ]
        )
    table = md_table(
        [
            "workers",
            "deliveries",
            "builds / triggers",
            "claim - due p50 / p99 / max, ms",
            "build call - due p50 / p99 / max, s",
            "all 1,000 built in",
            "settled",
        ],
        rows,
    )
    pending = [r.memory_pending for r in sc.rounds]
    after = [r.memory_after for r in sc.rounds]
    deliveries = sc.targets * sc.deliveries_per_target
    per_delivery = storm.memory_delta / DELIVERIES if storm is not None else 0.0
    pending_target = (pct(pending, 50) - deliveries * per_delivery) / sc.targets
    after_target = (pct(after, 50) - deliveries * per_delivery) / sc.targets
    burst = pct([r.burst_bytes for r in sc.rounds], 50)
    stream = pct([r.hook_stream_bytes for r in sc.rounds], 50)
    return f"""## 4. Scale

{sc.targets:,} targets (deploy-hook targets of the fake: one RQ job per build; quiet 3 s,
max_wait 60 s), one hook each; per round {sc.deliveries_per_target} deliveries per target sent
round-robin by bench.loadgen, so all {sc.targets:,} bursts come due within about two seconds.
Redis is flushed and fresh workers are started for each round.

{table}

Claim latency is the debounce's own delay: the claim script takes at most 200 due targets per
look, and a look that claims enqueues their RQ jobs (two round trips each) before the next look.
The build-call latency is the RQ queue: every build is one job, run one at a time per worker in
a work horse forked for it; more workers help only as far as the two cores go (Redis, the
fake API and the claimers share them).

Redis memory (INFO used_memory, median of the rounds): {pct(pending, 50) / 1e6:.1f} MB after
the {deliveries:,} deliveries, before any claim; {pct(after, 50) / 1e6:.1f} MB once every build
is final. Taking off {per_delivery:,.0f} bytes per delivery (storm A) leaves
**{pending_target:,.0f} bytes per target with a pending burst**: the burst hash is only
{burst:,.0f} bytes (`MEMORY USAGE`), the rest is the hook's own delivery-id stream
(`relay:deliveries:<hook>`, {stream:,.0f} bytes with 3 entries: a stream's first node is
allocated whole), which a target shares with every other target of its hook, here one hook per
target. Once built: **{after_target:,.0f} bytes per target** (that stream, the trigger record,
kept up to `keep_deployments`, and RQ's job hash and result, kept for an hour).
"""


def footprint_section(idle: Idle | None, ing: IngestResult | None, sc: ScaleResult | None) -> str:
    rows = []
    for workers in (1, 2):
        key = f"relay-{workers}"
        loaded = "-"
        if ing is not None and any(r.key == key for r in ing.runs):
            loaded = fmt_mib(max(r.peak_rss_kib for r in ing.runs if r.key == key))
        rows.append(
            [
                f"`relay serve --workers {workers}`" + (" (all processes)" if workers > 1 else ""),
                fmt_mib(idle.serve_kib[workers]) if idle and workers in idle.serve_kib else "-",
                f"{loaded} (peak under wrk)",
            ]
        )
    peaks = [r.worker_peak_kib for r in sc.rounds] if sc else []
    own = [r.worker_own_peak_kib for r in sc.rounds] if sc else []
    rows.append(
        [
            "`relay worker` (the process)",
            fmt_mib(idle.worker_kib) if idle else "-",
            f"{fmt_mib(max(own))} (peak while draining 1,000 builds)" if own else "-",
        ]
    )
    rows.append(
        [
            "`relay worker` + children (RQ scheduler; work horse while a job runs)",
            fmt_mib(idle.worker_tree_kib) if idle else "-",
            f"{fmt_mib(max(peaks))} (peak while draining 1,000 builds)" if peaks else "-",
        ]
    )
    if ing is not None and any(r.key == "webhook" for r in ing.runs):
        hook = ing.best("webhook")
        rows.append(
            [
                "adnanh/webhook, for comparison (with its /bin/true children)",
                fmt_mib(ing.idle_rss_kib.get("webhook", 0)),
                f"{fmt_mib(hook.peak_rss_kib)} (peak under wrk)",
            ]
        )
    return f"""## 5. Footprint

Resident set size from /proc (VmRSS, summed over a process and its descendants). RSS counts
pages shared after a fork in each process, so the sums overstate the memory really used.

{md_table(["process", "idle", "under load"], rows)}
"""


def profile_section(p: Profile) -> str:
    if p.error:
        return f"## Profile\n\nNot taken: {p.error}\n"
    layers = md_table(["layer", "share of samples"], [[k, f"{v * 100:.1f} %"] for k, v in p.layers])
    own = md_table(
        ["frame (own time)", "share"], [[f"`{k}`", f"{v * 100:.1f} %"] for k, v in p.top_self]
    )
    hot = md_table(
        ["function (with what it calls)", "share"],
        [[f"`{k}`", f"{v * 100:.1f} %"] for k, v in p.hot],
    )
    return f"""## Profile: what bounds the ingest rate

`py-spy record --nonblocking -r 250` on `relay serve --workers 1` for 8 s under the same wrk
load ({p.samples:,} samples; wrk saw {p.rate:,.0f} requests/s while it ran). Each sample is
put in the layer of its innermost frame that is not standard library, so the time of a socket
write counts for whoever wrote (uvicorn's response, redis-py's command). The collapsed stacks
are in the run's artifacts directory (`serve-profile.txt`, for speedscope or flamegraph.pl).

{layers}

{own}

{hot}
"""
