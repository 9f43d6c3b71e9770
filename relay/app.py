"""The Starlette application: receiver, health, metrics (and, later, dashboard and API)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TypedDict

import redis.asyncio as aredis
from prometheus_client import generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from relay.ingest import Ingest
from relay.metrics import REGISTRY
from relay.providers.base import Provider
from relay.providers.registry import PROVIDERS
from relay.receiver import Receiver
from relay.redis_client import async_client
from relay.settings import Settings


class State(TypedDict):
    redis: aredis.Redis


def build_providers(settings: Settings) -> dict[str, Provider]:
    return {name: PROVIDERS[hook.provider](hook) for name, hook in settings.hooks.items()}


def create_app(settings: Settings) -> Starlette:
    client = async_client(settings)
    receiver = Receiver(settings, build_providers(settings), Ingest(client, settings))

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

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[State]:
        try:
            yield {"redis": client}
        finally:
            await client.aclose()

    routes = [
        Route("/hooks/{hook}", receiver.handle, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def app_from_environment() -> Starlette:
    """The app for `relay serve --workers N`: each process reads $RELAY_CONFIG itself."""
    from relay.settings import load_settings

    return create_app(load_settings())
