"""relay.toml + the environment → typed, validated, immutable settings.

Read once per process (`load_settings`); the receiver, the worker and the CLI all use this one
module, so they cannot disagree. Every problem is reported as one line that names its key, all of
them at once. Secrets are wrapped in `Secret` as soon as they are read.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from relay.exceptions import ConfigError
from relay.secret import Secret

DEFAULT_API_BASE = "https://api.cloudflare.com/client/v4"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PROJECT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

#: environment variables that win over the file: variable -> (table, key)
ENV_OVERRIDES: dict[str, tuple[str, str]] = {
    "REDIS_URL": ("redis", "url"),
    "CLOUDFLARE_API_TOKEN": ("cloudflare", "api_token"),
    "CLOUDFLARE_ACCOUNT_ID": ("cloudflare", "account_id"),
    "CLOUDFLARE_API_BASE": ("cloudflare", "api_base"),
    "RELAY_ADMIN_TOKEN": ("admin", "token"),
}


@dataclass(frozen=True)
class CloudflareSettings:
    account_id: str | None = None
    api_token: Secret | None = None
    api_base: str = DEFAULT_API_BASE
    #: requests allowed per `budget_window` across every relay process (Cloudflare: 1,200 / 5 min)
    budget: int = 1200
    budget_window: float = 300.0
    timeout: float = 30.0
    #: how often a building deployment is polled for its stage
    poll_interval: float = 10.0

    @property
    def has_credentials(self) -> bool:
        return bool(self.account_id) and self.api_token is not None and bool(self.api_token)


@dataclass(frozen=True)
class RetrySettings:
    attempts: int = 5
    initial: float = 10.0
    max: float = 600.0


@dataclass(frozen=True)
class ServerSettings:
    max_body: int = 1024 * 1024
    #: how long a sender's delivery id is remembered to drop its retries
    dedupe_window: float = 86400.0
    #: for senders without a delivery id: identical signed content within this window is a retry
    digest_window: float = 300.0
    #: how many deliveries and deployments are kept in Redis (oldest trimmed first)
    keep_deliveries: int = 100_000
    keep_deployments: int = 10_000


@dataclass(frozen=True)
class NotifySettings:
    url: Secret | None = None


@dataclass(frozen=True)
class TargetSettings:
    name: str
    project: str | None = None
    branch: str | None = None
    deploy_hook: Secret | None = None
    debounce: float = 30.0
    max_wait: float = 300.0
    schedule: str | None = None
    keep: float | None = None
    prune_schedule: str | None = None
    stuck_after: float = 1800.0
    #: when set, /status/<name> needs ?token=<this> (or an admin session)
    status_token: Secret | None = None

    @property
    def kind(self) -> str:
        return "hook" if self.deploy_hook is not None else "api"

    def describe(self) -> str:
        if self.deploy_hook is not None:
            return "deploy hook"
        return f"Pages project {self.project} branch {self.branch or '(production)'}"


@dataclass(frozen=True)
class MatchRule:
    """One generic filter condition: a header or a JSON path must have one of `values`."""

    source: str  # "header" or "json"
    key: str  # header name, or dotted JSON path ("sys.contentType.sys.id")
    values: tuple[str, ...]  # glob patterns; empty = the key must be present


@dataclass(frozen=True)
class FilterSettings:
    events: tuple[str, ...] | None = None  # glob patterns on the provider's event name
    branches: tuple[str, ...] = ()  # push events: only these branches (GitHub, GitLab)
    types: tuple[str, ...] = ()  # document/content types (Sanity `_type`, Contentful content type)
    match: tuple[MatchRule, ...] = ()

    @property
    def empty(self) -> bool:
        return self.events is None and not self.branches and not self.types and not self.match


@dataclass(frozen=True)
class HookSettings:
    name: str
    provider: str
    targets: tuple[str, ...]
    secrets: tuple[Secret, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    filters: FilterSettings = field(default_factory=FilterSettings)
    insecure: bool = False


@dataclass(frozen=True)
class Settings:
    path: Path | None
    redis_url: Secret = field(default_factory=lambda: Secret(DEFAULT_REDIS_URL))
    redis_configured: bool = False  # False: nothing named a Redis, `relay up` may embed one
    cloudflare: CloudflareSettings = field(default_factory=CloudflareSettings)
    admin_token: Secret | None = None
    retry: RetrySettings = field(default_factory=RetrySettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    notify: NotifySettings = field(default_factory=NotifySettings)
    targets: Mapping[str, TargetSettings] = field(default_factory=dict)
    hooks: Mapping[str, HookSettings] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    dry_run: bool = False

    def target(self, name: str) -> TargetSettings:
        try:
            return self.targets[name]
        except KeyError:
            raise ConfigError([f"unknown target {name!r}"]) from None


def default_config_path() -> Path:
    return Path(os.environ.get("RELAY_CONFIG") or "relay.toml")


def load_settings(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate `path` (default `$RELAY_CONFIG`, else ./relay.toml) and the environment."""
    env = os.environ if environ is None else environ
    path = path or default_config_path()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file (copy relay.example.toml to start)"]) from None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror}"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from None
    return parse_settings(raw, env, path=path)


def parse_settings(
    raw: Mapping[str, Any], environ: Mapping[str, str], *, path: Path | None = None
) -> Settings:
    from relay.config_parse import Parser  # the table-by-table parser

    return Parser(raw, environ, path).settings()


def interpolate(value: str, environ: Mapping[str, str], key: str, problems: list[str]) -> str:
    """Replace each ${NAME} in `value`; a missing variable is a problem naming `key` and NAME."""

    def replace(match: re.Match[str]) -> str:
        name = match[1]
        if name not in environ:
            problems.append(f"{key}: environment variable {name} is not set")
            return ""
        return environ[name]

    return _ENV_REF.sub(replace, value)
