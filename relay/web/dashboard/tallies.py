"""Tallies of the stored deployment triggers: per target, how many by status, and how many
deliveries they coalesced ("builds saved").

Read by the dashboard, the JSON API and /metrics. Bounded: the store keeps at most
`server.keep_deployments` triggers (10,000 by default), and a trigger in a final state never
changes again, so each is read once and remembered; later refreshes read only the index and the
triggers still in progress. Results are kept for `TTL` seconds so that many open dashboards
cost one refresh.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from relay.core.records import TriggerStatus, TriggerSummary
from relay.core.store import Store

#: seconds a computed tally is served before the index is read again
TTL = 2.0


@dataclass
class Tally:
    """One target's stored triggers."""

    builds: int = 0
    deliveries: int = 0  # deliveries coalesced into those builds
    saved: int = 0  # builds a deploy hook pointed straight at Pages would have run on top
    by_status: Counter[TriggerStatus] = field(default_factory=Counter)

    def add(self, status: TriggerStatus, deliveries: int) -> None:
        self.builds += 1
        self.deliveries += deliveries
        self.saved += max(0, deliveries - 1)
        self.by_status[status] += 1

    @property
    def per_build(self) -> float:
        """Deliveries per build (the coalescing ratio); 0 without builds."""
        return self.deliveries / self.builds if self.builds else 0.0


class Tallies:
    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._final: dict[str, TriggerSummary] = {}  # the triggers known to be final
        self._result: dict[str, Tally] = {}
        self._at = float("-inf")

    def get(self, store: Store) -> dict[str, Tally]:
        """Target name -> Tally, at most `ttl` seconds old."""
        with self._lock:
            if time.monotonic() - self._at >= self.ttl:
                self._result = self._refresh(store)
                self._at = time.monotonic()
            return self._result

    def _refresh(self, store: Store) -> dict[str, Tally]:
        ids = store.trigger_ids()
        unknown = [i for i in ids if i not in self._final]
        fresh = dict(zip(unknown, store.summaries(unknown), strict=True))
        known: dict[str, TriggerSummary] = {}
        out: dict[str, Tally] = {}
        for trigger_id in ids:
            row = self._final.get(trigger_id) or fresh.get(trigger_id)
            if row is None:
                continue  # trimmed between the two reads
            if row.status.final:
                known[trigger_id] = row
            out.setdefault(row.target, Tally()).add(row.status, row.deliveries)
        self._final = known  # forget what was trimmed
        return out
