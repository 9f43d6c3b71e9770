"""The dashboard's buttons: `POST /actions/deploy` (Deploy now) and `POST /actions/replay`.

Plain HTML forms (they work without JavaScript: the answer is a redirect back to `/`); the
dashboard's script sends the same forms with `Accept: application/json` and gets JSON. Each is
CSRF-checked (`checked_form`), and each goes through `relay.core.controls`, as `relay deploy`
and `relay replay` do: Deploy now on a paused target is refused (409) unless the form says
`force=1` (the card's *Deploy anyway*), and `ignore_budget=1` builds past a build budget. The
pause, resume and rollback buttons are `relay.web.dashboard.controls`.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import redis
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from relay.core import controls
from relay.core.exceptions import NotFound
from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.access import CSRF_FIELD, NO_STORE, Access
from relay.web.bodies import read_form

#: at most this many failed triggers are replayed by one request
REPLAY_CAP = 1000


async def checked_form(access: Access, request: Request, timeout: float) -> FormData:
    """The form of a state-changing dashboard request: by the admin, with its CSRF token."""
    identity = await run_in_threadpool(access.require_admin, request)
    form = await read_form(request, timeout)
    submitted = form.get(CSRF_FIELD)
    access.require_csrf(request, identity, submitted if isinstance(submitted, str) else None)
    return form


def done(request: Request, code: str, doc: dict[str, Any]) -> Response:
    """JSON for the dashboard's script; else back to the dashboard with a notice (by code, so
    a link cannot put words on the page)."""
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(doc, headers=NO_STORE)
    return RedirectResponse(f"/?done={code}", status_code=303, headers=NO_STORE)


class Forms:
    def __init__(self, access: Access, settings: Settings, client: redis.Redis) -> None:
        self.access = access
        self.settings = settings
        self.client = client

    def routes(self) -> list[Route]:
        return [
            Route("/actions/deploy", self.deploy, methods=["POST"]),
            Route("/actions/replay", self.replay, methods=["POST"]),
        ]

    async def _checked(self, request: Request) -> FormData:
        return await checked_form(self.access, request, self.settings.server.body_timeout)

    @staticmethod
    def _done(request: Request, code: str, doc: dict[str, Any]) -> Response:
        return done(request, code, doc)

    async def deploy(self, request: Request) -> Response:
        form = await self._checked(request)
        target = form.get("target")
        if not isinstance(target, str) or target not in self.settings.targets:
            raise NotFound("unknown target")
        now = form.get("now") == "1"
        force = form.get("force") == "1"
        ignore_budget = form.get("ignore_budget") == "1"
        due = await run_in_threadpool(
            partial(
                controls.deploy,
                self.client,
                self.settings,
                target,
                reason="dashboard",
                now=now,
                force=force,
                ignore_budget=ignore_budget,
            )
        )
        message = f"{target}: deployment queued" + ("" if now else " through the debounce")
        if force:
            message += " (despite the pause)"
        if ignore_budget:
            message += " (past the build budget)"
        return self._done(
            request, "deploy-now" if now else "deploy", {"message": message, "due": due}
        )

    async def replay(self, request: Request) -> Response:
        form = await self._checked(request)
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
        return [r.trigger_id for r in controls.replay(self.client, self.settings, ids)]
