"""The Cloudflare Pages client: trigger, watch, list and delete deployments.

Every failure becomes a `CloudflareError`: `CloudflareRetryable` for what a later attempt may fix
(429, 5xx, 408/409, Cloudflare's "unknown error" 8000000, timeouts, dropped connections; with the
server's Retry-After when it sent one), `CloudflareRejected` for the rest (bad token, unknown
project, …), carrying Cloudflare's own error code and message. Neither the API token nor a
deploy hook URL ever appears in an error.
"""

from __future__ import annotations

import email.utils
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import httpx

from relay import __version__
from relay.core.exceptions import CloudflareRejected, CloudflareRetryable
from relay.core.settings import CloudflareSettings

#: Cloudflare's documented maximum (and default) page size for listing deployments
PAGE_SIZE = 25
RETRYABLE_STATUS = {408, 409, 429}
UNKNOWN_ERROR = 8000000


@dataclass(frozen=True)
class Deployment:
    id: str
    url: str | None
    environment: str | None
    branch: str | None
    stage: str | None
    stage_status: str | None
    created_on: str | None
    aliases: tuple[str, ...] = ()
    is_skipped: bool = False
    skip_reason: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> Deployment:
        stage = doc.get("latest_stage") or {}
        trigger = doc.get("deployment_trigger") or {}
        metadata = trigger.get("metadata") or {}
        return cls(
            id=str(doc.get("id", "")),
            url=doc.get("url"),
            environment=doc.get("environment"),
            branch=metadata.get("branch"),
            stage=stage.get("name"),
            stage_status=stage.get("status"),
            created_on=doc.get("created_on"),
            aliases=tuple(doc.get("aliases") or ()),
            is_skipped=bool(doc.get("is_skipped")),
            skip_reason=doc.get("skip_reason"),
            raw=doc,
        )

    @property
    def outcome(self) -> str | None:
        """success / failure / canceled / skipped once final; None while in progress.

        Decided from `latest_stage` only, as Cloudflare's own tools do.
        """
        if self.is_skipped:
            return "skipped"
        if self.stage_status in {"failure", "canceled"}:
            return self.stage_status
        if self.stage == "deploy" and self.stage_status == "success":
            return "success"
        return None


@cache
def tls_context() -> ssl.SSLContext:
    """One TLS context per process. Building it loads the CA bundle (26-49 ms measured), and
    every RQ work horse builds a client: `workers.runtime.configure` calls this before the
    worker starts forking, so each horse inherits it ready."""
    return httpx.create_ssl_context()


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class PagesClient:
    """A small synchronous client (the worker is synchronous); one per process."""

    def __init__(
        self,
        settings: CloudflareSettings,
        *,
        before_request: Callable[[], None] | None = None,
        after_response: Callable[[str, float], None] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.before_request = before_request
        self.after_response = after_response
        headers = {"User-Agent": f"deploy-hook-relay/{__version__}"}
        if settings.api_token is not None:
            headers["Authorization"] = f"Bearer {settings.api_token.reveal()}"
        self.http = httpx.Client(
            base_url=settings.api_base,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout, connect=min(settings.timeout, 10.0)),
            transport=transport,
            verify=tls_context(),
        )

    def close(self) -> None:
        self.http.close()

    def _project(self, project: str) -> str:
        return f"/accounts/{self.settings.account_id}/pages/projects/{project}"

    # -- calls -----------------------------------------------------------------------------------

    def create_deployment(self, project: str, branch: str | None) -> Deployment:
        """POST …/deployments as multipart/form-data with `branch` (none: production branch)."""
        form = {"files": {"branch": (None, branch)}} if branch else {}
        result = self._call(
            "POST",
            self._project(project) + "/deployments",
            what=f"create deployment of {project}",
            **form,
        )
        return Deployment.from_api(result)

    def get_deployment(self, project: str, deployment_id: str) -> Deployment:
        result = self._call(
            "GET",
            f"{self._project(project)}/deployments/{deployment_id}",
            what=f"get deployment {deployment_id} of {project}",
        )
        return Deployment.from_api(result)

    def list_deployments(
        self, project: str, *, page: int = 1, env: str | None = None
    ) -> tuple[list[Deployment], dict[str, Any]]:
        params: dict[str, Any] = {"page": page, "per_page": PAGE_SIZE}
        if env:
            params["env"] = env
        body = self._request(
            "GET",
            self._project(project) + "/deployments",
            what=f"list deployments of {project}",
            params=params,
        )
        return [Deployment.from_api(d) for d in body.get("result") or []], body.get(
            "result_info"
        ) or {}

    def iter_deployments(self, project: str) -> Iterator[Deployment]:
        """Every deployment, newest first, page by page until an empty page (as the SDK does)."""
        page = 1
        while True:
            items, info = self.list_deployments(project, page=page)
            yield from items
            total_pages = info.get("total_pages")
            if not items or (isinstance(total_pages, int) and page >= total_pages):
                return
            page += 1

    def delete_deployment(self, project: str, deployment_id: str, *, force: bool = False) -> None:
        self._call(
            "DELETE",
            f"{self._project(project)}/deployments/{deployment_id}",
            what=f"delete deployment {deployment_id} of {project}",
            params={"force": "true"} if force else None,
        )

    def get_project(self, project: str) -> dict[str, Any]:
        result = self._call("GET", self._project(project), what=f"get project {project}")
        return result if isinstance(result, dict) else {}

    def trigger_hook(self, url: str) -> str | None:
        """POST a deploy hook URL (no auth: the URL is the secret); the new deployment's id."""
        result = self._call("POST", url, what="call the deploy hook", authenticated=False)
        return str(result["id"]) if isinstance(result, dict) and result.get("id") else None

    # -- plumbing --------------------------------------------------------------------------------

    def _call(self, method: str, url: str, *, what: str, **kwargs: Any) -> Any:
        return self._request(method, url, what=what, **kwargs).get("result")

    def _request(
        self, method: str, url: str, *, what: str, authenticated: bool = True, **kwargs: Any
    ) -> dict[str, Any]:
        if self.before_request is not None:
            self.before_request()
        request = self.http.build_request(method, url, **kwargs)
        if not authenticated:
            request.headers.pop("authorization", None)
        started = time.monotonic()
        outcome = "error"
        try:
            response = self.http.send(request)
            outcome = str(response.status_code)
        except httpx.TimeoutException:
            outcome = "timeout"
            raise CloudflareRetryable(f"{what}: timed out") from None
        except httpx.TransportError as exc:
            raise CloudflareRetryable(f"{what}: connection failed ({type(exc).__name__})") from None
        finally:
            if self.after_response is not None:
                self.after_response(outcome, time.monotonic() - started)
        return self._envelope(response, what)

    @staticmethod
    def _envelope(response: httpx.Response, what: str) -> dict[str, Any]:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            body = {}
        errors = body.get("errors") or []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        code = first.get("code") if isinstance(first.get("code"), int) else None
        message = str(first.get("message") or response.reason_phrase or "no message")
        if status < 400 and body.get("success", False):
            return body
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if status in RETRYABLE_STATUS or status >= 500 or code == UNKNOWN_ERROR:
            raise CloudflareRetryable(
                f"{what}: {message}", status_code=status, code=code, retry_after=retry_after
            )
        if status < 400:  # 2xx without success: an envelope we do not understand
            raise CloudflareRetryable(f"{what}: unexpected answer", status_code=status, code=code)
        raise CloudflareRejected(f"{what}: {message}", status_code=status, code=code)
