"""A faithful fake of the Cloudflare Pages REST API, served by a real uvicorn in a thread.

    with FakePagesAPI() as cf:
        cf.add_project("blog")
        hook_url = cf.add_deploy_hook("blog", "main")
        ...  # point the relay's CLOUDFLARE_API_BASE at cf.base_url, token cf.token
        assert len(cf.create_calls("blog")) == 1

The real surface lives under `/client/v4` (see `pages_http.py`); the fake's own control API
under `/__fake__` (see `pages_control.py`); state in `pages_model.py`, JSON shapes in
`pages_objects.py`, faults/rate limit/call log in `pages_traffic.py`. The contract it follows is
`/work/shared/reference/cloudflare-pages-api.md` (section numbers below refer to it).

Choices made where the reference is UNCONFIRMED (each is also marked in the code):

* HTTP statuses of errors: 10000 -> 403, 8000007/8000009 -> 404, 8000024/8000035 -> 400 (§7).
  A wrong account id in the path gets 403/10000 as well; any unknown path or method gets
  404/7003 "No route for the URI", as does a trailing slash.
* Create with a non-empty body that is not multipart/form-data (JSON, urlencoded): 400 with
  code 8000000 and a message naming the content type. An empty body is accepted whatever its
  content type (the docs example sends `application/json` with no body). Any branch name is
  accepted (the fake has no repository).
* Delete of the canonical (live production) deployment: 400, code 8000000, "Cannot delete the
  active production deployment", whatever `force` says; invented, configurable through
  `set_canonical_delete_error`. Deleting a build still in flight is allowed.
* Deploy hook: 200 with `result: {"id": <deployment id>}` only; unknown hook: 404 with code
  8000000 "Deploy hook not found."; the body and content type are ignored; hook calls count
  against the account's rate-limit budget.
* 429 body: code 971 (§1.4). `Ratelimit`/`Ratelimit-Policy` are sent on every answer, including
  on Pages endpoints. Going over the limit blocks the user for one whole window.
* Retry creates a new deployment (new id) with the same branch, commit and trigger type.
  Rollback returns the target deployment (no new one), makes it canonical and gives it the
  production branch alias; a target that is not a successful production build gets 400/8000000.
* A skipped build (`set_build(outcome="skipped")`) is final at once: `is_skipped: true`,
  `skip_reason: "branch_config"`, latest_stage `queued`/`canceled`, no alias, no build slot.
* `list projects`: newest-first order is not promised; projects come in creation order, and
  `per_page` may go up to 100. `env` values other than production/preview get 400/8000024.
  `total_pages` is 0 for an empty list.
* Builds spend `duration / 5` seconds in each stage; waiting for a concurrency slot lengthens
  `queued`. The create (and retry) response is always the fresh `queued`/`active` snapshot.

Run it as a sandbox: `python -m tests.fakes.pages_api --port 8788 --project blog --hook blog:main`.
"""

from __future__ import annotations

import argparse
import signal
import socket
import sys
import threading
import time
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.types import ASGIApp

from .pages_control import ControlApi
from .pages_http import (
    ALL_METHODS,
    API_PREFIX,
    CONTROL_PREFIX,
    FakeServices,
    PagesApi,
    TrafficLayer,
    api_error_response,
    no_route,
)
from .pages_model import FakeState
from .pages_objects import JSON, OUTCOMES, ApiError
from .pages_traffic import CallLog, FaultQueue, RateLimiter

DEFAULT_ACCOUNT_ID = "0123456789abcdef0123456789abcdef"
DEFAULT_TOKEN = "test-token"
STARTUP_TIMEOUT = 10.0  # seconds to wait for uvicorn to listen
SHUTDOWN_TIMEOUT = 5.0  # seconds to wait for the server thread on exit


class FakeControlError(RuntimeError):
    """The control API refused a request (bad arguments, unknown project, ...)."""


def build_app(services: FakeServices) -> ASGIApp:
    """The whole fake as one ASGI app."""
    inner = Starlette(
        routes=[
            Mount(API_PREFIX, routes=PagesApi(services).routes()),
            Mount(CONTROL_PREFIX, routes=ControlApi(services).routes()),
            Route("/{path:path}", no_route, methods=ALL_METHODS),
        ],
        exception_handlers={ApiError: api_error_response},
    )
    return TrafficLayer(inner, services)


