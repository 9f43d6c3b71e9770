"""The Workers Builds endpoints under `/client/v4`, and the three Workers Scripts endpoints a
Builds client needs to find a Worker's tag and its live version.

Paths and their parameter names are exactly those of workers-builds-openapi.json, so the
schema test can compare them verbatim. Section numbers refer to
`shared/reference/workers-builds-api.md`. Every Builds path wants the user-scoped token
(`Credentials.require_builds`, 12006 otherwise); the Scripts paths accept the account-scoped one
too; the deploy-hook trigger needs no credentials at all.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .envelope import JSON, ApiError, envelope
from .services import FakeServices
from .times import iso
from .workers_logs import logs_page, printed_lines
from .workers_objects import (
    CODE_BAD_BODY,
    CODE_NO_CONFIG,
    CODE_SCRIPT_NOT_FOUND,
    CODE_SERVICE_NOT_FOUND,
    DEFAULT_PER_PAGE,
    HOOK_NAME_MAX,
    MAX_BATCH_IDS,
    MAX_PER_PAGE,
    MSG_BAD_BODY,
    MSG_NO_CONFIG,
    MSG_SCRIPT_NOT_FOUND,
    MSG_SERVICE_NOT_FOUND,
    Worker,
)
from .workers_render import (
    render_hook,
    render_script,
    render_service,
    render_trigger,
    render_worker_config,
)

Endpoint = Callable[[Request], Awaitable[Response]]
ACCOUNT = "/accounts/{account_id}"
BUILDS = ACCOUNT + "/builds"
HOOKS = BUILDS + "/workers/{script_name}/deploy_hooks"
# Real paths that are not in the Builds schema subset (reference §3.1 and §4.1)
SCRIPTS = ACCOUNT + "/workers/scripts"
SERVICE = ACCOUNT + "/workers/services/{service_name}"
SCRIPT_DEPLOYMENTS = ACCOUNT + "/workers/scripts/{script_name}/deployments"


def bad_body() -> ApiError:
    """400/12002, the one documented validation error (§10)."""
    return ApiError(400, CODE_BAD_BODY, MSG_BAD_BODY)


async def read_object(request: Request) -> JSON:
    """A JSON object body; anything else is 400/12002. The content type is not checked."""
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise bad_body() from None
    if not isinstance(body, dict):
        raise bad_body()
    return body


def optional_string(body: JSON, key: str) -> str | None:
    """`body[key]` if it is a non-empty string, None if absent or null, else 400/12002."""
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise bad_body()
    return value.strip()


def id_list(request: Request, name: str) -> list[str]:
    """A required comma-separated query list of at most 20 ids (§1.4); else 400/12002."""
    ids = [part.strip() for part in request.query_params.get(name, "").split(",")]
    ids = [part for part in ids if part]
    if not ids or len(ids) > MAX_BATCH_IDS:
        raise bad_body()
    return ids


def page_params(request: Request) -> tuple[int, int]:
    """`page` (default 1) and `per_page` (default 50, at most 100: UNCONFIRMED, §1.4)."""
    query = request.query_params
    try:
        page = int(query.get("page", "1"))
        per_page = int(query.get("per_page", str(DEFAULT_PER_PAGE)))
    except ValueError:
        raise bad_body() from None
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise bad_body()
    return page, per_page


def hook_body(body: JSON) -> tuple[str, str]:
    """`builds_CreateDeployHookRequest`: `deploy_hook_name` (1-58 characters) and `branch`,
    both required, for create and for PUT (§8)."""
    name, branch = body.get("deploy_hook_name"), body.get("branch")
    if not isinstance(name, str) or not 1 <= len(name) <= HOOK_NAME_MAX:
        raise bad_body()
    if not isinstance(branch, str) or not 1 <= len(branch) <= 256:
        raise bad_body()
    return name, branch


class WorkersApi:
    """The Workers handlers; `routes()` lists them in matching order."""

    def __init__(self, services: FakeServices) -> None:
        self.services = services
        self.state = services.workers

    def routes(self) -> list[BaseRoute]:
        def route(path: str, method: str, endpoint: Endpoint) -> Route:
            return Route(path, endpoint, methods=[method])

        return [
            route(SCRIPTS, "GET", self.list_scripts),
            route(SERVICE, "GET", self.get_service),
            route(SCRIPT_DEPLOYMENTS, "GET", self.script_deployments),
            route(BUILDS + "/workers/{script_tag}", "GET", self.get_worker_config),
            route(BUILDS + "/workers/{external_script_id}/triggers", "GET", self.list_triggers),
            route(BUILDS + "/workers/{external_script_id}/builds", "GET", self.list_builds),
            route(BUILDS + "/triggers/{trigger_uuid}/builds", "POST", self.create_build),
            route(BUILDS + "/builds/latest", "GET", self.latest_builds),
            route(BUILDS + "/builds", "GET", self.builds_by_version),
            route(BUILDS + "/builds/{build_uuid}", "GET", self.get_build),
            route(BUILDS + "/builds/{build_uuid}/cancel", "PUT", self.cancel_build),
            route(BUILDS + "/builds/{build_uuid}/logs", "GET", self.build_logs),
            route(BUILDS + "/account/limits", "GET", self.account_limits),
            route(HOOKS, "GET", self.list_hooks),
            route(HOOKS, "POST", self.create_hook),
            route(HOOKS + "/{deploy_hook_uuid}", "GET", self.get_hook),
            route(HOOKS + "/{deploy_hook_uuid}", "PUT", self.update_hook),
            route(HOOKS + "/{deploy_hook_uuid}", "DELETE", self.delete_hook),
            route("/workers/builds/deploy_hooks/{deploy_hook_uuid}", "POST", self.trigger_hook),
        ]

    def _builds_auth(self, request: Request) -> None:
        self.services.credentials.require_builds(request)

    def _script(self, name: str, code: int, message: str) -> Worker:
        tag = self.state.names.get(name)
        if tag is None:
            raise ApiError(404, code, message)
        return self.state.workers[tag]

    def _known_tag(self, tag: str) -> Worker:
        """A Worker by tag for the list paths; a name or unknown tag is 404/12040 (trap 1),
        a Worker without Builds simply has no triggers or builds (UNCONFIRMED)."""
        worker = self.state.workers.get(tag)
        if worker is None:
            raise ApiError(404, CODE_NO_CONFIG, MSG_NO_CONFIG)
        return worker

    # -- Workers Scripts (§3.1, §4.1) --------------------------------------------------------

    async def list_scripts(self, request: Request) -> Response:
        self.services.credentials.require(request)
        with self.state.lock:
            return envelope([render_script(w) for w in self.state.workers.values()])

    async def get_service(self, request: Request) -> Response:
        self.services.credentials.require(request)
        with self.state.lock:
            name = request.path_params["service_name"]
            worker = self._script(name, CODE_SERVICE_NOT_FOUND, MSG_SERVICE_NOT_FOUND)
            return envelope(render_service(worker))

    async def script_deployments(self, request: Request) -> Response:
        self.services.credentials.require(request)
        with self.state.lock:
            name = request.path_params["script_name"]
            worker = self._script(name, CODE_SCRIPT_NOT_FOUND, MSG_SCRIPT_NOT_FOUND)
            deployments = self.state.script_deployments(worker, time.time())
            return envelope({"deployments": deployments})

    # -- configuration and triggers (§3) -----------------------------------------------------

    async def get_worker_config(self, request: Request) -> Response:
        self._builds_auth(request)
        with self.state.lock:
            return envelope(
                render_worker_config(self.state.by_tag(request.path_params["script_tag"]))
            )

    async def list_triggers(self, request: Request) -> Response:
        self._builds_auth(request)
        with self.state.lock:
            worker = self._known_tag(request.path_params["external_script_id"])
            return envelope([render_trigger(t, worker) for t in worker.triggers])

    # -- builds (§4.1, §5, §6, §7) -----------------------------------------------------------

    async def create_build(self, request: Request) -> Response:
        """`{branch?, commit_hash?}`, at least one (§4.1); `seed_repo` is ignored."""
        self._builds_auth(request)
        with self.state.lock:
            self.state.trigger(request.path_params["trigger_uuid"])  # 404 before the body
        body = await read_object(request)
        branch, commit = optional_string(body, "branch"), optional_string(body, "commit_hash")
        if branch is None and commit is None:
            raise bad_body()
        now = time.time()
        build = self.state.manual_build(request.path_params["trigger_uuid"], branch, commit, now)
        self.services.note(request, build_uuid=build.uuid)
        return envelope({"build_uuid": build.uuid, "created_on": iso(build.created)})

    async def get_build(self, request: Request) -> Response:
        self._builds_auth(request)
        now = time.time()
        with self.state.lock:
            build = self.state.build(request.path_params["build_uuid"])
            return envelope(self.state.render(build, now))

    async def list_builds(self, request: Request) -> Response:
        """Newest first (UNCONFIRMED order, §1.4), with `next_page` as Cloudflare's client
        requires."""
        self._builds_auth(request)
        page, per_page = page_params(request)
        now = time.time()
        with self.state.lock:
            worker = self._known_tag(request.path_params["external_script_id"])
            builds = self.state.builds_of(worker.tag, now)
            chunk = builds[(page - 1) * per_page : page * per_page]
            items = [self.state.render(b, now) for b in chunk]
        total_pages = math.ceil(len(builds) / per_page)
        info = {
            "count": len(items),
            "page": page,
            "per_page": per_page,
            "total_count": len(builds),
            "total_pages": total_pages,
            "next_page": page < total_pages,
        }
        return envelope(items, result_info=info)

    async def latest_builds(self, request: Request) -> Response:
        self._builds_auth(request)
        tags = id_list(request, "external_script_ids")
        return envelope({"builds": self.state.latest(tags, time.time())})

    async def builds_by_version(self, request: Request) -> Response:
        self._builds_auth(request)
        versions = id_list(request, "version_ids")
        return envelope({"builds": self.state.by_versions(versions, time.time())})

    async def cancel_build(self, request: Request) -> Response:
        """PUT, no body (trap 8)."""
        self._builds_auth(request)
        return envelope(self.state.cancel(request.path_params["build_uuid"], time.time()))

    async def build_logs(self, request: Request) -> Response:
        self._builds_auth(request)
        now = time.time()
        with self.state.lock:
            self.state.advance(now)
            build = self.state.build(request.path_params["build_uuid"])
            lines = printed_lines(build, self.state.worker_of(build).name, now)
            page_size = self.state.log_page_size
        return envelope(logs_page(lines, request.query_params.get("cursor"), page_size))

    async def account_limits(self, request: Request) -> Response:
        self._builds_auth(request)
        with self.state.lock:
            return envelope(dict(self.state.account_limits))

    # -- deploy hooks (§4.3, §8) -------------------------------------------------------------

    async def list_hooks(self, request: Request) -> Response:
        self._builds_auth(request)
        with self.state.lock:
            worker = self.state.by_script_name(request.path_params["script_name"])
            hooks = self.state.hooks.of(worker)
            return envelope([render_hook(h, worker, detailed=True) for h in hooks])

    async def create_hook(self, request: Request) -> Response:
        self._builds_auth(request)
        with self.state.lock:
            worker = self.state.by_script_name(request.path_params["script_name"])
        name, branch = hook_body(await read_object(request))
        with self.state.lock:
            hook = self.state.hooks.create(worker, name, branch, time.time())
            return envelope(render_hook(hook, worker))

    async def get_hook(self, request: Request) -> Response:
        self._builds_auth(request)
        params = request.path_params
        with self.state.lock:
            worker = self.state.by_script_name(params["script_name"])
            return envelope(
                render_hook(self.state.hooks.get(worker, params["deploy_hook_uuid"]), worker)
            )

    async def update_hook(self, request: Request) -> Response:
        self._builds_auth(request)
        params = request.path_params
        with self.state.lock:
            worker = self.state.by_script_name(params["script_name"])
            self.state.hooks.get(worker, params["deploy_hook_uuid"])
        name, branch = hook_body(await read_object(request))
        with self.state.lock:
            hook = self.state.hooks.update(
                worker, params["deploy_hook_uuid"], name, branch, time.time()
            )
            return envelope(render_hook(hook, worker))

    async def delete_hook(self, request: Request) -> Response:
        """Answers with the deleted hook, not null (§8, trap 12)."""
        self._builds_auth(request)
        params = request.path_params
        with self.state.lock:
            worker = self.state.by_script_name(params["script_name"])
            return envelope(
                render_hook(self.state.hooks.delete(worker, params["deploy_hook_uuid"]), worker)
            )

    async def trigger_hook(self, request: Request) -> Response:
        """No auth and no body (§4.3). A pending build of this hook comes back with
        `already_exists: true`; a new one is reported `queued`."""
        await request.body()
        now = time.time()
        build, existing = self.state.fire_hook(request.path_params["deploy_hook_uuid"], now)
        self.services.note(request, build_uuid=build.uuid, already_exists=existing)
        return envelope(
            {
                "already_exists": existing,
                "build_uuid": build.uuid,
                "created_on": iso(build.created),
                "status": build.status(now) if existing else "queued",
            }
        )
