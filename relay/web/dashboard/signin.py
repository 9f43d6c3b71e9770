"""`/login` and `/logout`: the sign-in form that turns the admin token into a session cookie."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from relay.web.dashboard import csrf
from relay.web.dashboard.gate import NO_STORE, Gate


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site only (never `//host` or a URL)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


class SignIn:
    def __init__(self, gate: Gate) -> None:
        self.gate = gate
        self.auth = gate.auth
        self.templates = gate.templates

    def routes(self) -> list[Route]:
        return [
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["GET", "POST"]),
        ]

    def _form(self, request: Request, error: str | None, status: int = 200) -> Response:
        context = {"error": error, "next": safe_next(request.query_params.get("next"))}
        return self.templates.TemplateResponse(
            request, "login.html", context, status_code=status, headers=NO_STORE
        )

    async def login(self, request: Request) -> Response:
        if not self.auth.enabled:
            return self.templates.TemplateResponse(
                request, "disabled.html", {}, status_code=403, headers=NO_STORE
            )
        if request.method == "GET":
            if self.auth.identify(request) is not None:
                return RedirectResponse(safe_next(request.query_params.get("next")), 303)
            return self._form(request, None)
        if not csrf.same_origin(request):
            return self._form(request, "This form must be sent from this site.", 403)
        form = await request.form()
        token = form.get("token")
        if not isinstance(token, str) or not self.auth.token_matches(token.strip()):
            return self._form(request, "That is not the admin token.", 401)
        response = RedirectResponse(safe_next(request.query_params.get("next")), 303)
        self.auth.set_cookie(response, request, self.auth.new_session())
        return response

    async def logout(self, request: Request) -> Response:
        identity = self.auth.identify(request)
        if identity is None or identity.kind != "session":
            return RedirectResponse("/login", 303)
        if request.method == "GET":
            context = {"csrf": self.auth.csrf_token(identity)}
            return self.templates.TemplateResponse(
                request, "logout.html", context, headers=NO_STORE
            )
        form = await request.form()
        submitted = form.get(csrf.FIELD)
        if not csrf.valid(
            self.auth, identity, request, submitted if isinstance(submitted, str) else None
        ):
            return self.templates.TemplateResponse(
                request,
                "error.html",
                {"status": 403, "message": "The sign-out form expired: reload the page."},
                status_code=403,
            )
        response = RedirectResponse("/login", 303)
        self.auth.clear_cookie(response)
        return response
