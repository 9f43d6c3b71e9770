"""relay.toml + the environment → typed, validated, immutable settings.

Every key is declared once, here: its default, kind, help text and environment override are the
field's (`relay.core.declare.setting`). `relay.core.config` reads a file against these
declarations; the receiver, the worker and the CLI all load settings through its
`load_settings`, so they cannot disagree. Every problem is one line that names its key, all of
them at once. Secrets are wrapped in `Secret` as soon as they are read.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay.core.declare import Kind, setting
from relay.core.exceptions import ConfigError
from relay.core.secret import Secret

DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PROJECT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class RedisSettings:
    url: Secret = setting(
        Secret(DEFAULT_REDIS_URL),
        "redis://, rediss:// (TLS) or unix:// URL of the Redis that holds everything",
        kind=Kind.SECRET,
        env="REDIS_URL",
        shown="redis://127.0.0.1:6379/0",
    )
    #: False: nothing named a Redis, so `relay up` may start an embedded one
    configured: bool = False

    def problems(self, key: str) -> list[str]:
        if not self.url.reveal().startswith(("redis://", "rediss://", "unix://")):
            return [f"{key}.url: must start with redis://, rediss:// or unix://"]
        return []


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

    @property
    def has_credentials(self) -> bool:
        return bool(self.account_id) and self.api_token is not None and bool(self.api_token)

    def problems(self, key: str) -> list[str]:
        if not self.api_base.startswith(("http://", "https://")):
            return [f"{key}.api_base: must be an http:// or https:// URL"]
        return []


@dataclass(frozen=True)
class AdminSettings:
    token: Secret | None = setting(
        None,
        "guards the dashboard, the JSON API and replay over HTTP",
        kind=Kind.SECRET,
        env="RELAY_ADMIN_TOKEN",
    )


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


@dataclass(frozen=True)
class NotifySettings:
    url: Secret | None = setting(
        None,
        "a Slack-compatible incoming webhook, told about failures and recoveries",
        kind=Kind.SECRET,
    )


@dataclass(frozen=True)
class RelaySettings:
    dry_run: bool = setting(
        False,
        "record what would be deployed for every target, even with credentials",
        kind=Kind.BOOL,
    )


@dataclass(frozen=True)
class TargetSettings:
    name: str
    project: str | None = setting(
        None,
        "Pages project name; triggered with POST …/deployments (multipart branch) and watched",
        kind=Kind.STRING,
    )
    branch: str | None = setting(
        None, "branch to build", kind=Kind.STRING, shown="the production branch"
    )
    deploy_hook: Secret | None = setting(
        None, "a Pages deploy hook URL instead (the URL is a secret)", kind=Kind.SECRET
    )
    debounce: float = setting(
        30.0, "quiet period: build this long after the last event of a burst…", kind=Kind.DURATION
    )
    max_wait: float = setting(
        300.0, "…but never later than this after its first event", kind=Kind.DURATION
    )
    schedule: str | None = setting(
        None, "cron (UTC): also rebuild on this schedule; coalesces with bursts", kind=Kind.CRON
    )
    keep: float | None = setting(
        None,
        "`relay prune` deletes this project's deployments older than this",
        kind=Kind.DURATION,
    )
    prune_schedule: str | None = setting(
        None, "cron (UTC): run that prune automatically (needs keep)", kind=Kind.CRON
    )
    stuck_after: float = setting(
        1800.0,
        "a build with no stage progress this long is reported as stuck",
        kind=Kind.DURATION,
    )
    status_token: Secret | None = setting(
        None, "the status page /status/NAME then needs ?token=", kind=Kind.SECRET
    )

    @property
    def kind(self) -> str:
        return "hook" if self.deploy_hook is not None else "api"

    def describe(self) -> str:
        if self.deploy_hook is not None:
            return "deploy hook"
        return f"Pages project {self.project} branch {self.branch or '(production)'}"

    def problems(self, key: str) -> list[str]:
        out = []
        if self.project is None and self.deploy_hook is None:
            out.append(f"{key}: needs either project (+ branch) or deploy_hook")
        if self.project is not None and not PROJECT_PATTERN.match(self.project):
            out.append(
                f"{key}.project: {self.project!r} is not a Pages project name "
                "(lower-case letters, digits and -)"
            )
        if self.deploy_hook is not None and not self.deploy_hook.reveal().startswith(
            ("https://", "http://")
        ):
            out.append(f"{key}.deploy_hook: must be an https:// URL")
        if self.max_wait < self.debounce:
            out.append(f"{key}.max_wait: must not be shorter than debounce")
        if self.keep is None and self.prune_schedule:
            out.append(f"{key}.prune_schedule: needs keep")
        return out


@dataclass(frozen=True)
class MatchRule:
    """One generic filter condition: a header or a JSON path must have one of `values`."""

    source: str  # "header" or "json"
    key: str  # header name, or dotted JSON path ("sys.contentType.sys.id")
    values: tuple[str, ...]  # glob patterns; empty = the key must be present


@dataclass(frozen=True)
class FilterSettings:
    events: tuple[str, ...] | None = setting(
        None,
        "glob patterns on the sender's event name",
        kind=Kind.STRINGS,
        shown="the provider's default",
    )
    branches: tuple[str, ...] = setting(
        (), "push events: only these branches (GitHub, GitLab)", kind=Kind.STRINGS
    )
    types: tuple[str, ...] = setting(
        (),
        "document or content types (Sanity _type, Contentful content type, …)",
        kind=Kind.STRINGS,
    )
    #: generic `{ header = …, values = [...] }` / `{ json = …, values = [...] }` rules
    match: tuple[MatchRule, ...] = ()

    @property
    def empty(self) -> bool:
        return self.events is None and not self.branches and not self.types and not self.match


@dataclass(frozen=True)
class HookSettings:
    name: str
    provider: str = setting(
        "",
        "how the sender authenticates: see docs/providers.md",
        kind=Kind.STRING,
        shown="required",
    )
    targets: tuple[str, ...] = setting(
        (), "the targets a verified delivery touches", kind=Kind.STRINGS, shown="required"
    )
    #: the `secret` key as written; `secrets` holds every accepted secret, this one first
    secret: Secret | None = setting(None, "the shared secret", kind=Kind.SECRET)
    secrets: tuple[Secret, ...] = setting(
        (), "several secrets while rotating (any one is accepted)", kind=Kind.SECRETS
    )
    insecure: bool = setting(False, 'required with provider = "none"', kind=Kind.BOOL)
    filters: FilterSettings = field(default_factory=FilterSettings)
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    path: Path | None
    redis: RedisSettings = field(default_factory=RedisSettings)
    cloudflare: CloudflareSettings = field(default_factory=CloudflareSettings)
    admin: AdminSettings = field(default_factory=AdminSettings)
    retry: RetrySettings = field(default_factory=RetrySettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    worker: WorkerSettings = field(default_factory=WorkerSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
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
    "notify": NotifySettings,
    "relay": RelaySettings,
}
#: the tables of named entries (`[targets.NAME]`, `[hooks.NAME]`)
NAMED_TABLES: dict[str, type] = {"targets": TargetSettings, "hooks": HookSettings}
