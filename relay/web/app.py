"""The Starlette application: receiver, health, metrics, dashboard, JSON API and status pages.

One app per process, built from the settings by `create_app`. Two Redis clients: the receiver's
asyncio client (fails within 0.4 s: a sender gets 503, never a hang) and a synchronous one for
everything that reads (dashboard, API, /metrics, status pages), used from Starlette's thread
pool, that also fails fast: a read that Redis cannot serve answers 503 within about a second.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from typing import Any, TypedDict

import redis
import redis.asyncio as aredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ExceptionHandler

from relay.core.config import load_settings
from relay.core.connections import async_client
from relay.core.secret import Secret
from relay.core.settings import Settings
from relay.web.api.endpoints import Api
from relay.web.api.params import ApiError
from relay.web.dashboard.auth import Auth
from relay.web.dashboard.charts import Charts
from relay.web.dashboard.forms import Forms
from relay.web.dashboard.gate import Gate, json_error, wants_html
from relay.web.dashboard.headers import SecurityHeaders
from relay.web.dashboard.panels import Panels
from relay.web.dashboard.signin import SignIn
from relay.web.dashboard.tallies import Tallies
from relay.web.dashboard.templating import templates as make_templates
from relay.web.dashboard.views import DashboardViews
from relay.web.ingest import Ingest
from relay.web.metrics import REGISTRY, RedisCollector
from relay.web.providers.base import Provider
from relay.web.providers.registry import PROVIDERS
from relay.web.receiver import Receiver
from relay.web.status_page import STATUS_ENV, StatusPages

#: seconds the readers' client waits for Redis (connect, and each command)
READER_TIMEOUT = 1.0


class State(TypedDict):
    redis: aredis.Redis
    reader: redis.Redis


def build_providers(settings: Settings) -> dict[str, Provider]:
    return {name: PROVIDERS[hook.provider](hook) for name, hook in settings.hooks.items()}


def reader_client(settings: Settings) -> redis.Redis:
    """The dashboard's, API's and /metrics' client: no retries, so Redis down is a quick 503."""
    client: redis.Redis = redis.Redis.from_url(
        settings.redis.url.reveal(),
        socket_timeout=READER_TIMEOUT,
        socket_connect_timeout=READER_TIMEOUT / 2,
        retry=None,
        health_check_interval=0,
    )
    return client


def error_handlers(templates: Jinja2Templates) -> dict[Any, ExceptionHandler]:
    """The one place where exceptions become answers: HTML for pages, JSON for the rest."""

    def answer(request: Request, status: int, message: str, **headers: str) -> Response:
        if wants_html(request):
            context = {"status": status, "message": message}
            return templates.TemplateResponse(
                request, "error.html", context, status_code=status, headers=headers or None
            )
        return json_error(status, message, **headers)

    async def unavailable(request: Request, exc: Exception) -> Response:
        return answer(request, 503, "Redis is unavailable; retry shortly", **{"Retry-After": "1"})

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in {204, 304}:
            return Response(status_code=exc.status_code, headers=exc.headers)
        message = "not found" if exc.status_code == 404 else str(exc.detail).lower()
        return answer(request, exc.status_code, message, **(exc.headers or {}))

    return {RedisError: unavailable, ApiError: refused, HTTPException: http_error}


def create_app(settings: Settings) -> Starlette:
    client = async_client(settings)
    reader = reader_client(settings)
    receiver = Receiver(settings, build_providers(settings), Ingest(client, settings))
    templates = make_templates()
    auth = Auth(settings.admin.token)
    gate = Gate(auth, templates)
    tallies = Tallies()
    panels = Panels(settings, reader, templates, tallies, Charts())
    status_token = os.environ.get(STATUS_ENV)
    status = StatusPages(
        settings, reader, templates, auth, token=Secret(status_token) if status_token else None
    )
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(RedisCollector(reader, settings, tallies))

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(request: Request) -> Response:
        try:
            await client.ping()
        except (RedisError, OSError, TimeoutError):
            return JSONResponse(
                {"ok": False, "redis": "unreachable"}, status_code=503, headers={"Retry-After": "1"}
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

    routes: list[BaseRoute] = [
        Route("/hooks/{hook}", receiver.handle, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        *DashboardViews(gate, panels).routes(),
        *SignIn(gate).routes(),
        *Forms(gate, settings, reader).routes(),
        *Api(auth, settings, reader, tallies).routes(),
        *status.routes(),
        Mount("/static", StaticFiles(packages=[("relay.web", "static")]), name="static"),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers=error_handlers(templates),
    )


def app_from_environment() -> Starlette:
    """The app for `relay serve --workers N`: each process reads $RELAY_CONFIG itself."""

    return create_app(load_settings(schemes=PROVIDERS))
