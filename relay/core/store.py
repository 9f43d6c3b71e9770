"""Reading the relay's records from Redis: deliveries, triggers, pending bursts, counters.

The one place that knows where they live (keys in `relay.core.keys`) and turns what Redis holds
into typed records (`relay.core.records`). Synchronous: used by the worker, the CLI and (through
Starlette's thread pool) the dashboard. Writes go elsewhere: the receiver's single ingest script
(`relay.web.ingest`) and the trigger transitions (`relay.core.transitions`). Every read is
bounded by a limit, whatever the history holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import cast

import orjson
import redis

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.records import Delivery, Trigger, TriggerSummary, WorkerBeat


def text(value: object) -> str:
    """A Redis reply (bytes) as text; "" for None."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def decode_hash(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {text(k): text(v) for k, v in raw.items()}


#: stream entries as the synchronous client returns them (bytes)
Entries = list[tuple[bytes, dict[bytes, bytes]]]


def _entries(reply: object) -> Entries:
    return cast(Entries, reply or [])


def stream_id(value: str) -> tuple[int, int]:
    """A stream entry id (`<ms>-<seq>`) as a sortable pair."""
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class Pending:
    """A target's burst that is still collecting (not claimed yet)."""

    target: str
    count: int  # deliveries in it
    first: int  # ms, Redis clock
    last: int  # ms
    due: int  # ms: when it is claimed (later while a build of the target is in flight)
    reason: str | None
    #: why it waits past its due time: "paused", "budget" or "account budget" (None: it does
    #: not, or only for a build in flight), and until when (ms)
    held: str | None = None
    held_until: int | None = None

    def to_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


