"""The dashboard's pages: `/` (every panel), `/live` (the panels again, as JSON for the poller)
and the paged histories `/deliveries` and `/deployments`.

Each panel is a `_<name>.html` partial rendered from what `Panels.context` reads (bounded reads,
whatever the history holds); the full page and the live poller render the same partials.
Plain `def` endpoints: Redis is read with the synchronous client in Starlette's thread pool.
"""

from __future__ import annotations

import re
from typing import Any

import redis
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.access import NO_STORE, Access
from relay.web.dashboard.charts import Charts
from relay.web.dashboard.overview import target_views
from relay.web.dashboard.queues import queues_view
from relay.web.dashboard.tallies import Tallies
from relay.web.operator import Operator

#: the panels, in page order; each is relay/web/templates/_<name>.html
PANELS = ("targets", "charts", "deliveries", "deployments", "failed", "queues")
#: rows each list panel shows (older ones: the history pages and the API)
ROWS = 20
#: rows of a history page
PAGE_ROWS = ROWS * 5
STREAM_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")
#: the notices a form post may redirect to (by code, so a link cannot put words on the page)
NOTICES = {
    "deploy-now": "Deployment queued: it starts as soon as the target is free.",
    "deploy": "Deployment queued through the debounce.",
    "replayed": "Re-queued the failed trigger(s).",
    "nothing": "Nothing to replay.",
    "paused": "Paused: deliveries are still taken and collect into one build for later.",
    "resumed": "Resumed: what collected meanwhile builds now, as one build.",
    "not-paused": "That target was not paused.",
    "rolled-back": "Rolled back: the earlier deployment is live again.",
}


class Panels:
    """What each panel shows, read now."""

    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        templates: Jinja2Templates,
        tallies: Tallies,
        charts: Charts,
        operator: Operator | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.templates = templates
        self.tallies = tallies
        self.charts = charts
        self.operator = operator or Operator(settings, client)

    def context(self, csrf: str) -> dict[str, Any]:
        store = Store(self.client)
        now = store.server_ms()
        operator = self.operator
        return {
            "now": now,
            "csrf": csrf,
            "targets": target_views(
                store, self.settings, self.tallies.get(store), can_rollback=operator.can_rollback
            ),
            "account_budget": operator.account_budget(now),
            "charts": self.charts.get(store),
            "deliveries": store.deliveries(limit=ROWS),
            "deployments": store.trigger_page(limit=ROWS),
            "failed": store.failed_recent(limit=ROWS),
            "failed_total": store.failed_count(),
            "queues": queues_view(self.client),
            "hooks": list(self.settings.hooks),
            "target_names": list(self.settings.targets),
            "older": None,
        }

    def render(self, context: dict[str, Any]) -> dict[str, str]:
        """Each panel's HTML, for the live poller."""
        env = self.templates.env
        return {name: env.get_template(f"_{name}.html").render(context) for name in PANELS}


def page_number(text: str | None) -> int:
    """`?page=`: a whole number from 1 (anything else is page 1)."""
    if text and text.isascii() and text.isdigit() and text != "0":
        return min(int(text), 10_000)
    return 1


class DashboardViews:
    def __init__(self, access: Access, panels: Panels) -> None:
        self.access = access
        self.panels = panels
        self.templates = panels.templates

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/live", self.live, methods=["GET"]),
            Route("/deliveries", self.deliveries, methods=["GET"]),
            Route("/deployments", self.deployments, methods=["GET"]),
        ]

    def _page(self, request: Request, template: str, context: dict[str, Any]) -> Response:
        return self.templates.TemplateResponse(request, template, context, headers=NO_STORE)

    def index(self, request: Request) -> Response:
        identity = self.access.require_admin(request)
        context = self.panels.context(self.access.csrf_token(identity))
        context.update(
            panels=PANELS,
            notice=NOTICES.get(request.query_params.get("done", "")),
            identity=identity,
        )
        return self._page(request, "dashboard.html", context)

    def live(self, request: Request) -> Response:
        identity = self.access.require_admin(request)
        context = self.panels.context(self.access.csrf_token(identity))
        doc = {"now": context["now"], "panels": self.panels.render(context)}
        return JSONResponse(doc, headers=NO_STORE)

    def deliveries(self, request: Request) -> Response:
        identity = self.access.require_admin(request)
        hook = request.query_params.get("hook") or None
        before = request.query_params.get("before") or None
        if hook is not None and hook not in self.panels.settings.hooks:
            hook = None
        if before is not None and not STREAM_ID.match(before):
            before = None
        store = Store(self.panels.client)
        rows = store.deliveries(hook=hook, limit=PAGE_ROWS, before=before)
        context = {
            "now": store.server_ms(),
            "deliveries": rows,
            "hook": hook,
            "hooks": list(self.panels.settings.hooks),
            "older": rows[-1].id if len(rows) == PAGE_ROWS else None,
            "identity": identity,
            "csrf": self.access.csrf_token(identity),
        }
        return self._page(request, "deliveries.html", context)

    def deployments(self, request: Request) -> Response:
        identity = self.access.require_admin(request)
        target = request.query_params.get("target") or None
        if target is not None and target not in self.panels.settings.targets:
            target = None
        page = page_number(request.query_params.get("page"))
        store = Store(self.panels.client)
        rows = store.trigger_page(target=target, offset=(page - 1) * PAGE_ROWS, limit=PAGE_ROWS)
        total = store.trigger_count(target)
        context = {
            "now": store.server_ms(),
            "deployments": rows,
            "target": target,
            "target_names": list(self.panels.settings.targets),
            "page": page,
            "pages": max(1, -(-total // PAGE_ROWS)),
            "total": total,
            "identity": identity,
            "csrf": self.access.csrf_token(identity),
        }
        return self._page(request, "deployments.html", context)
