"""The routing glue: both products under `/client/v4`, the control API under `/__fake__`, one
exception handler for `ApiError`, and the traffic layer in front of it all.

    TrafficLayer (call log, faults, rate limit)
      └─ Starlette
           ├─ /client/v4  ─ Pages routes, Workers routes, then 404/7003 for anything else
           ├─ /__fake__   ─ control API
           └─ anything else: 404/7003
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from .control import ControlApi
from .envelope import ALL_METHODS, API_PREFIX, CONTROL_PREFIX, ApiError, api_error_handler, no_route
from .middleware import TrafficLayer
from .pages_routes import PagesApi
from .services import FakeServices
from .workers_routes import WorkersApi


def api_routes(services: FakeServices) -> list[BaseRoute]:
    """Every `/client/v4` route, in matching order, ending with the 7003 catch-all."""
    return [
        *PagesApi(services).routes(),
        *WorkersApi(services).routes(),
        Route("/{path:path}", no_route, methods=ALL_METHODS),
    ]


def build_app(services: FakeServices) -> ASGIApp:
    """The whole fake as one ASGI app."""
    inner = Starlette(
        routes=[
            Mount(API_PREFIX, routes=api_routes(services)),
            Mount(CONTROL_PREFIX, routes=ControlApi(services).routes()),
            Route("/{path:path}", no_route, methods=ALL_METHODS),
        ],
        exception_handlers={ApiError: api_error_handler},
    )
    return TrafficLayer(inner, services)