class FakePagesAPI:
    """Context manager: starts uvicorn in a thread on a free port, stops on exit.

    Every helper method is a thin httpx wrapper over the `/__fake__` control API.
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
        self.services = FakeServices(
            FakeState(account_id, token), FaultQueue(), RateLimiter(), CallLog()
        )
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._client: httpx.Client | None = None

    def __enter__(self) -> FakePagesAPI:
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
            target=server.run, kwargs={"sockets": [sock]}, name="fake-pages-api", daemon=True
        )
        self._server, self._thread, self._sock = server, thread, sock
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the fake Pages API did not start")
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

    def _control(self, method: str, path: str, body: JSON | None = None) -> Any:
        if self._client is None:
            raise RuntimeError("use FakePagesAPI as a context manager first")
        response = self._client.request(method, path, json=body)
        if response.status_code >= 400:
            raise FakeControlError(f"{method} {CONTROL_PREFIX}{path}: {response.text}")
        return response.json()

    # -- setup ---------------------------------------------------------------------------------

    def add_project(
        self,
        name: str,
        *,
        production_branch: str = "main",
        subdomain: str | None = None,
        domains: list[str] | None = None,
    ) -> JSON:
        """Create a Git-connected project; returns its Project object (reference §5)."""
        body = {
            "name": name,
            "production_branch": production_branch,
            "subdomain": subdomain,
            "domains": domains or [],
        }
        result: JSON = self._control("POST", "/projects", body)
        return result

    def add_deploy_hook(self, project: str, branch: str) -> str:
        """Create a deploy hook; returns its full URL (the secret, reference §3.1)."""
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
        """How new builds progress: seconds from queued to final, and the final outcome
        (success | failure | canceled | skipped)."""
        body = {"duration": duration, "outcome": outcome, "fail_stage": fail_stage}
        self._control("POST", "/build", body)

    def set_concurrency(self, limit: int | None) -> None:
        """Builds running at once per account (None: unlimited); the rest wait in queued."""
        self._control("POST", "/concurrency", {"limit": limit})

    def set_rate_limit(self, limit: int, window: float = 300.0) -> None:
        """Requests per `window` seconds per user before 429/971 (default 1200 per 300 s)."""
        self._control("POST", "/ratelimit", {"limit": limit, "window": window})

    def set_canonical_delete_error(self, *, status: int, code: int, message: str) -> None:
        """The (UNCONFIRMED) error for deleting the live production deployment."""
        self._control(
            "POST", "/canonical_delete_error", {"status": status, "code": code, "message": message}
        )

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
        """Forget projects, deployments, hooks, faults, calls and every setting."""
        self._control("POST", "/reset")

    # -- inspection ----------------------------------------------------------------------------

    def calls(self) -> list[JSON]:
        """Request log: method, path, query, headers (lower-cased names), form, body, time
        (epoch float), status (int, or "dropped"), kind ("create" | "hook" | None), project,
        deployment_id."""
        result: list[JSON] = self._control("GET", "/calls")
        return result

    def create_calls(self, project: str | None = None) -> list[JSON]:
        """Every POST that tried to create a deployment (API create or deploy hook)."""
        return [
            c
            for c in self.calls()
            if c["kind"] in ("create", "hook") and project in (None, c["project"])
        ]

    def clear_calls(self) -> None:
        self._control("DELETE", "/calls")

    def info(self) -> JSON:
        result: JSON = self._control("GET", "/info")
        return result


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.pages_api",
        description="Serve a fake Cloudflare Pages API until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--project", action="append", default=[], metavar="NAME[:PROD_BRANCH]")
    parser.add_argument("--hook", action="append", default=[], metavar="PROJECT:BRANCH")
    parser.add_argument("--build-duration", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--build-outcome", choices=OUTCOMES, default="success")
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `kill` stops it as cleanly as Ctrl-C
    with FakePagesAPI(
        account_id=args.account_id, token=args.token, host=args.host, port=args.port
    ) as api:
        names: set[str] = set()
        for spec in args.project:
            name, _, branch = spec.partition(":")
            api.add_project(name, production_branch=branch or "main")
            names.add(name)
        hook_urls = []
        for spec in args.hook:
            project, sep, branch = spec.partition(":")
            if not sep:
                parser.error(f"--hook wants PROJECT:BRANCH, got {spec!r}")
            if project not in names:
                api.add_project(project)
                names.add(project)
            hook_urls.append((spec, api.add_deploy_hook(project, branch)))
        api.set_build(duration=args.build_duration, outcome=args.build_outcome)
        if args.concurrency is not None:
            api.set_concurrency(args.concurrency)
        print(f"CLOUDFLARE_API_BASE={api.base_url}")
        print(f"CLOUDFLARE_API_TOKEN={api.token}")
        print(f"CLOUDFLARE_ACCOUNT_ID={api.account_id}")
        for spec, url in hook_urls:
            print(f"deploy hook {spec}: {url}")
        print(f"control API: {api.root_url}{CONTROL_PREFIX}/info  (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
