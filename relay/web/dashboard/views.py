"""The dashboard's pages: `/` (every panel), `/live` (the panels again, as JSON for the poller)
and the paged histories `/deliveries` and `/deployments`.

Plain `def` endpoints: Redis is read with the synchronous client in Starlette's thread pool.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from relay.core.store import Store
from relay.web.dashboard.auth import Identity
from relay.web.dashboard.gate import NO_STORE, Gate
from relay.web.dashboard.panels import PANELS, ROWS, Panels

STREAM_ID = re.compile(r"^\d{1,20}(-\d{1,20})?$")
#: the notices a form post may redirect to (by code, so a link cannot put words on the page)
NOTICES = {
    "deploy-now": "Deployment queued: it starts as soon as the target is free.",
    "deploy": "Deployment queued through the debounce.",
    "replayed": "Re-queued the failed trigger(s).",
    "nothing": "Nothing to replay.",
}


class DashboardViews:
    def __init__(self, gate: Gate, panels: Panels) -> None:
        self.gate = gate
        self.panels = panels
        self.templates = panels.templates

    def routes(self) -> list[Route]:
        return [
            Route("/", self.index, methods=["GET"]),
            Route("/live", self.live, methods=["GET"]),
            Route("/deliveries", self.deliveries, methods=["GET"]),
            Route("/deployments", self.deployments, methods=["GET"]),
        ]

    def _csrf(self, identity: Identity) -> str:
        return self.gate.auth.csrf_token(identity)

    def index(self, request: Request) -> Response:
        identity = self.gate.check(request)
        if isinstance(identity, Response):
            return identity
        context = self.panels.context(self._csrf(identity))
        context.update(
            panels=PANELS,
            notice=NOTICES.get(request.query_params.get("done", "")),
            identity=identity,
        )
        return self.templates.TemplateResponse(request, "dashboard.html", context, headers=NO_STORE)

    def live(self, request: Request) -> Response:
        identity = self.gate.check(request)
        if isinstance(identity, Response):
            return identity
        context = self.panels.context(self._csrf(identity))
        doc = {"now": context["now"], "panels": self.panels.render(context)}
        return JSONResponse(doc, headers=NO_STORE)

    def deliveries(self, request: Request) -> Response:
        identity = self.gate.check(request)
        if isinstance(identity, Response):
            return identity
        hook = request.query_params.get("hook") or None
        before = request.query_params.get("before") or None
        if hook is not None and hook not in self.panels.settings.hooks:
            hook = None
        if before is not None and not STREAM_ID.match(before):
            before = None
        store = Store(self.panels.client)
        rows = store.deliveries(hook=hook, limit=ROWS * 5, before=before)
        context = {
            "now": store.server_ms(),
            "deliveries": rows,
            "hook": hook,
            "hooks": list(self.panels.settings.hooks),
            "older": rows[-1].id if len(rows) == ROWS * 5 else None,
            "identity": identity,
            "csrf": self._csrf(identity),
        }
        return self.templates.TemplateResponse(
            request, "deliveries.html", context, headers=NO_STORE
        )

    def deployments(self, request: Request) -> Response:
        identity = self.gate.check(request)
        if isinstance(identity, Response):
            return identity
        target = request.query_params.get("target") or None
        if target is not None and target not in self.panels.settings.targets:
            target = None
        page_text = request.query_params.get("page", "1")
        page = min(int(page_text), 10_000) if page_text.isdigit() and page_text != "0" else 1
        size = ROWS * 5
        store = Store(self.panels.client)
        rows = store.trigger_page(target=target, offset=(page - 1) * size, limit=size)
        total = store.trigger_count(target)
        context = {
            "now": store.server_ms(),
            "deployments": rows,
            "target": target,
            "target_names": list(self.panels.settings.targets),
            "page": page,
            "pages": max(1, -(-total // size)),
            "total": total,
            "identity": identity,
            "csrf": self._csrf(identity),
        }
        return self.templates.TemplateResponse(
            request, "deployments.html", context, headers=NO_STORE
        )
