"""The JSON API's operator controls (described in `relay.web.api.openapi`):

    POST   /api/targets/{name}/deploy    {"now", "force", "ignore_budget"} or {"at": TIME}
    POST   /api/targets/{name}/pause     {"for": "2h"?, "reason": "…"?}
    POST   /api/targets/{name}/resume
    POST   /api/targets/{name}/rollback  {"to": DEPLOYMENT?}
    GET    /api/scheduled
    DELETE /api/scheduled/{id}

Each is the web side's `Operator` method, i.e. the core function `relay deploy [--at]`,
`relay pause`, `relay resume`, `relay rollback` and `relay scheduled [--cancel]` call: a deploy
of a paused target without `force` is 409, a rollback of a target that cannot is 409, a
rollback Cloudflare refused is 502 (and recorded as a failed trigger). Bad input is 400 with
the field first in the message.
"""

from __future__ import annotations

from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from relay.core.settings import Settings
from relay.web.access import Access
from relay.web.api import params
from relay.web.api.answers import caller, private_json
from relay.web.operator import Operator, deployment_id, pause_reason, pause_seconds


class ControlApi:
    def __init__(self, access: Access, settings: Settings, operator: Operator) -> None:
        self.access = access
        self.settings = settings
        self.operator = operator

    def routes(self) -> list[Route]:
        return [
            Route("/api/targets/{name}/deploy", self.deploy, methods=["POST"]),
            Route("/api/targets/{name}/pause", self.pause, methods=["POST"]),
            Route("/api/targets/{name}/resume", self.resume, methods=["POST"]),
            Route("/api/targets/{name}/rollback", self.rollback, methods=["POST"]),
            Route("/api/scheduled", self.scheduled, methods=["GET"]),
            Route("/api/scheduled/{id}", self.cancel, methods=["DELETE"]),
        ]

    async def _target(self, request: Request) -> tuple[str, dict[str, object]]:
        """The caller checked, the target named by the path, and the JSON body."""
        await run_in_threadpool(caller, self.access, request)
        name = self.operator.config(request.path_params["name"]).name
        body = await params.json_body(request, self.settings.server.body_timeout)
        return name, body

    async def deploy(self, request: Request) -> Response:
        name, body = await self._target(request)
        asked = params.deploy_request(body)
        if asked.at is not None:
            planned = await run_in_threadpool(
                partial(self.operator.schedule, name, asked.at, by="api")
            )
            return private_json({"target": name, "scheduled": planned.to_dict()}, 202)
        due = await run_in_threadpool(
            partial(
                self.operator.deploy,
                name,
                reason="api",
                now=asked.now,
                force=asked.force,
                ignore_budget=asked.ignore_budget,
            )
        )
        doc = {
            "target": name,
            "now": asked.now,
            "force": asked.force,
            "ignore_budget": asked.ignore_budget,
            "due": due,
        }
        return private_json(doc, 202)

    async def pause(self, request: Request) -> Response:
        name, body = await self._target(request)
        params.only_fields(body, {"for", "reason"})
        seconds = pause_seconds(body.get("for"))
        reason = pause_reason(body.get("reason"))
        paused = await run_in_threadpool(
            partial(self.operator.pause, name, seconds=seconds, reason=reason)
        )
        return private_json({"paused": paused.to_dict()})

    async def resume(self, request: Request) -> Response:
        name, body = await self._target(request)
        params.only_fields(body, set())
        resumed = await run_in_threadpool(self.operator.resume, name)
        return private_json({"target": name, "resumed": resumed})

    async def rollback(self, request: Request) -> Response:
        name, body = await self._target(request)
        params.only_fields(body, {"to"})
        to = deployment_id(body.get("to"))
        trigger = await run_in_threadpool(self.operator.rollback, name, to)
        return private_json({"rollback": trigger.to_dict()})

    def scheduled(self, request: Request) -> Response:
        caller(self.access, request)
        return private_json({"scheduled": [s.to_dict() for s in self.operator.scheduled()]})

    def cancel(self, request: Request) -> Response:
        caller(self.access, request)
        cancelled = self.operator.cancel_scheduled(request.path_params["id"])
        return private_json({"cancelled": cancelled.to_dict()})
