"""Is this Redis one the relay can keep its promise on? And has it kept the relay's data?

A 2xx to a sender means the delivery is in Redis, and the one-build-per-target guarantee rests
on marks that must not vanish. Some Redis set-ups break that silently, so they are looked for:

* Redis Cluster: every ingest and claim script touches keys of many hash slots, which Cluster
  refuses (CROSSSLOT): every webhook would get 503 while PING says all is well;
* an evicting `maxmemory-policy`: under memory pressure Redis would delete in-flight marks,
  dedupe ids or pending bursts without a word;
* AOF off: a restart of Redis loses every acknowledged delivery;
* `[redis] ack` that the server cannot honour (WAITAOF before 7.2, too few replicas).

`relay check` refuses these (`findings`, exit 1); `relay serve` and `relay worker` log them as
warnings at start (`startup_check`), and exit on Cluster, where nothing can work. Managed
services often forbid CONFIG, some INFO: a setting that cannot be read is unknown and said so,
never a failure.

And a Redis can lose its data under running processes (restarted without persistence, flushed,
a failover to an empty replica). The epoch key catches that: a random value set once (SET NX);
each process remembers the value it saw first, and the worker's claimer (every few seconds),
the receiver's /readyz and /metrics compare. When it vanished or changed the data is gone:
the process logs an error once, counts it (`relay_redis_data_lost_total`), sets the key again,
and calls the hooks in `on_data_lost` (the notifications wire themselves in there).
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import redis
import redis.asyncio as aredis
from redis.exceptions import RedisError, ResponseError

from relay.core import keys
from relay.core.connections import Ack
from relay.core.duration import format_duration
from relay.core.exceptions import RelayError
from relay.core.settings import Settings

log = logging.getLogger("relay.redis")

#: seconds between the claimer's epoch checks (a GET: cheap, but every 100 ms is pointless)
EPOCH_EVERY = 5.0
#: the lowest Redis with WAITAOF (`ack = "fsynced"`)
WAITAOF_SINCE = (7, 2)

#: called (no arguments) each time this process finds that Redis lost the relay's data; a hook
#: that raises is logged and the others still run
on_data_lost: list[Callable[[], None]] = []


# -- what the server says about itself ---------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What could be read of the server's set-up; None: could not be read (see `unreadable`)."""

    version: str | None = None
    cluster: bool | None = None
    role: str | None = None  # master | slave
    maxmemory_policy: str | None = None
    aof: bool | None = None
    appendfsync: str | None = None
    replicas: int | None = None
    #: (what, the server's reason) for each read that was refused, e.g.
    #: ("CONFIG GET appendfsync", "NOPERM User relay has no permissions …")
    unreadable: tuple[tuple[str, str], ...] = field(default=())

    def why(self, *reads: str) -> str:
        """`(READ: reason)` for the first of `reads` that was refused, for a warning line."""
        for what, reason in self.unreadable:
            if what in reads:
                return f" ({what}: {reason})"
        return ""

    @property
    def version_tuple(self) -> tuple[int, ...] | None:
        if not self.version:
            return None
        parts = []
        for piece in self.version.split(".")[:3]:
            digits = "".join(ch for ch in piece if ch.isdigit())
            parts.append(int(digits or 0))
        return tuple(parts)


def _reason(exc: RedisError) -> str:
    """The server's refusal, short (it names commands and users, never a password)."""
    return " ".join(str(exc).split())[:90] or type(exc).__name__


def read_facts(client: redis.Redis) -> Facts:
    """INFO (one call: server, memory, persistence, replication, cluster) and CONFIG GET
    appendfsync, each allowed to be refused. A connection error is raised: that is not a
    setting that cannot be read but a Redis that cannot be reached."""
    unreadable: list[tuple[str, str]] = []
    info: Mapping[str, Any] = {}
    try:
        info = client.info()
    except ResponseError as exc:
        unreadable.append(("INFO", _reason(exc)))

    def config(name: str) -> str | None:
        try:
            reply = client.config_get(name)
        except ResponseError as exc:
            unreadable.append((f"CONFIG GET {name}", _reason(exc)))
            return None
        value: object = reply.get(name) if isinstance(reply, dict) else None
        if isinstance(value, bytes):
            return value.decode()
        return str(value) if value is not None else None

    policy = info.get("maxmemory_policy")
    if policy is None:
        policy = config("maxmemory-policy")
    aof = info.get("aof_enabled")
    if aof is None:
        appendonly = config("appendonly")
        aof = None if appendonly is None else int(appendonly == "yes")
    cluster = info.get("cluster_enabled")
    replicas = info.get("connected_slaves")
    version = info.get("redis_version")
    role = info.get("role")
    return Facts(
        version=str(version) if version is not None else None,
        cluster=bool(int(cluster)) if cluster is not None else None,
        role=str(role) if role is not None else None,
        maxmemory_policy=str(policy) if policy is not None else None,
        aof=bool(int(aof)) if aof is not None else None,
        appendfsync=config("appendfsync"),
        replicas=int(replicas) if replicas is not None else None,
        unreadable=tuple(unreadable),
    )


