"""Records and JSON shapes of the fake Cloudflare Pages API: no state, no HTTP.

Section numbers refer to `shared/reference/cloudflare-pages-api.md`: error codes and messages
(§7), the Deployment object (§4.1) and its stages (§4.2), the Project object (§5), build logs
(§2.7) and pagination (§1.3).
"""

from __future__ import annotations

import math
import re
import secrets
import uuid
from dataclasses import dataclass, field

from .envelope import CODE_UNKNOWN, JSON, ApiError
from .times import iso

STAGE_NAMES = ("queued", "initialize", "clone_repo", "build", "deploy")
OUTCOMES = ("success", "failure", "canceled", "skipped")
TRIGGER_TYPES = ("github:push", "ad_hoc", "deploy_hook")

# Reference §4.1: the exact key set of a Deployment object.
DEPLOYMENT_FIELDS = (
    "id",
    "short_id",
    "project_id",
    "project_name",
    "environment",
    "url",
    "created_on",
    "modified_on",
    "aliases",
    "latest_stage",
    "stages",
    "deployment_trigger",
    "build_config",
    "env_vars",
    "source",
    "is_skipped",
    "skip_reason",
    "uses_functions",
)
# Reference §5: the key set of a Project object.
PROJECT_FIELDS = (
    "id",
    "name",
    "subdomain",
    "domains",
    "production_branch",
    "canonical_deployment",
    "latest_deployment",
    "created_on",
    "build_config",
    "source",
    "deployment_configs",
    "framework",
    "framework_version",
    "preview_script_name",
    "production_script_name",
    "uses_functions",
)

# Reference §7, verbatim where the reference quotes a message.
# Authentication (10000), no route (7003), rate limit (971) and unknown (8000000) are shared
# with Workers Builds: see `auth.py` and `envelope.py`.
CODE_PROJECT_NOT_FOUND = 8000007
MSG_PROJECT_NOT_FOUND = (
    "Project not found. The specified project name does not match any of your existing projects."
)
CODE_DEPLOYMENT_NOT_FOUND = 8000009
MSG_DEPLOYMENT_NOT_FOUND = (  # the trailing space is in the recorded message
    "The deployment ID you have specified does not exist. Update the deployment ID and try again. "
)
CODE_LIST_OPTIONS = 8000024
MSG_LIST_OPTIONS = "Invalid list options provided. Review the `page` or `per_page` parameter."
CODE_ALIASED = 8000035
MSG_ALIASED = (
    "You cannot delete an aliased deployment without a `?force=true` parameter in the API "
    "request URL."
)
# UNCONFIRMED (reference §2.4 and §10 item 1): nothing primary documents the error for deleting
# the live production deployment. This default is an invention; change it with
# `PagesState.canonical_delete_error` (control API `POST /__fake__/canonical_delete_error`).
CANONICAL_DELETE_ERROR = (400, CODE_UNKNOWN, "Cannot delete the active production deployment")
# UNCONFIRMED: error for rolling back to a deployment that is not a successful production build.
MSG_ROLLBACK = "You can only rollback to successful builds on production."

DEPLOYMENTS_MAX_PER_PAGE = 25  # reference §1.3
PROJECTS_MAX_PER_PAGE = 100  # UNCONFIRMED: no documented maximum for list projects


def alias_label(branch: str) -> str:
    """Branch alias (reference §4.1): lower-cased, every non-alphanumeric character becomes `-`."""
    return re.sub(r"[^a-z0-9]", "-", branch.lower())


@dataclass
class BuildProfile:
    """How a new build progresses: total seconds from queued to final, and the final outcome."""

    duration: float = 0.0
    outcome: str = "success"
    fail_stage: str = "build"

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {OUTCOMES}, got {self.outcome!r}")
        if self.fail_stage not in STAGE_NAMES:
            raise ValueError(f"fail_stage must be one of {STAGE_NAMES}, got {self.fail_stage!r}")
        if not math.isfinite(self.duration) or self.duration < 0:
            raise ValueError(f"duration must be >= 0, got {self.duration!r}")

    @property
    def last_stage(self) -> int:
        """Index of the stage the build ends on."""
        if self.outcome in ("failure", "canceled"):
            return STAGE_NAMES.index(self.fail_stage)
        return len(STAGE_NAMES) - 1

    @property
    def step(self) -> float:
        return self.duration / len(STAGE_NAMES)

    @property
    def run_length(self) -> float:
        """Seconds a build holds a concurrency slot."""
        return self.step * (self.last_stage + 1)


