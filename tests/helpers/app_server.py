"""Helpers for the dashboard, API, metrics and status page tests.

`AppServer` serves `relay.web.app.create_app(settings)` with a real uvicorn in a thread (as the fake
Pages API is served), so tests talk HTTP to the real app against the real redis-server of
`tests/conftest.py`. Records are made through the relay's own code paths (the claim script,
`workers.outcomes`), never by writing their layout by hand.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from types import TracebackType
from typing import Any

import httpx
import redis
import uvicorn

from relay.core import controls as actions
from relay.core import keys
from relay.core.cloudflare.client import CloudflareClient
from relay.core.config import parse_settings
from relay.core.records import Trigger, TriggerStatus
from relay.core.settings import Settings
from relay.core.store import Store
from relay.core.transitions import Transitions
from relay.web.app import create_app
from relay.web.providers.registry import PROVIDERS
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.polling import wait_for
from tests.helpers.relay_env import ACCOUNT, TOKEN
from tests.helpers.senders import SECRET, github_headers, github_hook
from workers import outcomes as settle
from workers import runtime
from workers.claimer import claim_bursts
from workers.runtime import Context

ADMIN = "admin-token-for-tests-5b1e"
BEARER = {"Authorization": f"Bearer {ADMIN}"}
HOOK_URL_SECRET = "https://api.cloudflare.com/client/v4/pages/webhooks/deploy_hooks/s3cr3t-hook"


def make_settings(
    redis_url: str,
    *,
    admin: str | None = ADMIN,
    fake: FakeCloudflare | None = None,
    targets: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
    hooks: dict[str, Any] | None = None,
    server: dict[str, Any] | None = None,
) -> Settings:
    """Two targets by default: `blog` (Pages API) and `docs` (a deploy hook whose URL is secret)."""
    env = {"DOCS_HOOK": HOOK_URL_SECRET, **(environ or {})}
    raw: dict[str, Any] = {
        "redis": {"url": redis_url},
        "targets": targets
        or {
            "blog": {"project": "blog", "branch": "main", "debounce": "30s", "max_wait": "5m"},
            "docs": {"deploy_hook": "${DOCS_HOOK}", "debounce": "10s"},
        },
        "hooks": {
            "cms": github_hook(["blog"]),
            **(hooks or {}),
        },
        "server": server or {},
    }
    if admin is not None:
        raw["admin"] = {"token": admin}
    if fake is not None:
        raw["cloudflare"] = {"account_id": ACCOUNT, "api_token": TOKEN, "api_base": fake.base_url}
    return parse_settings(raw, env, schemes=PROVIDERS)


class AppServer:
    """`create_app(settings)` under uvicorn on a free port, for one test."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> AppServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            create_app(self.settings),
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            assert time.monotonic() < deadline, "the relay app did not start"
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self._sock = sock
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10, follow_redirects=False, **kwargs)

    def send(self, hook: str, body: bytes, *, secret: str = SECRET) -> httpx.Response:
        return httpx.post(
            f"{self.url}/hooks/{hook}", content=body, headers=github_headers(body, secret)
        )


class Records:
    """Triggers made the way the worker makes them: touch, claim, then settle."""

    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.store = Store(client)
        self.ctx = Context(
            settings,
            client,
            self.store,
            Transitions(client),
            runtime.platform(settings, CloudflareClient(settings.cloudflare)),
        )

    def claim(self, target: str) -> str:
        """A new trigger for `target` (its burst claimed now), status `queued`."""
        start = self.store.server_ms()  # trigger ids are "<target>-<ms>": one per millisecond
        wait_for(lambda: self.store.server_ms() > start, what="the Redis clock to move on")
        actions.touch(self.client, self.settings, target, reason="test", now=True)
        claimed = claim_bursts(self.client)
        assert len(claimed) == 1, claimed
        self.client.delete(keys.STEPS)  # no worker here: the deploy step is not wanted
        return claimed[0]

    def _claimed(self, target: str) -> Trigger:
        trigger = self.store.trigger(self.claim(target))
        assert trigger is not None
        return trigger

    def succeed(self, target: str, **fields: Any) -> str:
        before = self._claimed(target)
        url = f"https://{before.id[-6:]}.{target}.pages.dev"
        after = replace(before, status=TriggerStatus.SUCCESS, url=url, build_seconds=42.0)
        assert settle.finish(self.ctx, before, replace(after, **fields), None)
        return before.id

    def fail(self, target: str, message: str = "Project not found.") -> str:
        before = self._claimed(target)
        assert settle.fail_for_good(self.ctx, replace(before, attempts=5), None, message, done=None)
        return before.id

    def building(self, target: str, stage: str = "build") -> str:
        before = self._claimed(target)
        after = replace(before, status=TriggerStatus.BUILDING, stage=stage, stage_status="active")
        assert self.ctx.moves.move(before, after)
        return before.id
