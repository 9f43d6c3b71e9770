"""JSON shapes of the fake Workers Builds API and of the few Workers Scripts answers it needs.

Section numbers refer to `shared/reference/workers-builds-api.md`. Every object carries every
field its schema component lists (`builds_TriggerResponse`, `builds_BuildResponse`, ...), and a
Build carries every field Cloudflare's own MCP client requires (§5.2), with `null` rather than
absence for the stamps and the outcome of an unfinished build.
"""

from __future__ import annotations

from .envelope import JSON
from .times import iso, iso_or_none
from .workers_objects import Trigger, Worker, WorkerBuild, WorkerHook

PROVIDER_TYPE = "github"
PROVIDER_ACCOUNT = "fake-owner"
PROVIDER_ACCOUNT_ID = "100001"
TOKEN_FIELDS = ("build_token_uuid", "build_token_name")  # left out of `Build.trigger` (§5.2)


def repo_id(worker: Worker) -> str:
    """A stable numeric repository id, as GitHub gives them."""
    return str(200000 + int(worker.tag[:5], 16))


def environment_variables(worker: Worker) -> JSON:
    """Build variables in the response map form `{NAME: {created_on, is_secret, value}}`
    (§3.5); a secret reads back as null."""
    created = iso(worker.created)
    return {
        "NODE_VERSION": {"created_on": created, "is_secret": False, "value": "20"},
        "API_SECRET": {"created_on": created, "is_secret": True, "value": None},
    }


def render_repo_connection(worker: Worker) -> JSON:
    """`builds_UpsertRepoConnectionResponse`."""
    return {
        "created_on": iso(worker.created),
        "deleted_on": None,
        "modified_on": iso(worker.created),
        "provider_account_id": PROVIDER_ACCOUNT_ID,
        "provider_account_name": PROVIDER_ACCOUNT,
        "provider_type": PROVIDER_TYPE,
        "repo_connection_uuid": worker.repo_connection_uuid,
        "repo_id": repo_id(worker),
        "repo_name": worker.name,
    }


def render_trigger(trigger: Trigger, worker: Worker) -> JSON:
    """`builds_TriggerResponse` (§3.3): all its fields, the build token included."""
    return {
        "trigger_uuid": trigger.uuid,
        "trigger_name": trigger.name,
        "external_script_id": worker.tag,
        "branch_includes": list(trigger.branch_includes),
        "branch_excludes": list(trigger.branch_excludes),
        "path_includes": list(trigger.path_includes),
        "path_excludes": list(trigger.path_excludes),
        "build_command": trigger.build_command,
        "deploy_command": trigger.deploy_command,
        "root_directory": trigger.root_directory,
        "build_caching_enabled": trigger.build_caching_enabled,
        "build_token_uuid": worker.build_token_uuid,
        "build_token_name": worker.build_token_name,
        "repo_connection": render_repo_connection(worker),
        "created_on": iso(trigger.created),
        "modified_on": iso(trigger.created),
        "deleted_on": None,
    }


def trigger_without_token(trigger: Trigger, worker: Worker) -> JSON:
    """The trigger as a Build carries it: "Trigger information without build_token_uuid"."""
    full = render_trigger(trigger, worker)
    return {k: v for k, v in full.items() if k not in TOKEN_FIELDS}


