"""Redis connections for each kind of process, built by one function from the settings.

`connect(settings, role)` is the only place a Redis client is made, for every form of
`[redis] url` (`relay.core.redis_url`): a plain or TLS host, a unix socket, or a Sentinel
service. So the receiver, the dashboard's reader, the workers (RQ takes the same client) and the
CLI all follow a Sentinel failover without a restart: redis-py's SentinelConnectionPool asks the
sentinels for the primary's address whenever it opens a connection, and drops the connections to
a primary that was demoted.

What differs between the roles is how patient the client is:

* the receiver's (asyncio) client fails fast: a sender waiting on a dead Redis must get a 503
  within a second, never a hang, so it has short timeouts and no client-side retries (its
  commands wait at most `[redis] ack_timeout` longer, the time the acknowledgement may take);
* the readers' (dashboard, JSON API, /metrics, status pages) fails within about a second, so a
  page that Redis cannot serve answers 503 rather than hanging a thread of the pool;
* workers and the CLI retry briefly, because for them a blip is not worth an error.

`Ack` is what `[redis] ack` asks of the receiver's writes: the WAIT or WAITAOF it appends, on the
same connection, to the pipeline that wrote (`relay.web.script_batch`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, overload

import redis
import redis.asyncio as aredis
import redis.asyncio.retry as aretry
import redis.asyncio.sentinel as asentinel
import redis.sentinel as sentinel
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from relay.core.redis_url import RedisAddress, mask_url, parse_redis_url, read_embedded_password
from relay.core.secret import Secret
from relay.core.settings import RedisSettings, Settings

#: seconds the receiver waits for Redis before answering 503 (connect and each command)
RECEIVER_TIMEOUT = 0.4
#: seconds the readers' client waits for Redis (connect: half of it)
READER_TIMEOUT = 1.0
#: connections the receiver's pool may open (each in-flight pipeline holds one)
RECEIVER_MAX_CONNECTIONS = 256


class Role(StrEnum):
    RECEIVER = "receiver"  # asyncio; fails fast
    READER = "reader"  # dashboard, API, /metrics; fails within about a second
    WORKER = "worker"  # workers and the CLI; retries briefly


@dataclass(frozen=True)
class Profile:
    """How patient one role's client is."""

    timeout: float  # each command (seconds)
    connect_timeout: float
    retries: int  # client-side retries of a failed command (0: fail at once)
    health_check_interval: int = 0
    max_connections: int | None = None


def profile(settings: Settings, role: Role, timeout: float | None = None) -> Profile:
    if role is Role.RECEIVER:
        ack = Ack.of(settings.redis)
        wait = ack.timeout_ms / 1000 if ack else 0.0
        return Profile(
            RECEIVER_TIMEOUT + wait,
            RECEIVER_TIMEOUT,
            0,
            max_connections=RECEIVER_MAX_CONNECTIONS,
        )
    if role is Role.READER:
        return Profile(READER_TIMEOUT, READER_TIMEOUT / 2, 0)
    patience = 5.0 if timeout is None else timeout
    return Profile(patience, min(patience, 2.0), 2, health_check_interval=30)


def address_of(settings: Settings) -> RedisAddress:
    """The parsed `[redis] url` (already validated when the settings were read)."""
    return parse_redis_url(settings.redis.url.reveal())


def _fallback_password(settings: Settings, address: RedisAddress) -> Secret | None:
    """With no Redis configured the URL is the embedded one `relay up` started, whose password
    it keeps beside relay.toml: the commands run next to it authenticate with that."""
    if settings.redis.configured or address.password is not None:
        return None
    return read_embedded_password(settings.path)


