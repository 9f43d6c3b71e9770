"""Notifications over real HTTP on loopback: several channels, retries, refusals, timeouts."""

from __future__ import annotations

import base64
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import standardwebhooks

from relay.core.records import Trigger, TriggerStatus
from tests.helpers.catcher import Answer, Capture
from tests.helpers.polling import wait_for
from workers.notifications import (
    Channel,
    ChannelKind,
    Event,
    Notice,
    Result,
    render,
    send_in_background,
    send_to_all,
    send_with_retries,
)

WHSEC = "whsec_" + base64.b64encode(b"e2e key for the signed channel!!").decode()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as http:
        yield http


def failed(**changes: object) -> Notice:
    trigger = Trigger(
        id="t-e2e",
        target="blog",
        status=TriggerStatus.FAILURE,
        attempts=1,
        error="Build failed <!channel> @everyone",
        url="https://e2e.blog.pages.dev",
    )
    return Notice.for_trigger(
        Event.FAILED, trigger, public_url="https://relay.example.org", log_tail=["boom"]
    )


def test_one_notice_reaches_three_kinds_of_channel_at_once(client: httpx.Client) -> None:
    with Capture() as slack, Capture() as discord, Capture() as signed:
        channels = [
            Channel.create(slack.url, format="slack", number=1),
            Channel.create(discord.url, format="discord", number=2),
            Channel.create(signed.url, secret=WHSEC, number=3),
        ]
        notice = failed()
        results = send_to_all(channels, notice, client=client, sleep=lambda _: None)
        assert [o.result for _, o in results] == [Result.SENT] * 3

        (s,) = slack.requests
        assert s.json() == render(ChannelKind.SLACK, notice)
        assert "&lt;!channel&gt;" in s.json()["text"] + str(s.json()["blocks"])
        assert not any(h.startswith("webhook-") for h in s.headers)

        (d,) = discord.requests
        assert d.json()["allowed_mentions"] == {"parse": []}
        assert d.json()["embeds"][0]["url"] == "https://relay.example.org/deployments?target=blog"

        (g,) = signed.requests
        assert g.headers["content-type"] == "application/json"
        assert g.headers["webhook-id"] == notice.id
        document = standardwebhooks.Webhook(WHSEC).verify(g.body, g.headers)
        assert document["type"] == "relay.failed" and document["data"]["target"] == "blog"


def test_channels_are_sent_to_in_parallel(client: httpx.Client) -> None:
    """Both channels are asked before either answers: a slow one never delays the other."""
    gate = threading.Event()
    with Capture([Answer(hold=gate)]) as one, Capture([Answer(hold=gate)]) as two:
        channels = [Channel.create(c.url, number=i) for i, c in enumerate((one, two), 1)]
        results: list[Any] = []
        sender = threading.Thread(
            target=lambda: results.extend(
                send_to_all(channels, failed(), client=client, sleep=lambda _: None)
            )
        )
        sender.start()
        wait_for(lambda: one.requests and two.requests, timeout=5, what="both channels asked")
        gate.set()
        sender.join(timeout=10)
        assert len(results) == 2 and all(o.sent for _, o in results)


def test_a_500_is_retried_until_it_is_accepted(client: httpx.Client) -> None:
    with Capture([500, 503]) as hook:
        waits: list[float] = []
        c = Channel.create(hook.url, secret=WHSEC)
        outcome = send_with_retries(c, failed(), client=client, sleep=waits.append)
        assert outcome.sent and outcome.attempts == 3 and outcome.status == 200
        assert waits == [1.0, 5.0]
        assert [r.answered for r in hook.requests] == [500, 503, 200]
        # every attempt is signed afresh and keeps the notice's id (receivers drop duplicates)
        assert len({r.headers["webhook-id"] for r in hook.requests}) == 1
        for r in hook.requests:
            standardwebhooks.Webhook(WHSEC).verify(r.body, r.headers)


def test_a_404_is_not_retried(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with Capture([404, 404]) as hook:
        waits: list[float] = []
        c = Channel.create(hook.url, format="discord", number=2)
        outcome = send_with_retries(c, failed(), client=client, sleep=waits.append)
        assert outcome.result is Result.PERMANENT and outcome.status == 404
        assert len(hook.requests) == 1 and waits == []
        assert "channel 2 (discord)" in caplog.text and "HTTP 404" in caplog.text
        assert "127.0.0.1" not in caplog.text


def test_retry_after_is_honoured(client: httpx.Client) -> None:
    with Capture([Answer(429, {"Retry-After": "7"}), Answer(503, {"Retry-After": "900"})]) as hook:
        waits: list[float] = []
        c = Channel.create(hook.url, format="slack")
        outcome = send_with_retries(
            c, failed(), client=client, sleep=waits.append, max_retry_after=120
        )
        assert outcome.sent and outcome.attempts == 3
        assert waits == [7.0, 120.0]
        assert len(hook.requests) == 3


def test_a_timeout_is_retryable_and_bounded(client: httpx.Client) -> None:
    never = threading.Event()  # the channel never answers: only the timeout ends the wait
    with Capture([Answer(hold=never)]) as hook:
        c = Channel.create(hook.url)
        outcome = send_with_retries(
            c, failed(), client=client, attempts=1, timeout=0.3, sleep=lambda _: None
        )
        assert outcome.result is Result.RETRYABLE and outcome.reason == "ReadTimeout"

        hook.answer(Answer(hold=never))
        waits: list[float] = []
        outcome = send_with_retries(
            c, failed(), client=client, attempts=2, timeout=0.3, sleep=waits.append
        )
        assert outcome.sent and outcome.attempts == 2 and waits == [1.0]


def test_an_unreachable_channel_is_retryable_and_never_raises(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    c = Channel.create(f"http://127.0.0.1:{port}/hook?token=hunter2")
    with caplog.at_level(logging.WARNING, logger="relay.notify"):
        outcome = send_with_retries(c, failed(), client=client, attempts=3, sleep=lambda _: None)
    assert outcome.result is Result.RETRYABLE and outcome.attempts == 3
    assert outcome.reason == "ConnectError"
    assert "hunter2" not in caplog.text and str(port) not in caplog.text


def test_send_in_background_does_not_wait_for_a_slow_channel() -> None:
    gate = threading.Event()
    with Capture([Answer(hold=gate)]) as hook:
        c = Channel.create(hook.url, format="teams")
        thread = send_in_background([c], failed())  # returns while the channel holds its answer
        assert thread is not None
        wait_for(lambda: hook.requests, timeout=5, what="the notification")
        assert thread.is_alive(), "still waiting for the channel, in the background"
        gate.set()
        thread.join(timeout=5)
        assert not thread.is_alive()
        assert hook.requests[0].json()["type"] == "message"
    assert send_in_background([Channel.create(hook.url, events=["recovered"])], failed()) is None