class Store:
    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def server_ms(self) -> int:
        """Now on the Redis server's clock (the clock every stored time is on), in ms."""
        return server_ms(self.client)

    # -- deliveries ------------------------------------------------------------------------------

    def deliveries(
        self, *, hook: str | None = None, limit: int = 50, before: str | None = None
    ) -> list[Delivery]:
        """The newest deliveries first (of one hook, or all), older than `before` when given."""
        if hook is None:
            end = f"({before}" if before else "+"
            entries = _entries(
                self.client.xrevrange(keys.DELIVERIES, max=end, min="-", count=limit)
            )
            return [self._delivery(eid, fields) for eid, fields in entries]
        index = _entries(
            self.client.xrevrange(
                keys.hook_deliveries(hook),
                max="+",
                min="-",
                count=limit if before is None else limit * 4,
            )
        )
        ids = [text(fields[b"i"]) for _, fields in index]
        if before is not None:
            ids = [i for i in ids if stream_id(i) < stream_id(before)][:limit]
        pipe = self.client.pipeline(transaction=False)
        for delivery_id in ids:
            pipe.xrange(keys.DELIVERIES, min=delivery_id, max=delivery_id, count=1)
        return [self._delivery(*_entries(found)[0]) for found in pipe.execute() if found]

    @staticmethod
    def _delivery(entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> Delivery:
        return Delivery.from_entry(text(entry_id), orjson.loads(fields[b"d"]))

    def delivery_outcomes_since(self, since_ms: int, *, limit: int) -> list[tuple[int, str]]:
        """(received ms, outcome) of the deliveries since `since_ms`, newest first, at most
        `limit` of them (stream ids are the Redis clock's milliseconds)."""
        entries = _entries(
            self.client.xrevrange(keys.DELIVERIES, max="+", min=str(since_ms), count=limit)
        )
        return [
            (stream_id(text(eid))[0], self._delivery(eid, fields).outcome.value)
            for eid, fields in entries
        ]

    # -- triggers --------------------------------------------------------------------------------

    def trigger(self, trigger_id: str) -> Trigger | None:
        return Trigger.from_hash(self.client.hgetall(keys.trigger(trigger_id)))

    def triggers(self, ids: Iterable[str]) -> list[Trigger]:
        """These triggers, in this order (those that are gone are left out)."""
        pipe = self.client.pipeline(transaction=False)
        for trigger_id in ids:
            pipe.hgetall(keys.trigger(trigger_id))
        found = (Trigger.from_hash(raw) for raw in pipe.execute() if raw)
        return [t for t in found if t is not None]

    def trigger_page(
        self, *, target: str | None = None, offset: int = 0, limit: int = 50
    ) -> list[Trigger]:
        """Triggers newest first (of one target, or all), skipping the `offset` newest."""
        index = keys.TRIGGERS if target is None else keys.target_triggers(target)
        ids = self.client.zrevrange(index, offset, offset + limit - 1)
        return self.triggers(text(i) for i in ids)

    def trigger_count(self, target: str | None = None) -> int:
        """How many triggers are stored (of one target, or all)."""
        index = keys.TRIGGERS if target is None else keys.target_triggers(target)
        return self.client.zcard(index)

    def trigger_ids(self) -> list[str]:
        """Every stored trigger id, oldest first (at most `server.keep_deployments`)."""
        return [text(i) for i in self.client.zrange(keys.TRIGGERS, 0, -1)]

    def summaries(self, ids: Iterable[str]) -> list[TriggerSummary | None]:
        """Target, status and deliveries of each trigger, in the order of `ids` (None: gone)."""
        pipe = self.client.pipeline(transaction=False)
        for trigger_id in ids:
            pipe.hmget(keys.trigger(trigger_id), TriggerSummary.fields())
        return [TriggerSummary.from_values(values) for values in pipe.execute()]

    def triggers_since(self, since_ms: int, *, limit: int) -> list[Trigger]:
        """The triggers created since `since_ms`, newest first, at most `limit` of them."""
        found = self.client.zrevrangebyscore(keys.TRIGGERS, "+inf", since_ms, start=0, num=limit)
        return self.triggers(text(i) for i in found)

    def failed(self, *, target: str | None = None, since_ms: int | None = None) -> list[Trigger]:
        """Every trigger that failed for good and waits for a replay (of one target, or all),
        newest first; with `since_ms`, only those that failed since then."""
        low = since_ms if since_ms is not None else "-inf"
        ids = [text(i) for i in self.client.zrevrangebyscore(keys.FAILED, "+inf", low)]
        return [t for t in self.triggers(ids) if target is None or t.target == target]

    def failed_recent(self, *, limit: int, target: str | None = None) -> list[Trigger]:
        """The newest failed-for-good triggers (of one target, or all), at most `limit`."""
        out: list[Trigger] = []
        start, chunk = 0, max(limit, 100)
        while len(out) < limit:
            ids = [text(i) for i in self.client.zrevrange(keys.FAILED, start, start + chunk - 1)]
            if not ids:
                break
            out += [t for t in self.triggers(ids) if target is None or t.target == target]
            start += chunk
        return out[:limit]

    def failed_count(self) -> int:
        return self.client.zcard(keys.FAILED)

    def inflight(self, target: str) -> str | None:
        """The id of the trigger holding `target` (its build in flight), if any."""
        value = self.client.get(keys.inflight(target))
        return text(value) if value is not None else None

    # -- bursts, timers, counters ----------------------------------------------------------------

    def pending(self) -> dict[str, Pending]:
        """Targets with a burst collecting."""
        scored = cast(
            list[tuple[bytes, float]], self.client.zrange(keys.DUE, 0, -1, withscores=True)
        )
        due = {text(target): int(score) for target, score in scored}
        pipe = self.client.pipeline(transaction=False)
        for target in due:
            pipe.hgetall(keys.burst(target))
        out = {}
        for (target, when), raw in zip(due.items(), pipe.execute(), strict=True):
            state = decode_hash(raw)
            out[target] = Pending(
                target=target,
                count=int(state.get("count") or 0),
                first=int(state.get("first") or 0),
                last=int(state.get("last") or 0),
                due=when,
                reason=state.get("reason") or None,
                held=state.get("held") or None,
                held_until=int(state["held_until"]) if state.get("held_until") else None,
            )
        return out

    def workers(self) -> list[WorkerBeat]:
        """Every worker's latest heartbeat, by name."""
        raw = cast(dict[bytes, bytes], self.client.hgetall(keys.WORKERS))
        beats = (WorkerBeat.from_json(text(name), value) for name, value in raw.items())
        return sorted((b for b in beats if b is not None), key=lambda b: b.name)

    def timer_count(self) -> int:
        """Deploy and watch runs waiting for their time (relay:timers)."""
        return self.client.zcard(keys.STEPS)

    def api_budget_used(self, window_ms: int) -> int:
        """Cloudflare API requests taken from the shared budget within the last `window_ms`."""
        return self.client.zcount(keys.API_BUDGET, self.server_ms() - window_ms, "+inf")

    def counts(self, key: str) -> dict[str, int]:
        """A counting hash (field -> integer), e.g. keys.BUILD_COUNTS; {} when absent."""
        out = {}
        for name, value in decode_hash(self.client.hgetall(key)).items():
            if value.lstrip("-").isdigit():
                out[name] = int(value)
        return out

    def delivery_counts(self) -> dict[str, int]:
        return self.counts(keys.DELIVERY_COUNTS)
