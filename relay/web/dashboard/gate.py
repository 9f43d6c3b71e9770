"""The gate in front of every dashboard page and API call: who is asking, and what to answer
when nobody (or nobody allowed) is."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from relay.web.dashboard.auth import Auth, Identity

DISABLED = (
    "the dashboard and API are disabled: no admin token is configured "
    "(set [admin] token in relay.toml or RELAY_ADMIN_TOKEN)"
)


def wants_html(request: Request) -> bool:
    """A browser page (HTML) rather than a script or the dashboard's own fetch (JSON)."""
    path = request.url.path
    if path.startswith(("/api/", "/hooks/")) or path in {"/live", "/metrics"}:
        return False
    return "text/html" in request.headers.get("accept", "")


def json_error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


class Gate:
    def __init__(self, auth: Auth, templates: Jinja2Templates) -> None:
        self.auth = auth
        self.templates = templates

    def check(self, request: Request) -> Identity | Response:
        """The caller's identity, or the answer to send instead (disabled / sign in / 401)."""
        if not self.auth.enabled:
            if wants_html(request):
                return self.templates.TemplateResponse(
                    request, "disabled.html", {}, status_code=403, headers=NO_STORE
                )
            return json_error(401, DISABLED)
        identity = self.auth.identify(request)
        if identity is not None:
            return identity
        if wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            after = target if request.method == "GET" else "/"
            return RedirectResponse(f"/login?next={quote(after, safe='')}", status_code=303)
        return json_error(
            401, "sign in, or send the admin token as Authorization: Bearer", **BEARER
        )


#: dashboard answers are never cached: they show live state and carry CSRF tokens
NO_STORE = {"Cache-Control": "no-store"}
BEARER = {"WWW-Authenticate": 'Bearer realm="relay"'}
