"""A test-only switch: make this process die (SIGKILL) at a named point.

`RELAY_TEST_DIE_AT=deploy:after-call` (for example) kills the worker right after Cloudflare
accepted a build and before the relay recorded it, exactly as an out-of-memory kill would at
that instant. The tests use it to prove that every death between two steps settles. Unset in
production, it costs one dictionary lookup per point.

Points: `deploy:before-call`, `deploy:after-call`, `watch:before-record`, `claim:after-claim`.
`RELAY_TEST_FAIL_AT=claimer:tick` instead raises an unexpected exception, once, where named.
"""

from __future__ import annotations

import os
import signal

VARIABLE = "RELAY_TEST_DIE_AT"


def die_at(point: str) -> None:
    """SIGKILL this process if the test switch names `point`."""
    if os.environ.get(VARIABLE) == point:
        os.kill(os.getpid(), signal.SIGKILL)


class InjectedFault(RuntimeError):
    """Raised by `fail_once`: a bug on purpose, for the tests of supervision."""


_failed: set[str] = set()
FAIL_VARIABLE = "RELAY_TEST_FAIL_AT"


def fail_once(point: str) -> None:
    """Raise `InjectedFault` the first time `point` is reached, if the test switch names it."""
    if os.environ.get(FAIL_VARIABLE) == point and point not in _failed:
        _failed.add(point)
        raise InjectedFault(f"injected fault at {point}")
