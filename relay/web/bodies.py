"""Reading request bodies without trusting the sender: bounded in size and in time.

Every body the web side reads goes through `read_body`: refused early from Content-Length, or
as soon as it passes its limit (413), and it must arrive within `[server] body_timeout` (408), so
neither a huge body nor one sent a byte a second (slowloris) ties a process up. Forms (the
sign-in form, the dashboard's buttons) are read through `read_form`, capped at a few KiB and
with no file parts, before any credential is looked at.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import FormData
from starlette.requests import Request

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
    if declared is not None:
        size = ascii_int(declared.strip())
        if size is None:
            raise BadRequest("Content-Length is not a number")
        if size > limit:
            raise BodyTooLarge(f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                received += len(chunk)
                if received > limit:
                    raise BodyTooLarge(f"body larger than {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(f"the body did not arrive within {timeout:g}s") from None
    return b"".join(chunks)


async def read_form(request: Request, timeout: float, limit: int = FORM_LIMIT) -> FormData:
    """The form of a request (urlencoded or multipart without files), read within bounds."""
    body = await read_body(request, limit, timeout)
    request._body = body  # Starlette parses the form from the body it has already read
    try:
        return await request.form(max_files=0, max_fields=FORM_FIELDS, max_part_size=limit)
    except Exception as exc:  # Starlette's MultiPartException and parser errors
        raise BadRequest(f"the form could not be read ({type(exc).__name__})") from None
