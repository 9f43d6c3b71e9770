"""The web side's reading of operator input (pause length and reason, a deployment id), what
holds a pending burst, and how a time is shown on the dashboard."""

from __future__ import annotations

import pytest

from relay.core.controls import Pause
from relay.core.exceptions import BadRequest
from relay.core.store import Pending
from relay.web.dashboard.overview import Held, held_of
from relay.web.dashboard.templating import clock
from relay.web.operator import deployment_id, pause_reason, pause_seconds

NOW = 1_796_227_200_000  # 2026-12-02 16:00 UTC


def burst(held: str | None = None, until: int | None = None) -> Pending:
    return Pending("blog", 2, NOW - 5000, NOW - 1000, NOW, "webhooks", held, until)


@pytest.mark.parametrize(
    ("value", "seconds"), [(None, None), ("", None), ("  ", None), ("2h", 7200.0), (90, 90.0)]
)
def test_pause_seconds(value: object, seconds: float | None) -> None:
    assert pause_seconds(value) == seconds


@pytest.mark.parametrize("value", ["soon", "0s", 0, -1, True, "366d", [1]])
def test_pause_seconds_refused_naming_the_field(value: object) -> None:
    with pytest.raises(BadRequest, match=r"^for: "):
        pause_seconds(value)


def test_pause_reason() -> None:
    assert pause_reason(None) is None and pause_reason("   ") is None
    assert pause_reason(" launch\n\tday ") == "launch day"
    for bad in (5, "x" * 201):
        with pytest.raises(BadRequest, match=r"^reason: "):
            pause_reason(bad)


def test_deployment_id_is_only_an_id() -> None:
    assert deployment_id(None) is None and deployment_id("") is None
    assert deployment_id("b57a836f-6c4a-474e-9dee-27de146427c8") == (
        "b57a836f-6c4a-474e-9dee-27de146427c8"
    )
    for bad in ("../../tokens", "a/b", "a?b=1", "-x", "x" * 65, 7):
        with pytest.raises(BadRequest, match=r"^to: "):
            deployment_id(bad)


def test_what_holds_a_burst() -> None:
    pause = Pause("blog", NOW - 60_000, NOW + 3_600_000, "freeze")
    assert held_of(None, pause, NOW) is None
    assert held_of(burst(), pause, NOW) == Held("paused", NOW + 3_600_000)
    # the claim's mark of a pause lifted meanwhile (resume) no longer holds it
    assert held_of(burst("paused", NOW + 3_600_000), None, NOW) is None
    assert held_of(burst("budget", NOW + 60_000), None, NOW) == Held("budget", NOW + 60_000)
    assert held_of(burst("account budget", None), None, NOW) == Held("account budget", None)
    assert held_of(burst("budget", NOW - 1), None, NOW) is None  # its time came
    assert held_of(burst(), None, NOW) is None


def test_clock() -> None:
    assert clock(NOW + 3_600_000, NOW) == "17:00 UTC"
    assert clock(NOW + 86_400_000, NOW) == "tomorrow 16:00 UTC"
    assert clock(NOW + 20 * 86_400_000, NOW) == "2026-12-22 16:00 UTC"
    assert clock(None, NOW) == "\N{EN DASH}"
