"""The relay's records: a `Delivery` (one webhook request) and a `Trigger` (one build asked of
Cloudflare), with the one status enum whose groups every screen and decision uses.

Each record has one mapping to and from its Redis form, here and nowhere else: a delivery is a
JSON document in a stream entry, a trigger a hash of strings (`Trigger.to_hash` /
`Trigger.from_hash`: integers as decimal text, booleans as "1"/"0", lists as JSON, None as an
absent field). Code reads and writes attributes; no field name is spelled as a string elsewhere
(the Lua scripts that create triggers and record deliveries are checked against these fields by
tests/unit/test_records.py).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any, ClassVar

import orjson

#: a hash as Redis hands it back (bytes from the relay's clients; str from decoding clients)
RedisHash = Mapping[bytes, bytes] | Mapping[str, str] | Mapping[bytes | str, bytes | str]


class TriggerStatus(StrEnum):
    """Where a trigger is; see docs/architecture.md for the transitions between them."""

    QUEUED = "queued"  # claimed from a burst (or asked for); its first attempt is on its way
    TRIGGERING = "triggering"  # the Cloudflare call is being made
    RETRYING = "retrying"  # the call failed for now; another attempt is scheduled
    BUILDING = "building"  # Cloudflare accepted it; the build is being watched
    SUCCESS = "success"  # the build finished and deployed
    FAILURE = "failure"  # the build failed on Cloudflare
    CANCELED = "canceled"  # the build was cancelled on Cloudflare (not by the relay)
    SUPERSEDED = "superseded"  # cancelled by the relay: a newer burst's build replaced it
    SKIPPED = "skipped"  # Cloudflare skipped the build (branch or path settings)
    STUCK = "stuck"  # no progress for the target's stuck_after
    TRIGGERED = "triggered"  # a deploy hook accepted it and there is no API access to watch it
    DRY_RUN = "dry-run"  # no credentials: recorded what would have been deployed
    FAILED = "failed"  # failed for good: listed by `relay failed`, can be replayed
    REPLAYED = "replayed"  # a failed trigger that was queued again (the new build is its own)

    @property
    def in_progress(self) -> bool:
        return self in _IN_PROGRESS

    @property
    def final(self) -> bool:
        return self not in _IN_PROGRESS

    @property
    def failing(self) -> bool:
        """The change it carried is not live: the target is shown failing, teams are told."""
        return self in _FAILING

    @property
    def replayable(self) -> bool:
        return self is TriggerStatus.FAILED

    @property
    def tone(self) -> str:
        """How screens colour it: good, bad, busy or neutral."""
        if self.failing:
            return "bad"
        if self.in_progress:
            return "busy"
        return "good" if self in _GOOD else "neutral"

    @classmethod
    def parse(cls, value: str | None) -> TriggerStatus:
        """A stored status; an unknown or missing one reads as FAILED (a record in a state this
        version does not know is shown as needing attention, never as fine)."""
        try:
            return cls(value or "")
        except ValueError:
            return cls.FAILED


_IN_PROGRESS = frozenset(
    {
        TriggerStatus.QUEUED,
        TriggerStatus.TRIGGERING,
        TriggerStatus.RETRYING,
        TriggerStatus.BUILDING,
    }
)
_FAILING = frozenset(
    {TriggerStatus.FAILURE, TriggerStatus.CANCELED, TriggerStatus.STUCK, TriggerStatus.FAILED}
)
_GOOD = frozenset({TriggerStatus.SUCCESS, TriggerStatus.TRIGGERED, TriggerStatus.DRY_RUN})
#: how much of a failed build's log a trigger keeps (the platform keeps the whole log)
LOG_TAIL_LINES = 30
LOG_LINE_CHARS = 300


def log_tail(lines: list[str]) -> tuple[str, ...]:
    """The last lines of a log, bounded, as a trigger keeps them."""
    kept = [line.rstrip()[:LOG_LINE_CHARS] for line in lines if line.strip()]
    return tuple(kept[-LOG_TAIL_LINES:])


class DeliveryOutcome(StrEnum):
    ACCEPTED = "accepted"  # verified, stored, its targets touched
    DUPLICATE = "duplicate"  # a sender's retry of a delivery already stored
    IGNORED = "ignored"  # verified, but the hook's filters keep it from building
    REJECTED = "rejected"  # refused (bad, missing or stale signature); recorded, nothing queued

    @property
    def tone(self) -> str:
        return {"accepted": "good", "rejected": "bad"}.get(self.value, "neutral")


@dataclass
class Delivery:
    """One webhook request as the relay keeps it: never its body or its authentication headers.

    Built by the receiver and written by the ingest script as one JSON document; read back by
    `Delivery.from_entry` with its stream id (`id`, the Redis clock's ms and a sequence).
    """

    hook: str
    outcome: DeliveryOutcome
    at: float  # Unix seconds when received
    size: int = 0
    digest: str = ""  # sha256 of the body, hex (first 32 characters)
    reason: str | None = None
    event: str | None = None
    sender_id: str | None = None
    targets: tuple[str, ...] = ()
    ip: str | None = None
    duplicate_of: str | None = None  # set by the ingest script: the first delivery's id
    id: str | None = None  # the stream entry id, once stored

    def to_json(self) -> bytes:
        """The stored document (the receiver's hot path: no deep copy)."""
        doc = {k: v for k, v in self.__dict__.items() if v is not None and k != "id"}
        return orjson.dumps(doc)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `relay deliveries --json` and `GET /api/deliveries`."""
        doc = dataclasses.asdict(self)
        doc.pop("ip")  # an address is personal data: kept for the operator's logs, not shown
        doc["targets"] = list(self.targets)
        return doc

    @classmethod
    def from_entry(cls, entry_id: str, doc: Mapping[str, Any]) -> Delivery:
        targets = doc.get("targets")
        try:
            outcome = DeliveryOutcome(str(doc.get("outcome")))
        except ValueError:
            outcome = DeliveryOutcome.REJECTED
        return cls(
            id=entry_id,
            hook=str(doc.get("hook", "")),
            outcome=outcome,
            at=float(doc.get("at", 0)),
            size=int(doc.get("size", 0)),
            digest=str(doc.get("digest", "")),
            reason=doc.get("reason"),
            event=doc.get("event"),
            sender_id=doc.get("sender_id"),
            targets=tuple(str(t) for t in targets) if isinstance(targets, list) else (),
            ip=doc.get("ip"),
            duplicate_of=doc.get("duplicate_of"),
        )


@dataclass(frozen=True)
class Trigger:
    """One build the relay asked for (or is about to ask for), and everything learned about it.

    Created by the claim script from a burst; every later change is a transition
    (`relay.core.transitions`). Times are Unix milliseconds on the Redis server's clock.
    """

    id: str
    target: str
    status: TriggerStatus = TriggerStatus.QUEUED
    reason: str = "webhooks"  # what started the burst: webhooks, schedule, manual, replay of …
    deliveries: int = 0  # deliveries the burst coalesced
    first_at: int | None = None  # the burst's first and last touch
    last_at: int | None = None
    last_delivery: str | None = None
    created_at: int | None = None  # claimed
    attempts: int = 0
    attempt_at: int | None = None
    next_attempt_at: int | None = None
    kind: str | None = (
        None  # the target's kind when triggered (relay.core.build_settings.TargetKind)
    )
    project: str | None = None
    branch: str | None = None
    deployment_id: str | None = None  # Cloudflare's id of the deployment (Workers: build uuid)
    triggered_at: int | None = None  # Cloudflare accepted it
    url: str | None = None
    environment: str | None = None
    stage: str | None = None
    stage_status: str | None = None
    cf_created_on: str | None = None  # Cloudflare's own timestamp (ISO 8601)
    progress_at: int | None = None  # the stage last changed
    finished_at: int | None = None
    build_seconds: float | None = None
    skip_reason: str | None = None
    commit: str | None = None  # the commit built (Workers Builds)
    version: str | None = None  # the Worker version the build deployed (Workers Builds)
    #: a Workers deploy hook answered with its build already pending: this trigger follows it
    already_exists: bool | None = None
    superseded_by: str | None = None  # the trigger whose build replaced this one's
    #: the last lines of a failed build's log (at most LOG_TAIL_LINES of LOG_LINE_CHARS)
    log_tail: tuple[str, ...] | None = None
    error: str | None = None
    error_code: int | None = None  # Cloudflare's error code
    error_status: int | None = None  # the HTTP status of that answer
    note: str | None = None
    replayed_at: int | None = None
    step: str | None = None  # the member of its pending step in relay:steps (kept by the scripts)
    extra: Mapping[str, str] = field(default_factory=dict)  # fields this version does not know

    # -- the Redis hash --------------------------------------------------------------------------

    def to_hash(self) -> dict[str, str]:
        """Every field that has a value, as Redis stores it."""
        out = dict(self.extra)
        for name, kind in _field_kinds().items():
            value = getattr(self, name)
            if value is not None:
                out[name] = _encode(value, kind)
        return out

    @classmethod
    def from_hash(cls, raw: RedisHash) -> Trigger | None:
        """The trigger stored as `raw`; None when the hash lost its identity (id, target)."""
        doc = {_text(k): _text(v) for k, v in raw.items()}
        if not doc.get("id") or not doc.get("target"):
            return None
        kinds = _field_kinds()
        values: dict[str, Any] = {}
        for name, text in doc.items():
            kind = kinds.get(name)
            if kind is not None:
                values[name] = _decode(text, kind)
        extra = {k: v for k, v in doc.items() if k not in kinds}
        values["status"] = TriggerStatus.parse(doc.get("status"))
        return cls(**values, extra=extra)

    def changes(self, before: Trigger) -> tuple[dict[str, str], list[str]]:
        """What a transition from `before` writes: fields to set, fields to delete."""
        mine, theirs = self.to_hash(), before.to_hash()
        setting = {k: v for k, v in mine.items() if theirs.get(k) != v}
        removing = [k for k in theirs if k not in mine]
        return setting, removing

    # -- for people and scripts ------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `relay deployments --json` and the API: every field, null when
        unknown (integers and times as numbers)."""
        doc = {name: getattr(self, name) for name in _field_kinds()}
        doc["status"] = self.status.value
        doc["duration"] = self.duration
        return doc

    @property
    def duration(self) -> float | None:
        """Seconds the build took (Cloudflare's), else from the claim to the end (the relay's)."""
        if self.build_seconds is not None:
            return self.build_seconds
        if self.created_at is not None and self.finished_at is not None:
            return (self.finished_at - self.created_at) / 1000
        return None


@dataclass(frozen=True)
class TriggerSummary:
    """The few fields of a trigger that tallies need, read without the rest (HMGET)."""

    target: str
    status: TriggerStatus
    deliveries: int

    @staticmethod
    def fields() -> list[str]:
        """The hash fields read (the names of this class's fields, which are Trigger's)."""
        return [item.name for item in dataclasses.fields(TriggerSummary)]

    @classmethod
    def from_values(cls, values: list[bytes | str | None]) -> TriggerSummary | None:
        target, status, deliveries = (None if v is None else _text(v) for v in values)
        if not target:
            return None
        count = _decode(deliveries or "0", int)
        return cls(target, TriggerStatus.parse(status), count if isinstance(count, int) else 0)


@dataclass(frozen=True)
class WorkerBeat:
    """A worker process's heartbeat (`keys.WORKERS`), written every second by its claimer."""

    name: str
    pid: int
    host: str
    started_at: int  # ms
    beat_at: int  # ms, Redis clock
    steps: int  # steps running now
    claimer_restarts: int
    claimer_errors: int

    @classmethod
    def from_json(cls, name: str, raw: bytes | str) -> WorkerBeat | None:
        try:
            doc = orjson.loads(raw)
            return cls(
                name=name,
                pid=int(doc["pid"]),
                host=str(doc["host"]),
                started_at=int(doc["started_at"]),
                beat_at=int(doc["beat_at"]),
                steps=int(doc.get("steps", 0)),
                claimer_restarts=int(doc.get("claimer_restarts", 0)),
                claimer_errors=int(doc.get("claimer_errors", 0)),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    def to_json(self) -> bytes:
        doc = {k: v for k, v in dataclasses.asdict(self).items() if k != "name"}
        return orjson.dumps(doc)

    #: a claimer beats every second; one silent for this long (seconds) is not claiming
    STALE_AFTER: ClassVar[float] = 10.0

    def age(self, now_ms: int) -> float:
        """Seconds since the last beat."""
        return max(0.0, (now_ms - self.beat_at) / 1000)

    def claiming(self, now_ms: int) -> bool:
        return self.age(now_ms) <= self.STALE_AFTER


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@cache
def _field_kinds() -> dict[str, type]:
    """Trigger field name -> the plain type it holds (int, float, str, bool, TriggerStatus)."""
    hints = typing.get_type_hints(Trigger)
    out: dict[str, type] = {}
    for item in dataclasses.fields(Trigger):
        if item.name == "extra":
            continue
        hint = hints[item.name]
        if isinstance(hint, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        out[item.name] = typing.get_origin(hint) or hint  # tuple[str, ...] -> tuple
    return out


def _encode(value: Any, kind: type) -> str:
    if kind is bool:
        return "1" if value else "0"
    if isinstance(value, StrEnum):
        return value.value
    if kind in (tuple, list):
        return orjson.dumps(list(value)).decode()
    return str(value)


def _decode(text: str, kind: type) -> Any:
    try:
        if kind is tuple:
            items = orjson.loads(text)
            return tuple(str(i) for i in items) if isinstance(items, list) else None
        if kind is bool:
            return text == "1"
        if kind is int:
            return int(float(text))
        if kind is float:
            return float(text)
    except (ValueError, orjson.JSONDecodeError):
        return None
    return text