@dataclass
class Project:
    name: str
    production_branch: str
    subdomain: str
    domains: list[str]
    created: float
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    # alias label -> (deployment id, time it got the alias)
    alias_holders: dict[str, tuple[str, float]] = field(default_factory=dict)
    canonical: tuple[str, float] | None = None  # (deployment id, time it became live)

    def alias_url(self, branch: str) -> str:
        return f"https://{alias_label(branch)}.{self.subdomain}"

    def build_config(self) -> JSON:
        return {
            "build_command": "npm run build",
            "destination_dir": "public",
            "root_dir": "",
            "build_caching": True,
            "web_analytics_tag": None,
            "web_analytics_token": None,
        }

    def source(self) -> JSON:
        return {
            "type": "github",
            "config": {
                "owner": "fake-owner",
                "owner_id": "100001",
                "repo_name": self.name,
                "repo_id": "200002",
                "production_branch": self.production_branch,
                "pr_comments_enabled": True,
                "deployments_enabled": True,
                "production_deployments_enabled": True,
                "preview_deployment_setting": "all",
                "preview_branch_includes": ["*"],
                "preview_branch_excludes": [],
                "path_includes": ["*"],
                "path_excludes": [],
            },
        }

    def deployment_config(self) -> JSON:
        return {
            "compatibility_date": "2024-01-01",
            "compatibility_flags": [],
            "env_vars": {"NODE_VERSION": {"type": "plain_text", "value": "20"}},
            "fail_open": True,
            "always_use_latest_compatibility_date": False,
            "build_image_major_version": 2,
            "usage_model": "standard",
        }


@dataclass
class Deployment:
    project_name: str
    branch: str
    environment: str
    trigger_type: str
    created: float
    profile: BuildProfile
    seq: int
    commit_hash: str = field(default_factory=lambda: secrets.token_hex(20))
    commit_message: str = "Update content"
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    seeded: bool = False
    start: float | None = None  # when the build got a slot; None while waiting in the queue
    final_at: float | None = None  # set when the build is settled
    aliases: list[str] | None = None

    @property
    def skipped(self) -> bool:
        return self.profile.outcome == "skipped"

    @property
    def needs_slot(self) -> bool:
        return not (self.skipped or self.seeded)

    @property
    def succeeded(self) -> bool:
        return self.final_at is not None and self.profile.outcome == "success"


@dataclass
class Hook:
    id: str
    project: str
    branch: str
    name: str


def _stage(name: str, status: str, started: float | None, ended: float | None) -> JSON:
    return {
        "name": name,
        "status": status,
        "started_on": None if started is None else iso(started),
        "ended_on": None if ended is None else iso(ended),
    }


def stage_view(dep: Deployment, now: float, *, fresh: bool = False) -> tuple[list[JSON], float]:
    """The five stages of `dep` as seen at `now`, and the last time anything changed.

    `fresh` renders the snapshot of the create response: queued/active, all else idle.
    A skipped deployment (UNCONFIRMED shape) ends at once on `queued` with status `canceled`.
    """
    idle = [_stage(name, "idle", None, None) for name in STAGE_NAMES[1:]]
    if fresh:
        return [_stage("queued", "active", dep.created, None), *idle], dep.created
    if dep.skipped:
        return [_stage("queued", "canceled", dep.created, dep.created), *idle], dep.created
    profile, start = dep.profile, dep.start
    stages: list[JSON] = []
    modified = dep.created
    for i, name in enumerate(STAGE_NAMES):
        began = dep.created if i == 0 else None if start is None else start + i * profile.step
        ended = None if start is None else start + (i + 1) * profile.step
        if i > profile.last_stage or began is None or began > now:
            stages.append(_stage(name, "idle", None, None))
        elif ended is None or ended > now:
            stages.append(_stage(name, "active", began, None))
            modified = max(modified, began)
        else:
            final = "success" if i < profile.last_stage else profile.outcome
            stages.append(_stage(name, final, began, ended))
            modified = max(modified, ended)
    return stages, modified


def latest_stage(stages: list[JSON]) -> JSON:
    """The current stage: the last one that is not idle."""
    current = [s for s in stages if s["status"] != "idle"]
    return dict(current[-1] if current else stages[0])


