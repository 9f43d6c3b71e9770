"""Records of the fake Workers Builds API: Workers, triggers, builds and deploy hooks.

No state and no HTTP; `workers_model.py` holds the records, `workers_render.py` turns them into
JSON. Section numbers refer to `shared/reference/workers-builds-api.md`.

A build's lifecycle (§5.3) is computed from a few stored facts, never by a background thread:
when it was created, the `WorkerBuildProfile` copied at creation, when it got a concurrency
slot (`start`, fixed by the model once that moment has passed) and when it was cancelled.
"""

from __future__ import annotations

import math
import re
import secrets
import uuid
from dataclasses import dataclass, field

from .envelope import JSON

STATUSES = ("queued", "initializing", "running", "stopped")  # §5.2, in lifecycle order
OUTCOMES = ("success", "fail", "cancelled", "terminated", "skipped")  # two l's (trap 7)
SOURCE_API, SOURCE_HOOK = "api", "deploy_hook"  # `build_trigger_source` (§4.1 guess, §4.3)

# §10. 12000 is only the schema's example for "not found" (UNCONFIRMED, §13 item 14).
CODE_NOT_FOUND, MSG_NOT_FOUND = 12000, "Not found"
CODE_BAD_BODY, MSG_BAD_BODY = 12002, "Invalid request body"
CODE_NO_CONFIG = 12040
MSG_NO_CONFIG = "No build configuration associated with that script tag was found for this account"
# UNCONFIRMED: the Workers Scripts API's not-found errors, not covered by the reference.
CODE_SCRIPT_NOT_FOUND, MSG_SCRIPT_NOT_FOUND = 10007, "workers.api.error.script_not_found"
CODE_SERVICE_NOT_FOUND, MSG_SERVICE_NOT_FOUND = 10090, "workers.api.error.service_not_found"
# UNCONFIRMED (§1.5, §13 item 5): the deploy-hook 429 body is not documented. The fake reuses
# the global rate-limit code 971 with a message of its own.
CODE_HOOK_RATE_LIMITED = 971
MSG_HOOK_RATE_LIMITED = (
    "Too many deploy hook builds: at most {per_worker} per Worker and {per_account} per account "
    "in {window:g} seconds"
)

MAX_BATCH_IDS = 20  # `external_script_ids` / `version_ids` per call (§1.4)
DEFAULT_CONCURRENCY = 6  # paid plan (§9); 1 on Free
DEFAULT_PER_PAGE = 50  # UNCONFIRMED (§1.4): the [API] example shows 50
MAX_PER_PAGE = 100  # UNCONFIRMED: no documented maximum
DEFAULT_LOG_PAGE_SIZE = 100  # UNCONFIRMED (§7): page size is not documented
HOOK_NAME_MAX = 58  # "Deploy hook name (1-58 characters)." (§8)

# How a build's `duration` is split (UNCONFIRMED; real builds spend seconds to minutes in each):
QUEUED_SHARE, INITIALIZING_SHARE, RUNNING_SHARE = 0.2, 0.2, 0.6


def new_tag() -> str:
    """A Worker tag: 32 hex characters, no dashes (§1.1)."""
    return uuid.uuid4().hex


def new_uuid() -> str:
    """A trigger, build, token, connection, hook, version or deployment id: a dashed UUID."""
    return str(uuid.uuid4())


def branch_matches(branch: str, includes: list[str], excludes: list[str]) -> bool:
    """Does a trigger with these patterns build `branch`? `*` matches any run of characters
    (UNCONFIRMED beyond the documented `["*"]` / `[<branch>]` examples, §3.3)."""

    def hit(pattern: str) -> bool:
        regex = ".*".join(re.escape(part) for part in pattern.split("*"))
        return re.fullmatch(regex, branch) is not None

    return any(hit(p) for p in includes) and not any(hit(p) for p in excludes)


@dataclass
class WorkerBuildProfile:
    """How a new build goes: seconds from queued to stopped (when a slot is free at once),
    the final `build_outcome`, and optionally the exact log lines it prints."""

    duration: float = 0.0
    outcome: str = "success"
    log_lines: list[str] | None = None

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")
        if not math.isfinite(self.duration) or self.duration < 0:
            raise ValueError(f"duration must be >= 0, got {self.duration!r}")
        if self.log_lines is not None and not all(isinstance(x, str) for x in self.log_lines):
            raise ValueError("log_lines must be a list of strings")

    @property
    def queued_for(self) -> float:
        """The least time a build waits in `queued`, even with a free slot."""
        return self.duration * QUEUED_SHARE

    @property
    def initializing_for(self) -> float:
        return self.duration * INITIALIZING_SHARE

    @property
    def running_for(self) -> float:
        return self.duration * RUNNING_SHARE

    @property
    def skipped(self) -> bool:
        return self.outcome == "skipped"

    def as_json(self) -> JSON:
        return {"duration": self.duration, "outcome": self.outcome, "log_lines": self.log_lines}


