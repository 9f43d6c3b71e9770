"""What to build and what to listen to: the `[targets.NAME]` and `[hooks.NAME]` tables.

Declared like every other table (`relay.core.declare.setting`) and read by `relay.core.config`;
`relay.core.settings.Settings` holds them. Here too: the URL rule every credential-carrying URL
follows (https://, loopback excepted).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from relay.core.budget import BuildBudget
from relay.core.declare import Kind, setting
from relay.core.secret import Secret

PROJECT_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*$")
WORKER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
#: the path of a Workers Builds deploy hook (Pages hooks are …/pages/webhooks/deploy_hooks/…)
WORKERS_HOOK_PATH = "/workers/builds/deploy_hooks/"


def is_loopback(url: str) -> bool:
    """Whether `url` points at this machine (http:// is fine there: a sandbox, a local fake)."""
    host = urlsplit(url).hostname or ""
    return host in {"localhost", "::1"} or host.startswith("127.")


def https_problem(key: str, url: str) -> list[str]:
    """A URL that carries a credential or builds a site must be https:// (loopback excepted)."""
    scheme = urlsplit(url).scheme
    if scheme == "https" or (scheme == "http" and is_loopback(url)):
        return []
    return [f"{key}: must be an https:// URL (http:// only for 127.0.0.1 or localhost)"]


class TargetKind(StrEnum):
    """The kinds of target, each one module behind the seam of `relay.core.targets`."""

    PAGES = "pages"  # a Pages project: POST …/deployments, watched
    PAGES_HOOK = "pages-hook"  # a Pages deploy hook (watched when `project` and credentials)
    WORKERS = "workers"  # a Worker built by Workers Builds: its trigger started, watched
    WORKERS_HOOK = "workers-hook"  # a Workers Builds deploy hook (watched with credentials)


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
    worker: str | None = setting(
        None,
        "a Worker built by Workers Builds: its build trigger for `branch` is looked up, started "
        "and watched",
        kind=Kind.STRING,
    )
    deploy_hook: Secret | None = setting(
        None,
        "a Pages or Workers Builds deploy hook URL instead (the URL is a secret)",
        kind=Kind.SECRET,
    )
    supersede: str | None = setting(
        None,
        'Workers Builds: "cancel" cancels a queued or running build when a newer burst is '
        "claimed, and starts the new one",
        kind=Kind.STRING,
        choices=("cancel",),
    )
    budget: BuildBudget | None = setting(
        None,
        '"N/day" (rolling 24 h) or "N/month" (calendar month, UTC): bursts past it are held '
        "until it allows",
        kind=Kind.BUDGET,
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
    def kind(self) -> TargetKind:
        """How this target is built: decided by its keys (and a deploy hook's URL)."""
        if self.deploy_hook is not None:
            if WORKERS_HOOK_PATH in urlsplit(self.deploy_hook.reveal()).path:
                return TargetKind.WORKERS_HOOK
            return TargetKind.PAGES_HOOK
        return TargetKind.WORKERS if self.worker is not None else TargetKind.PAGES

    @property
    def on_workers(self) -> bool:
        return self.kind in {TargetKind.WORKERS, TargetKind.WORKERS_HOOK}

    def describe(self) -> str:
        kind = self.kind
        if kind is TargetKind.PAGES_HOOK:
            return "Pages deploy hook"
        if kind is TargetKind.WORKERS_HOOK:
            return "Workers Builds deploy hook"
        branch = self.branch or "(production)"
        if kind is TargetKind.WORKERS:
            return f"Worker {self.worker} branch {self.branch}"
        return f"Pages project {self.project} branch {branch}"

    def problems(self, key: str) -> list[str]:
        out = []
        if self.project is None and self.deploy_hook is None and self.worker is None:
            out.append(f"{key}: needs project (+ branch), worker (+ branch) or deploy_hook")
        if self.project is not None and self.worker is not None:
            out.append(f"{key}: has both project (Pages) and worker (Workers); keep one")
        if self.worker is not None and not WORKER_PATTERN.match(self.worker):
            out.append(
                f"{key}.worker: {self.worker!r} is not a Worker name "
                "(lower-case letters, digits, - and _)"
            )
        if self.kind is TargetKind.WORKERS and not self.branch:
            out.append(f"{key}.branch: a Workers Builds target needs the branch to build")
        if self.supersede and not self.on_workers:
            out.append(
                f"{key}.supersede: Cloudflare Pages has no way to cancel a build; supersede = "
                '"cancel" works for Workers Builds targets only'
            )
        if self.project is not None and not PROJECT_PATTERN.match(self.project):
            out.append(
                f"{key}.project: {self.project!r} is not a Pages project name "
                "(lower-case letters, digits and -)"
            )
        if self.deploy_hook is not None:
            out += https_problem(f"{key}.deploy_hook", self.deploy_hook.reveal())
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
