"""Posting a notice to a channel: `deliver` (one try), `send_with_retries` (a few), and
`send_to_all` / `send_in_background` (every channel that wants it).

An answer is classified once (`Outcome`): 2xx is sent; 408, 425, 429, 5xx, timeouts and
connection errors are worth retrying (a Retry-After is honoured, up to a cap); any other answer
(a 4xx, a redirect) means the URL is wrong, and retrying will not help. Nothing here raises for
a network problem or a refusal, and nothing logs a channel's URL, a response body or an
exception's message (which could quote the URL): logs name "channel 2 (slack)" and the kind of
failure ("HTTP 500", "ReadTimeout").

A channel with a secret gets Standard Webhooks headers, computed here with `hmac` exactly as the
`standardwebhooks` library verifies them: `webhook-id` (the notice's stable id, so a receiver
drops a retry it already has), `webhook-timestamp` (Unix seconds of this attempt) and
`webhook-signature` ("v1," and the base64 HMAC-SHA256 of "id.timestamp.body").

Retries sleep (`sleep`, injectable): callers on a deploy's path use `send_in_background`, so a
notification never holds up a deployment.
"""

from __future__ import annotations

import base64
import dataclasses
import email.utils
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC
from enum import StrEnum
from typing import TypedDict, Unpack

import httpx

from relay.core.secret import Secret
from workers.notifications.channels import Channel, signing_key
from workers.notifications.events import Notice
from workers.notifications.formats import encode, render

log = logging.getLogger("relay.notify")

USER_AGENT = "deploy-hook-relay (notifications)"
TIMEOUT = 5.0
ATTEMPTS = 4
BACKOFF: tuple[float, ...] = (1.0, 5.0, 30.0)
MAX_RETRY_AFTER = 60.0
MAX_PARALLEL = 8
RETRYABLE_STATUSES = frozenset({408, 425, 429})

Sleep = Callable[[float], None]
Clock = Callable[[], float]


class Result(StrEnum):
    SENT = "sent"
    RETRYABLE = "retryable"  # try again later
    PERMANENT = "permanent"  # the channel refused it: retrying will not help


@dataclass(frozen=True)
class Outcome:
    """How sending a notice to a channel ended."""

    result: Result
    status: int | None = None  # the HTTP status, when there was an answer
    reason: str = ""  # "HTTP 500", "ReadTimeout", "ConnectError": never a URL
    retry_after: float | None = None  # seconds the channel asked to wait
    attempts: int = 1

    @property
    def sent(self) -> bool:
        return self.result is Result.SENT

    @property
    def retryable(self) -> bool:
        return self.result is Result.RETRYABLE


# -- Standard Webhooks --------------------------------------------------------------------------


