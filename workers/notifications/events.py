"""What a notification says: the `Event` that happened and the `Notice` every format renders.

A notice is plain, bounded text, built once and sent to every channel that wants it: a one-line
title, a few detail lines (the trigger, its status, the error's code and first lines, the
attempts, the Cloudflare deployment URL), the last lines of a failed build's log, and a link to
the dashboard when `[server] public_url` is set. It never holds a secret: the trigger record
never carries one, deploy hook URLs are never added, and anything in an error message that looks
like a deploy hook URL is masked. Its `id` is derived from what it is about (event, target,
trigger), so a retry of the same notice, or the same notice built again, keeps it: it is the
`webhook-id` of Standard Webhooks, which receivers use to drop duplicates.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import time
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from relay.core.records import Trigger

#: bounds on what a notice carries (each format also applies its receiver's own limits)
MAX_LINE = 200
MAX_DETAILS = 12
MAX_ERROR_LINES = 5
MAX_LOG_LINES = 10
MAX_TITLE = 150

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")
_DEPLOY_HOOK = re.compile(r"(deploy_hooks/)[^\s\"'<>]+", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"([?&](?:token|key|sig|signature|secret|access_token|api_key)=)[^&\s\"'<>]+", re.IGNORECASE
)


class Event(StrEnum):
    """What a channel can subscribe to (`[[notify]] events`)."""

    FAILED = "failed"  # a build failed, was cancelled or could not be triggered this time
    FAILED_FOR_GOOD = "failed_for_good"  # retries used up: listed by `relay failed`
    RECOVERED = "recovered"  # a target that was failing built successfully again
    STUCK = "stuck"  # a build made no progress for the target's stuck_after
    HELD_BY_BUDGET = "held_by_budget"  # a burst waits for the build budget to allow it
    PAUSED = "paused"  # `relay pause`
    RESUMED = "resumed"  # `relay resume`
    REDIS_LOST = "redis_lost"  # the relay cannot reach Redis (no target: concerns them all)
    BUDGET_WARNING = "budget_warning"  # 80 % of a build budget is used

    @property
    def tone(self) -> str:
        """bad (red), good (green), warn (amber) or neutral (grey)."""
        return _TONES[self]


_TONES = {
    Event.FAILED: "bad",
    Event.FAILED_FOR_GOOD: "bad",
    Event.REDIS_LOST: "bad",
    Event.RECOVERED: "good",
    Event.STUCK: "warn",
    Event.HELD_BY_BUDGET: "warn",
    Event.BUDGET_WARNING: "warn",
    Event.PAUSED: "neutral",
    Event.RESUMED: "neutral",
}


@dataclass(frozen=True)
class TriggerFacts:
    """The trigger fields a notice carries (bounded; the generic format sends them as `data`)."""

    id: str
    target: str
    status: str
    reason: str
    attempts: int
    error_code: int | None = None
    error_status: int | None = None
    error: str | None = None  # its first lines only, deploy hook URLs masked
    deployment_id: str | None = None
    url: str | None = None  # the Cloudflare deployment's URL
    project: str | None = None
    branch: str | None = None
    stage: str | None = None
    stage_status: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "target": self.target,
            "status": self.status,
            "reason": self.reason,
            "attempts": self.attempts,
            "error_code": self.error_code,
            "error_status": self.error_status,
            "error": self.error,
            "deployment_id": self.deployment_id,
            "url": self.url,
            "project": self.project,
            "branch": self.branch,
            "stage": self.stage,
            "stage_status": self.stage_status,
        }


@dataclass(frozen=True)
class Notice:
    """One thing to tell the channels, in every format's terms."""

    event: Event
    target: str | None  # None: it concerns every target (redis_lost, an account-wide budget)
    title: str  # one line
    details: tuple[str, ...]  # a few short lines
    link: str | None  # the dashboard, when [server] public_url is set
    at: int  # Unix ms
    id: str  # stable: the same event about the same thing has the same id
    log: tuple[str, ...] = ()  # the last lines of a failed build's log
    trigger: TriggerFacts | None = None

    # -- stored in the outbox (workers.notifications.outbox) ---------------------------------------

    def to_json(self) -> bytes:
        doc = dataclasses.asdict(self)
        doc["event"] = self.event.value
        return orjson.dumps(doc)

    @classmethod
    def from_json(cls, raw: bytes | str) -> Notice | None:
        try:
            doc = orjson.loads(raw)
            facts = doc.get("trigger")
            return cls(
                event=Event(doc["event"]),
                target=doc.get("target"),
                title=str(doc["title"]),
                details=tuple(str(d) for d in doc.get("details") or ()),
                link=doc.get("link"),
                at=int(doc["at"]),
                id=str(doc["id"]),
                log=tuple(str(line) for line in doc.get("log") or ()),
                trigger=TriggerFacts(**facts) if isinstance(facts, dict) else None,
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    # -- constructors ---------------------------------------------------------------------------

    @classmethod
    def for_trigger(
        cls,
        event: Event,
        trigger: Trigger,
        *,
        public_url: str | None,
        log_tail: Iterable[str] = (),
        at: int | None = None,
    ) -> Notice:
        """A notice about one trigger: failed, failed_for_good, recovered, stuck, held…"""
        event = Event(event)
        error = _first_lines(trigger.error, MAX_ERROR_LINES) if trigger.error else ()
        facts = TriggerFacts(
            id=trigger.id,
            target=trigger.target,
            status=trigger.status.value,
            reason=_line(trigger.reason),
            attempts=trigger.attempts,
            error_code=trigger.error_code,
            error_status=trigger.error_status,
            error="\n".join(error) if error else None,
            deployment_id=trigger.deployment_id,
            url=_line(_scrub(trigger.url)) if trigger.url else None,
            project=trigger.project,
            branch=trigger.branch,
            stage=trigger.stage,
            stage_status=trigger.stage_status,
        )
        return cls(
            event=event,
            target=trigger.target,
            title=_title(_trigger_title(event, trigger)),
            details=_bounded(_trigger_details(event, facts, error), MAX_DETAILS),
            link=dashboard_link(public_url, trigger.target),
            at=_now_ms() if at is None else at,
            id=notice_id(event, trigger.target, trigger.id),
            log=_log_tail(log_tail),
            trigger=facts,
        )

    @classmethod
    def for_target(
        cls,
        event: Event,
        target: str | None,
        title: str,
        details: Iterable[str],
        public_url: str | None,
        *,
        at: int | None = None,
        key: str | None = None,
    ) -> Notice:
        """A notice about a target (paused, resumed, a budget), or the account when None.

        Its id comes from `key` when given (e.g. the budget window, so a warning repeated within
        one window keeps its id), else from its time: pausing the same target twice is news
        twice.
        """
        event = Event(event)
        stamp = _now_ms() if at is None else at
        return cls(
            event=event,
            target=target,
            title=_title(title),
            details=_bounded(_lines(details), MAX_DETAILS),
            link=dashboard_link(public_url, target),
            at=stamp,
            id=notice_id(event, target, key if key is not None else str(stamp)),
        )

    @classmethod
    def redis_lost(
        cls, public_url: str | None, *, at: int | None = None, details: Iterable[str] = ()
    ) -> Notice:
        """The relay cannot reach Redis: deliveries are refused (503) and nothing builds."""
        return cls.for_target(
            Event.REDIS_LOST,
            None,
            "The relay lost its connection to Redis",
            (
                *details,
                "Webhooks are answered 503 (senders retry) and no build starts until it is back.",
            ),
            public_url,
            at=at,
        )


def notice_id(event: Event, target: str | None, subject: str) -> str:
    """`ntf_` and 24 hex digits of a hash of what the notice is about."""
    raw = "\x1f".join((event.value, target or "", subject)).encode()
    return "ntf_" + hashlib.sha256(raw).hexdigest()[:24]


def dashboard_link(public_url: str | None, target: str | None) -> str | None:
    """The dashboard page to look at: the target's deployments, or the overview."""
    if not public_url:
        return None
    base = public_url.rstrip("/")
    if target is None:
        return base + "/"
    return f"{base}/deployments?target={urllib.parse.quote(target, safe='')}"


# -- text ---------------------------------------------------------------------------------------


def _trigger_title(event: Event, trigger: Trigger) -> str:
    target, status = trigger.target, trigger.status.value
    if event is Event.FAILED:
        return f"{target}: build {status}"
    if event is Event.FAILED_FOR_GOOD:
        return f"{target}: deployment trigger failed for good"
    if event is Event.RECOVERED:
        return f"{target} recovered: build succeeded"
    if event is Event.STUCK:
        return f"{target}: build stuck (no progress)"
    if event is Event.HELD_BY_BUDGET:
        return f"{target}: build held by the build budget"
    return f"{target}: {event.value.replace('_', ' ')}"


def _trigger_details(event: Event, facts: TriggerFacts, error: tuple[str, ...]) -> list[str]:
    head = f"Trigger {facts.id}: {facts.status}"
    if facts.attempts:
        head += f" after {facts.attempts} attempt{'s' if facts.attempts != 1 else ''}"
    out = [head]
    if facts.stage:
        status = f" ({facts.stage_status})" if facts.stage_status else ""
        out.append(f"Stage: {facts.stage}{status}")
    codes = []
    if facts.error_code is not None:
        codes.append(f"code {facts.error_code}")
    if facts.error_status is not None:
        codes.append(f"HTTP {facts.error_status}")
    if error:
        out.append(f"Error{' (' + ', '.join(codes) + ')' if codes else ''}: {error[0]}")
        out.extend(error[1:])
    elif codes:
        out.append(f"Error: {', '.join(codes)}")
    if facts.url:
        out.append(f"Deployment: {facts.url}")
    elif facts.deployment_id:
        out.append(f"Deployment id: {facts.deployment_id}")
    if event is Event.FAILED_FOR_GOOD:
        out.append(f"Replay it with: relay replay {facts.id}")
    return out


def _scrub(text: str) -> str:
    """Masks what could be a credential in a URL: a deploy hook's id, a token parameter."""
    text = _DEPLOY_HOOK.sub(r"\1[redacted]", text)
    return _QUERY_SECRET.sub(r"\1[redacted]", text)


def _line(text: str, limit: int = MAX_LINE) -> str:
    """One line: control characters and terminal colours removed, cut at `limit` characters."""
    clean = _CONTROL.sub("", text.replace("\t", "    ")).strip()
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _lines(items: Iterable[str]) -> list[str]:
    parts = (part for item in items for part in str(item).splitlines())
    return [line for line in (_line(_scrub(part)) for part in parts) if line]


def _first_lines(text: str, count: int) -> tuple[str, ...]:
    lines = _lines([text])
    return (*lines[:count], "…") if len(lines) > count else tuple(lines)


def _log_tail(items: Iterable[str]) -> tuple[str, ...]:
    lines = _lines(items)
    return tuple(lines[-MAX_LOG_LINES:])


def _bounded(lines: list[str], count: int) -> tuple[str, ...]:
    """At most `count` lines of at most MAX_LINE characters."""
    return tuple(_line(line) for line in lines[:count])


def _title(text: str) -> str:
    return _line(_scrub(" ".join(text.split())), MAX_TITLE) or "(no title)"


def _now_ms() -> int:
    return int(time.time() * 1000)
