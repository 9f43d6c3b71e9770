"""The Workers Builds half of the control API under `/__fake__/workers` (JSON in, JSON out).

Tests add Workers and deploy hooks, shape the next builds (duration, outcome, log lines), set
the concurrency, the log page size, the deploy-hook limits, the answer for cancelling a stopped
build, the account limits and the account-scoped token, and read builds and their versions.
`control.py` mounts these next to the Pages ones; `server.py` wraps each in a Python method.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request

from .envelope import API_PREFIX, JSON
from .services import FakeServices
from .workers_hooks import DEFAULT_PER_ACCOUNT, DEFAULT_PER_WORKER, DEFAULT_WINDOW, hook_path
from .workers_objects import Worker, WorkerBuildProfile, WorkerHook

Handler = Callable[[Request, JSON], Awaitable[Any]]


def worker_json(worker: Worker) -> JSON:
    """What the control API says about a Worker: its tag and its triggers."""
    return {
        "name": worker.name,
        "tag": worker.tag,
        "production_branch": worker.production_branch,
        "connected": worker.connected,
        "triggers": [
            {
                "trigger_uuid": t.uuid,
                "trigger_name": t.name,
                "production": t.production,
                "branch_includes": list(t.branch_includes),
                "branch_excludes": list(t.branch_excludes),
            }
            for t in worker.triggers
        ],
    }


def hook_json(hook: WorkerHook, worker: Worker, base: str) -> JSON:
    """A Workers deploy hook with its full trigger URL (`base` is the server root)."""
    return {
        "uuid": hook.uuid,
        "worker": worker.name,
        "branch": hook.branch,
        "name": hook.name,
        "url": base + API_PREFIX + hook_path(hook.uuid),
    }


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


class WorkersControl:
    def __init__(self, services: FakeServices) -> None:
        self.services = services
        self.state = services.workers

    def table(self) -> list[tuple[str, str, Handler]]:
        return [
            ("POST", "/workers", self.add_worker),
            ("POST", "/workers/deploy_hooks", self.add_hook),
            ("POST", "/workers/build", self.set_build),
            ("POST", "/workers/concurrency", self.set_concurrency),
            ("GET", "/workers/builds", self.builds),
            ("GET", "/workers/builds/{build_uuid}/version", self.version),
            ("POST", "/workers/invalid_token", self.set_invalid_token),
            ("POST", "/workers/log_page_size", self.set_log_page_size),
            ("POST", "/workers/hook_limits", self.set_hook_limits),
            ("POST", "/workers/cancel_stopped_error", self.set_cancel_stopped_error),
            ("POST", "/workers/account_limits", self.set_account_limits),
        ]

    def info(self, base: str) -> JSON:
        """The Workers part of `GET /__fake__/info`."""
        state = self.state
        with state.lock:
            limits = state.hooks.limits
            return {
                "workers": [worker_json(w) for w in state.workers.values()],
                "worker_hooks": [
                    hook_json(h, state.workers[h.worker_tag], base)
                    for h in state.hooks.by_uuid.values()
                ],
                "worker_build": state.profile.as_json(),
                "worker_next_builds": [p.as_json() for p in state.next_profiles],
                "worker_concurrency": state.concurrency,
                "worker_log_page_size": state.log_page_size,
                "worker_hook_limits": {
                    "per_worker": limits.per_worker,
                    "per_account": limits.per_account,
                    "window": limits.window,
                },
                "worker_cancel_stopped_error": state.cancel_stopped_error,
                "worker_account_limits": dict(state.account_limits),
                "invalid_token": self.services.credentials.account_scoped,
            }

    async def add_worker(self, request: Request, body: JSON) -> JSON:
        worker = self.state.add_worker(
            str(body["name"]),
            str(body.get("production_branch") or "main"),
            bool(body.get("connected", True)),
            time.time(),
        )
        return worker_json(worker)

    async def add_hook(self, request: Request, body: JSON) -> JSON:
        name = str(body["worker"])
        with self.state.lock:
            tag = self.state.names.get(name)
            worker = None if tag is None else self.state.workers[tag]
            if worker is None or not worker.connected:
                raise ValueError(f"no Worker {name!r} connected to Workers Builds")
            count = len(self.state.hooks.of(worker))
            hook_name = str(body.get("name") or f"hook-{count + 1}")
            hook = self.state.hooks.create(worker, hook_name, str(body["branch"]), time.time())
            return hook_json(hook, worker, str(request.base_url).rstrip("/"))

    async def set_build(self, request: Request, body: JSON) -> JSON:
        lines = body.get("log_lines")
        if lines is not None and not isinstance(lines, list):
            raise ValueError("log_lines must be a list of strings or null")
        profile = WorkerBuildProfile(
            float(body.get("duration", 0.0)),
            str(body.get("outcome", "success")),
            None if lines is None else list(lines),
        )
        self.state.set_profile(profile, _optional_int(body.get("times")))
        return profile.as_json()

    async def set_concurrency(self, request: Request, body: JSON) -> JSON:
        self.state.set_concurrency(_optional_int(body.get("limit")), time.time())
        return {"limit": self.state.concurrency}

    async def builds(self, request: Request, body: JSON) -> list[JSON]:
        """Build JSON (as the API renders it), oldest first; `?worker=<name>` filters."""
        name = request.query_params.get("worker")
        now = time.time()
        with self.state.lock:
            tag = None if name is None else self.state.names.get(name)
            if name is not None and tag is None:
                raise ValueError(f"no Worker {name!r}")
            builds = reversed(self.state.builds_of(tag, now))
            return [self.state.render(b, now) for b in builds]

    async def version(self, request: Request, body: JSON) -> JSON:
        build_uuid = request.path_params["build_uuid"]
        return {"version_id": self.state.version_of(build_uuid, time.time())}

    async def set_invalid_token(self, request: Request, body: JSON) -> JSON:
        token = body.get("token")
        self.services.credentials.set_account_scoped(None if token is None else str(token))
        return {"token": self.services.credentials.account_scoped}

    async def set_log_page_size(self, request: Request, body: JSON) -> JSON:
        size = int(body["size"])
        if size < 1:
            raise ValueError("size must be >= 1")
        with self.state.lock:
            self.state.log_page_size = size
        return {"size": size}

    async def set_hook_limits(self, request: Request, body: JSON) -> JSON:
        with self.state.lock:
            limits = self.state.hooks.limits
            limits.configure(
                int(body.get("per_worker", DEFAULT_PER_WORKER)),
                int(body.get("per_account", DEFAULT_PER_ACCOUNT)),
                float(body.get("window", DEFAULT_WINDOW)),
            )
            return {
                "per_worker": limits.per_worker,
                "per_account": limits.per_account,
                "window": limits.window,
            }

    async def set_cancel_stopped_error(self, request: Request, body: JSON) -> JSON:
        """`{status, code, message}`, or `{}` for the default (200, outcome unchanged)."""
        error = None
        if body.get("status") is not None:
            error = (int(body["status"]), int(body["code"]), str(body["message"]))
        with self.state.lock:
            self.state.cancel_stopped_error = error
        return {"error": error}

    async def set_account_limits(self, request: Request, body: JSON) -> JSON:
        known = {"build_minutes_refresh_on", "has_reached_build_minutes_limit"}
        if set(body) - known:
            raise ValueError(f"unknown fields {sorted(set(body) - known)}; known: {sorted(known)}")
        with self.state.lock:
            self.state.account_limits.update(body)
            return dict(self.state.account_limits)