def _page_params(page: str | None, per_page: str | None, maximum: int) -> tuple[int, int]:
    try:
        page_n = 1 if page is None else int(page)
        size = DEPLOYMENTS_MAX_PER_PAGE if per_page is None else int(per_page)
    except ValueError:
        raise ApiError(400, CODE_LIST_OPTIONS, MSG_LIST_OPTIONS) from None
    if page_n < 1 or size < 1 or size > maximum:
        raise ApiError(400, CODE_LIST_OPTIONS, MSG_LIST_OPTIONS)
    return page_n, size


def paginate(
    items: list[JSON], page: str | None, per_page: str | None, maximum: int
) -> tuple[list[JSON], JSON]:
    """One page of `items` and its `result_info` (reference §1.3)."""
    page_n, size = _page_params(page, per_page, maximum)
    chunk = items[(page_n - 1) * size : page_n * size]
    info = {
        "page": page_n,
        "per_page": size,
        "count": len(chunk),
        "total_count": len(items),
        "total_pages": math.ceil(len(items) / size),
    }
    return chunk, info


def render_deployment(
    dep: Deployment, project: Project, now: float, *, fresh: bool = False
) -> JSON:
    """The Deployment object of reference §4.1 (exactly `DEPLOYMENT_FIELDS`)."""
    stages, modified = stage_view(dep, now, fresh=fresh)
    short_id = dep.id[:8]
    config = project.deployment_config()
    return {
        "id": dep.id,
        "short_id": short_id,
        "project_id": project.id,
        "project_name": project.name,
        "environment": dep.environment,
        "url": f"https://{short_id}.{project.subdomain}",
        "created_on": iso(dep.created),
        "modified_on": iso(modified),
        "aliases": None if fresh or dep.aliases is None else list(dep.aliases),
        "latest_stage": latest_stage(stages),
        "stages": stages,
        "deployment_trigger": {
            "type": dep.trigger_type,
            "metadata": {
                "branch": dep.branch,
                "commit_hash": dep.commit_hash,
                "commit_message": dep.commit_message,
                "commit_dirty": False,
            },
        },
        "build_config": project.build_config(),
        "env_vars": config["env_vars"],
        "source": project.source(),
        "is_skipped": dep.skipped,
        # UNCONFIRMED which reason a real skip reports; the relay only needs is_skipped.
        "skip_reason": "branch_config" if dep.skipped else None,
        "uses_functions": False,
    }


def render_project(project: Project, canonical: JSON | None, latest: JSON | None) -> JSON:
    """The Project object of reference §5 (exactly `PROJECT_FIELDS`)."""
    return {
        "id": project.id,
        "name": project.name,
        "subdomain": project.subdomain,
        "domains": list(project.domains),
        "production_branch": project.production_branch,
        "canonical_deployment": canonical,
        "latest_deployment": latest,
        "created_on": iso(project.created),
        "build_config": project.build_config(),
        "source": project.source(),
        "deployment_configs": {
            "preview": project.deployment_config(),
            "production": project.deployment_config(),
        },
        "framework": "",
        "framework_version": "",
        "preview_script_name": f"pages-worker--{project.id[:7]}-preview",
        "production_script_name": f"pages-worker--{project.id[:7]}-production",
        "uses_functions": False,
    }


_LOG_LINES = {
    "queued": ["Queued for build"],
    "initialize": ["Initializing build environment..."],
    "clone_repo": ["Cloning repository...", "HEAD is now at {commit}"],
    "build": ["Executing user command: npm run build"],
    "deploy": ["Deploying your site to Cloudflare's global network..."],
}
_LOG_OUTCOMES = {
    "success": "Success: finished {name}",
    "failure": "Failed: error occurred during {name}",
    "canceled": "Canceled during {name}",
}


def render_logs(dep: Deployment, now: float) -> JSON:
    """`history/logs` result (reference §2.7): a few lines per stage reached so far."""
    stages, _ = stage_view(dep, now)
    lines: list[JSON] = []
    for stage in stages:
        if stage["started_on"] is not None:
            for text in _LOG_LINES[stage["name"]]:
                line = text.format(commit=dep.commit_hash[:7])
                lines.append({"ts": stage["started_on"], "line": line})
        if stage["ended_on"] is not None and stage["status"] in _LOG_OUTCOMES:
            line = _LOG_OUTCOMES[stage["status"]].format(name=stage["name"])
            lines.append({"ts": stage["ended_on"], "line": line})
    return {"total": len(lines), "includes_container_logs": True, "data": lines}
