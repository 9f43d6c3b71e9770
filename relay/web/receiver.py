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
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Scope

from relay.core.exceptions import BodyTooLarge, NotFound, StorageUnavailable, WebhookRejected
from relay.core.records import Delivery, DeliveryOutcome
from relay.core.settings import HookSettings, Settings
from relay.web.bodies import read_body
from relay.web.filters import ignore_reason
from relay.web.ingest import Ingest, body_digest
from relay.web.metrics import DELIVERIES, INGEST_SECONDS
from relay.web.providers.base import IncomingRequest, Provider, Verified

log = logging.getLogger("relay.web.receiver")


def answer(status: int, doc: dict[str, object]) -> Response:
    return Response(orjson.dumps(doc), status, media_type="application/json")


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
    def __init__(self, settings: Settings, providers: dict[str, Provider], ingest: Ingest) -> None:
        self.settings = settings
        self.providers = providers
        self.ingest = ingest

    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        name = request.path_params["hook"]
        hook = self.settings.hooks.get(name)
        if hook is None:
            raise NotFound(f"unknown hook {name!r}")
        try:
            server = self.settings.server
            body = await read_body(request, server.max_body, server.body_timeout)
        except BodyTooLarge:
            counter(name, "too_large").inc()
            raise
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read an answer
        incoming = IncomingRequest(
            method=request.method,
            path=raw_path(request.scope),
            headers={
                k.decode("latin-1").lower(): v.decode("latin-1")
                for k, v in request.scope["headers"]
            },
            body=body,
            received_at=time.time(),
        )
        delivery = Delivery(
            hook=name,
            outcome=DeliveryOutcome.ACCEPTED,
            at=incoming.received_at,
            size=len(body),
            digest=body_digest(body),
            ip=request.client.host if request.client else None,
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
    ) -> Response:
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
