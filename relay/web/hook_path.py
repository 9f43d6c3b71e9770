"""The webhook path ahead of the router: `POST /hooks/{name}` goes straight to the receiver.

Every delivery is a POST to /hooks/<name>, and it is the one request the relay answers at
volume. Starlette's router would try each route's pattern, build a Request and run the
exception middleware for it; this middleware, the first inside Starlette's error guard,
recognises the path with two string tests and hands the raw ASGI messages to
`relay.web.receiver.Receiver`, which answers refusals exactly as `relay.web.errors` does.
Everything else (other methods on /hooks/..., a name with a slash, every other path) goes
on to the router unchanged, so a GET there is still a 405 and an unknown path a 404.
Measured in `python -m bench` (docs/benchmarks.md).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from relay.web.receiver import Receiver

PREFIX = "/hooks/"


class HookPath:
    def __init__(self, app: ASGIApp, receiver: Receiver) -> None:
        self.app = app
        self.receiver = receiver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            if path.startswith(PREFIX):
                name = path[len(PREFIX) :]
                if name and "/" not in name:
                    await self.receiver.receive(name, scope, receive, send)
                    return
        await self.app(scope, receive, send)
