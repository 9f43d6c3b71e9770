"""The dashboard's buttons: `POST /actions/deploy` (Deploy now) and `POST /actions/replay`.

Plain HTML forms (they work without JavaScript: the answer is a redirect back to `/`); the
dashboard's script sends the same forms with `Accept: application/json` and gets JSON. Each is
CSRF-checked, and each goes through `relay.core.controls`, as `relay deploy` and `relay replay` do.
"""

from __future__ import annotations

from typing import Any

import redis
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from relay.core import controls as actions
from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.dashboard import csrf
from relay.web.dashboard.gate import Gate, json_error, wants_html

#: at most this many failed triggers are replayed by one request
REPLAY_CAP = 1000


class Forms:
    def __init__(self, gate: Gate, settings: Settings, client: redis.Redis) -> None:
        self.gate = gate
        self.settings = settings
        self.client = client

    def routes(self) -> list[Route]:
        return [
            Route("/actions/deploy", self.deploy, methods=["POST"]),
            Route("/actions/replay", self.replay, methods=["POST"]),
        ]

    async def _checked(self, request: Request) -> FormData | Response:
        identity = self.gate.check(request)
        if isinstance(identity, Response):
            return identity
        form = await request.form()
        submitted = form.get(csrf.FIELD)
        token = submitted if isinstance(submitted, str) else None
        if not csrf.valid(self.gate.auth, identity, request, token):
            return self._error(request, 403, "CSRF check failed: reload the page and try again")
        return form

    def _error(self, request: Request, status: int, message: str) -> Response:
        if wants_html(request):
            context = {"status": status, "message": message}
            return self.gate.templates.TemplateResponse(
                request, "error.html", context, status_code=status
            )
        return json_error(status, message)

    @staticmethod
    def _done(request: Request, code: str, doc: dict[str, Any]) -> Response:
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(doc)
        return RedirectResponse(f"/?done={code}", status_code=303)

    async def deploy(self, request: Request) -> Response:
        form = await self._checked(request)
        if isinstance(form, Response):
            return form
        target = form.get("target")
        if not isinstance(target, str) or target not in self.settings.targets:
            return self._error(request, 404, "unknown target")
        now = form.get("now") == "1"
        due = await run_in_threadpool(
            actions.touch, self.client, self.settings, target, reason="dashboard", now=now
        )
        message = f"{target}: deployment queued" + ("" if now else " through the debounce")
        return self._done(
            request, "deploy-now" if now else "deploy", {"message": message, "due": due}
        )

    async def replay(self, request: Request) -> Response:
        form = await self._checked(request)
        if isinstance(form, Response):
            return form
        ids = [i for i in form.getlist("id") if isinstance(i, str)][:REPLAY_CAP]
        done = await run_in_threadpool(self._replay, ids, form.get("all") == "1")
        message = (
            f"re-queued {len(done)} failed trigger(s): " + ", ".join(done[:5])
            if done
            else "nothing to replay"
        )
        return self._done(request, "replayed" if done else "nothing", {"message": message})

    def _replay(self, ids: list[str], replay_all: bool) -> list[str]:
        if replay_all:
            ids = [t.id for t in Store(self.client).failed_recent(limit=REPLAY_CAP)]
        return [r.trigger_id for r in actions.replay(self.client, self.settings, ids)]