def render_build(build: WorkerBuild, worker: Worker, now: float) -> JSON:
    """`builds_BuildResponse` as seen at `now` (§5.2, §5.3)."""
    initializing, running, stopped = build.stamps(now)
    modified = max(t for t in (build.created, initializing, running, stopped) if t is not None)
    return {
        "build_uuid": build.uuid,
        "status": build.status(now),
        "build_outcome": build.outcome(now),
        "created_on": iso(build.created),
        "initializing_on": iso_or_none(initializing),
        "running_on": iso_or_none(running),
        "stopped_on": iso_or_none(stopped),
        "modified_on": iso(modified),
        "build_trigger_metadata": {
            "build_trigger_source": build.source,
            "branch": build.branch,
            "commit_hash": build.commit_hash,
            "commit_message": build.commit_message,
            "author": build.author,
            "build_command": build.build_command,
            "deploy_command": build.deploy_command,
            "root_directory": build.root_directory,
            "build_token_uuid": worker.build_token_uuid,
            "build_token_name": worker.build_token_name,
            # UNCONFIRMED: the schema says map -> string, Cloudflare's client map -> object;
            # the fake sends objects, which the strict client parses.
            "environment_variables": environment_variables(worker),
            "provider_type": PROVIDER_TYPE,
            "provider_account_name": PROVIDER_ACCOUNT,
            "repo_name": worker.name,
        },
        "trigger": dict(build.trigger_json),
        "pull_request": None,
    }


def render_worker_config(worker: Worker) -> JSON:
    """`builds_WorkerResponse` (§3.2): the repository and the production settings."""
    production = worker.triggers[0]
    return {
        "script_tag": worker.tag,
        "git_repository": {
            "branch": worker.production_branch,
            "grant_id": None,
            "provider_account_id": PROVIDER_ACCOUNT_ID,
            "provider_account_name": PROVIDER_ACCOUNT,
            "provider_type": PROVIDER_TYPE,
            "repo_id": repo_id(worker),
            "repo_name": worker.name,
        },
        "production_settings": {
            "build_caching_enabled": production.build_caching_enabled,
            "build_command": production.build_command,
            "build_token_uuid": worker.build_token_uuid,
            "deploy_command": production.deploy_command,
            "environment_variables": environment_variables(worker),
            "path_excludes": list(production.path_excludes),
            "path_includes": list(production.path_includes),
            "root_directory": production.root_directory,
        },
    }


def render_hook(hook: WorkerHook, worker: Worker, *, detailed: bool = False) -> JSON:
    """`builds_DeployHookResponse`, or with `detailed` the list form that adds
    `latest_build` (`builds_DetailedDeployHookResponse`, §8). No URL field (§8)."""
    body: JSON = {
        "deploy_hook_uuid": hook.uuid,
        "deploy_hook_name": hook.name,
        "branch": hook.branch,
        "external_script_id": worker.tag,
        "created_on": iso(hook.created),
        "modified_on": iso(hook.modified),
    }
    if detailed:
        latest = hook.latest_build
        body["latest_build"] = None if latest is None else {"created_on": iso(latest)}
    return body


def render_script(worker: Worker) -> JSON:
    """One entry of `GET /accounts/{a}/workers/scripts`: `id` is the name, `tag` the tag
    (§3.1). The other fields are a plausible subset of the Workers Scripts object."""
    return {
        "id": worker.name,
        "tag": worker.tag,
        "etag": worker.tag[::-1],
        "handlers": ["fetch"],
        "compatibility_date": "2025-01-01",
        "compatibility_flags": [],
        "usage_model": "standard",
        "has_assets": False,
        "has_modules": True,
        "logpush": False,
        "created_on": iso(worker.created),
        "modified_on": iso(worker.created),
    }


def render_service(worker: Worker) -> JSON:
    """`GET /accounts/{a}/workers/services/{name}`: the tag is in
    `default_environment.script_tag` (§3.1)."""
    created = iso(worker.created)
    return {
        "id": worker.name,
        "default_environment": {
            "environment": "production",
            "script_tag": worker.tag,
            "script": render_script(worker),
            "created_on": created,
            "modified_on": created,
        },
        "created_on": created,
        "modified_on": created,
    }


def render_script_deployment(deployment_id: str, version_id: str, at: float) -> JSON:
    """One entry of `GET /accounts/{a}/workers/scripts/{name}/deployments` (§4.1 recipe):
    all traffic on one version."""
    return {
        "id": deployment_id,
        "created_on": iso(at),
        "source": "wrangler",
        "strategy": "percentage",
        "author_email": "fake-author@example.com",
        "annotations": {"workers/triggered_by": "upload"},
        "versions": [{"version_id": version_id, "percentage": 100}],
    }
