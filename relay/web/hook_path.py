"""The webhook path ahead of everything: `POST /hooks/{name}` goes straight to the receiver.

Every delivery is a POST to /hooks/<name>, and it is the one request the relay answers at
volume. Through Starlette it would pass the error middleware's send wrapper, the router
(each route's pattern tried in turn), a Request object and the exception middleware; the
relay's app recognises it first, with two string tests, and hands the raw ASGI messages to
`relay.web.receiver.Receiver`, which answers refusals exactly as `relay.web.errors` does and
an unexpected error with a logged 500. Everything else (other methods on /hooks/..., a name
with a slash, every other path, the lifespan) is Starlette's, unchanged: a GET there is
still a 405 and an unknown path a 404. Measured in `python -m bench` (docs/benchmarks.md).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from relay.web.receiver import Receiver

PREFIX = "/hooks/"


class RelayApp(Starlette):
    """Starlette, with `POST /hooks/{name}` answered by `receiver` before its middleware."""

    def __init__(self, receiver: Receiver, **options: Any) -> None:
        super().__init__(**options)
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path.startswith(PREFIX):
                name = path[len(PREFIX) :]
                if name and "/" not in name:
                    await self.receiver.receive(name, scope, receive, send)
                    return
        await super().__call__(scope, receive, send)
