"""Reading and writing the relay's records: deliveries and deployment triggers.

The one place that knows their layout in Redis (keys in `relay.core.keys`). Synchronous: used by the
worker, the CLI and (through Starlette's thread pool) the dashboard. The receiver's hot path
writes through `relay.web.ingest` instead, in a single Lua call.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from relay.core import keys

#: trigger states, in the order a trigger normally goes through them
STATUSES = (
    "queued",  # claimed from a burst (or asked for), its deploy job is on its way
    "triggering",  # the Cloudflare call is being made
    "retrying",  # the call failed for now; another attempt is scheduled
    "building",  # Cloudflare accepted it; the build is being watched
    "success",  # the build reached deploy/success
    "failure",  # the build failed on Cloudflare
    "canceled",  # the build was canceled on Cloudflare
    "skipped",  # Cloudflare skipped the build (branch or path settings)
    "stuck",  # no progress for stuck_after
    "triggered",  # a deploy hook accepted it and there is no API access to watch the build
    "dry-run",  # no credentials: recorded what would have been deployed
    "failed",  # the trigger failed for good: listed by `relay failed`, can be replayed
)
FINAL = {"success", "failure", "canceled", "skipped", "stuck", "triggered", "dry-run", "failed"}


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    hook: str
    outcome: str
    at: float
    reason: str | None
    event: str | None
    sender_id: str | None
    targets: list[str]
    size: int
    duplicate_of: str | None

    @classmethod
    def from_entry(cls, entry_id: str, doc: Mapping[str, Any]) -> DeliveryRecord:
        targets = doc.get("targets") or []
        return cls(
            id=entry_id,
            hook=str(doc.get("hook", "")),
            outcome=str(doc.get("outcome", "")),
            at=float(doc.get("at", 0)),
            reason=doc.get("reason"),
            event=doc.get("event"),
            sender_id=doc.get("sender_id"),
            targets=list(targets) if isinstance(targets, list) else [],
            size=int(doc.get("size", 0)),
            duplicate_of=doc.get("duplicate_of"),
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


def decode_hash(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


class Store:
    def __init__(self, client: redis.Redis) -> None:
        # redis-py types every reply as a union of everything a command could return; the
        # layouts here are fixed by this module, so replies are handled as Any
        self.client: Any = client

    # -- deliveries ------------------------------------------------------------------------------

    def deliveries(
        self, *, hook: str | None = None, limit: int = 50, before: str | None = None
    ) -> list[DeliveryRecord]:
        """The newest deliveries first (of one hook, or all), older than `before` when given."""
        end = f"({before}" if before else "+"
        if hook is None:
            entries = self.client.xrevrange(keys.DELIVERIES, max=end, min="-", count=limit)
            return [self._delivery(eid, fields) for eid, fields in entries]
        index = self.client.xrevrange(
            keys.hook_deliveries(hook),
            max="+",
            min="-",
            count=limit if before is None else limit * 4,
        )
        ids = [_text(fields[b"i"]) for _, fields in index]
        if before is not None:
            ids = [i for i in ids if _stream_id(i) < _stream_id(before)][:limit]
        pipe = self.client.pipeline(transaction=False)
        for delivery_id in ids:
            pipe.xrange(keys.DELIVERIES, min=delivery_id, max=delivery_id, count=1)
        out = []
        for found in pipe.execute():
            if found:
                out.append(self._delivery(*found[0]))
        return out

    @staticmethod
    def _delivery(entry_id: bytes | str, fields: Mapping[bytes, bytes]) -> DeliveryRecord:
        return DeliveryRecord.from_entry(_text(entry_id), orjson.loads(fields[b"d"]))

    def delivery_counts(self) -> dict[str, int]:
        return {
            k: int(v) for k, v in decode_hash(self.client.hgetall(keys.DELIVERY_COUNTS)).items()
        }

    # -- triggers --------------------------------------------------------------------------------

    def trigger(self, trigger_id: str) -> dict[str, str] | None:
        raw = self.client.hgetall(keys.trigger(trigger_id))
        return decode_hash(raw) if raw else None

    def triggers(
        self, *, target: str | None = None, limit: int = 50, ids: Iterable[str] | None = None
    ) -> list[dict[str, str]]:
        """The newest triggers first (of one target, or all)."""
        if ids is None:
            index = keys.TRIGGERS if target is None else keys.target_triggers(target)
            ids = [_text(i) for i in self.client.zrevrange(index, 0, limit - 1)]
        pipe = self.client.pipeline(transaction=False)
        id_list = list(ids)
        for trigger_id in id_list:
            pipe.hgetall(keys.trigger(trigger_id))
        return [decode_hash(raw) for raw in pipe.execute() if raw]

    def failed(
        self, *, target: str | None = None, since_ms: int | None = None
    ) -> list[dict[str, str]]:
        ids = [
            _text(i)
            for i in self.client.zrevrangebyscore(
                keys.FAILED, "+inf", since_ms if since_ms is not None else "-inf"
            )
        ]
        found = self.triggers(ids=ids)
        return [t for t in found if target is None or t.get("target") == target]

    def update(self, trigger_id: str, **fields: str | int | float | None) -> None:
        """Set fields of a trigger (None deletes the field)."""
        setting = {k: v for k, v in fields.items() if v is not None}
        removing = [k for k, v in fields.items() if v is None]
        pipe = self.client.pipeline(transaction=True)
        if setting:
            pipe.hset(keys.trigger(trigger_id), mapping=setting)
        if removing:
            pipe.hdel(keys.trigger(trigger_id), *removing)
        pipe.execute()

    def pending(self) -> dict[str, dict[str, str]]:
        """Targets with a burst collecting: target -> {first, last, count, due}."""
        due = {
            _text(t): int(score)
            for t, score in self.client.zrange(keys.DUE, 0, -1, withscores=True)
        }
        pipe = self.client.pipeline(transaction=False)
        for target in due:
            pipe.hgetall(keys.burst(target))
        out = {}
        for (target, when), raw in zip(due.items(), pipe.execute(), strict=True):
            state = decode_hash(raw)
            state["due"] = str(when)
            out[target] = state
        return out

    def inflight(self, target: str) -> str | None:
        value = self.client.get(keys.inflight(target))
        return _text(value) if value is not None else None

    # -- bounded reads for the dashboard, the JSON API and /metrics -------------------------------

    def trigger_page(
        self, *, target: str | None = None, offset: int = 0, limit: int = 50
    ) -> list[dict[str, str]]:
        """Triggers newest first, skipping the `offset` newest (for paged history)."""
        index = keys.TRIGGERS if target is None else keys.target_triggers(target)
        ids = [_text(i) for i in self.client.zrevrange(index, offset, offset + limit - 1)]
        return self.triggers(ids=ids)

    def trigger_count(self, target: str | None = None) -> int:
        """How many triggers are stored (of one target, or all)."""
        index = keys.TRIGGERS if target is None else keys.target_triggers(target)
        return int(self.client.zcard(index))

    def trigger_ids(self) -> list[str]:
        """Every stored trigger id, oldest first (at most `server.keep_deployments`)."""
        return [_text(i) for i in self.client.zrange(keys.TRIGGERS, 0, -1)]

    def trigger_fields(self, ids: Iterable[str], fields: tuple[str, ...]) -> list[dict[str, str]]:
        """Some fields of each trigger, in the order of `ids` (missing fields are absent)."""
        pipe = self.client.pipeline(transaction=False)
        for trigger_id in ids:
            pipe.hmget(keys.trigger(trigger_id), list(fields))
        return [
            {name: _text(v) for name, v in zip(fields, values, strict=True) if v is not None}
            for values in pipe.execute()
        ]

    def triggers_since(self, since_ms: int, *, limit: int) -> list[dict[str, str]]:
        """Target, status and created_at of the triggers created since `since_ms`, newest first,
        at most `limit` of them."""
        ids = [
            _text(i)
            for i in self.client.zrevrangebyscore(
                keys.TRIGGERS, "+inf", since_ms, start=0, num=limit
            )
        ]
        return self.trigger_fields(ids, ("target", "status", "created_at"))

    def delivery_outcomes_since(self, since_ms: int, *, limit: int) -> list[tuple[int, str]]:
        """(received ms, outcome) of the deliveries since `since_ms`, newest first, at most
        `limit` of them (stream ids are the Redis clock's milliseconds)."""
        entries = self.client.xrevrange(keys.DELIVERIES, max="+", min=str(since_ms), count=limit)
        out = []
        for entry_id, fields in entries:
            doc = orjson.loads(fields[b"d"])
            out.append((_stream_id(_text(entry_id))[0], str(doc.get("outcome", ""))))
        return out

    def failed_recent(self, *, limit: int, target: str | None = None) -> list[dict[str, str]]:
        """The newest failed-for-good triggers (of one target, or all), at most `limit`."""
        out: list[dict[str, str]] = []
        start, chunk = 0, max(limit, 100)
        while len(out) < limit:
            ids = [_text(i) for i in self.client.zrevrange(keys.FAILED, start, start + chunk - 1)]
            if not ids:
                break
            found = self.triggers(ids=ids)
            out += [t for t in found if target is None or t.get("target") == target]
            start += chunk
        return out[:limit]

    def failed_count(self) -> int:
        return int(self.client.zcard(keys.FAILED))

    def timer_count(self) -> int:
        """Deploy and watch runs waiting for their time (relay:timers)."""
        return int(self.client.zcard(keys.TIMERS))

    def api_budget_used(self, window_ms: int) -> int:
        """Cloudflare API requests taken from the shared budget within the last `window_ms`."""
        return int(self.client.zcount(keys.API_BUDGET, self.server_ms() - window_ms, "+inf"))

    def counts(self, key: str) -> dict[str, int]:
        """A counting hash (field -> integer), e.g. keys.BUILD_COUNTS; {} when absent."""
        out = {}
        for field_name, value in decode_hash(self.client.hgetall(key)).items():
            try:
                out[field_name] = int(value)
            except ValueError:
                continue
        return out

    def server_ms(self) -> int:
        """Now on the Redis server's clock (the clock every due time is on), in ms."""
        seconds, micros = self.client.time()
        return int(seconds) * 1000 + int(micros) // 1000


def _stream_id(value: str) -> tuple[int, int]:
    ms, _, seq = value.partition("-")
    return int(ms), int(seq or 0)
