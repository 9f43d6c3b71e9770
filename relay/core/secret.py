"""`Secret`: a string that never shows itself in `repr`, `str`, logs or tracebacks."""

from __future__ import annotations

import hmac


class Secret:
    """Wraps a secret value; `reveal()` is the only way to read it.

    `str()` and `repr()` print a mask, so a Secret that slips into an f-string, a log line or
    an exception message leaks nothing.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def encode(self) -> bytes:
        return self._value.encode()

    def __repr__(self) -> str:
        return "Secret('**********')"

    def __str__(self) -> str:
        return "**********"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))
