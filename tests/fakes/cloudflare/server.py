"""`FakeCloudflare`: the fake served by a real uvicorn in a thread, and its Python helpers.

Every helper is a thin httpx wrapper over the `/__fake__` control API (`control.py`,
`workers_control.py`), so a sandbox started with `python -m tests.fakes.cloudflare` can be
driven the same way over HTTP.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn

from .app import build_app
from .envelope import API_PREFIX, CONTROL_PREFIX, JSON
from .middleware import (
    KIND_CREATE,
    KIND_HOOK,
    KIND_WORKER_BUILD,
    KIND_WORKER_CANCEL,
    KIND_WORKER_HOOK,
)
from .services import FakeServices

DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
DEFAULT_TOKEN = "test-token"
STARTUP_TIMEOUT = 10.0  # seconds to wait for uvicorn to listen
SHUTDOWN_TIMEOUT = 5.0  # seconds to wait for the server thread on exit


class FakeControlError(RuntimeError):
    """The control API refused a request (bad arguments, unknown project or Worker, ...)."""


class FakeCloudflare:
    """Context manager: starts uvicorn in a thread on a free port, stops on exit.

    with FakeCloudflare() as cf:
        cf.add_project("blog")
        tag = cf.add_worker("my-app")
        hook_url = cf.add_worker_deploy_hook("my-app", "main")
        ...  # point the relay at cf.base_url with cf.token and cf.account_id
    """

    def __init__(
        self,
        *,
        account_id: str = DEFAULT_ACCOUNT_ID,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.account_id = account_id
        self.token = token
        self.host = host
        self.port = port
        self.root_url = ""  # e.g. http://127.0.0.1:53211, set by __enter__
        self.base_url = ""  # e.g. http://127.0.0.1:53211/client/v4, set by __enter__
        self.services = FakeServices.create(account_id, token)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._client: httpx.Client | None = None

    def __enter__(self) -> FakeCloudflare:
        # proto=IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted connections; without it
        # every answer waits ~40 ms for a delayed ACK (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            build_app(self.services),
            log_level="warning",
            access_log=False,
            http="h11",
            loop="asyncio",
            ws="none",
            lifespan="off",
            proxy_headers=False,
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="fake-cloudflare", daemon=True
        )
        self._server, self._thread, self._sock = server, thread, sock
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the fake Cloudflare API did not start")
            time.sleep(0.01)
        self.root_url = f"http://{self.host}:{self.port}"
        self.base_url = self.root_url + API_PREFIX
        self._client = httpx.Client(base_url=self.root_url + CONTROL_PREFIX, timeout=10.0)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(SHUTDOWN_TIMEOUT)
            self._thread = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _control(
        self, method: str, path: str, body: JSON | None = None, params: JSON | None = None
    ) -> Any:
        if self._client is None:
            raise RuntimeError("use FakeCloudflare as a context manager first")
        response = self._client.request(method, path, json=body, params=params)
        if response.status_code >= 400:
            raise FakeControlError(f"{method} {CONTROL_PREFIX}{path}: {response.text}")
        return response.json()

    # -- Pages setup ---------------------------------------------------------------------------

    def add_project(
        self,
        name: str,
        *,
        production_branch: str = "main",
        subdomain: str | None = None,
        domains: list[str] | None = None,
    ) -> JSON:
        """Create a Git-connected Pages project; returns its Project object (Pages §5)."""
        body = {
            "name": name,
            "production_branch": production_branch,
            "subdomain": subdomain,
            "domains": domains or [],
        }
        result: JSON = self._control("POST", "/projects", body)
        return result

    def add_deploy_hook(self, project: str, branch: str) -> str:
        """Create a Pages deploy hook; returns its full URL (the secret, Pages §3.1)."""
        hook = self._control("POST", "/deploy_hooks", {"project": project, "branch": branch})
        return f"{self.base_url}/pages/webhooks/deploy_hooks/{hook['id']}"

    def seed_deployments(self, project: str, items: list[JSON]) -> list[JSON]:
        """Past, finished deployments: each `{branch, created_on (ISO or epoch), outcome}`,
        optionally `trigger` and `fail_stage`. Returns their Deployment objects."""
        result: list[JSON] = self._control("POST", "/seed", {"project": project, "items": items})
        return result

    def set_build(
        self, *, duration: float = 0.0, outcome: str = "success", fail_stage: str = "build"
    ) -> None:
        """How new Pages builds progress: seconds from queued to final, and the final outcome
        (success | failure | canceled | skipped)."""
        body = {"duration": duration, "outcome": outcome, "fail_stage": fail_stage}
        self._control("POST", "/build", body)

    def set_concurrency(self, limit: int | None) -> None:
        """Pages builds running at once per account (None: unlimited); the rest wait queued."""
        self._control("POST", "/concurrency", {"limit": limit})

    def set_canonical_delete_error(self, *, status: int, code: int, message: str) -> None:
        """The (UNCONFIRMED) error for deleting the live production deployment."""
        body = {"status": status, "code": code, "message": message}
        self._control("POST", "/canonical_delete_error", body)

    # -- Workers Builds setup ------------------------------------------------------------------

    def add_worker(self, name: str, production_branch: str = "main", connected: bool = True) -> str:
        """Create a Worker (connected to Workers Builds unless told otherwise, with its two
        triggers); returns its tag."""
        body = {"name": name, "production_branch": production_branch, "connected": connected}
        worker: JSON = self._control("POST", "/workers", body)
        return str(worker["tag"])

    def add_worker_deploy_hook(self, worker_name: str, branch: str, name: str | None = None) -> str:
        """Create a Workers Builds deploy hook; returns its full URL,
        `base_url + /workers/builds/deploy_hooks/<uuid>` (the secret, Builds §4.3)."""
        body = {"worker": worker_name, "branch": branch, "name": name}
        hook: JSON = self._control("POST", "/workers/deploy_hooks", body)
        return str(hook["url"])

    def set_worker_build(
        self,
        *,
        duration: float = 0.0,
        outcome: str = "success",
        log_lines: list[str] | None = None,
        times: int | None = None,
    ) -> None:
        """How new Workers builds go: seconds from queued to stopped with a free slot (20 %
        queued, 20 % initializing, 60 % running), the `build_outcome` (success | fail |
        cancelled | terminated | skipped) and the log lines (None: realistic defaults).
        `times=None` sets it for every later build; `times=n` for the next n builds only."""
        body = {"duration": duration, "outcome": outcome, "log_lines": log_lines, "times": times}
        self._control("POST", "/workers/build", body)

    def set_worker_concurrency(self, limit: int | None) -> None:
        """Workers builds running at once per account (default 6; None: unlimited)."""
        self._control("POST", "/workers/concurrency", {"limit": limit})

    def set_worker_log_page_size(self, size: int) -> None:
        """Log lines per page of `GET …/builds/{uuid}/logs` (default 100)."""
        self._control("POST", "/workers/log_page_size", {"size": size})

    def set_worker_hook_limits(
        self, *, per_worker: int = 10, per_account: int = 100, window: float = 60.0
    ) -> None:
        """Deploy-hook builds allowed per sliding `window` seconds before a 429."""
        body = {"per_worker": per_worker, "per_account": per_account, "window": window}
        self._control("POST", "/workers/hook_limits", body)

    def set_worker_cancel_stopped_error(
        self, *, status: int | None, code: int = 0, message: str = ""
    ) -> None:
        """The (UNCONFIRMED) answer for cancelling a build that has already stopped; the
        default (`status=None`) is 200 with the outcome unchanged."""
        body = {"status": status, "code": code, "message": message}
        self._control("POST", "/workers/cancel_stopped_error", body)

    def set_worker_account_limits(
        self,
        *,
        build_minutes_refresh_on: str | None = None,
        has_reached_build_minutes_limit: bool | None = None,
    ) -> None:
        """What `GET …/builds/account/limits` answers (default: nulls, a paid account)."""
        body = {
            "build_minutes_refresh_on": build_minutes_refresh_on,
            "has_reached_build_minutes_limit": has_reached_build_minutes_limit,
        }
        self._control("POST", "/workers/account_limits", body)

    def set_invalid_token(self, token: str | None) -> None:
        """Treat `token` as an account-scoped token: accepted on Pages and Workers Scripts
        paths, refused on every Builds path with 403/12006 "Invalid token". Pass `self.token`
        to make the relay's own token lack the Builds permission; None to undo."""
        self._control("POST", "/workers/invalid_token", {"token": token})

    # -- shared setup --------------------------------------------------------------------------

    def set_rate_limit(self, limit: int, window: float = 300.0) -> None:
        """Requests per `window` seconds per user before 429/971 (default 1200 per 300 s)."""
        self._control("POST", "/ratelimit", {"limit": limit, "window": window})

    def fault(
        self,
        *,
        status: int | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        drop: bool = False,
        times: int = 1,
        path_contains: str = "",
        method: str | None = None,
        errors: list[JSON] | None = None,
    ) -> None:
        """Queue a fault for the next `times` requests matching `method` and `path_contains`."""
        body = {
            "status": status,
            "retry_after": retry_after,
            "delay": delay,
            "drop": drop,
            "times": times,
            "path_contains": path_contains,
            "method": method,
            "errors": errors,
        }
        self._control("POST", "/faults", body)

    def reset(self) -> None:
        """Forget projects, Workers, deployments, builds, hooks, faults, calls and settings."""
        self._control("POST", "/reset")

    # -- inspection ----------------------------------------------------------------------------

    def calls(self) -> list[JSON]:
        """Request log: method, path, query, headers (lower-cased names), form, body, time
        (epoch float), status (int, or "dropped"), kind ("create" | "hook" | "worker_build" |
        "worker_hook" | "cancel" | None), project, worker, hook_id, deployment_id, build_uuid,
        trigger_uuid, and for Workers hook calls already_exists."""
        result: list[JSON] = self._control("GET", "/calls")
        return result

    def create_calls(self, project: str | None = None) -> list[JSON]:
        """Every POST that tried to create a Pages deployment (API create or deploy hook)."""
        kinds = (KIND_CREATE, KIND_HOOK)
        return [c for c in self.calls() if c["kind"] in kinds and project in (None, c["project"])]

    def build_calls(self, worker: str | None = None) -> list[JSON]:
        """Every POST that tried to start a Workers build (manual or deploy hook), like
        `create_calls`: failed and deduplicated calls included; see `status`, `build_uuid`
        and, for hook calls, `already_exists`."""
        kinds = (KIND_WORKER_BUILD, KIND_WORKER_HOOK)
        return [c for c in self.calls() if c["kind"] in kinds and worker in (None, c["worker"])]

    def cancel_calls(self, worker: str | None = None) -> list[JSON]:
        """Every `PUT …/builds/{uuid}/cancel`."""
        calls = self.calls()
        return [
            c for c in calls if c["kind"] == KIND_WORKER_CANCEL and worker in (None, c["worker"])
        ]

    def clear_calls(self) -> None:
        self._control("DELETE", "/calls")

    def worker_builds(self, name: str | None = None) -> list[JSON]:
        """Build objects as the API renders them now, oldest first, of one Worker or all."""
        params = None if name is None else {"worker": name}
        result: list[JSON] = self._control("GET", "/workers/builds", params=params)
        return result

    def worker_version_of(self, build_uuid: str) -> str | None:
        """The Worker version id a build made, once it has succeeded; None before (and for
        a build that did not succeed). Builds carry no version field (Builds §5.2)."""
        result = self._control("GET", f"/workers/builds/{build_uuid}/version")
        version = result["version_id"]
        return None if version is None else str(version)

    def info(self) -> JSON:
        """Everything the fake is set up with: ids, token, projects, Workers, hooks, settings."""
        result: JSON = self._control("GET", "/info")
        return result
