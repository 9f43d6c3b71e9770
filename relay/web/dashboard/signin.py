"""`/login` and `/logout`: the sign-in form that turns the admin token into a session cookie."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from relay.core.exceptions import DashboardOff, Forbidden
from relay.web.access import CSRF_FIELD, DISABLED, NO_STORE, Access, same_origin
from relay.web.bodies import read_form


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (never `//host` or a URL)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


class SignIn:
    def __init__(self, access: Access, templates: Jinja2Templates, body_timeout: float) -> None:
        self.access = access
        self.templates = templates
        self.body_timeout = body_timeout

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["GET", "POST"]),
        ]

    def _form(self, request: Request, error: str | None, status: int = 200) -> Response:
        """The sign-in form, with what went wrong on the last try."""
        context = {"error": error, "next": safe_next(request.query_params.get("next"))}
        return self.templates.TemplateResponse(
            request, "login.html", context, status_code=status, headers=NO_STORE
        )

    async def login(self, request: Request) -> Response:
        if not self.access.enabled:
            raise DashboardOff(DISABLED)
        if request.method == "GET":
            if await run_in_threadpool(self.access.identify, request) is not None:
                return RedirectResponse(safe_next(request.query_params.get("next")), 303)
            return self._form(request, None)
        if not same_origin(request):
            return self._form(request, "This form must be sent from this site.", 403)
        await run_in_threadpool(self.access.throttle, request)  # before reading anything
        form = await read_form(request, self.body_timeout)
        token = form.get("token")
        candidate = token.strip() if isinstance(token, str) else ""
        if not await run_in_threadpool(self.access.check_token, request, candidate):
            return self._form(request, "That is not the admin token.", 401)
        response = RedirectResponse(safe_next(request.query_params.get("next")), 303)
        cookie = await run_in_threadpool(self.access.new_session)
        self.access.set_cookie(response, request, cookie)
        return response

    async def logout(self, request: Request) -> Response:
        identity = await run_in_threadpool(self.access.identify, request)
        if identity is None or identity.kind != "session":
            return RedirectResponse("/login", 303)
        if request.method == "GET":
            context = {"csrf": self.access.csrf_token(identity)}
            return self.templates.TemplateResponse(
                request, "logout.html", context, headers=NO_STORE
            )
        form = await read_form(request, self.body_timeout)
        submitted = form.get(CSRF_FIELD)
        try:
            self.access.require_csrf(
                request, identity, submitted if isinstance(submitted, str) else None
            )
        except Forbidden:
            raise Forbidden("the sign-out form expired: reload the page") from None
        if identity.session_id is not None:
            await run_in_threadpool(self.access.end_session, identity.session_id)
        response = RedirectResponse("/login", 303)
        self.access.clear_cookie(response)
        return response
