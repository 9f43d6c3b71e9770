"""What each dashboard panel shows, read from Redis with bounded reads, and rendered as the
`_<panel>.html` partials both the full page and the live poller (`GET /live`) use."""

from __future__ import annotations

from typing import Any

import redis
from starlette.templating import Jinja2Templates

from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.dashboard.charts import Charts
from relay.web.dashboard.overview import target_views
from relay.web.dashboard.queues import queues_view
from relay.web.dashboard.tallies import Tallies

#: the panels, in page order; each is relay/web/templates/_<name>.html
PANELS = ("targets", "charts", "deliveries", "deployments", "failed", "queues")
#: rows each list panel shows (older ones: the history pages and the API)
ROWS = 20


class Panels:
    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        templates: Jinja2Templates,
        tallies: Tallies,
        charts: Charts,
    ) -> None:
        self.settings = settings
        self.client = client
        self.templates = templates
        self.tallies = tallies
        self.charts = charts

    def context(self, csrf: str) -> dict[str, Any]:
        """Everything the panels show, read now."""
        store = Store(self.client)
        now = store.server_ms()
        return {
            "now": now,
            "csrf": csrf,
            "targets": target_views(store, self.settings, self.tallies.get(store)),
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
