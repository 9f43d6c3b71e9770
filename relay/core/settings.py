"""relay.toml + the environment → typed, validated, immutable settings.

Every key is declared once, here: its default, kind, help text and environment override are the
field's (`relay.core.declare.setting`). `relay.core.config` reads a file against these
declarations; the receiver, the worker and the CLI all load settings through its
`load_settings`, so they cannot disagree. Every problem is one line that names its key, all of
them at once. Secrets are wrapped in `Secret` as soon as they are read.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from relay.core.budget import BuildBudget
from relay.core.build_settings import HookSettings, TargetSettings, https_problem
from relay.core.declare import Kind, setting
from relay.core.exceptions import ConfigError
from relay.core.secret import Secret

DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
#: what a notification channel can be told about (`[[notify]] events`)
NOTIFY_EVENTS = (
    "failed",
    "failed_for_good",
    "recovered",
    "stuck",
    "held_by_budget",
    "budget_warning",
    "paused",
    "resumed",
    "redis_lost",
)
NOTIFY_FORMATS = ("slack", "discord", "teams", "generic")


@dataclass(frozen=True)
class RedisSettings:
    """`[redis]`: where the relay's Redis is, and when a sender's 2xx may be sent.

    `ack` exists because "Redis applied it" is only as durable as that Redis: replicated
    survives losing the primary (a Sentinel failover), fsynced survives its host losing power.
    The receiver sends the acknowledgement (WAIT / WAITAOF) on the connection that wrote
    (`relay.core.connections.Ack`), so it covers exactly the delivery being answered.
    """

    #: `ack` levels, weakest first
    ACK_LEVELS = ("written", "replicated", "fsynced")
    #: seconds: the longest `ack_timeout` (a sender waits that long for its answer)
    ACK_TIMEOUT_MAX = 5.0

    url: Secret = setting(
        Secret(DEFAULT_REDIS_URL),
        "redis://, rediss:// (TLS), unix:// or redis+sentinel:// URL of the Redis that holds "
        "everything",
        kind=Kind.SECRET,
        env="REDIS_URL",
        shown="redis://127.0.0.1:6379/0",
    )
    ack: str = setting(
        "written",
        "when a sender gets its 2xx: written (Redis applied it), replicated (also on "
        "ack_replicas replicas), fsynced (also in the primary's AOF on disk; Redis >= 7.2)",
        kind=Kind.STRING,
        choices=ACK_LEVELS,
    )
    ack_replicas: int = setting(
        1,
        'ack = "replicated": how many replicas must have the delivery',
        kind=Kind.INT,
        minimum=1,
    )
    ack_timeout: float = setting(
        0.5,
        "how long the receiver waits for that acknowledgement before answering 503",
        kind=Kind.DURATION,
        minimum=0.01,
    )
    #: False: nothing named a Redis, so `relay up` may start an embedded one
    configured: bool = False

    def problems(self, key: str) -> list[str]:
        from relay.core.redis_url import parse_redis_url

        out = []
        try:
            parse_redis_url(self.url.reveal())
        except ValueError as exc:  # the message never repeats the URL (it may hold a password)
            out.append(f"{key}.url: {exc}")
        if self.ack_timeout > self.ACK_TIMEOUT_MAX:
            out.append(
                f"{key}.ack_timeout: at most {self.ACK_TIMEOUT_MAX:g}s (a sender waits this long "
                "for its answer)"
            )
        return out


@dataclass(frozen=True)
class CloudflareSettings:
    account_id: str | None = setting(
        None, "the Cloudflare account id", kind=Kind.STRING, env="CLOUDFLARE_ACCOUNT_ID"
    )
    api_token: Secret | None = setting(
        None, "an API token (Pages: Edit)", kind=Kind.SECRET, env="CLOUDFLARE_API_TOKEN"
    )
    api_base: str = setting(
        DEFAULT_API_BASE,
        "the API's base URL (point it at the fake for a sandbox)",
        kind=Kind.STRING,
        env="CLOUDFLARE_API_BASE",
    )
    budget: int = setting(
        1200,
        "API requests allowed per budget_window across every relay process (Cloudflare's limit)",
        kind=Kind.INT,
        minimum=1,
    )
    budget_window: float = setting(300.0, "the window of the budget", kind=Kind.DURATION)
    timeout: float = setting(30.0, "per request", kind=Kind.DURATION)
    poll_interval: float = setting(
        10.0, "how often a building deployment is checked", kind=Kind.DURATION
    )
    budget_builds: BuildBudget | None = setting(
        None,
        'builds allowed for every target together: "N/day" (rolling 24 h) or "N/month" '
        "(calendar month, UTC); bursts past it are held until it allows",
        kind=Kind.BUDGET,
    )

    @property
    def has_credentials(self) -> bool:
        return bool(self.account_id) and self.api_token is not None and bool(self.api_token)

    def problems(self, key: str) -> list[str]:
        return https_problem(f"{key}.api_base", self.api_base)


#: the shortest admin token accepted: it guards redeploying every site
ADMIN_TOKEN_MIN = 16


@dataclass(frozen=True)
class AdminSettings:
    token: Secret | None = setting(
        None,
        "guards the dashboard, the JSON API and replay over HTTP",
        kind=Kind.SECRET,
        env="RELAY_ADMIN_TOKEN",
    )

    def problems(self, key: str) -> list[str]:
        if self.token is not None and len(self.token.reveal()) < ADMIN_TOKEN_MIN:
            return [
                f"{key}.token: is {len(self.token.reveal())} characters; use at least "
                f"{ADMIN_TOKEN_MIN} random ones (python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')"
            ]
        return []


@dataclass(frozen=True)
class RetrySettings:
    attempts: int = setting(
        5,
        "tries in all, the first included; then the trigger is failed for good (`relay failed`)",
        kind=Kind.INT,
        minimum=1,
    )
    initial: float = setting(
        10.0,
        "first backoff; doubles each attempt, with jitter (half fixed, half random)",
        kind=Kind.DURATION,
    )
    max: float = setting(
        600.0,
        "backoff cap; a Retry-After from Cloudflare always wins, even when longer",
        kind=Kind.DURATION,
    )

    def problems(self, key: str) -> list[str]:
        if self.max < self.initial:
            return [f"{key}.max: must not be shorter than {key}.initial"]
        return []


@dataclass(frozen=True)
class ServerSettings:
    max_body: int = setting(1024 * 1024, "bytes; larger requests get 413", kind=Kind.INT, minimum=1)
    body_timeout: float = setting(
        10.0,
        "a request body must arrive within this long, else 408 (a sender trickling bytes)",
        kind=Kind.DURATION,
        minimum=0.1,
    )
    dedupe_window: float = setting(
        86400.0, "how long a sender's delivery id is remembered", kind=Kind.DURATION
    )
    digest_window: float = setting(
        300.0,
        "senders without ids: an identical body within this window is a retry; 0 turns it off",
        kind=Kind.DURATION,
    )
    keep_deliveries: int = setting(
        100_000, "deliveries kept in Redis (approximately; oldest trimmed)", kind=Kind.INT
    )
    keep_deployments: int = setting(
        10_000,
        "triggers kept in Redis (oldest trimmed; a trigger that failed for good is kept until "
        "it is replayed or keep_failed passes)",
        kind=Kind.INT,
    )
    keep_failed: float = setting(
        30 * 86400.0,
        "how long `relay failed` keeps a failure that nobody replayed",
        kind=Kind.DURATION,
    )
    status_token: Secret | None = setting(
        None,
        "every target's status page then needs ?token= (a target's own status_token wins)",
        kind=Kind.SECRET,
        env="RELAY_STATUS_TOKEN",
    )
    public_url: str | None = setting(
        None,
        "where people reach the dashboard (https://relay.example.com): notifications link to it",
        kind=Kind.STRING,
    )

    def problems(self, key: str) -> list[str]:
        if self.public_url is None:
            return []
        scheme = urlsplit(self.public_url).scheme
        if scheme not in {"http", "https"}:
            return [f"{key}.public_url: must be an http:// or https:// URL"]
        return []


@dataclass(frozen=True)
class WorkerSettings:
    step_lease: float = setting(
        30.0,
        "a deploy attempt or build poll whose worker stopped renewing its lease is taken over "
        "by another worker after this long",
        kind=Kind.DURATION,
        minimum=3,
    )
    step_threads: int = setting(
        8,
        "deploy attempts and build polls one worker process runs at once",
        kind=Kind.INT,
        minimum=1,
    )
    redis_lost_after: float = setting(
        30.0,
        "an outage of Redis this long is told to the notification channels (redis_lost)",
        kind=Kind.DURATION,
        minimum=1,
    )


@dataclass(frozen=True)
class NotifySettings:
    """One notification channel: `[notify]`, or each `[[notify]]`."""

    url: Secret | None = setting(
        None,
        "where to send: a Slack or Discord webhook, a Teams workflow URL, or any URL (signed JSON)",
        kind=Kind.SECRET,
        shown="required",
    )
    events: tuple[str, ...] | None = setting(
        None, "what to tell this channel (see below)", kind=Kind.STRINGS, shown="all"
    )
    targets: tuple[str, ...] | None = setting(
        None, "only about these targets", kind=Kind.STRINGS, shown="all"
    )
    secret: Secret | None = setting(
        None,
        "whsec_… : sign each message as Standard Webhooks (webhook-id, -timestamp, -signature)",
        kind=Kind.SECRET,
    )
    format: str | None = setting(
        None,
        "slack, discord, teams or generic, when the URL does not say",
        kind=Kind.STRING,
        choices=NOTIFY_FORMATS,
        shown="from the URL",
    )

    def problems(self, key: str) -> list[str]:
        out = []
        if self.url is None:
            out.append(f"{key}.url: missing (where to send the notifications)")
        else:
            out += https_problem(f"{key}.url", self.url.reveal())
        for event in self.events or ():
            if event not in NOTIFY_EVENTS:
                out.append(f"{key}.events: {event!r} is not one of {', '.join(NOTIFY_EVENTS)}")
        if self.secret is not None and not _standard_key(self.secret.reveal()):
            out.append(f"{key}.secret: must be whsec_ followed by base64 of 24 to 64 bytes")
        return out


def _standard_key(text: str) -> bool:
    if not text.startswith("whsec_"):
        return False
    try:
        raw = base64.b64decode(text.removeprefix("whsec_"), validate=True)
    except (binascii.Error, ValueError):
        return False
    return 24 <= len(raw) <= 64


@dataclass(frozen=True)
class RelaySettings:
    dry_run: bool = setting(
        False,
        "record what would be deployed for every target, even with credentials",
        kind=Kind.BOOL,
    )


@dataclass(frozen=True)
class Settings:
    path: Path | None
    redis: RedisSettings = field(default_factory=RedisSettings)
    cloudflare: CloudflareSettings = field(default_factory=CloudflareSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    #: the notification channels (`[notify]` or each `[[notify]]`)
    notify: tuple[NotifySettings, ...] = ()
    relay: RelaySettings = field(default_factory=RelaySettings)
    targets: Mapping[str, TargetSettings] = field(default_factory=dict)
    hooks: Mapping[str, HookSettings] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def dry_run(self) -> bool:
        return self.relay.dry_run

    def using_redis(self, url: str) -> Settings:
        """The same settings pointed at another Redis (the embedded one of `relay up`)."""
        return dataclasses.replace(self, redis=dataclasses.replace(self.redis, url=Secret(url)))

    def target(self, name: str) -> TargetSettings:
        try:
            return self.targets[name]
        except KeyError:
            raise ConfigError([f"unknown target {name!r}"]) from None


#: the top-level tables of relay.toml and the dataclass each is read into
TABLES: dict[str, type] = {
    "redis": RedisSettings,
    "cloudflare": CloudflareSettings,
    "admin": AdminSettings,
    "retry": RetrySettings,
    "server": ServerSettings,
    "worker": WorkerSettings,
    "relay": RelaySettings,
}
#: the tables of named entries (`[targets.NAME]`, `[hooks.NAME]`)
NAMED_TABLES: dict[str, type] = {"targets": TargetSettings, "hooks": HookSettings}
