"""The traffic layer: the outermost ASGI app, in front of both products.

For every request outside `/__fake__` it logs the call (classifying the ones that start a build
or cancel one), applies a queued fault (a delay, an error status, or dropping the connection),
applies the global rate limit, and adds the `Ratelimit` headers (Pages reference §1.4). Pages
and Workers Builds paths go through exactly the same steps.
"""

from __future__ import annotations

import asyncio
import re
import time

from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .envelope import (
    CODE_RATE_LIMITED,
    CODE_UNKNOWN,
    CONTROL_PREFIX,
    JSON,
    MSG_RATE_LIMITED,
    error_response,
)
from .services import FakeServices
from .traffic import Fault

MAX_LOGGED_BODY = 64 * 1024

_ACCOUNT = r"/client/v4/accounts/[^/]+"
PAGES_CREATE = re.compile(_ACCOUNT + r"/pages/projects/(?P<project>[^/]+)/deployments")
PAGES_HOOK = re.compile(r"/client/v4/pages/webhooks/deploy_hooks/(?P<hook>[^/]+)")
WORKER_BUILD = re.compile(_ACCOUNT + r"/builds/triggers/(?P<trigger>[^/]+)/builds")
WORKER_HOOK = re.compile(r"/client/v4/workers/builds/deploy_hooks/(?P<hook>[^/]+)")
WORKER_CANCEL = re.compile(_ACCOUNT + r"/builds/builds/(?P<build>[^/]+)/cancel")

# The call-log kinds: a Pages create, a Pages hook, a Workers manual build, a Workers deploy
# hook, a Workers cancel. Everything else has kind None.
KIND_CREATE, KIND_HOOK = "create", "hook"
KIND_WORKER_BUILD, KIND_WORKER_HOOK, KIND_WORKER_CANCEL = "worker_build", "worker_hook", "cancel"


def classify(method: str, path: str, services: FakeServices) -> JSON:
    """What a call is about, decided before it is handled, so that faulted calls count too."""
    out: JSON = {
        "kind": None,
        "project": None,
        "hook_id": None,
        "deployment_id": None,
        "worker": None,
        "trigger_uuid": None,
        "build_uuid": None,
    }
    workers = services.workers
    with workers.lock:
        if method == "POST" and (match := PAGES_CREATE.fullmatch(path)):
            out.update(kind=KIND_CREATE, project=match["project"])
        elif method == "POST" and (match := PAGES_HOOK.fullmatch(path)):
            hook = services.pages.hooks.get(match["hook"])
            project = None if hook is None else hook.project
            out.update(kind=KIND_HOOK, hook_id=match["hook"], project=project)
        elif method == "POST" and (match := WORKER_BUILD.fullmatch(path)):
            trigger = workers.triggers.get(match["trigger"])
            tag = None if trigger is None else trigger.worker_tag
            out.update(kind=KIND_WORKER_BUILD, trigger_uuid=match["trigger"])
            out["worker"] = _name(services, tag)
        elif method == "POST" and (match := WORKER_HOOK.fullmatch(path)):
            worker_hook = workers.hooks.by_uuid.get(match["hook"])
            tag = None if worker_hook is None else worker_hook.worker_tag
            out.update(kind=KIND_WORKER_HOOK, hook_id=match["hook"], worker=_name(services, tag))
        elif method == "PUT" and (match := WORKER_CANCEL.fullmatch(path)):
            build = workers.builds.get(match["build"])
            tag = None if build is None else build.worker_tag
            out.update(kind=KIND_WORKER_CANCEL, build_uuid=match["build"])
            out["worker"] = _name(services, tag)
    return out


def _name(services: FakeServices, tag: str | None) -> str | None:
    worker = None if tag is None else services.workers.workers.get(tag)
    return None if worker is None else worker.name


class TrafficLayer:
    """Outermost ASGI app: call log, faults, rate limit, `Ratelimit` headers."""

    def __init__(self, app: ASGIApp, services: FakeServices) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        replay = replayer(body, receive)
        entry = await self._log(scope, body)
        scope["fake.call"] = entry["seq"]
        calls = self.services.calls
        fault = self.services.faults.take(scope["method"], scope["path"])
        if fault is not None and fault.delay:
            await asyncio.sleep(fault.delay)
        if fault is not None and fault.drop:
            calls.annotate(entry["seq"], status="dropped")
            await drop_connection(send)
            return
        if fault is not None and fault.status is not None:
            calls.annotate(entry["seq"], status=fault.status)
            await fault_response(fault)(scope, replay, send)
            return
        decision = self.services.limiter.check(self._rate_key(scope), time.time())
        if not decision.allowed:
            calls.annotate(entry["seq"], status=429)
            errors = [{"code": CODE_RATE_LIMITED, "message": MSG_RATE_LIMITED}]
            await error_response(429, errors, decision.headers())(scope, replay, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in decision.headers().items()]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                calls.annotate(entry["seq"], status=message["status"])
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, replay, send_with_headers)

    def _rate_key(self, scope: Scope) -> str:
        """Per user (Pages reference §1.4). Hook calls of either product count against the
        account (UNCONFIRMED); so does the account-scoped token."""
        path = scope["path"]
        request = Request(scope)
        if (
            PAGES_HOOK.fullmatch(path)
            or WORKER_HOOK.fullmatch(path)
            or self.services.credentials.known(request.headers)
        ):
            return "account"
        return f"anonymous:{request.client.host if request.client else '?'}"

    async def _log(self, scope: Scope, body: bytes) -> JSON:
        request = Request(dict(scope), replayer(body, None))
        content_type = request.headers.get("content-type", "")
        form: JSON | None = None
        if body and content_type.split(";")[0].strip().lower() in (
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ):
            try:
                parsed = await request.form()
                form = {
                    k: v if isinstance(v, str) else f"<file {v.filename!r}>"
                    for k, v in parsed.multi_items()
                }
                await parsed.close()
            except MultiPartException:
                form = None
        headers: dict[str, str] = {}
        for key, value in request.headers.items():
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        entry: JSON = {
            "time": time.time(),
            "method": scope["method"],
            "path": scope["path"],
            "query": dict(request.query_params),
            "query_string": scope.get("query_string", b"").decode("latin-1"),
            "headers": headers,
            "content_type": content_type,
            "body": body[:MAX_LOGGED_BODY].decode("utf-8", "replace"),
            "form": form,
            "status": None,
            **classify(scope["method"], scope["path"], self.services),
        }
        return self.services.calls.add(entry)


def fault_response(fault: Fault) -> Response:
    """The answer of a status fault: 971 and `Retry-After` for a 429 unless told otherwise."""
    status = fault.status or 500
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    errors = fault.errors
    if errors is None and status == 429:
        errors = [{"code": CODE_RATE_LIMITED, "message": MSG_RATE_LIMITED}]
    if errors is None:
        errors = [{"code": CODE_UNKNOWN, "message": "An unknown error occured. (injected fault)"}]
    return error_response(status, errors, headers)


async def drop_connection(send: Send) -> None:
    """Close the TCP connection without writing any HTTP response.

    Uvicorn's `send` is a bound method of its request cycle, which holds the transport. After
    closing it we wait for uvicorn to notice, so it does not try to write a 500 afterwards.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("drop faults need uvicorn; answering 500 instead")
    transport.close()
    for _ in range(200):
        if getattr(cycle, "disconnected", True):
            return
        await asyncio.sleep(0.005)


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replayer(body: bytes, receive: Receive | None) -> Receive:
    """A `receive` that yields `body` once, then defers to the real one (for disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if receive is None:
            return {"type": "http.disconnect"}
        return await receive()

    return replay
