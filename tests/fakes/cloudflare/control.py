"""The fake's control API under `/__fake__` (JSON in, JSON out).

Tests and sandbox users drive the fake through it: add projects and deploy hooks, read the call
log, queue faults, shape builds, seed history, set limits, reset. It is kept off `/client/v4` so
the real API surface stays clean; it needs no auth, is not logged and is not rate limited.
This module holds the Pages and the shared endpoints; `workers_control.py` the Workers ones.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .envelope import ALL_METHODS, API_PREFIX, JSON, ApiError
from .pages_objects import BuildProfile
from .pages_routes import pages_hook_path
from .services import FakeServices
from .traffic import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW, Fault
from .workers_control import Handler, WorkersControl


def hook_path(hook_id: str) -> str:
    """A Pages deploy hook's path from the server root."""
    return API_PREFIX + pages_hook_path(hook_id)


class ControlApi:
    """Every control endpoint; `routes()` is mounted under `/__fake__`."""

    def __init__(self, services: FakeServices) -> None:
        self.services = services
        self.state = services.pages
        self.workers = WorkersControl(services)

    def routes(self) -> list[BaseRoute]:
        table: list[tuple[str, str, Handler]] = [
            ("GET", "/info", self.info),
            ("POST", "/projects", self.add_project),
            ("POST", "/deploy_hooks", self.add_hook),
            ("GET", "/calls", self.calls),
            ("DELETE", "/calls", self.clear_calls),
            ("GET", "/faults", self.faults),
            ("POST", "/faults", self.add_fault),
            ("DELETE", "/faults", self.clear_faults),
            ("POST", "/build", self.set_build),
            ("POST", "/seed", self.seed),
            ("POST", "/reset", self.reset),
            ("POST", "/concurrency", self.set_concurrency),
            ("POST", "/ratelimit", self.set_rate_limit),
            ("POST", "/canonical_delete_error", self.set_canonical_delete_error),
            *self.workers.table(),
        ]
        routes: list[BaseRoute] = [
            Route(path, _json_endpoint(handler), methods=[method])
            for method, path, handler in table
        ]
        routes.append(Route("/{path:path}", _unknown, methods=ALL_METHODS))
        return routes

    async def info(self, request: Request, body: JSON) -> JSON:
        state, limiter = self.state, self.services.limiter
        credentials = self.services.credentials
        base = str(request.base_url).rstrip("/")
        with state.lock:
            return {
                "base_url": base + API_PREFIX,
                "account_id": credentials.account_id,
                "token": credentials.token,
                "projects": sorted(state.projects),
                "hooks": [
                    {
                        "id": h.id,
                        "project": h.project,
                        "branch": h.branch,
                        "name": h.name,
                        "url": base + hook_path(h.id),
                    }
                    for h in state.hooks.values()
                ],
                "build": vars(state.profile),
                "concurrency": state.concurrency,
                "ratelimit": {"limit": limiter.limit, "window": limiter.window},
                **self.workers.info(base),
            }

    async def add_project(self, request: Request, body: JSON) -> JSON:
        now = time.time()
        project = self.state.add_project(
            str(body["name"]),
            str(body.get("production_branch") or "main"),
            body.get("subdomain"),
            [str(d) for d in body.get("domains") or []],
            now,
        )
        return self.state.render_project(project, now)

    async def add_hook(self, request: Request, body: JSON) -> JSON:
        hook = self.state.add_hook(
            str(body["project"]), str(body["branch"]), str(body.get("name") or "")
        )
        base = str(request.base_url).rstrip("/")
        return {
            "id": hook.id,
            "project": hook.project,
            "branch": hook.branch,
            "name": hook.name,
            "url": base + hook_path(hook.id),
        }

    async def calls(self, request: Request, body: JSON) -> list[JSON]:
        return self.services.calls.all()

    async def clear_calls(self, request: Request, body: JSON) -> JSON:
        self.services.calls.clear()
        return {"ok": True}

    async def faults(self, request: Request, body: JSON) -> list[JSON]:
        return self.services.faults.pending()

    async def add_fault(self, request: Request, body: JSON) -> list[JSON]:
        known = set(Fault.__dataclass_fields__)
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}; known: {sorted(known)}")
        self.services.faults.add(Fault(**body))
        return self.services.faults.pending()

    async def clear_faults(self, request: Request, body: JSON) -> JSON:
        self.services.faults.clear()
        return {"ok": True}

    async def set_build(self, request: Request, body: JSON) -> JSON:
        profile = BuildProfile(
            float(body.get("duration", 0.0)),
            str(body.get("outcome", "success")),
            str(body.get("fail_stage", "build")),
        )
        with self.state.lock:
            self.state.profile = profile
        return vars(profile)

    async def seed(self, request: Request, body: JSON) -> list[JSON]:
        items = body["items"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise ValueError("items must be a list of objects")
        now = time.time()
        with self.state.lock:
            made = self.state.seed(str(body["project"]), items, now)
            return [self.state.render(d, now) for d in made]

    async def reset(self, request: Request, body: JSON) -> JSON:
        self.services.reset()
        return {"ok": True}

    async def set_concurrency(self, request: Request, body: JSON) -> JSON:
        limit = body.get("limit")
        self.state.set_concurrency(None if limit is None else int(limit), time.time())
        return {"limit": self.state.concurrency}

    async def set_rate_limit(self, request: Request, body: JSON) -> JSON:
        limiter = self.services.limiter
        limiter.configure(
            int(body.get("limit", DEFAULT_RATE_LIMIT)),
            float(body.get("window", DEFAULT_RATE_WINDOW)),
        )
        return {"limit": limiter.limit, "window": limiter.window}

    async def set_canonical_delete_error(self, request: Request, body: JSON) -> JSON:
        error = (int(body["status"]), int(body["code"]), str(body["message"]))
        with self.state.lock:
            self.state.canonical_delete_error = error
        return {"status": error[0], "code": error[1], "message": error[2]}


def _json_endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Parse a JSON object body, call `handler`, answer JSON; bad input becomes a 400."""

    async def endpoint(request: Request) -> Response:
        raw = await request.body()
        try:
            body = await request.json() if raw.strip() else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return JSONResponse(await handler(request, body))
        except (KeyError, ValueError, TypeError) as exc:
            return JSONResponse({"error": f"{type(exc).__name__}: {exc}"}, status_code=400)
        except ApiError as exc:
            return JSONResponse({"error": exc.message, "code": exc.code}, status_code=exc.status)

    return endpoint


async def _unknown(request: Request) -> Response:
    return JSONResponse({"error": f"no control endpoint {request.url.path}"}, status_code=404)
