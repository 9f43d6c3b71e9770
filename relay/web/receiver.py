"""POST /hooks/{hook}: body limit, verify, filter, one atomic Redis step, answer.

The answer to a sender is decided here: 202 stored and queued · 200 duplicate or ignored; the
refusals are raised and answered by `relay.web.errors`: 401 refused · 404 unknown hook ·
413 body too large · 503 Redis cannot take it (with Retry-After; never a 2xx that is not stored).
"""

from __future__ import annotations

import logging
import time
from functools import cache

import orjson
from prometheus_client import Counter
from redis.exceptions import RedisError
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from relay.core.build_settings import HookSettings
from relay.core.exceptions import (
    BodyTooLarge,
    NotFound,
    RequestRefused,
    StorageUnavailable,
    WebhookRejected,
)
from relay.core.records import Delivery, DeliveryOutcome
from relay.core.settings import Settings
from relay.web.bodies import read_asgi_body
from relay.web.errors import RETRY_SOON, UNAVAILABLE, json_error
from relay.web.filters import ignore_reason
from relay.web.ingest import Ingest, body_digest
from relay.web.metrics import DELIVERIES, INGEST_SECONDS
from relay.web.providers.base import IncomingRequest, Provider, Verified

log = logging.getLogger("relay.web.receiver")


class Answer:
    """A JSON answer sent as two ASGI messages with its headers packed once (the hot path:
    Starlette's Response would rebuild its header list for every delivery)."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.body = body
        self.headers = [*extra, JSON_TYPE, (b"content-length", b"%d" % len(body))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


JSON_TYPE = (b"content-type", b"application/json")


def answer(status: int, doc: dict[str, object]) -> Answer:
    return Answer(status, orjson.dumps(doc), [])


@cache
def counter(hook: str, outcome: str) -> Counter:
    """The per-process delivery counter of a hook and outcome (children cached: hot path)."""
    return DELIVERIES.labels(hook, outcome)


def raw_path(scope: Scope) -> str:
    """The path and query exactly as sent (not percent-decoded): some senders sign it."""
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return (path + b"?" + query if query else path).decode("latin-1")


class Receiver:
    """An ASGI app: the route's endpoint, and called directly by `relay.web.hook_path` for
    every POST ahead of Starlette's router. Its refusals are raised as everywhere else and
    answered with `relay.web.errors.json_error` exactly as `relay.web.errors` answers them."""

    def __init__(self, settings: Settings, providers: dict[str, Provider], ingest: Ingest) -> None:
        self.settings = settings
        self.providers = providers
        self.ingest = ingest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.receive(scope["path_params"]["hook"], scope, receive, send)

    async def receive(self, name: str, scope: Scope, receive: Receive, send: Send) -> None:
        response: Answer | Response
        try:
            response = await self.handle(name, scope, receive)
        except RequestRefused as exc:
            response = json_error(exc.status_code, exc.message, exc.headers)
        except (StorageUnavailable, RedisError):
            response = json_error(503, UNAVAILABLE, RETRY_SOON)
        except Exception:  # ahead of Starlette's error middleware: log it as that would
            log.exception("hook %s: unexpected error", name)
            response = json_error(500, "internal error")
        await response(scope, receive, send)

    async def handle(self, name: str, scope: Scope, receive: Receive) -> Answer | Response:
        started = time.perf_counter()
        hook = self.settings.hooks.get(name)
        if hook is None:
            raise NotFound(f"unknown hook {name!r}")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            server = self.settings.server
            body = await read_asgi_body(
                receive, headers.get("content-length"), server.max_body, server.body_timeout
            )
        except BodyTooLarge:
            counter(name, "too_large").inc()
            raise
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read an answer
        incoming = IncomingRequest(
            method=scope["method"],
            path=raw_path(scope),
            headers=headers,
            body=body,
            received_at=time.time(),
        )
        client = scope.get("client")
        delivery = Delivery(
            hook=name,
            outcome=DeliveryOutcome.ACCEPTED,
            at=incoming.received_at,
            size=len(body),
            digest=body_digest(body),
            ip=client[0] if client else None,
        )
        provider = self.providers[name]
        try:
            verified = provider.verify(incoming)
        except WebhookRejected as exc:
            await self._reject(hook, delivery, exc)
            raise
        delivery.event = verified.event
        delivery.sender_id = verified.delivery_id or verified.hint_id
        reason = ignore_reason(hook.filters, provider, incoming, verified)
        if reason is not None:
            delivery.outcome, delivery.reason = DeliveryOutcome.IGNORED, reason
        else:
            delivery.targets = hook.targets
        response = await self._store(hook, delivery, verified, provider.accepted_status)
        INGEST_SECONDS.observe(time.perf_counter() - started)
        return response

    async def _store(
        self, hook: HookSettings, delivery: Delivery, verified: Verified, accepted: int
    ) -> Answer:
        try:
            outcome, delivery_id = await self.ingest.store(hook, delivery, verified)
        except (RedisError, OSError, TimeoutError) as exc:
            counter(hook.name, "unavailable").inc()
            log.warning(
                "hook %s: Redis unavailable, answered 503: %s", hook.name, type(exc).__name__
            )
            raise StorageUnavailable(f"hook {hook.name}: Redis unavailable") from None
        counter(hook.name, outcome).inc()
        if outcome == "duplicate":
            return answer(200, {"delivery": delivery_id, "duplicate": True})
        if outcome == "ignored":
            return answer(200, {"delivery": delivery_id, "ignored": delivery.reason})
        return answer(accepted, {"delivery": delivery_id, "targets": list(delivery.targets)})

    async def _reject(self, hook: HookSettings, delivery: Delivery, exc: WebhookRejected) -> None:
        """Record a refused request (best effort: the refusal stands either way)."""
        delivery.outcome, delivery.reason = DeliveryOutcome.REJECTED, exc.reason
        counter(delivery.hook, "rejected").inc()
        log.info("hook %s: refused: %s", delivery.hook, exc.reason)
        try:
            await self.ingest.store(hook, delivery)
        except (RedisError, OSError, TimeoutError):
            pass  # the refusal stands whether or not it could be recorded