@dataclass
class Trigger:
    """One of a connected Worker's two triggers (§3.3). `production` is the fake's own note:
    the API has no such flag (trap 9), clients tell the two apart by their branch patterns."""

    worker_tag: str
    name: str
    production: bool
    branch_includes: list[str]
    branch_excludes: list[str]
    deploy_command: str
    created: float
    build_command: str = "npm run build"
    root_directory: str = "/"
    path_includes: list[str] = field(default_factory=lambda: ["*"])
    path_excludes: list[str] = field(default_factory=list)
    build_caching_enabled: bool = True
    uuid: str = field(default_factory=new_uuid)


@dataclass
class Worker:
    """A Worker script, keyed by its tag, with the build configuration of §3.2 when
    `connected` (a Worker not connected to Workers Builds has no triggers and answers 12040)."""

    name: str
    tag: str
    production_branch: str
    connected: bool
    created: float
    triggers: list[Trigger] = field(default_factory=list)
    repo_connection_uuid: str = field(default_factory=new_uuid)
    build_token_uuid: str = field(default_factory=new_uuid)
    build_token_name: str = "Workers Builds token"
    initial_version_id: str = field(default_factory=new_uuid)  # the upload before any build
    initial_deployment_id: str = field(default_factory=new_uuid)


@dataclass
class WorkerBuild:
    """One build. `trigger_json` is the trigger as it was when the build was created, without
    its build-token fields (§5.2)."""

    worker_tag: str
    trigger_uuid: str
    trigger_json: JSON
    production: bool
    branch: str
    source: str
    created: float
    profile: WorkerBuildProfile
    seq: int
    build_command: str
    deploy_command: str
    root_directory: str
    hook_uuid: str | None = None
    commit_hash: str = field(default_factory=lambda: secrets.token_hex(20))
    commit_message: str = "Update content"
    author: str = "fake-author@example.com"
    uuid: str = field(default_factory=new_uuid)
    version_id: str = field(default_factory=new_uuid)  # given out only if the build succeeds
    deployment_id: str = field(default_factory=new_uuid)  # a production success deploys
    start: float | None = None  # when it got a slot (= initializing_on); None while queued
    cancelled_at: float | None = None

    @property
    def running_at(self) -> float | None:
        return None if self.start is None else self.start + self.profile.initializing_for

    @property
    def natural_end(self) -> float | None:
        """When it stops if nobody cancels it; None while still queued."""
        if self.start is None:
            return None
        return self.start + self.profile.initializing_for + self.profile.running_for

    @property
    def end(self) -> float | None:
        """When it stops (or stopped); None while that is not known yet (still queued)."""
        if self.profile.skipped:
            return self.created
        if self.cancelled_at is not None:
            return self.cancelled_at
        return self.natural_end

    def status(self, now: float) -> str:
        end = self.end
        if end is not None and end <= now:
            return "stopped"
        if self.start is None or self.start > now:
            return "queued"
        running_at = self.running_at
        return "running" if running_at is not None and running_at <= now else "initializing"

    def outcome(self, now: float) -> str | None:
        """`build_outcome`: null until stopped (trap 7)."""
        if self.status(now) != "stopped":
            return None
        return "cancelled" if self.cancelled_at is not None else self.profile.outcome

    def succeeded(self, now: float) -> bool:
        return self.outcome(now) == "success"

    def stamps(self, now: float) -> tuple[float | None, float | None, float | None]:
        """`initializing_on`, `running_on`, `stopped_on` as seen at `now` (None: not yet)."""
        end = self.end
        stopped = end if end is not None and end <= now else None
        limit = now if stopped is None else stopped
        initializing = self.start if self.start is not None and self.start <= limit else None
        running_at = self.running_at
        # a build cancelled while queued or initializing never got to the later stamps
        running = running_at if running_at is not None and running_at <= limit else None
        return initializing, running, stopped


@dataclass
class WorkerHook:
    """A Workers Builds deploy hook (§8): it builds one branch of one Worker."""

    worker_tag: str
    name: str
    branch: str
    created: float
    modified: float
    uuid: str = field(default_factory=new_uuid)
    latest_build: float | None = None  # `latest_build.created_on` of the last build it started
