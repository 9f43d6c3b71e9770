"""The HTTP side of the fake: the `/client/v4` routes and the traffic layer in front of them.

`TrafficLayer` is the outermost ASGI app. For every request outside `/__fake__` it logs the
call, applies a queued fault (delay, an error status, or dropping the connection), applies the
rate limit, and adds the `Ratelimit` headers. `PagesApi` holds the Cloudflare endpoints.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .pages_model import FakeState
from .pages_objects import (
    CODE_AUTH,
    CODE_LIST_OPTIONS,
    CODE_NO_ROUTE,
    CODE_RATE_LIMITED,
    CODE_UNKNOWN,
    DEPLOYMENTS_MAX_PER_PAGE,
    JSON,
    MSG_AUTH,
    MSG_LIST_OPTIONS,
    MSG_NO_ROUTE,
    MSG_RATE_LIMITED,
    PROJECTS_MAX_PER_PAGE,
    ApiError,
    paginate,
)
from .pages_traffic import CallLog, Fault, FaultQueue, RateLimiter

API_PREFIX = "/client/v4"
CONTROL_PREFIX = "/__fake__"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# UNCONFIRMED (reference §3.1): the answer for an unknown deploy hook.
CODE_HOOK_NOT_FOUND, MSG_HOOK_NOT_FOUND = CODE_UNKNOWN, "Deploy hook not found."
MAX_LOGGED_BODY = 64 * 1024

_PROJECT = r"/client/v4/accounts/[^/]+/pages/projects/(?P<project>[^/]+)"
CREATE_PATH = re.compile(_PROJECT + r"/deployments")
HOOK_PATH = re.compile(r"/client/v4/pages/webhooks/deploy_hooks/(?P<hook>[^/]+)")


@dataclass
class FakeServices:
    """Everything the fake's handlers share."""

    state: FakeState
    faults: FaultQueue
    limiter: RateLimiter
    calls: CallLog


