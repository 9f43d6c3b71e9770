"""The worker's supervisor starts a claimer thread that ended again, and counts it."""

from __future__ import annotations

import threading

from tests.helpers.polling import wait_for
from workers.claimer import Health
from workers.worker import Supervisor


class EndsTwice:
    """A claimer whose loop ends twice (as an uncaught error would end it), then runs."""

    def __init__(self) -> None:
        self.health = Health()
        self.runs = 0

    def run(self, stop: threading.Event) -> None:
        self.runs += 1
        if self.runs > 2:
            stop.wait()


def test_a_claimer_thread_that_ends_is_started_again() -> None:
    claimer = EndsTwice()
    supervisor = Supervisor(claimer)  # type: ignore[arg-type]
    try:
        wait_for(lambda: claimer.runs >= 3, timeout=10, what="the third start")
        assert claimer.health.restarts == 2
        assert supervisor.thread.is_alive()
    finally:
        supervisor.close()
