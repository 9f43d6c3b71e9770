"""The one place where the web side turns an error into an answer.

Registered as the app's Starlette exception handlers (`exception_handlers`): every endpoint,
the receiver included, raises (`relay.core.exceptions.RequestRefused` and its kinds, a Redis
error, Starlette's `HTTPException`) and this module answers: JSON `{"error": message}` for
senders, scripts and the dashboard's own fetches; an HTML page for a browser. A page that needs
the admin token redirects to the sign-in form instead of showing a 401, and a dashboard without
an admin token explains how to set one. An operator's control that the platform refuses is
answered too: `NotSupported` (the target cannot, e.g. roll a Worker back) 409, a
`CloudflareError` (Cloudflare refused or failed; its code and message) 502, a full Cloudflare
API budget (`BudgetExhausted`) 503 with Retry-After.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates
from starlette.types import ExceptionHandler

from relay.core.exceptions import (
    BudgetExhausted,
    CloudflareError,
    DashboardOff,
    NotAuthenticated,
    NotSupported,
    RequestRefused,
    StorageUnavailable,
)
from relay.web.access import NO_STORE

#: Redis answered nothing in time: the sender or reader should retry soon
RETRY_SOON = {"Retry-After": "1"}
UNAVAILABLE = "Redis is unavailable; retry shortly"


def wants_html(request: Request) -> bool:
    """A browser page (HTML) rather than a script or the dashboard's own fetch (JSON)."""
    path = request.url.path
    if path.startswith(("/api/", "/hooks/")) or path in {"/live", "/metrics"}:
        return False
    return "text/html" in request.headers.get("accept", "")


def json_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    body = orjson.dumps({"error": message})
    return Response(body, status, dict(headers or {}), media_type="application/json")


def exception_handlers(templates: Jinja2Templates) -> dict[Any, ExceptionHandler]:
    def page(
        request: Request, template: str, status: int, context: dict[str, Any], **headers: str
    ) -> Response:
        return templates.TemplateResponse(
            request, template, context, status_code=status, headers={**NO_STORE, **headers}
        )

    def answer(request: Request, status: int, message: str, headers: Mapping[str, str]) -> Response:
        if not request.url.path.startswith("/hooks/"):
            headers = {**NO_STORE, **headers}  # an error is about this moment: never cached
        if wants_html(request):
            context = {"status": status, "message": message}
            return page(request, "error.html", status, context, **headers)
        return json_error(status, message, headers)

    async def refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestRefused)
        if isinstance(exc, DashboardOff) and wants_html(request):
            return page(request, "disabled.html", 403, {})
        if isinstance(exc, NotAuthenticated) and wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            after = target if request.method == "GET" else "/"
            return RedirectResponse(f"/login?next={quote(after, safe='')}", status_code=303)
        return answer(request, exc.status_code, exc.message, exc.headers)

    async def unavailable(request: Request, exc: Exception) -> Response:
        return answer(request, 503, UNAVAILABLE, RETRY_SOON)

    async def platform_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, NotSupported | CloudflareError | BudgetExhausted)
        if isinstance(exc, BudgetExhausted):
            wait = math.ceil(exc.retry_after) if exc.retry_after else 1
            return answer(request, 503, str(exc), {"Retry-After": str(max(1, wait))})
        status = 409 if isinstance(exc, NotSupported) else 502
        return answer(request, status, str(exc), {})

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code in {204, 304}:
            return Response(status_code=exc.status_code, headers=exc.headers)
        message = "not found" if exc.status_code == 404 else str(exc.detail).lower()
        return answer(request, exc.status_code, message, exc.headers or {})

    return {
        RequestRefused: refused,
        StorageUnavailable: unavailable,
        RedisError: unavailable,
        NotSupported: platform_refused,
        CloudflareError: platform_refused,
        BudgetExhausted: platform_refused,
        HTTPException: http_error,
    }