@dataclass(frozen=True)
class Finding:
    """One line about the server: an `error` (`relay check` exits 1) or a `warning`; `fatal`
    ones also stop `relay serve` and `relay worker` at start."""

    level: Literal["error", "warning"]
    text: str
    fatal: bool = False


def findings(facts: Facts, settings: Settings) -> list[Finding]:
    """Everything about `facts` that breaks, or may break, what the relay promises."""
    out: list[Finding] = []
    redis_settings = settings.redis

    def error(text: str, *, fatal: bool = False) -> None:
        out.append(Finding("error", text, fatal))

    def warning(text: str) -> None:
        out.append(Finding("warning", text))

    if facts.cluster:
        error(
            "redis: cluster mode is on (cluster_enabled:1): the relay's scripts use keys of "
            "many hash slots, which Redis Cluster refuses; use a standalone Redis (Sentinel for "
            "failover)",
            fatal=True,
        )
    if facts.role == "slave":
        error(
            "redis: the server is a read-only replica (role:slave); point [redis] url at the "
            "primary, or at the sentinels (redis+sentinel://)"
        )
    if facts.maxmemory_policy is None:
        why = facts.why("INFO", "CONFIG GET maxmemory-policy")
        warning(f"redis: maxmemory-policy cannot be read{why}; make sure it is noeviction")
    elif facts.maxmemory_policy != "noeviction":
        error(
            f"redis: maxmemory-policy is {facts.maxmemory_policy}: Redis may evict in-flight "
            "marks and dedupe ids; set it to noeviction"
        )
    if facts.aof is None:
        why = facts.why("INFO", "CONFIG GET appendonly")
        warning(f"redis: appendonly cannot be read{why}; make sure it is yes")
    elif not facts.aof and redis_settings.ack == "replicated" and redis_settings.configured:
        # managed services without AOF (ElastiCache) keep data by replication: refused all the
        # same (CONTRACT: no AOF is refused), saying what the replicas do and do not cover
        error(
            "redis: appendonly is no: with ack replicated a 2xx survives the loss of the "
            "primary, but a restart of every node loses every acknowledged delivery; set "
            "appendonly yes where the service allows it"
        )
    elif not facts.aof:
        text = (
            "redis: appendonly is no: a restart of Redis loses every acknowledged delivery; "
            "set appendonly yes"
        )
        if redis_settings.configured:
            error(text)
        else:
            warning(text)
    elif facts.appendfsync == "no":
        warning(
            "redis: appendfsync is no: the OS decides when the AOF reaches the disk (about 30s "
            "of deliveries at risk on a host crash); use everysec or always"
        )
    elif facts.appendfsync is None:
        why = facts.why("CONFIG GET appendfsync")
        warning(f"redis: appendfsync cannot be read{why}: the fsync policy is unknown")
    ack = redis_settings.ack
    if ack == "fsynced":
        version = facts.version_tuple
        if version is None:
            warning(
                'redis.ack: "fsynced" needs Redis >= 7.2 (WAITAOF); the server version cannot '
                f"be read{facts.why('INFO')}"
            )
        elif version[:2] < WAITAOF_SINCE:
            error(
                f'redis.ack: "fsynced" needs Redis >= 7.2 (WAITAOF); the server is {facts.version}',
                fatal=True,
            )
        if facts.aof is False:
            error('redis.ack: "fsynced" needs appendonly yes on the server')
    if ack == "replicated":
        wanted = redis_settings.ack_replicas
        if facts.replicas is None:
            warning(f"redis.ack: connected replicas cannot be read{facts.why('INFO')}")
        elif facts.replicas < wanted:
            error(
                f'redis.ack: "replicated" needs {wanted} replica(s); the primary has '
                f"{facts.replicas} connected, so every webhook would get 503"
            )
    return out