@overload
def connect(
    settings: Settings, role: Literal[Role.RECEIVER], *, timeout: float | None = ..., **extra: Any
) -> aredis.Redis: ...
@overload
def connect(
    settings: Settings,
    role: Literal[Role.READER, Role.WORKER],
    *,
    timeout: float | None = ...,
    **extra: Any,
) -> redis.Redis: ...
def connect(
    settings: Settings, role: Role, *, timeout: float | None = None, **extra: Any
) -> redis.Redis | aredis.Redis:
    """The Redis client of `role`, for whatever `[redis] url` names (host, TLS, unix socket,
    Sentinel service). `extra` are further redis-py connection keywords (decode_responses)."""
    address = address_of(settings)
    p = profile(settings, role, timeout)
    asynchronous = role is Role.RECEIVER
    retry_class: Any = aretry.Retry if asynchronous else Retry
    backoff = NoBackoff() if p.retries == 0 else ExponentialBackoff(cap=1.0, base=0.05)
    options: dict[str, Any] = {
        "socket_timeout": p.timeout,
        "socket_connect_timeout": p.connect_timeout,
        "retry": retry_class(backoff, p.retries),
        "health_check_interval": p.health_check_interval,
        **address.auth_kwargs(_fallback_password(settings, address)),
        **extra,
    }
    if p.max_connections is not None:
        options["max_connections"] = p.max_connections
    if address.is_sentinel:
        # the sentinels get the same patience, their own credentials, and no retries of their
        # own: the data connection's retry already asks them again
        sentinel_options: dict[str, Any] = {
            "socket_timeout": p.connect_timeout,
            "socket_connect_timeout": p.connect_timeout,
            "retry": retry_class(NoBackoff(), 0),
            **address.sentinel_auth_kwargs(),
        }
        manager: Any = (asentinel.Sentinel if asynchronous else sentinel.Sentinel)(
            list(address.sentinels), sentinel_kwargs=sentinel_options, **options
        )
        client: redis.Redis | aredis.Redis = manager.master_for(address.service)
        return client
    if address.kind == "unix":
        where: dict[str, Any] = {"unix_socket_path": address.path}
    else:
        where = {"host": address.host, "port": address.port}
    if asynchronous:
        return aredis.Redis(**where, **options)
    return redis.Redis(**where, **options)


def async_client(settings: Settings) -> aredis.Redis:
    """The receiver's client: fail within RECEIVER_TIMEOUT (+ the ack's wait) rather than retry."""
    return connect(settings, Role.RECEIVER, decode_responses=False)


def reader_client(settings: Settings) -> redis.Redis:
    """The dashboard's, API's and /metrics' client: no retries, so Redis down is a quick 503."""
    return connect(settings, Role.READER)


def sync_client(settings: Settings, *, timeout: float = 5.0, **extra: Any) -> redis.Redis:
    """The worker's and CLI's client: a few quick retries smooth over a blip."""
    return connect(settings, Role.WORKER, timeout=timeout, **extra)


def describe_url(settings: Settings) -> str:
    """The Redis URL with every password masked, for messages, banners and `relay check`."""
    return mask_url(settings.redis.url.reveal())


class AckNotMet(RedisError):
    """`[redis] ack` was not reached in time: the delivery is in the primary, but not yet where
    the setting says a 2xx promises it is. The receiver answers 503 and the sender retries
    (the retry is recognised as a duplicate if it got through after all)."""


@dataclass(frozen=True)
class Ack:
    """The acknowledgement `[redis] ack` asks for, sent after the writes on their connection.

    WAIT N T returns how many replicas have every write this connection made so far; WAITAOF
    1 0 T returns [local fsyncs, replica fsyncs] for the same. Sent on the connection that
    wrote, they cover exactly the writes of the callers being answered.
    """

    level: str  # "replicated" | "fsynced"
    replicas: int
    timeout_ms: int

    @classmethod
    def of(cls, settings: RedisSettings) -> Ack | None:
        if settings.ack == "written":
            return None
        return cls(settings.ack, settings.ack_replicas, max(1, round(settings.ack_timeout * 1000)))

    @property
    def command(self) -> tuple[str | int, ...]:
        if self.level == "fsynced":
            return ("WAITAOF", 1, 0, self.timeout_ms)
        return ("WAIT", self.replicas, self.timeout_ms)

    def failure(self, reply: object) -> RedisError | None:
        """None when `reply` (of `command`) shows the ack was reached, else the error to give
        every caller whose write it was to cover."""
        if isinstance(reply, RedisError):
            return reply
        if isinstance(reply, Exception):
            return RedisError(type(reply).__name__)
        if self.level == "fsynced":
            local = reply[0] if isinstance(reply, list | tuple) and reply else 0
            if int(local) >= 1:
                return None
            return AckNotMet(f"ack fsynced: not fsynced to the AOF within {self.timeout_ms}ms")
        count = int(reply) if isinstance(reply, int | str | bytes) else 0
        if count >= self.replicas:
            return None
        return AckNotMet(
            f"ack replicated: {count} of {self.replicas} replica(s) acknowledged within "
            f"{self.timeout_ms}ms"
        )
