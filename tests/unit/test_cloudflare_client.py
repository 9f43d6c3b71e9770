"""The Cloudflare v4 client over `httpx.MockTransport`: the envelope, which failures are retried,
Retry-After, and that no secret ever reaches an error."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from relay.core.cloudflare.client import CloudflareClient, parse_retry_after
from relay.core.cloudflare.pages import Pages
from relay.core.exceptions import CloudflareRejected, CloudflareRetryable
from relay.core.secret import Secret
from relay.core.settings import CloudflareSettings

TOKEN = "cf-unit-token-31b"
SETTINGS = CloudflareSettings(
    account_id="a" * 32, api_token=Secret(TOKEN), api_base="https://api.test/client/v4"
)
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **hooks: Any) -> CloudflareClient:
    return CloudflareClient(SETTINGS, transport=httpx.MockTransport(handler), **hooks)


def envelope(result: Any = None, *, success: bool = True, errors: Any = ()) -> dict[str, Any]:
    return {"success": success, "errors": list(errors), "messages": [], "result": result}


def answer(status: int, doc: Any = None, **headers: str) -> Handler:
    return lambda request: httpx.Response(status, json=doc, headers=headers)


def test_a_successful_call_returns_its_result_and_sends_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope({"id": "d1"}))

    assert client(handler).call("GET", "/x", what="get x") == {"id": "d1"}
    assert seen[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert seen[0].headers["user-agent"].startswith("deploy-hook-relay/")


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504])
def test_transient_statuses_are_retryable(status: int) -> None:
    doc = envelope(success=False, errors=[{"code": 10000, "message": "busy"}])
    with pytest.raises(CloudflareRetryable) as caught:
        client(answer(status, doc)).call("GET", "/x", what="get x")
    assert caught.value.http_status == status and caught.value.code == 10000
    assert str(caught.value) == f"HTTP {status}, code 10000: get x: busy"


def test_cloudflares_unknown_error_is_retryable_whatever_the_status() -> None:
    doc = envelope(success=False, errors=[{"code": 8000000, "message": "An unknown error"}])
    with pytest.raises(CloudflareRetryable):
        client(answer(400, doc)).call("POST", "/x", what="create")


@pytest.mark.parametrize(
    ("status", "code"), [(400, 8000024), (403, 10000), (404, 8000007), (404, 8000009)]
)
def test_other_4xx_are_rejected_with_cloudflares_code_and_message(status: int, code: int) -> None:
    doc = envelope(success=False, errors=[{"code": code, "message": "Project not found."}])
    with pytest.raises(CloudflareRejected) as caught:
        client(answer(status, doc)).call("GET", "/x", what="get project blog")
    assert (caught.value.http_status, caught.value.code) == (status, code)
    assert "get project blog: Project not found." in str(caught.value)


def test_a_2xx_without_success_or_without_json_is_not_taken_for_a_result() -> None:
    with pytest.raises(CloudflareRetryable, match="unexpected answer"):
        client(answer(200, {"success": False, "errors": []})).call("GET", "/x", what="x")
    html = lambda request: httpx.Response(502, text="<html>bad gateway</html>")  # noqa: E731
    with pytest.raises(CloudflareRetryable) as caught:
        client(html).call("GET", "/x", what="x")
    assert caught.value.code is None and "Bad Gateway" in str(caught.value)


def test_retry_after_is_read_in_seconds_and_as_an_http_date() -> None:
    doc = envelope(success=False, errors=[{"code": 971, "message": "slow down"}])
    with pytest.raises(CloudflareRetryable) as caught:
        client(answer(429, doc, **{"Retry-After": "42"})).call("GET", "/x", what="x")
    assert caught.value.retry_after == 42.0
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    parsed = parse_retry_after(later)
    assert parsed is not None and 110 < parsed <= 120
    assert parse_retry_after("soon") is None and parse_retry_after("\u00b2") is None


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("x")],
)
def test_timeouts_and_dropped_connections_are_retryable(failure: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise failure

    with pytest.raises(CloudflareRetryable) as caught:
        client(handler).call("POST", "/x", what="create deployment of blog")
    assert caught.value.http_status is None


def test_a_deploy_hook_is_called_without_the_token_and_never_named_in_errors() -> None:
    hook = "https://api.test/client/v4/pages/webhooks/deploy_hooks/s3cr3t-hook-id"
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500, json=envelope(success=False, errors=[{"message": "down"}]))

    with pytest.raises(CloudflareRetryable) as caught:
        Pages(client(handler)).trigger_hook(hook)
    assert "authorization" not in seen[0].headers
    assert "s3cr3t" not in str(caught.value) and TOKEN not in repr(caught.value)


def test_every_call_takes_the_budget_first_and_is_counted() -> None:
    events: list[str] = []
    hooks = {
        "before_request": lambda: events.append("budget"),
        "after_response": lambda status, seconds: events.append(f"counted {status}"),
    }
    client(answer(200, envelope({})), **hooks).call("GET", "/x", what="x")
    with pytest.raises(CloudflareRetryable):
        client(answer(503, envelope(success=False)), **hooks).call("GET", "/x", what="x")
    assert events == ["budget", "counted 200", "budget", "counted 503"]


def test_pages_create_sends_the_branch_as_multipart() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        stage = {"name": "queued", "status": "active"}
        return httpx.Response(200, json=envelope({"id": "dep-1", "latest_stage": stage}))

    deployment = Pages(client(handler)).create_deployment("blog", "staging")
    request = seen[0]
    assert request.url.path == f"/client/v4/accounts/{'a' * 32}/pages/projects/blog/deployments"
    assert request.headers["content-type"].startswith("multipart/form-data")
    assert b'name="branch"' in request.content and b"staging" in request.content
    assert deployment.id == "dep-1" and deployment.outcome is None
