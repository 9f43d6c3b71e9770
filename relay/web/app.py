"""The Starlette application: receiver, health, metrics, dashboard, JSON API and status pages.

One app per process, built from the settings by `create_app`. Two Redis clients: the receiver's
asyncio client (fails within 0.4 s: a sender gets 503, never a hang) and a synchronous one for
everything that reads (dashboard, API, /metrics, status pages), used from Starlette's thread
pool, that also fails fast: a read that Redis cannot serve answers 503 within about a second.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypedDict

import redis
import redis.asyncio as aredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from relay.core.config import load_settings
from relay.core.connections import READER_TIMEOUT as READER_TIMEOUT
from relay.core.connections import async_client
from relay.core.connections import reader_client as connect_reader
from relay.core.redis_health import epoch_watch, startup_check
from relay.core.settings import Settings
from relay.web.access import Access
from relay.web.api.endpoints import Api
from relay.web.dashboard.charts import Charts
from relay.web.dashboard.controls import ControlForms
from relay.web.dashboard.forms import Forms
from relay.web.dashboard.signin import SignIn
from relay.web.dashboard.tallies import Tallies
from relay.web.dashboard.templating import templates as make_templates
from relay.web.dashboard.views import DashboardViews, Panels
from relay.web.errors import RETRY_SOON, exception_handlers
from relay.web.headers import SecurityHeaders
from relay.web.hook_path import RelayApp
from relay.web.ingest import Ingest
from relay.web.metrics import REGISTRY, RedisCollector
from relay.web.operator import Operator
from relay.web.providers.base import Provider
from relay.web.providers.registry import PROVIDERS
from relay.web.receiver import Receiver
from relay.web.status_page import StatusPages


class State(TypedDict):
    redis: aredis.Redis
    reader: redis.Redis


def build_providers(settings: Settings) -> dict[str, Provider]:
    return {name: PROVIDERS[hook.provider](hook) for name, hook in settings.hooks.items()}


def reader_client(settings: Settings) -> redis.Redis:
    """The dashboard's, API's and /metrics' client: no retries, so Redis down is a quick 503
    (built, like every client, by `relay.core.connections.connect`: Sentinel and TLS too)."""
    return connect_reader(settings)


def create_app(settings: Settings) -> Starlette:
    client = async_client(settings)
    reader = reader_client(settings)
    # a Redis that cannot keep the relay's promise is said so at start (Cluster stops here);
    # the epoch seen now is what /readyz and /metrics compare with later
    startup_check(reader, settings)
    epoch = epoch_watch(reader)
    receiver = Receiver(settings, build_providers(settings), Ingest(client, settings))
    templates = make_templates()
    access = Access(settings.admin.token, reader)
    tallies = Tallies()
    status = StatusPages(settings, reader, templates, access)
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(RedisCollector(reader, settings, tallies))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(request: Request) -> Response:
        try:
            await client.ping()
            await epoch.check_async(client)  # a Redis that lost our data is logged and counted
        except (RedisError, OSError, TimeoutError):
            return JSONResponse(
                {"ok": False, "redis": "unreachable"}, status_code=503, headers=RETRY_SOON
            )
        return JSONResponse({"ok": True, "redis": "ok"})

    def metrics(request: Request) -> Response:
        body = generate_latest(REGISTRY) + generate_latest(scrape)
        return PlainTextResponse(body, media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        try:
            yield {"redis": client, "reader": reader}
        finally:
            await client.aclose()
            reader.close()

    operator = Operator(settings, reader)  # pause, resume, deploy, rollback: dashboard and API
    routes: list[BaseRoute] = [
        Route("/hooks/{hook}", receiver, methods=["POST"]),  # POSTs: RelayApp, ahead of this
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *DashboardViews(
            access, Panels(settings, reader, templates, tallies, Charts(), operator)
        ).routes(),
        *SignIn(access, templates, settings.server.body_timeout).routes(),
        *Forms(access, settings, reader).routes(),
        *ControlForms(access, settings, templates, operator).routes(),
        *Api(access, settings, reader, tallies, operator).routes(),
        *status.routes(),
        Mount("/static", StaticFiles(packages=[("relay.web", "static")]), name="static"),
    ]
    return RelayApp(
        receiver,
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers=exception_handlers(templates),
    )


def app_from_environment() -> Starlette:
    """The app for `relay serve --workers N`: each process reads $RELAY_CONFIG itself."""

    return create_app(load_settings(schemes=PROVIDERS))
