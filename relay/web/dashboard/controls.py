"""The dashboard's operator controls: pause and resume a target, roll a Pages target back.

* `POST /actions/pause` (`target`, optional `for` such as "2h" and `reason`) and
  `POST /actions/resume` (`target`): the card's *Pause* and *Resume* buttons.
* `GET /actions/rollback?target=NAME` is the confirm step: it asks Cloudflare which deployment
  the rollback would make live (the previous good production one) and shows it, with a
  *Roll back* button that posts `POST /actions/rollback` (`target`, `to`: exactly the
  deployment shown, so what is confirmed is what happens).

Like the other buttons (`relay.web.dashboard.forms`) they are plain forms that work without
JavaScript, are CSRF-checked, answer JSON to the dashboard's script and otherwise redirect back
to `/`; each action is the web side's `Operator` method, i.e. the core function the CLI calls.
"""

from __future__ import annotations

from functools import partial

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.access import NO_STORE, Access
from relay.web.dashboard.forms import checked_form, done
from relay.web.operator import Operator, deployment_id, pause_reason, pause_seconds


class ControlForms:
    def __init__(
        self, access: Access, settings: Settings, templates: Jinja2Templates, operator: Operator
    ) -> None:
        self.access = access
        self.settings = settings
        self.templates = templates
        self.operator = operator

    def routes(self) -> list[Route]:
        return [
            Route("/actions/pause", self.pause, methods=["POST"]),
            Route("/actions/resume", self.resume, methods=["POST"]),
            Route("/actions/rollback", self.confirm_rollback, methods=["GET"]),
            Route("/actions/rollback", self.rollback, methods=["POST"]),
        ]

    async def pause(self, request: Request) -> Response:
        form = await checked_form(self.access, request, self.settings.server.body_timeout)
        name = self.operator.config(form.get("target")).name
        seconds = pause_seconds(form.get("for"))
        reason = pause_reason(form.get("reason"))
        paused = await run_in_threadpool(
            partial(self.operator.pause, name, seconds=seconds, reason=reason)
        )
        doc = {"message": paused.describe(), "paused": paused.to_dict()}
        return done(request, "paused", doc)

    async def resume(self, request: Request) -> Response:
        form = await checked_form(self.access, request, self.settings.server.body_timeout)
        name = self.operator.config(form.get("target")).name
        resumed = await run_in_threadpool(self.operator.resume, name)
        message = (
            f"{name} resumed: what collected meanwhile builds now, as one build"
            if resumed
            else f"{name} was not paused"
        )
        return done(
            request,
            "resumed" if resumed else "not-paused",
            {"message": message, "resumed": resumed},
        )

    def confirm_rollback(self, request: Request) -> Response:
        """The confirm step (a plain `def`: Redis and Cloudflare are read in the thread pool)."""
        identity = self.access.require_admin(request)
        config = self.operator.config(request.query_params.get("target"))
        to = deployment_id(request.query_params.get("to"))
        chosen = self.operator.rollback_choice(config.name, to)
        context = {
            "identity": identity,
            "csrf": self.access.csrf_token(identity),
            "name": config.name,
            "project": config.project,
            "chosen": chosen,
            "now": Store(self.operator.client).server_ms(),
        }
        return self.templates.TemplateResponse(request, "rollback.html", context, headers=NO_STORE)

    async def rollback(self, request: Request) -> Response:
        form = await checked_form(self.access, request, self.settings.server.body_timeout)
        name = self.operator.config(form.get("target")).name
        to = deployment_id(form.get("to"))
        trigger = await run_in_threadpool(self.operator.rollback, name, to)
        message = f"{name}: {trigger.note or trigger.reason}"
        return done(request, "rolled-back", {"message": message, "trigger": trigger.to_dict()})
