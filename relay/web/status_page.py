"""`GET /status/{target}`: a public, shareable status page for one target.

It shows what a client or a teammate wants to see without a Cloudflare account: the Pages
project's name, subdomain and domains, the live (canonical) deployment, and the newest
deployments with their preview links and status, read from the Pages API (project + first page
of deployments) and cached in Redis (`keys.status_cache`): fresh for `FRESH` seconds, refreshed
by one server process at a time, served stale while Cloudflare does not answer. For deploy-hook
targets, or without Cloudflare credentials, it shows the relay's own records with a note.

Only whitelisted fields are copied from Cloudflare's answers (never env vars, build config,
tokens or errors), and nothing from relay.toml but the target's name and project.
A target's `status_token` (or, for every target, `RELAY_STATUS_TOKEN`) makes its page need
`?token=` (or an admin session). Only such a page, opened with its token or by an admin, also
shows the last failed build's log tail (the lines the trigger kept): a build log may name paths,
packages and messages a site's owner would not publish, so a public page never shows it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from relay.core import keys
from relay.core.build_settings import TargetSettings
from relay.core.cloudflare.pages import Deployment, Pages
from relay.core.cloudflare.usage import budgeted_client
from relay.core.exceptions import BudgetExhausted, CloudflareError, NotFound
from relay.core.records import Trigger, TriggerStatus
from relay.core.secret import Secret
from relay.core.settings import Settings
from relay.core.store import Store
from relay.web.access import Access

#: seconds the cached Cloudflare data is served without asking Cloudflare again
FRESH = 30.0
#: seconds the cache is kept at all (stale data beats no data while Cloudflare is down)
CACHE_KEEP = 600
LOCK_MS = 10_000
#: seconds each Cloudflare request of a refresh may take (the workers' timeout is longer)
FETCH_TIMEOUT = 5.0
#: relay records shown
RECORDS = 10


def deployment_doc(item: Deployment) -> dict[str, Any]:
    return {
        "id": item.id,
        "short_id": item.id[:8],
        "url": item.url,
        "environment": item.environment,
        "branch": item.branch,
        "aliases": list(item.aliases),
        "status": item.outcome or f"{item.stage or 'queued'} ({item.stage_status or 'active'})",
        "tone": TriggerStatus(item.outcome).tone if item.outcome else "busy",
        "created_on": item.created_on,
    }


def project_doc(raw: dict[str, Any]) -> dict[str, Any]:
    canonical = raw.get("canonical_deployment")
    return {
        "name": raw.get("name"),
        "subdomain": raw.get("subdomain"),
        "domains": [d for d in raw.get("domains") or [] if isinstance(d, str)],
        "production_branch": raw.get("production_branch"),
        "canonical": (
            deployment_doc(Deployment.from_api(canonical)) if isinstance(canonical, dict) else None
        ),
    }


def record_doc(trigger: Trigger) -> dict[str, Any]:
    """What the public page shows of a relay trigger (no error text, no ids of deliveries)."""
    return {
        "created_at": trigger.created_at,
        "status": trigger.status,
        "environment": trigger.environment,
        "url": trigger.url,
        "duration": trigger.duration,
    }


def failed_log(triggers: list[Trigger]) -> dict[str, Any] | None:
    """The newest failed build among `triggers`, with the log tail it kept (None: none)."""
    failed = next((t for t in triggers if t.status.failing), None)
    if failed is None or not failed.log_tail:
        return None
    return {"created_at": failed.created_at, "status": failed.status, "lines": failed.log_tail}


class StatusPages:
    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        templates: Jinja2Templates,
        access: Access,
        *,
        pages: Callable[[], Pages] | None = None,
    ) -> None:
        self.settings = settings
        self.client = client
        self.templates = templates
        self.access = access
        self.pages = pages or self._pages_client

    def routes(self) -> list[Route]:
        return [Route("/status/{target}", self.page, methods=["GET"])]

    def _pages_client(self) -> Pages:
        """A client that gives up quickly: a visitor waits at most a few seconds."""
        cloudflare = dataclasses.replace(self.settings.cloudflare, timeout=FETCH_TIMEOUT)
        return Pages(budgeted_client(self.client, cloudflare, max_wait=2.0))

    def _token(self, config: TargetSettings) -> Secret | None:
        """The target's own `status_token`, else `[server] status_token`, else none."""
        return config.status_token or self.settings.server.status_token

    def _allowed(self, request: Request, config: TargetSettings) -> bool:
        token = self._token(config)
        if token is None or self.access.identify(request) is not None:
            return True
        return token == Secret(request.query_params.get("token", ""))

    def page(self, request: Request) -> Response:
        config = self.settings.targets.get(request.path_params["target"])
        if config is None or not self._allowed(request, config):
            raise NotFound("no such status page")
        # `_allowed` passed: with a token configured, this visitor showed it (or is an admin)
        context = self.view(config, private=self._token(config) is not None)
        cache = "private, no-store" if self._token(config) else "public, max-age=15"
        headers = {"Cache-Control": cache, "Referrer-Policy": "no-referrer"}
        return self.templates.TemplateResponse(request, "status.html", context, headers=headers)

    def view(self, config: TargetSettings, *, private: bool = False) -> dict[str, Any]:
        """The page's context; `private`: the page is behind a token its visitor showed."""
        store = Store(self.client)
        triggers = store.trigger_page(target=config.name, limit=RECORDS)
        context: dict[str, Any] = {
            "name": config.name,
            "records": [record_doc(t) for t in triggers],
            "cloudflare": None,
            "note": None,
            "now": store.server_ms(),
            "failed_log": failed_log(triggers) if private else None,
        }
        if config.project is None:
            context["note"] = (
                "This site is built through a deploy hook: "
                "shown are the builds the relay asked for."
            )
        elif self.settings.dry_run or not self.settings.cloudflare.has_credentials:
            context["note"] = (
                "The relay has no Cloudflare access configured: shown are its own records."
            )
        else:
            context["cloudflare"], context["note"] = self._cloudflare(config.name, config.project)
        return context

    def _cloudflare(self, target: str, project: str) -> tuple[dict[str, Any] | None, str | None]:
        raw = self.client.get(keys.status_cache(target))
        cached: dict[str, Any] | None = orjson.loads(raw) if raw else None
        if cached is not None and time.time() - cached["fetched_at"] < FRESH:
            return cached, None
        lock = keys.status_refresh_lock(target)
        locked = bool(self.client.set(lock, "1", nx=True, px=LOCK_MS))
        if cached is not None and not locked:
            return cached, None  # another process is refreshing it
        try:
            fresh = self._fetch(project)
        except (CloudflareError, BudgetExhausted):
            note = "Cloudflare did not answer just now"
            if cached is None:
                return None, note + ": shown are the relay's own records."
            return cached, note + ": this is what it said a little earlier."
        finally:
            if locked:
                self.client.delete(lock)
        self.client.set(keys.status_cache(target), orjson.dumps(fresh), ex=CACHE_KEEP)
        return fresh, None

    def _fetch(self, project: str) -> dict[str, Any]:
        client = self.pages()
        try:
            raw = client.get_project(project)
            deployments, _ = client.list_deployments(project, page=1)
        finally:
            client.close()
        return {
            "fetched_at": time.time(),
            "project": project_doc(raw),
            "deployments": [deployment_doc(d) for d in deployments],
        }
