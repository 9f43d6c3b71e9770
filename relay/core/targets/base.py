"""The target seam: what every kind of target can be asked, in the relay's own words.

Jobs, the state machine, the dashboard, the status page, metrics and notifications speak only
this: `Target.start` asks for a build, `Target.build` reads it (to a final outcome),
`Target.cancel`, `Target.logs` and `Target.rollback` where the platform can. One module per kind
implements it (`pages_api`, `pages_hook`, `workers_api`, `workers_hook`); adding a kind
(Netlify, Vercel, a GitHub Actions `workflow_dispatch`) is one more module and its fake.

A `Build` is what the platform reported, already mapped to a trigger's fields
(`Build.onto(trigger)`): nothing downstream reads a Cloudflare document.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TypeVar

from relay.core.build_settings import TargetKind, TargetSettings
from relay.core.cloudflare.answers import LogLine
from relay.core.cloudflare.pages import Pages
from relay.core.cloudflare.workers_builds import WorkersBuilds
from relay.core.exceptions import NotSupported
from relay.core.records import Trigger, TriggerStatus

T = TypeVar("T")


@dataclass(frozen=True)
class Build:
    """One build as its platform reports it. `outcome` is set once it is final."""

    id: str
    outcome: TriggerStatus | None = None
    #: where it is: a Pages stage ("build", "deploy", …) or a Workers build's status
    #: (queued, initializing, running, stopped)
    stage: str | None = None
    stage_status: str | None = None
    url: str | None = None
    environment: str | None = None  # production | preview
    created_on: str | None = None  # the platform's ISO 8601 time
    seconds: float | None = None  # how long it took, once final
    commit: str | None = None
    version: str | None = None  # the Worker version it deployed (Workers Builds)
    skip_reason: str | None = None

    @property
    def progress(self) -> tuple[str | None, str | None]:
        """What changes as a build advances: the stuck check watches it."""
        return (self.stage, self.stage_status)

    def onto(self, trigger: Trigger) -> Trigger:
        """`trigger` carrying what this build report says (its fields left as they were where
        the report says nothing)."""
        return dataclasses.replace(
            trigger,
            deployment_id=self.id or trigger.deployment_id,
            url=_or(self.url, trigger.url),
            environment=_or(self.environment, trigger.environment),
            stage=self.stage,
            stage_status=self.stage_status,
            cf_created_on=_or(self.created_on, trigger.cf_created_on),
            commit=_or(self.commit, trigger.commit),
            version=_or(self.version, trigger.version),
            skip_reason=_or(self.skip_reason, trigger.skip_reason),
        )


def _or(new: T | None, old: T | None) -> T | None:
    return old if new is None else new


@dataclass(frozen=True)
class Started:
    """What asking for a build gave: its report, or only its id, or nothing to follow."""

    build: Build | None
    #: a Workers deploy hook answered with the build already pending for it (no new build)
    already_exists: bool = False

    @property
    def build_id(self) -> str | None:
        return self.build.id if self.build is not None and self.build.id else None


@dataclass(frozen=True)
class Platform:
    """The clients a target talks through (one of each per process, sharing the API budget)."""

    pages: Pages
    workers: WorkersBuilds
    has_credentials: bool


class Target(ABC):
    """One configured target, as its kind builds it."""

    def __init__(self, config: TargetSettings, platform: Platform) -> None:
        self.config = config
        self.platform = platform

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> TargetKind:
        return self.config.kind

    @property
    def can_cancel(self) -> bool:
        """The platform can cancel a queued or running build (`supersede = "cancel"`)."""
        return False

    @property
    def can_rollback(self) -> bool:
        """The platform can make an earlier deployment live again (`relay rollback`)."""
        return False

    def describe(self) -> str:
        return self.config.describe()

    @property
    def needs_credentials(self) -> bool:
        """Without API credentials this kind can only record what it would do (dry-run)."""
        return True

    @property
    def watchable(self) -> bool:
        """Whether a started build can be followed to its outcome."""
        return self.platform.has_credentials

    @abstractmethod
    def start(self) -> Started:
        """Ask for one build; raises `CloudflareError` (retryable or not) on failure."""

    def build(self, build_id: str) -> Build:
        """The build now."""
        raise NotSupported(f"{self.describe()}: builds cannot be read")

    def cancel(self, build_id: str) -> Build:
        """Cancel a queued or running build; returns it as it is after (re-read)."""
        raise NotSupported(f"{self.describe()}: builds cannot be cancelled")

    def logs(self, build_id: str) -> list[LogLine]:
        """The build's log lines, as the platform keeps them."""
        raise NotSupported(f"{self.describe()}: build logs cannot be read without API access")

    def rollback_target(self, to: str | None) -> Build:
        """The deployment a rollback would make live: `to`, or the previous good one."""
        raise NotSupported(f"{self.describe()}: rollback works for Pages projects only")

    def rollback(self, to: str) -> Build:
        """Make deployment `to` live again."""
        raise NotSupported(f"{self.describe()}: rollback works for Pages projects only")

    def check(self) -> list[str]:
        """Problems found by asking the platform (`relay check`): one line each."""
        return []
