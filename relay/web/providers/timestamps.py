"""Sender timestamps in Unix milliseconds and the `tolerance` option that bounds their age.

Sanity, Contentful, Ghost and Hygraph sign a millisecond timestamp together with the body.
A hook's `tolerance` says how far that timestamp may be from the relay's clock before the
request is refused as replayed or delayed; `0` turns the check off (the vendor libraries of
Sanity, Ghost and Hygraph check no age at all).
"""

from __future__ import annotations

import re

from relay.core.declare import Kind, OptionSpec
from relay.core.exceptions import WebhookRejected

#: at most 15 digits: JavaScript senders parse the value into a double, exact up to 2**53
_MILLISECONDS = re.compile(r"[0-9]{1,15}")


def tolerance_option(default: float) -> OptionSpec:
    return OptionSpec(
        Kind.DURATION, default, "how far the signed timestamp may be from now (0: any)"
    )


def seconds(value: object) -> float:
    """An option's duration value as seconds (0 when unset)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value)


def parse_ms(header: str, raw: str, minimum: int = 0) -> int:
    """The Unix-milliseconds value `raw`, or a rejection naming `header`."""
    if not _MILLISECONDS.fullmatch(raw) or int(raw) < minimum:
        raise WebhookRejected(f"malformed {header} header: the timestamp is not Unix milliseconds")
    return int(raw)


def check_age(header: str, milliseconds: int, now: float, tolerance: float) -> None:
    """Refuse a timestamp further than `tolerance` seconds from `now` (either way)."""
    if tolerance <= 0:
        return
    age = now - milliseconds / 1000
    if age > tolerance:
        raise WebhookRejected(f"{header} timestamp is too old (replayed or delayed request)")
    if age < -tolerance:
        raise WebhookRejected(f"{header} timestamp is in the future (check the sender's clock)")