def durability(facts: Facts, settings: Settings) -> str:
    """One line: what a 2xx survives here (AOF, fsync policy, replicas, the ack level)."""
    if facts.aof is None:
        aof = "AOF unknown"
    elif facts.aof:
        aof = f"AOF on (appendfsync {facts.appendfsync or 'unknown'})"
    else:
        aof = "AOF off"
    replicas = (
        "replicas unknown"
        if facts.replicas is None
        else f"{facts.replicas} replica{'s' if facts.replicas != 1 else ''} connected"
    )
    ack = Ack.of(settings.redis)
    if ack is None:
        level = "ack written"
    elif ack.level == "replicated":
        level = (
            f"ack replicated ({ack.replicas} replica{'s' if ack.replicas != 1 else ''} "
            f"within {format_duration(ack.timeout_ms / 1000)})"
        )
    else:
        level = f"ack fsynced (within {format_duration(ack.timeout_ms / 1000)})"
    version = f"Redis {facts.version}" if facts.version else "Redis (version unknown)"
    return f"durability: {aof}, {replicas}, {level}; {version}"


def startup_check(client: redis.Redis, settings: Settings) -> None:
    """At `relay serve` / `relay worker` start: each finding logged as one warning line; a
    fatal one (Cluster, an ack the server cannot give) raised as a one-line RelayError. A
    Redis unreachable now is checked by nobody: the process starts and waits for it, as ever.
    Also takes the first look at the epoch, so a loss from here on is noticed."""
    try:
        facts = read_facts(client)
    except (RedisError, OSError) as exc:
        log.warning("redis: not reachable at start (%s): its set-up is not checked", _kind(exc))
        return
    found = findings(facts, settings)
    for finding in found:
        if finding.fatal:
            raise RelayError(finding.text)
    for finding in found:
        log.warning("%s", finding.text)
    try:
        epoch_watch(client).check(client)
    except (RedisError, OSError):
        pass  # looked at again by the claimer, /readyz and /metrics


def _kind(exc: BaseException) -> str:
    return type(exc).__name__


# -- the epoch: has Redis lost the relay's data? ----------------------------------------------


class EpochWatch:
    """One process's memory of the epoch key, for one Redis client (`epoch_watch`)."""

    def __init__(self) -> None:
        self.seen: bytes | None = None
        #: losses this process noticed (relay_redis_data_lost_total)
        self.lost = 0
        self._last = float("-inf")
        self._lock = threading.Lock()

    def _due(self, every: float) -> bool:
        now = time.monotonic()
        with self._lock:
            if now - self._last < every:
                return False
            self._last = now
            return True

    def check(self, client: redis.Redis, *, every: float = 0.0) -> bool:
        """Compare the epoch with the one seen first (at most once per `every` seconds); True
        when this call found the data lost. Redis errors are raised (the caller's own)."""
        if not self._due(every):
            return False
        value = client.get(keys.EPOCH)
        if value is None:
            client.set(keys.EPOCH, _new_epoch(), nx=True)
            value = client.get(keys.EPOCH)
        return self._compare(value)

    async def check_async(self, client: aredis.Redis, *, every: float = 0.0) -> bool:
        """`check` with the receiver's asyncio client."""
        if not self._due(every):
            return False
        value = await client.get(keys.EPOCH)
        if value is None:
            await client.set(keys.EPOCH, _new_epoch(), nx=True)
            value = await client.get(keys.EPOCH)
        return self._compare(value)

    def _compare(self, value: object) -> bool:
        if not isinstance(value, bytes | str):
            return False  # deleted again between our SET and GET: look next time
        current = value.encode() if isinstance(value, str) else value
        with self._lock:
            if self.seen is None:
                self.seen = current
                return False
            if current == self.seen:
                return False
            self.seen = current
            self.lost += 1
        log.error(
            "redis: the relay's data is gone (%s vanished or changed): Redis was restarted "
            "without its data, flushed, or replaced; deliveries acknowledged before may be lost "
            "and builds in flight forgotten",
            keys.EPOCH,
        )
        for hook in list(on_data_lost):
            try:
                hook()
            except Exception:
                log.exception("redis: an on_data_lost hook failed")
        return True


def _new_epoch() -> str:
    return secrets.token_hex(8)


_watches: weakref.WeakKeyDictionary[object, EpochWatch] = weakref.WeakKeyDictionary()
_watches_lock = threading.Lock()


def epoch_watch(client: object) -> EpochWatch:
    """The epoch memory that goes with `client` (one per client object, so two apps in one
    process, as in the tests, never mistake each other's Redis for a loss)."""
    with _watches_lock:
        watch = _watches.get(client)
        if watch is None:
            watch = _watches[client] = EpochWatch()
        return watch


def check_epoch(client: redis.Redis) -> bool:
    """The claimer's cheap look: at most every EPOCH_EVERY seconds."""
    return epoch_watch(client).check(client, every=EPOCH_EVERY)
