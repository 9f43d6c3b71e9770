"""Benchmark: what a delivery costs in Redis memory, and what a million a day costs to keep.

`relay serve` takes COUNT signed deliveries of each kind of sender through the real receiver
into the stack's Redis (flushed before each kind): a sender without delivery ids (the body's
digest is the dedupe token, kept `digest_window`) and a Standard Webhooks sender (its signed
id, kept `dedupe_window`).
Redis's own `used_memory` before and after, and `MEMORY USAGE` of each key family, give the
bytes per delivery; the steady state of a million deliveries a day follows from the caps and
TTLs every key family has (the streams are capped at `keep_deliveries`, every dedupe key
expires), so it is computed, not waited for.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass, field
from typing import Any, cast

import httpx

from bench.harness import SECRET, Stack, cms_body, hmac_hook, signed_headers
from bench.sections import fmt_mib, fmt_n, md_table
from relay.core import keys
from relay.core.settings import ServerSettings
from relay.web.providers.standard_webhooks import signature

COUNT = 5_000
PER_DAY = 1_000_000
WHSEC = b"bench-standard-webhooks-key-0123"


@dataclass
class Kind:
    name: str
    deliveries: int
    used_bytes: int  # used_memory after - before
    families: dict[str, int] = field(default_factory=dict)  # MEMORY USAGE summed per family
    dedupe_keys: int = 0


@dataclass
class MemoryResult:
    kinds: list[Kind] = field(default_factory=list)
    keep_deliveries: int = 0
    dedupe_window: float = 0.0
    digest_window: float = 0.0


def _standard_headers(body: bytes, n: int) -> dict[str, str]:
    msg_id = f"msg_{n:024d}"
    timestamp = str(int(time.time()))
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": "v1," + signature(WHSEC, msg_id, timestamp, body),
        "content-type": "application/json",
    }


def _families(stack: Stack) -> tuple[dict[str, int], int]:
    out: dict[str, int] = {}
    dedupe = 0
    for raw in cast(list[bytes], stack.redis.keys("relay:*")):
        key = raw.decode()
        size = int(cast(Any, stack.redis.memory_usage(key, samples=0)) or 0)
        if key.startswith("relay:seen:"):
            family, dedupe = "dedupe ids (relay:seen:*)", dedupe + 1
        elif key == keys.DELIVERIES:
            family = "deliveries stream (relay:deliveries)"
        elif key.startswith("relay:deliveries:"):
            family = "per-hook id stream (relay:deliveries:<hook>)"
        else:
            family = "the rest (counts, burst, due)"
        out[family] = out.get(family, 0) + size
    return out, dedupe


def run(stack: Stack) -> MemoryResult:
    secret = "whsec_" + base64.b64encode(WHSEC).decode()
    config = stack.config(
        "memory",
        {"site": {"project": "site", "branch": "main", "debounce": "1h", "max_wait": "1h"}},
        {
            "cms": hmac_hook(["site"]),
            "svix": {"provider": "standard-webhooks", "secret": secret, "targets": ["site"]},
        },
    )
    served = stack.serve(config)
    server = ServerSettings()
    result = MemoryResult(
        keep_deliveries=server.keep_deliveries,
        dedupe_window=server.dedupe_window,
        digest_window=server.digest_window,
    )
    try:
        with httpx.Client(base_url=served.url, timeout=10) as client:
            for name, hook in (
                ("no delivery ids (hmac-sha256)", "cms"),
                ("Standard Webhooks", "svix"),
            ):
                stack.flush()
                before = stack.used_memory()
                for n in range(COUNT):
                    body = cms_body(n)
                    headers = (
                        signed_headers(body, SECRET)
                        if hook == "cms"
                        else _standard_headers(body, n)
                    )
                    answer = client.post(f"/hooks/{hook}", content=body, headers=headers)
                    if answer.status_code != 202:
                        raise RuntimeError(f"{hook}: {answer.status_code} {answer.text}")
                used = stack.used_memory() - before
                families, dedupe = _families(stack)
                result.kinds.append(Kind(name, COUNT, used, families, dedupe))
    finally:
        served.stop()
    return result


def steady_state(result: MemoryResult, kind: Kind) -> int:
    """Bytes Redis holds for the deliveries at PER_DAY a day, once every cap and TTL bites."""
    per = {family: size / kind.deliveries for family, size in kind.families.items()}
    streams = sum(v for f, v in per.items() if "stream" in f) * result.keep_deliveries
    # a signed id is kept dedupe_window, a body digest digest_window (the measured senders
    # make one dedupe key a delivery each)
    ttl = result.dedupe_window if "Standard" in kind.name else result.digest_window
    dedupe = per.get("dedupe ids (relay:seen:*)", 0.0) * PER_DAY / 86400 * ttl
    return int(streams + dedupe)


def section(result: MemoryResult) -> str:
    rows = []
    for kind in result.kinds:
        per = {f: s / kind.deliveries for f, s in kind.families.items()}
        rows.append(
            [
                kind.name,
                fmt_n(kind.used_bytes / kind.deliveries),
                "; ".join(f"{f} {fmt_n(v)}" for f, v in sorted(per.items())),
                fmt_mib(steady_state(result, kind) // 1024),
            ]
        )
    table = md_table(
        [
            "sender",
            "bytes per delivery (used_memory)",
            "by key family (MEMORY USAGE, bytes per delivery)",
            f"held at {fmt_n(PER_DAY)} a day",
        ],
        rows,
    )
    return f"""## Memory: what a delivery costs in Redis

`relay serve` took {fmt_n(COUNT)} signed deliveries of each kind into a flushed Redis
(`bench/memory.py`). Every key family is capped or expires: the streams keep the newest
`keep_deliveries` ({fmt_n(result.keep_deliveries)}), a signed delivery id is remembered
`dedupe_window` ({fmt_n(result.dedupe_window / 3600)} h), a body digest `digest_window`
({fmt_n(result.digest_window)} s); each sender here makes one dedupe key a delivery. The last column
is what that comes to for a million deliveries a day, once the caps are reached (about a day);
triggers (`keep_deployments`) come on top, a few hundred bytes each.

{table}
"""
