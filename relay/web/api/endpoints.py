"""The JSON API's endpoints (described in `relay.web.api.openapi`).

Reads are plain `def` endpoints (the synchronous Redis client, in the thread pool); replay goes
through `relay.core.controls`, exactly like `relay replay`; deploy, pause, resume, rollback and
the scheduled deploys are `relay.web.api.controls`. Every
answer is JSON; errors are `{"error": "..."}` with 400 (naming the field), 401, 403, 404, or
503 when Redis does not answer (rendered by `relay.web.errors`). Every answer but the
OpenAPI document carries `Cache-Control: no-store`.
"""

from __future__ import annotations

import redis
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay.core import controls
from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.access import Access, Identity
from relay.web.api import params
from relay.web.api.answers import caller, private_json
from relay.web.api.controls import ControlApi
from relay.web.api.openapi import SPEC
from relay.web.dashboard.overview import target_views
from relay.web.dashboard.queues import queues_view
from relay.web.dashboard.tallies import Tallies
from relay.web.operator import Operator

__all__ = ["Api", "private_json"]

#: failed triggers one replay request re-queues at most
REPLAY_CAP = 1000


class Api:
    def __init__(
        self,
        access: Access,
        settings: Settings,
        client: redis.Redis,
        tallies: Tallies,
        operator: Operator | None = None,
    ):
        self.access = access
        self.settings = settings
        self.client = client
        self.tallies = tallies
        self.operator = operator or Operator(settings, client)
        self.controls = ControlApi(access, settings, self.operator)

    def routes(self) -> list[Route]:
        return [
            Route("/api/openapi.json", self.openapi, methods=["GET"]),
            Route("/api/targets", self.targets, methods=["GET"]),
            Route("/api/deliveries", self.deliveries, methods=["GET"]),
            Route("/api/deployments", self.deployments, methods=["GET"]),
            Route("/api/failed", self.failed, methods=["GET"]),
            Route("/api/queues", self.queues, methods=["GET"]),
            Route("/api/replay", self.replay, methods=["POST"]),
            *self.controls.routes(),
        ]

    async def _async_caller(self, request: Request) -> Identity:
        return await run_in_threadpool(self._caller, request)

    def _caller(self, request: Request) -> Identity:
        return caller(self.access, request)

    def _store(self) -> Store:
        return Store(self.client)

    # -- reads -----------------------------------------------------------------------------------

    def openapi(self, request: Request) -> Response:
        return JSONResponse(SPEC)  # public: it describes, and holds nothing

    def targets(self, request: Request) -> Response:
        self._caller(request)
        store = self._store()
        operator = self.operator
        views = target_views(
            store, self.settings, self.tallies.get(store), can_rollback=operator.can_rollback
        )
        now = store.server_ms()
        account = operator.account_budget(now)
        doc = {
            "now": now,
            "targets": [v.to_dict() for v in views],
            "budget_builds": account.to_dict() if account else None,
        }
        return private_json(doc)

    def deliveries(self, request: Request) -> Response:
        self._caller(request)
        hook = params.known(request, "hook", self.settings.hooks, "hook")
        count = params.limit(request, default=50, maximum=1000)
        rows = self._store().deliveries(hook=hook, limit=count, before=params.before(request))
        following = rows[-1].id if len(rows) == count else None
        return private_json({"deliveries": [r.to_dict() for r in rows], "next_before": following})

    def deployments(self, request: Request) -> Response:
        self._caller(request)
        target = params.known(request, "target", self.settings.targets, "target")
        count = params.limit(request, default=50, maximum=1000)
        store = self._store()
        rows = store.trigger_page(target=target, offset=params.offset(request), limit=count)
        doc = {"deployments": [r.to_dict() for r in rows], "total": store.trigger_count(target)}
        return private_json(doc)

    def failed(self, request: Request) -> Response:
        self._caller(request)
        target = params.known(request, "target", self.settings.targets, "target")
        count = params.limit(request, default=100, maximum=1000)
        store = self._store()
        rows = store.failed_recent(limit=count, target=target)
        return private_json({"failed": [r.to_dict() for r in rows], "total": store.failed_count()})

    def queues(self, request: Request) -> Response:
        self._caller(request)
        cloudflare = self.settings.cloudflare
        used = self._store().api_budget_used(int(cloudflare.budget_window * 1000))
        doc = queues_view(self.client).to_dict()
        doc["cloudflare_budget"] = {
            "used": used,
            "limit": cloudflare.budget,
            "window_seconds": cloudflare.budget_window,
        }
        return private_json(doc)

    # -- actions ---------------------------------------------------------------------------------

    async def replay(self, request: Request) -> Response:
        await self._async_caller(request)
        body = await params.json_body(request, self.settings.server.body_timeout)
        asked = params.replay_request(body, self.settings.targets, cap=REPLAY_CAP)
        return await run_in_threadpool(self._replay, asked)

    def _replay(self, asked: params.ReplayRequest) -> Response:
        ids = asked.ids
        if ids is None:
            store = self._store()
            since_ms = None
            if asked.since is not None:
                since_ms = store.server_ms() - round(asked.since * 1000)
            rows = store.failed(target=asked.target, since_ms=since_ms)
            ids = [r.id for r in rows][:REPLAY_CAP]
        done = controls.replay(self.client, self.settings, ids)
        replayed = {d.trigger_id for d in done}
        return private_json(
            {
                "replayed": [d.to_dict() for d in done],
                "skipped": sorted(set(ids) - replayed),
            }
        )
