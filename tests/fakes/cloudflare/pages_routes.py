"""The Cloudflare Pages endpoints under `/client/v4`: the deployments API of the Pages
reference §2 and the deploy hook of §3.1 (`shared/reference/cloudflare-pages-api.md`)."""

from __future__ import annotations

import time

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .envelope import CODE_UNKNOWN, ApiError, envelope
from .pages_objects import (
    CODE_LIST_OPTIONS,
    DEPLOYMENTS_MAX_PER_PAGE,
    MSG_LIST_OPTIONS,
    PROJECTS_MAX_PER_PAGE,
    paginate,
)
from .services import FakeServices

# UNCONFIRMED (Pages reference §3.1): the answer for an unknown deploy hook.
CODE_HOOK_NOT_FOUND, MSG_HOOK_NOT_FOUND = CODE_UNKNOWN, "Deploy hook not found."
PROJECT = "/accounts/{account_id}/pages/projects/{project_name}"
DEPLOYMENT = PROJECT + "/deployments/{deployment_id}"
HOOK = "/pages/webhooks/deploy_hooks/{hook_id}"  # real, but in no schema (Pages reference §3.1)


def pages_hook_path(hook_id: str) -> str:
    """A Pages deploy hook's path under `/client/v4`."""
    return HOOK.replace("{hook_id}", hook_id)


class PagesApi:
    """The Pages handlers; `routes()` lists them with their paths as in pages-openapi.json."""

    def __init__(self, services: FakeServices) -> None:
        self.services = services
        self.state = services.pages

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/accounts/{account_id}/pages/projects", self.list_projects, methods=["GET"]),
            Route(PROJECT, self.get_project, methods=["GET"]),
            Route(PROJECT + "/deployments", self.list_deployments, methods=["GET"]),
            Route(PROJECT + "/deployments", self.create_deployment, methods=["POST"]),
            Route(DEPLOYMENT, self.get_deployment, methods=["GET"]),
            Route(DEPLOYMENT, self.delete_deployment, methods=["DELETE"]),
            Route(DEPLOYMENT + "/retry", self.retry_deployment, methods=["POST"]),
            Route(DEPLOYMENT + "/rollback", self.rollback_deployment, methods=["POST"]),
            Route(DEPLOYMENT + "/history/logs", self.deployment_logs, methods=["GET"]),
            Route(HOOK, self.deploy_hook, methods=["POST"]),
        ]

    def _authorize(self, request: Request) -> None:
        self.services.credentials.require(request)

    async def list_projects(self, request: Request) -> Response:
        self._authorize(request)
        now = time.time()
        with self.state.lock:
            items = [self.state.render_project(p, now) for p in self.state.projects.values()]
        query = request.query_params
        page, info = paginate(
            items, query.get("page"), query.get("per_page"), PROJECTS_MAX_PER_PAGE
        )
        return envelope(page, result_info=info)

    async def get_project(self, request: Request) -> Response:
        self._authorize(request)
        with self.state.lock:
            project = self.state.project(request.path_params["project_name"])
            return envelope(self.state.render_project(project, time.time()))

    async def list_deployments(self, request: Request) -> Response:
        self._authorize(request)
        query, now = request.query_params, time.time()
        env = query.get("env")
        if env not in (None, "production", "preview"):  # our choice: an enum violation
            raise ApiError(400, CODE_LIST_OPTIONS, MSG_LIST_OPTIONS)
        with self.state.lock:
            self.state.advance(now)
            deps = self.state.listing(request.path_params["project_name"], env)
            items = [self.state.render(d, now) for d in deps]
        page, info = paginate(
            items, query.get("page"), query.get("per_page"), DEPLOYMENTS_MAX_PER_PAGE
        )
        return envelope(page, result_info=info)

    async def create_deployment(self, request: Request) -> Response:
        self._authorize(request)
        name = request.path_params["project_name"]
        with self.state.lock:
            self.state.project(name)
        branch = await read_branch(request)
        now = time.time()
        dep = self.state.create(name, branch, "ad_hoc", now)
        self.services.note(request, deployment_id=dep.id)
        return envelope(self.state.render(dep, now, fresh=True))

    async def get_deployment(self, request: Request) -> Response:
        self._authorize(request)
        params, now = request.path_params, time.time()
        with self.state.lock:
            self.state.advance(now)
            dep = self.state.deployment(params["project_name"], params["deployment_id"])
            return envelope(self.state.render(dep, now))

    async def delete_deployment(self, request: Request) -> Response:
        self._authorize(request)
        params = request.path_params
        force = request.query_params.get("force", "").lower() == "true"
        self.state.delete(params["project_name"], params["deployment_id"], force, time.time())
        return envelope(None)

    async def retry_deployment(self, request: Request) -> Response:
        """A new deployment (new id) of the same branch and commit (Pages reference §10)."""
        self._authorize(request)
        params, now = request.path_params, time.time()
        with self.state.lock:
            old = self.state.deployment(params["project_name"], params["deployment_id"])
            dep = self.state.create(old.project_name, old.branch, old.trigger_type, now, like=old)
            return envelope(self.state.render(dep, now, fresh=True))

    async def rollback_deployment(self, request: Request) -> Response:
        self._authorize(request)
        params, now = request.path_params, time.time()
        with self.state.lock:
            dep = self.state.rollback(params["project_name"], params["deployment_id"], now)
            return envelope(self.state.render(dep, now))

    async def deployment_logs(self, request: Request) -> Response:
        self._authorize(request)
        params, now = request.path_params, time.time()
        with self.state.lock:
            dep = self.state.deployment(params["project_name"], params["deployment_id"])
            return envelope(self.state.logs(dep, now))

    async def deploy_hook(self, request: Request) -> Response:
        """No auth; the body and its content type are ignored (Pages reference §3.1)."""
        hook = self.state.hooks.get(request.path_params["hook_id"])
        if hook is None:
            raise ApiError(404, CODE_HOOK_NOT_FOUND, MSG_HOOK_NOT_FOUND)
        await request.body()
        dep = self.state.create(hook.project, hook.branch, "deploy_hook", time.time())
        self.services.note(request, deployment_id=dep.id)
        return envelope({"id": dep.id})


async def read_branch(request: Request) -> str | None:
    """`branch` from a multipart body; None (production branch) for an empty body.

    The reference's own docs example POSTs `Content-Type: application/json` with no body, so an
    empty body is accepted whatever its content type. A non-empty body that is not multipart
    gets 400 with code 8000000: the real code for this is unknown.
    """
    body = await request.body()
    mime = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not body.strip():
        return None
    if mime != "multipart/form-data":
        message = f"Content-Type {mime or '(none)'!r} is not supported: send multipart/form-data"
        raise ApiError(400, CODE_UNKNOWN, message)
    try:
        form = await request.form()
    except (HTTPException, MultiPartException) as exc:
        raise ApiError(400, CODE_UNKNOWN, "Malformed multipart/form-data body") from exc
    branch = form.get("branch")
    return branch.strip() or None if isinstance(branch, str) else None
