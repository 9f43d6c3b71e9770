"""Reading request bodies without trusting the sender: bounded in size and in time.

Every body the web side reads goes through `read_body`: refused early from Content-Length, or
as soon as it passes its limit (413), and it must arrive within `[server] body_timeout` (408), so
neither a huge body nor one sent a byte a second (slowloris) ties a process up. Forms (the
sign-in form, the dashboard's buttons) are read through `read_form`, capped at a few KiB and
with no file parts, before any credential is looked at.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator

from starlette.datastructures import FormData
from starlette.requests import ClientDisconnect, Request
from starlette.types import Receive

from relay.core.exceptions import BadRequest, BodyTooLarge, RequestTimeout

#: the largest form the dashboard ever sends (a CSRF token, a target, a few ids)
FORM_LIMIT = 8 * 1024
#: fields a dashboard form may carry
FORM_FIELDS = 64


def ascii_int(text: str | None) -> int | None:
    """`text` as a whole number if it is one in ASCII digits ("²" is not), else None."""
    if text is None or not text.isascii() or not text.isdigit():
        return None
    return int(text)


async def read_body(request: Request, limit: int, timeout: float) -> bytes:
    """The raw body: at most `limit` bytes, all of it within `timeout` seconds."""
    declared = request.headers.get("content-length")
    return await _bounded(declared, request.stream(), limit, timeout)


class Deadlines:
    """Body deadlines for the receiver's hot path, checked by one timer a few times a second
    instead of one `asyncio.timeout` per request (a timer heap entry made and cancelled for
    every delivery was 8 % of the receiver's CPU: bench/profile.py). A read past its
    deadline has its task cancelled by the sweep, which `read_asgi_body` turns into a 408:
    at most TICK seconds late, which a slow sender cannot tell from network jitter."""

    TICK = 0.25

    def __init__(self) -> None:
        self.reading: dict[asyncio.Task[object], float] = {}
        self.expired: set[asyncio.Task[object]] = set()
        self.armed = False

    def start(self, task: asyncio.Task[object], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self.reading[task] = loop.time() + timeout
        if not self.armed:
            self.armed = True
            loop.call_later(self.TICK, self._sweep, loop)

    def done(self, task: asyncio.Task[object]) -> bool:
        """Forget `task`'s read; True when the sweep cancelled it for its deadline."""
        self.reading.pop(task, None)
        if task in self.expired:
            self.expired.discard(task)
            return True
        return False

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        for task, deadline in list(self.reading.items()):
            if deadline <= now:
                del self.reading[task]
                self.expired.add(task)
                task.cancel()
        if self.reading:
            loop.call_later(self.TICK, self._sweep, loop)
        else:
            self.armed = False


#: one Deadlines per event loop (a test process may run several apps, each in its own thread)
_DEADLINES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Deadlines] = (
    weakref.WeakKeyDictionary()
)


def _deadlines() -> Deadlines:
    loop = asyncio.get_running_loop()
    deadlines = _DEADLINES.get(loop)
    if deadlines is None:
        deadlines = _DEADLINES[loop] = Deadlines()
    return deadlines


async def read_asgi_body(
    receive: Receive, declared: str | None, limit: int, timeout: float
) -> bytes:
    """`read_body` straight from ASGI messages, for the receiver's path ahead of the router
    (`relay.web.hook_path`); a sender that went away raises Starlette's ClientDisconnect."""
    _check_declared(declared, limit)
    parts: list[bytes] = []
    received = 0
    task = asyncio.current_task()
    assert task is not None
    deadlines = _deadlines()
    deadlines.start(task, timeout)
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk: bytes = message.get("body", b"")
            received += len(chunk)
            if received > limit:
                raise BodyTooLarge(f"body larger than {limit} bytes")
            parts.append(chunk)
            if not message.get("more_body", False):
                break
    except asyncio.CancelledError:
        if deadlines.done(task):  # our deadline, not a shutdown: answer the sender
            task.uncancel()
            raise RequestTimeout(f"the body did not arrive within {timeout:g}s") from None
        raise
    finally:
        deadlines.done(task)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _check_declared(declared: str | None, limit: int) -> None:
    if declared is not None:
        size = ascii_int(declared.strip())
        if size is None:
            raise BadRequest("Content-Length is not a number")
        if size > limit:
            raise BodyTooLarge(f"body larger than {limit} bytes")


async def _bounded(
    declared: str | None, chunks: AsyncIterator[bytes], limit: int, timeout: float
) -> bytes:
    _check_declared(declared, limit)
    parts: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in chunks:
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(f"body larger than {limit} bytes")
                parts.append(chunk)
    except TimeoutError:
        raise RequestTimeout(f"the body did not arrive within {timeout:g}s") from None
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def read_form(request: Request, timeout: float, limit: int = FORM_LIMIT) -> FormData:
    """The form of a request (urlencoded or multipart without files), read within bounds."""
    body = await read_body(request, limit, timeout)
    request._body = body  # Starlette parses the form from the body it has already read
    try:
        return await request.form(max_files=0, max_fields=FORM_FIELDS, max_part_size=limit)
    except Exception as exc:  # Starlette's MultiPartException and parser errors
        raise BadRequest(f"the form could not be read ({type(exc).__name__})") from None
