"""The operator's controls as the web side runs them: the dashboard's buttons and the JSON API
call the same methods, and each method is the core function `relay pause`, `relay resume`,
`relay deploy [--at]` and `relay rollback` call (`relay.core.controls`, `relay.core.scheduled`,
`relay.core.rollback`). Nothing here decides anything of its own but how a request's words
become those calls' arguments; every refusal is an error of the exception tree, answered by
`relay.web.errors`.

The methods are synchronous (Redis through the reader client, Cloudflare through httpx): the
endpoints run them in Starlette's thread pool. Rollback talks to Cloudflare through one client
per process, built on first use over the shared API budget (`budgeted_client`), with a short
timeout, as the status pages do: an operator waits seconds, never minutes.
"""

from __future__ import annotations

import dataclasses
import re
import threading

import redis

from relay.core import controls, scheduled
from relay.core.budget import Usage, usage
from relay.core.build_settings import TargetSettings
from relay.core.cloudflare.pages import Pages
from relay.core.cloudflare.usage import budgeted_client
from relay.core.cloudflare.workers_builds import WorkersBuilds
from relay.core.controls import Pause
from relay.core.duration import parse_duration
from relay.core.exceptions import BadRequest, NotFound, NotSupported
from relay.core.records import Trigger
from relay.core.rollback import rollback
from relay.core.scheduled import ScheduledDeploy
from relay.core.settings import Settings
from relay.core.store import Store
from relay.core.targets import Build, Platform, target_for

#: seconds each Cloudflare request of a rollback may take
REQUEST_TIMEOUT = 10.0
#: seconds a rollback waits for a slot of the shared API budget before giving up
BUDGET_WAIT = 5.0
#: the longest pause that can be asked for with an end (longer: pause until resumed)
LONGEST_PAUSE = 365 * 86400.0
REASON_CHARS = 200
#: a Cloudflare deployment id (Pages: a UUID): it goes into an API path, so nothing else may
DEPLOYMENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


def pause_seconds(value: object, field: str = "for") -> float | None:
    """A pause's length as asked ("2h", 7200; empty or absent: until resumed)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise BadRequest(f"{field}: {exc}") from None
    if seconds <= 0:
        raise BadRequest(f"{field}: must be longer than 0 (leave it out to pause until resumed)")
    if seconds > LONGEST_PAUSE:
        raise BadRequest(f"{field}: at most 365d (leave it out to pause until resumed)")
    return seconds


def pause_reason(value: object, field: str = "reason") -> str | None:
    """Why a target is paused, as people will read it (one line; empty: no reason)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field}: must be a string")
    text = " ".join(value.split())
    if len(text) > REASON_CHARS:
        raise BadRequest(f"{field}: at most {REASON_CHARS} characters")
    return text or None


def deployment_id(value: object, field: str = "to") -> str | None:
    """A deployment to roll back to (absent or empty: the previous good one)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not DEPLOYMENT_ID.match(value):
        raise BadRequest(f"{field}: must be a Cloudflare deployment id")
    return value


class Operator:
    def __init__(self, settings: Settings, client: redis.Redis) -> None:
        self.settings = settings
        self.client = client
        self._platform: Platform | None = None
        self._lock = threading.Lock()

    # -- what targets there are and what they can do ---------------------------------------------

    def config(self, name: object) -> TargetSettings:
        """The named target's settings; `NotFound` for any other name."""
        if not isinstance(name, str) or name not in self.settings.targets:
            shown = f" {name[:64]!r}" if isinstance(name, str) else ""
            raise NotFound(f"unknown target{shown}")
        return self.settings.targets[name]

    @property
    def has_credentials(self) -> bool:
        """Cloudflare can be asked: credentials are set and the relay is not in dry-run."""
        return self.settings.cloudflare.has_credentials and not self.settings.dry_run

    @property
    def platform(self) -> Platform:
        """The clients the targets talk through (built once per process, on first use)."""
        with self._lock:
            if self._platform is None:
                cloudflare = dataclasses.replace(self.settings.cloudflare, timeout=REQUEST_TIMEOUT)
                http = budgeted_client(self.client, cloudflare, max_wait=BUDGET_WAIT)
                self._platform = Platform(
                    pages=Pages(http),
                    workers=WorkersBuilds(http),
                    has_credentials=self.has_credentials,
                )
            return self._platform

    def can_rollback(self, config: TargetSettings) -> bool:
        return target_for(config, self.platform).can_rollback

    # -- reads -----------------------------------------------------------------------------------

    def pauses(self) -> dict[str, Pause]:
        return controls.pauses(self.client)

    def account_budget(self, now_ms: int) -> Usage | None:
        """`[cloudflare] budget_builds`: every target's builds together (None: no such budget)."""
        budget = self.settings.cloudflare.budget_builds
        return usage(self.client, "*", budget, now_ms) if budget is not None else None

    def scheduled(self) -> list[ScheduledDeploy]:
        return scheduled.listing(self.client)

    # -- actions ---------------------------------------------------------------------------------

    def pause(self, name: str, *, seconds: float | None, reason: str | None) -> Pause:
        config = self.config(name)
        return controls.pause(
            self.client, self.settings, [config.name], seconds=seconds, reason=reason
        )[0]

    def resume(self, name: str) -> bool:
        """End the target's pause; False when it was not paused."""
        config = self.config(name)
        return bool(controls.resume(self.client, self.settings, [config.name]))

    def deploy(
        self, name: str, *, reason: str, now: bool, force: bool = False, ignore_budget: bool = False
    ) -> int:
        """Touch the target's burst (`TargetPaused`, 409, on a paused target unless `force`)."""
        config = self.config(name)
        return controls.deploy(
            self.client,
            self.settings,
            config.name,
            reason=reason,
            now=now,
            force=force,
            ignore_budget=ignore_budget,
        )

    def schedule(self, name: str, when: str, *, by: str, field: str = "at") -> ScheduledDeploy:
        """A deploy of the target at `when` (RFC 3339 or "+2h"), exactly once."""
        config = self.config(name)
        try:
            at_ms = scheduled.parse_when(when, Store(self.client).server_ms())
        except ValueError as exc:
            raise BadRequest(f"{field}: {exc}") from None
        return scheduled.schedule(self.client, self.settings, config.name, at_ms, by=by)

    def cancel_scheduled(self, deploy_id: str) -> ScheduledDeploy:
        cancelled = scheduled.cancel(self.client, deploy_id)
        if cancelled is None:
            raise NotFound(f"no scheduled deploy {deploy_id!r} waits to fire")
        return cancelled

    def rollback_choice(self, name: str, to: str | None) -> Build:
        """The deployment a rollback would make live (`NotSupported` when there is none)."""
        config = self.config(name)
        target = target_for(config, self.platform)
        if not target.can_rollback:
            raise NotSupported(
                f"{config.name}: rollback needs a Pages project (project =) and API credentials"
            )
        return target.rollback_target(to)

    def rollback(self, name: str, to: str | None) -> Trigger:
        """Roll the target back (to `to`, else the previous good production deployment);
        the recorded trigger. `NotSupported` (409) for a target that cannot."""
        config = self.config(name)
        return rollback(self.client, self.settings, self.platform, config.name, to)