def envelope(
    result: Any,
    *,
    status: int = 200,
    result_info: JSON | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A v4 success envelope (reference §1.2)."""
    body: JSON = {"success": True, "errors": [], "messages": [], "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return JSONResponse(body, status_code=status, headers=headers)


def error_response(
    status: int, errors: list[JSON], headers: dict[str, str] | None = None
) -> JSONResponse:
    """A v4 failure envelope (reference §1.2)."""
    body = {"success": False, "errors": errors, "messages": [], "result": None}
    return JSONResponse(body, status_code=status, headers=headers)


def api_error_response(request: Request, exc: Exception) -> Response:
    """Starlette exception handler turning `ApiError` into an envelope."""
    assert isinstance(exc, ApiError)
    return error_response(exc.status, [{"code": exc.code, "message": exc.message}])


def credentials_valid(headers: Any, token: str) -> bool:
    """`Authorization: Bearer <token>`, or `X-Auth-Email` (any) with `X-Auth-Key` == token."""
    auth = str(headers.get("authorization", ""))
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip() == token:
        return True
    return bool(headers.get("x-auth-email")) and headers.get("x-auth-key") == token


class PagesApi:
    """The `/client/v4` endpoints of reference §2 and the deploy hook of §3.1."""

    def __init__(self, services: FakeServices) -> None:
        self.services = services
        self.state = services.state

    def routes(self) -> list[BaseRoute]:
        project = "/accounts/{account_id}/pages/projects/{project_name}"
        deployment = project + "/deployments/{deployment_id}"
        return [
            Route("/accounts/{account_id}/pages/projects", self.list_projects, methods=["GET"]),
            Route(project, self.get_project, methods=["GET"]),
            Route(project + "/deployments", self.list_deployments, methods=["GET"]),
            Route(project + "/deployments", self.create_deployment, methods=["POST"]),
            Route(deployment, self.get_deployment, methods=["GET"]),
            Route(deployment, self.delete_deployment, methods=["DELETE"]),
            Route(deployment + "/retry", self.retry_deployment, methods=["POST"]),
            Route(deployment + "/rollback", self.rollback_deployment, methods=["POST"]),
            Route(deployment + "/history/logs", self.deployment_logs, methods=["GET"]),
            Route("/pages/webhooks/deploy_hooks/{hook_id}", self.deploy_hook, methods=["POST"]),
            Route("/{path:path}", no_route, methods=ALL_METHODS),
        ]

    def _authorize(self, request: Request) -> None:
        """403/10000 for bad credentials, and (our choice) for another account's id too."""
        if not credentials_valid(request.headers, self.state.token):
            raise ApiError(403, CODE_AUTH, MSG_AUTH)
        if request.path_params.get("account_id") != self.state.account_id:
            raise ApiError(403, CODE_AUTH, MSG_AUTH)

    def _note(self, request: Request, **values: Any) -> None:
        self.services.calls.annotate(request.scope.get("fake.call"), **values)

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
        self._note(request, deployment_id=dep.id)
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
        """A new deployment (new id) of the same branch and commit (id: reference §10 item 7)."""
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
        """No auth; the body and its content type are ignored (reference §3.1)."""
        hook = self.state.hooks.get(request.path_params["hook_id"])
        if hook is None:
            raise ApiError(404, CODE_HOOK_NOT_FOUND, MSG_HOOK_NOT_FOUND)
        await request.body()
        dep = self.state.create(hook.project, hook.branch, "deploy_hook", time.time())
        self._note(request, deployment_id=dep.id)
        return envelope({"id": dep.id})


async def no_route(request: Request) -> Response:
    raise ApiError(404, CODE_NO_ROUTE, MSG_NO_ROUTE)


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


class TrafficLayer:
    """Outermost ASGI app: call log, faults, rate limit, `Ratelimit` headers."""

    def __init__(self, app: ASGIApp, services: FakeServices) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        replay = replayer(body, receive)
        entry = await self._log(scope, body)
        scope["fake.call"] = entry["seq"]
        calls = self.services.calls
        fault = self.services.faults.take(scope["method"], scope["path"])
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop:
            calls.annotate(entry["seq"], status="dropped")
            await drop_connection(send)
            return
        if fault is not None and fault.status is not None:
            calls.annotate(entry["seq"], status=fault.status)
            await fault_response(fault)(scope, replay, send)
            return
        decision = self.services.limiter.check(self._rate_key(scope), time.time())
        if not decision.allowed:
            calls.annotate(entry["seq"], status=429)
            errors = [{"code": CODE_RATE_LIMITED, "message": MSG_RATE_LIMITED}]
            await error_response(429, errors, decision.headers())(scope, replay, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in decision.headers().items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                calls.annotate(entry["seq"], status=message["status"])
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, replay, send_with_headers)

    def _rate_key(self, scope: Scope) -> str:
        """Per user (reference §1.4). Hook calls count against the account (UNCONFIRMED)."""
        request = Request(scope)
        if HOOK_PATH.fullmatch(scope["path"]) or credentials_valid(
            request.headers, self.services.state.token
        ):
            return "account"
        return f"anonymous:{request.client.host if request.client else '?'}"

    async def _log(self, scope: Scope, body: bytes) -> JSON:
        request = Request(dict(scope), replayer(body, None))
        content_type = request.headers.get("content-type", "")
        form: JSON | None = None
        if body and content_type.split(";")[0].strip().lower() in (
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ):
            try:
                parsed = await request.form()
                form = {
                    k: v if isinstance(v, str) else f"<file {v.filename!r}>"
                    for k, v in parsed.multi_items()
                }
                await parsed.close()
            except MultiPartException:
                form = None
        kind, project, hook_id = None, None, None
        if scope["method"] == "POST" and (match := CREATE_PATH.fullmatch(scope["path"])):
            kind, project = "create", match["project"]
        elif scope["method"] == "POST" and (match := HOOK_PATH.fullmatch(scope["path"])):
            hook = self.services.state.hooks.get(match["hook"])
            kind, hook_id, project = "hook", match["hook"], hook.project if hook else None
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        entry: JSON = {
            "time": time.time(),
            "method": scope["method"],
            "path": scope["path"],
            "query": dict(request.query_params),
            "query_string": scope.get("query_string", b"").decode("latin-1"),
            "headers": headers,
            "content_type": content_type,
            "body": body[:MAX_LOGGED_BODY].decode("utf-8", "replace"),
            "form": form,
            "status": None,
            "kind": kind,
            "project": project,
            "hook_id": hook_id,
            "deployment_id": None,
        }
        return self.services.calls.add(entry)


def fault_response(fault: Fault) -> Response:
    """The answer of a status fault: 971 and `Retry-After` for a 429 unless told otherwise."""
    status = fault.status or 500
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    errors = fault.errors
    if errors is None and status == 429:
        errors = [{"code": CODE_RATE_LIMITED, "message": MSG_RATE_LIMITED}]
    if errors is None:
        errors = [{"code": CODE_UNKNOWN, "message": "An unknown error occured. (injected fault)"}]
    return error_response(status, errors, headers)


async def drop_connection(send: Send) -> None:
    """Close the TCP connection without writing any HTTP response.

    Uvicorn's `send` is a bound method of its request cycle, which holds the transport. After
    closing it we wait for uvicorn to notice, so it does not try to write a 500 afterwards.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("drop faults need uvicorn; answering 500 instead")
    transport.close()
    for _ in range(200):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.005)


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replayer(body: bytes, receive: Receive | None) -> Receive:
    """A `receive` that yields `body` once, then defers to the real one (for disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if receive is None:
            return {"type": "http.disconnect"}
        return await receive()

    return replay