def sign(secret: Secret, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: "v1," and base64(HMAC-SHA256(key, id.timestamp.body))."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secret: Secret, msg_id: str, body: bytes, now: float) -> dict[str, str]:
    timestamp = int(now)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


# -- one try ------------------------------------------------------------------------------------


def request(channel: Channel, notice: Notice, *, now: float) -> tuple[bytes, dict[str, str]]:
    """The body and headers `deliver` posts (the body is what is signed, byte for byte)."""
    body = encode(render(channel.kind, notice))
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    if channel.secret is not None:
        headers.update(signature_headers(channel.secret, notice.id, body, now))
    return body, headers


def deliver(
    channel: Channel,
    notice: Notice,
    *,
    client: httpx.Client,
    timeout: float = TIMEOUT,
    clock: Clock = time.time,
) -> Outcome:
    """One POST of `notice` to `channel`, classified. Raises nothing for network problems."""
    body, headers = request(channel, notice, now=clock())
    try:
        with client.stream(
            "POST",
            channel.url.reveal(),
            content=body,
            headers=headers,
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
        ) as response:
            return classify(response.status_code, response.headers, now=clock())
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        return Outcome(Result.PERMANENT, reason=type(exc).__name__)
    except httpx.TransportError as exc:  # timeouts, refused or dropped connections, TLS
        return Outcome(Result.RETRYABLE, reason=type(exc).__name__)
    except httpx.HTTPError as exc:
        return Outcome(Result.PERMANENT, reason=type(exc).__name__)


def classify(status: int, headers: Mapping[str, str], *, now: float | None = None) -> Outcome:
    """2xx sent; 408/425/429/5xx retryable (with the Retry-After asked); anything else not."""
    reason = f"HTTP {status}"
    if 200 <= status < 300:
        return Outcome(Result.SENT, status, reason)
    if status in RETRYABLE_STATUSES or 500 <= status < 600:
        wait = retry_after(headers.get("retry-after"), now=time.time() if now is None else now)
        return Outcome(Result.RETRYABLE, status, reason, wait)
    return Outcome(Result.PERMANENT, status, reason)


def retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if absent/bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        seconds = moment.timestamp() - now
    if seconds != seconds:  # NaN
        return None
    return max(0.0, seconds)


# -- retries ------------------------------------------------------------------------------------


def send_with_retries(
    channel: Channel,
    notice: Notice,
    *,
    client: httpx.Client | None = None,
    attempts: int = ATTEMPTS,
    backoff: Sequence[float] = BACKOFF,
    sleep: Sleep = time.sleep,
    timeout: float = TIMEOUT,
    max_retry_after: float = MAX_RETRY_AFTER,
    clock: Clock = time.time,
) -> Outcome:
    """Up to `attempts` tries, waiting `backoff[i]` (its last value repeated) between them, or
    the channel's Retry-After (at most `max_retry_after`). The final outcome; never raises."""
    own = client is None
    http = httpx.Client() if client is None else client
    attempts = max(1, attempts)
    try:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = deliver(channel, notice, client=http, timeout=timeout, clock=clock)
            except Exception as exc:  # a bug must not take a deploy down with it
                outcome = Outcome(Result.PERMANENT, reason=type(exc).__name__)
            outcome = dataclasses.replace(outcome, attempts=attempt)
            if outcome.sent:
                log.info("notification %s sent to %s", notice.event.value, channel.label)
                return outcome
            if not outcome.retryable:
                log.warning(
                    "notification %s refused by %s (%s): not retried; check its url",
                    notice.event.value,
                    channel.label,
                    outcome.reason,
                )
                return outcome
            if attempt >= attempts:
                log.warning(
                    "notification %s not delivered to %s (%s) after %d attempts; giving up",
                    notice.event.value,
                    channel.label,
                    outcome.reason,
                    attempt,
                )
                return outcome
            wait = _wait(attempt, outcome, backoff, max_retry_after)
            log.warning(
                "notification %s not delivered to %s (%s), attempt %d of %d; retrying in %.1fs",
                notice.event.value,
                channel.label,
                outcome.reason,
                attempt,
                attempts,
                wait,
            )
            sleep(wait)
    finally:
        if own:
            http.close()


def _wait(attempt: int, outcome: Outcome, backoff: Sequence[float], cap: float) -> float:
    if outcome.retry_after is not None:
        return min(outcome.retry_after, cap)
    if not backoff:
        return 0.0
    return max(0.0, float(backoff[min(attempt - 1, len(backoff) - 1)]))


class RetryOptions(TypedDict, total=False):
    """`send_with_retries`' keyword options, as `send_to_all` passes them on."""

    attempts: int
    backoff: Sequence[float]
    sleep: Sleep
    timeout: float
    max_retry_after: float


def send_to_all(
    channels: Iterable[Channel],
    notice: Notice,
    *,
    client: httpx.Client | None = None,
    **retries: Unpack[RetryOptions],
) -> list[tuple[Channel, Outcome]]:
    """`notice` to every channel that wants it, at the same time (a slow or failing channel
    does not delay the others); each channel's final outcome, in the channels' order."""
    wanted = [channel for channel in channels if channel.wants(notice)]
    if not wanted:
        return []
    own = client is None
    http = httpx.Client() if client is None else client

    def one(channel: Channel) -> Outcome:
        return send_with_retries(channel, notice, client=http, **retries)

    try:
        if len(wanted) == 1:
            return [(wanted[0], one(wanted[0]))]
        workers = min(len(wanted), MAX_PARALLEL)
        with ThreadPoolExecutor(workers, thread_name_prefix="relay-notify") as pool:
            return list(zip(wanted, pool.map(one, wanted), strict=True))
    finally:
        if own:
            http.close()


def send_in_background(
    channels: Iterable[Channel],
    notice: Notice,
    *,
    attempts: int = ATTEMPTS,
    backoff: Sequence[float] = BACKOFF,
    timeout: float = TIMEOUT,
) -> threading.Thread | None:
    """`send_to_all` on a daemon thread, returned at once (None when no channel wants it): a
    deploy step never waits for a notification. Best effort: a process that exits drops it."""
    wanted = [channel for channel in channels if channel.wants(notice)]
    if not wanted:
        return None

    def run() -> None:
        try:
            send_to_all(wanted, notice, attempts=attempts, backoff=backoff, timeout=timeout)
        except Exception as exc:
            log.warning("notification %s not sent: %s", notice.event.value, type(exc).__name__)

    thread = threading.Thread(target=run, name=f"relay-notify-{notice.event.value}", daemon=True)
    thread.start()
    return thread
