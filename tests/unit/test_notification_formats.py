"""Notifications: what each format sends, who gets it, the signature, the retry decisions."""

from __future__ import annotations

import base64
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import standardwebhooks

from relay.core.exceptions import ConfigError
from relay.core.records import Trigger, TriggerStatus
from relay.core.secret import Secret
from workers.notifications import (
    Channel,
    ChannelKind,
    Event,
    Notice,
    Result,
    deliver,
    detect_kind,
    render,
    send_to_all,
    send_with_retries,
    sign,
)
from workers.notifications.formats import COLOURS, encode
from workers.notifications.sender import classify, request, retry_after

WHSEC = "whsec_" + base64.b64encode(b"a key of thirty-two bytes, exact").decode()
PUBLIC = "https://relay.example.org"
HOOK_URL = "https://api.cloudflare.com/client/v4/pages/webhooks/deploy_hooks/0f1e2d3c-4b5a"
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX"
AT = 1_714_564_800_000  # 2024-05-01T12:00:00Z


def failed_trigger(**changes: Any) -> Trigger:
    fields: dict[str, Any] = {
        "id": "t-abc123",
        "target": "blog",
        "status": TriggerStatus.FAILURE,
        "attempts": 2,
        "error": "Build failed: exit code 1\nnpm ERR! missing script: build\nsee the log",
        "error_code": 8000000,
        "deployment_id": "d-42",
        "url": "https://d42.blog.pages.dev",
        "stage": "build",
        "stage_status": "failure",
    }
    fields.update(changes)
    return Trigger(**fields)


def notice(event: Event = Event.FAILED, **changes: Any) -> Notice:
    log_tail = changes.pop("log_tail", ("npm run build", "Error: boom"))
    return Notice.for_trigger(
        event, failed_trigger(**changes), public_url=PUBLIC, log_tail=log_tail, at=AT
    )


def channel(**kwargs: Any) -> Channel:
    return Channel.create(kwargs.pop("url", SLACK_URL), **kwargs)


# -- the notice ---------------------------------------------------------------------------------


def test_event_names_are_the_documented_ones() -> None:
    assert {e.value for e in Event} == {
        "failed",
        "failed_for_good",
        "recovered",
        "stuck",
        "held_by_budget",
        "paused",
        "resumed",
        "redis_lost",
        "budget_warning",
    }


def test_a_trigger_notice_says_what_failed_and_where_to_look() -> None:
    n = notice()
    assert n.title == "blog: build failure"
    assert n.target == "blog" and n.at == AT
    assert n.link == "https://relay.example.org/deployments?target=blog"
    text = "\n".join(n.details)
    assert "t-abc123" in text and "failure" in text and "2 attempts" in text
    assert "code 8000000" in text and "Build failed: exit code 1" in text
    assert "npm ERR! missing script: build" in text
    assert "Deployment: https://d42.blog.pages.dev" in text
    assert n.log == ("npm run build", "Error: boom")
    assert n.trigger is not None and n.trigger.id == "t-abc123"


def test_no_public_url_no_link() -> None:
    n = Notice.for_trigger(Event.FAILED, failed_trigger(), public_url=None)
    assert n.link is None
    assert "actions" not in {b["type"] for b in render(ChannelKind.SLACK, n)["blocks"]}


def test_the_id_is_stable_and_depends_on_what_it_is_about() -> None:
    first = Notice.for_trigger(Event.FAILED, failed_trigger(), public_url=None, at=1)
    again = Notice.for_trigger(Event.FAILED, failed_trigger(attempts=3), public_url=PUBLIC, at=2)
    assert first.id == again.id and first.id.startswith("ntf_")
    assert Notice.for_trigger(Event.STUCK, failed_trigger(), public_url=None).id != first.id
    assert Notice.for_trigger(Event.FAILED, failed_trigger(id="t-2"), public_url=None).id != (
        first.id
    )
    paused = Notice.for_target(Event.PAUSED, "blog", "blog paused", [], None, at=5)
    assert paused.id == Notice.for_target(Event.PAUSED, "blog", "blog paused", [], None, at=5).id
    assert paused.id != Notice.for_target(Event.PAUSED, "blog", "blog paused", [], None, at=6).id
    keyed = [
        Notice.for_target(Event.BUDGET_WARNING, "blog", "80 %", [], None, at=t, key="2024-05")
        for t in (1, 2)
    ]
    assert keyed[0].id == keyed[1].id


def test_details_and_log_are_bounded() -> None:
    n = notice(
        error="\n".join(f"line {i} " + "x" * 500 for i in range(50)),
        log_tail=[f"log {i} " + "y" * 500 for i in range(100)],
    )
    assert len(n.details) <= 12 and all(len(line) <= 200 for line in n.details)
    assert len(n.log) == 10 and all(len(line) <= 200 for line in n.log)
    assert n.log[0].startswith("log 90 ") and n.log[-1].startswith("log 99 ")
    assert "…" in n.details  # the error was cut


def test_terminal_colours_and_control_characters_are_removed() -> None:
    n = notice(log_tail=["\x1b[31mred\x1b[0m text\x07", "\x00"])
    assert n.log == ("red text",)


def test_a_deploy_hook_url_in_an_error_is_masked() -> None:
    n = notice(error=f"POST {HOOK_URL} answered 500", url=None)
    everything = json.dumps([render(kind, n) for kind in ChannelKind])
    assert "0f1e2d3c" not in everything and "deploy_hooks/[redacted]" in everything


def test_redis_lost_concerns_every_target() -> None:
    n = Notice.redis_lost(PUBLIC, at=AT)
    assert n.event is Event.REDIS_LOST and n.target is None and n.link == PUBLIC + "/"
    assert "Redis" in n.title


def test_failed_for_good_says_how_to_replay() -> None:
    n = notice(Event.FAILED_FOR_GOOD, status=TriggerStatus.FAILED)
    assert "failed for good" in n.title
    assert "Replay it with: relay replay t-abc123" in n.details


# -- kinds --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        (SLACK_URL, ChannelKind.SLACK),
        ("https://hooks.slack-gov.com/services/T0/B0/abc", ChannelKind.SLACK),
        ("https://HOOKS.SLACK.COM/services/T0/B0/abc", ChannelKind.SLACK),
        ("https://hooks.slack.com/workflows/T0/A0/123/abc", ChannelKind.GENERIC),
        ("http://hooks.slack.com/services/T0/B0/abc", ChannelKind.GENERIC),
        ("https://hooks.slack.com.evil.example/services/x", ChannelKind.GENERIC),
        ("https://discord.com/api/webhooks/123/token", ChannelKind.DISCORD),
        ("https://discordapp.com/api/webhooks/123/token", ChannelKind.DISCORD),
        ("https://canary.discord.com/api/webhooks/123/token", ChannelKind.DISCORD),
        ("https://ptb.discordapp.com/api/webhooks/123/token", ChannelKind.DISCORD),
        ("https://discord.com/api/v10/webhooks/123/token", ChannelKind.DISCORD),
        ("https://discord.com/channels/1/2", ChannelKind.GENERIC),
        ("https://evil.discord.com/api/webhooks/1/t", ChannelKind.GENERIC),
        (
            "https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/"
            "invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=xyz",
            ChannelKind.TEAMS,
        ),
        (
            "https://default0123.ab.environment.api.powerplatform.com:443/powerautomate/"
            "automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1",
            ChannelKind.TEAMS,
        ),
        (
            "https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/x/y",
            ChannelKind.TEAMS,
        ),
        ("https://example.org/hooks/relay", ChannelKind.GENERIC),
        ("not a url", ChannelKind.GENERIC),
    ],
)
def test_the_kind_follows_the_url(url: str, kind: ChannelKind) -> None:
    assert detect_kind(url) is kind


def test_a_channel_can_name_its_format() -> None:
    assert channel(url="http://127.0.0.1:9/x", format="discord").kind is ChannelKind.DISCORD
    assert channel(url="http://127.0.0.1:9/x").kind is ChannelKind.GENERIC
    assert channel().kind is ChannelKind.SLACK
    assert channel().label == "channel 1 (slack)"
    assert channel(number=3, format="teams").label == "channel 3 (teams)"


# -- Slack --------------------------------------------------------------------------------------


def test_slack_blocks() -> None:
    body = render(ChannelKind.SLACK, notice())
    assert set(body) == {"text", "blocks"}
    assert body["text"] == "❌ blog: build failure"
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["header", "section", "context", "actions"]
    header, section, context, actions = body["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "❌ blog: build failure"}
    assert section["text"]["type"] == "mrkdwn"
    assert "t-abc123" in section["text"]["text"]
    assert "```\nnpm run build\nError: boom\n```" in section["text"]["text"]
    assert context["elements"][0]["type"] == "mrkdwn"
    assert "2024-05-01 12:00:00 UTC" in context["elements"][0]["text"]
    button = actions["elements"][0]
    assert button["type"] == "button" and button["url"] == PUBLIC + "/deployments?target=blog"


def test_slack_text_cannot_ping_or_inject() -> None:
    n = notice(error="<!channel> <script>alert(1)</script> & <https://evil|click>")
    text = json.dumps(render(ChannelKind.SLACK, n))
    assert "<!channel>" not in text and "<script>" not in text and "<https://evil" not in text
    assert (
        "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;https://evil|click&gt;"
        in text
    )


def test_slack_section_stays_within_its_limit_and_keeps_its_code_block_closed() -> None:
    n = notice(error="e" * 190, log_tail=["z" * 199] * 10)
    long = Notice(**{**n.__dict__, "details": tuple("d" * 199 for _ in range(12))})
    body = render(ChannelKind.SLACK, long)
    section = body["blocks"][1]["text"]["text"]
    assert len(section) <= 3000
    assert section.count("```") % 2 == 0


# -- Discord ------------------------------------------------------------------------------------


def test_discord_embed() -> None:
    body = render(ChannelKind.DISCORD, notice())
    assert set(body) == {"content", "embeds", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert body["content"] == "❌ blog: build failure"
    (embed,) = body["embeds"]
    assert embed["title"] == "blog: build failure"
    assert embed["url"] == PUBLIC + "/deployments?target=blog"
    assert embed["color"] == COLOURS["bad"] == 0xD93F3F
    assert embed["timestamp"] == "2024-05-01T12:00:00.000Z"
    assert "t\\-abc123" not in embed["description"] and "t-abc123" in embed["description"]
    assert {f["name"] for f in embed["fields"]} >= {"Status", "Trigger", "Attempts"}
    assert all(f["inline"] for f in embed["fields"])


def test_discord_limits_are_kept() -> None:
    huge = Notice.for_target(
        Event.BUDGET_WARNING, "blog", "t" * 1000, ["d" * 199] * 12, PUBLIC, at=AT
    )
    huge = Notice(**{**huge.__dict__, "title": "t" * 3000, "log": ("l" * 199,) * 10})
    body = render(ChannelKind.DISCORD, huge)
    (embed,) = body["embeds"]
    assert len(body["content"]) <= 2000
    assert len(embed["title"]) <= 256
    assert len(embed["description"]) <= 4096
    assert embed["description"].count("```") % 2 == 0
    total = len(embed["title"]) + len(embed["description"]) + len(embed["footer"]["text"])
    assert total <= 6000
    assert embed["color"] == COLOURS["warn"]


def test_discord_text_cannot_mention_or_link() -> None:
    n = notice(error="@everyone <@123> [click](https://evil.example) **bold**")
    body = render(ChannelKind.DISCORD, n)
    description = body["embeds"][0]["description"]
    assert "\\@everyone" in description and "\\<\\@123\\>" in description
    assert "\\[click\\](https://evil.example)" in description and "\\*\\*bold" in description
    assert body["allowed_mentions"] == {"parse": []}


# -- Teams --------------------------------------------------------------------------------------


def test_teams_adaptive_card_envelope() -> None:
    body = render(ChannelKind.TEAMS, notice())
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open the dashboard",
            "url": PUBLIC + "/deployments?target=blog",
        }
    ]
    first = card["body"][0]
    assert first["type"] == "RichTextBlock"
    assert first["inlines"][0]["text"] == "❌ blog: build failure"
    assert first["inlines"][0]["color"] == "Attention"
    runs = json.dumps(card["body"])
    assert "t-abc123" in runs and "npm run build" in runs and "Monospace" in runs
    # untrusted text is only ever in TextRuns (never parsed as markdown)
    assert all(block["type"] in {"RichTextBlock", "Container"} for block in card["body"])


def test_teams_without_link_has_no_action() -> None:
    n = Notice.for_target(Event.RESUMED, "blog", "blog resumed", [], None)
    card = render(ChannelKind.TEAMS, n)["attachments"][0]["content"]
    assert card["actions"] == []
    assert card["body"][0]["inlines"][0]["color"] == "Default"


# -- generic ------------------------------------------------------------------------------------


def test_generic_document() -> None:
    n = notice(Event.RECOVERED, status=TriggerStatus.SUCCESS, error=None, error_code=None)
    doc = render(ChannelKind.GENERIC, n)
    assert doc["type"] == "relay.recovered"
    assert doc["timestamp"] == "2024-05-01T12:00:00.000Z"
    data = doc["data"]
    assert set(data) == {
        "id",
        "event",
        "target",
        "title",
        "details",
        "log",
        "link",
        "at",
        "trigger",
    }
    assert data["id"] == n.id and data["event"] == "recovered" and data["target"] == "blog"
    assert data["title"] == "blog recovered: build succeeded"
    assert data["trigger"]["id"] == "t-abc123" and data["trigger"]["status"] == "success"
    assert data["trigger"]["url"] == "https://d42.blog.pages.dev"
    assert data["at"] == AT and isinstance(data["details"], list)


def test_generic_redis_lost_has_no_trigger() -> None:
    data = render(ChannelKind.GENERIC, Notice.redis_lost(None, at=AT))["data"]
    assert data["target"] is None and data["trigger"] is None and data["link"] is None


@pytest.mark.parametrize(
    ("event", "tone"),
    [
        (Event.FAILED, "bad"),
        (Event.FAILED_FOR_GOOD, "bad"),
        (Event.RECOVERED, "good"),
        (Event.STUCK, "warn"),
        (Event.HELD_BY_BUDGET, "warn"),
        (Event.BUDGET_WARNING, "warn"),
        (Event.PAUSED, "neutral"),
        (Event.RESUMED, "neutral"),
    ],
)
def test_colours(event: Event, tone: str) -> None:
    n = Notice.for_target(event, "blog", "x", [], None)
    assert render(ChannelKind.DISCORD, n)["embeds"][0]["color"] == COLOURS[tone]


# -- channels -----------------------------------------------------------------------------------


def test_channels_filter_by_events_and_targets() -> None:
    everything = channel()
    failures = channel(events=["failed", "failed_for_good"])
    docs_only = channel(targets=["docs"])
    assert everything.wants(notice()) and failures.wants(notice())
    assert not failures.wants(notice(Event.RECOVERED))
    assert not docs_only.wants(notice())
    assert docs_only.wants(notice(target="docs"))
    assert docs_only.wants(Notice.redis_lost(None))  # concerns every target
    assert not failures.wants(Notice.redis_lost(None))


def test_channel_problems_name_keys_never_values() -> None:
    with pytest.raises(ConfigError) as info:
        Channel.create(
            "ftp://secret-host/token-in-url",
            events=["failed", "exploded"],
            secret="whsec_not*base64!",
            format="carrier-pigeon",
            key="notify[2]",
        )
    message = str(info.value)
    assert len(info.value.problems) == 4
    assert "notify[2].url" in message and "notify[2].events" in message
    assert "notify[2].secret" in message and "notify[2].format" in message
    assert "'exploded'" in message
    assert "token-in-url" not in message and "not*base64" not in message
    with pytest.raises(ConfigError, match="empty"):
        Channel.create(SLACK_URL, events=[])


def test_a_channel_never_shows_its_url_or_secret() -> None:
    c = channel(url="https://example.org/hook?token=hunter2", secret=WHSEC)
    shown = repr(c) + str(c) + c.label
    assert "hunter2" not in shown and WHSEC not in shown and "example.org" not in shown


# -- Standard Webhooks --------------------------------------------------------------------------


def test_the_signature_verifies_with_the_standardwebhooks_library() -> None:
    c = channel(url="https://example.org/hook", secret=WHSEC)
    n = notice()
    now = time.time()
    body, headers = request(c, n, now=now)
    assert headers["webhook-id"] == n.id
    assert headers["webhook-timestamp"] == str(int(now))
    assert headers["webhook-signature"].startswith("v1,")
    verified = standardwebhooks.Webhook(WHSEC).verify(body, headers)
    assert verified == render(ChannelKind.GENERIC, n)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        other = "whsec_" + base64.b64encode(b"another key, also 32 bytes long!").decode()
        standardwebhooks.Webhook(other).verify(body, headers)
    with pytest.raises(standardwebhooks.WebhookVerificationError):
        standardwebhooks.Webhook(WHSEC).verify(body + b" ", headers)


def test_sign_matches_the_library_and_accepts_a_secret_without_prefix() -> None:
    body = encode({"a": "é"})
    bare = WHSEC.removeprefix("whsec_")
    ours = sign(Secret(bare), "msg_1", 1_700_000_000, body)
    theirs = standardwebhooks.Webhook(WHSEC).sign(
        "msg_1", datetime.fromtimestamp(1_700_000_000, UTC), body.decode()
    )
    assert ours == theirs


def test_unsigned_channels_send_no_signature_headers() -> None:
    _, headers = request(channel(), notice(), now=0.0)
    assert not any(name.startswith("webhook-") for name in headers)


# -- answers and retries (against httpx's mock transport) ---------------------------------------


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (200, Result.SENT),
        (204, Result.SENT),
        (301, Result.PERMANENT),
        (400, Result.PERMANENT),
        (403, Result.PERMANENT),
        (404, Result.PERMANENT),
        (408, Result.RETRYABLE),
        (429, Result.RETRYABLE),
        (500, Result.RETRYABLE),
        (503, Result.RETRYABLE),
    ],
)
def test_answers_are_classified(status: int, result: Result) -> None:
    assert classify(status, {}).result is result


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    assert retry_after("7", now=0) == 7.0
    assert retry_after("-3", now=0) == 0.0
    assert retry_after("Wed, 01 May 2024 12:00:30 GMT", now=AT / 1000) == 30.0
    assert retry_after("soon", now=0) is None
    assert retry_after(None, now=0) is None


def scripted(
    *answers: int | httpx.Response | Exception,
) -> tuple[httpx.Client, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        item = queue.pop(0) if queue else 200
        if isinstance(item, Exception):
            raise item
        return item if isinstance(item, httpx.Response) else httpx.Response(item)

    return httpx.Client(transport=httpx.MockTransport(handler)), seen


def test_retries_follow_the_backoff_then_give_up(caplog: pytest.LogCaptureFixture) -> None:
    client, seen = scripted(500, 502, httpx.ConnectError("refused"), 503, 200)
    waits: list[float] = []
    url = "https://hooks.slack.com/services/T0/B0/SECRETTOKEN"
    with caplog.at_level(logging.INFO, logger="relay.notify"):
        outcome = send_with_retries(channel(url=url), notice(), client=client, sleep=waits.append)
    assert outcome.result is Result.RETRYABLE and outcome.attempts == 4
    assert outcome.status == 503 and outcome.reason == "HTTP 503"
    assert waits == [1.0, 5.0, 30.0] and len(seen) == 4
    assert "SECRETTOKEN" not in caplog.text and "hooks.slack.com" not in caplog.text
    assert "channel 1 (slack)" in caplog.text and "giving up" in caplog.text
    assert "ConnectError" in caplog.text


def test_a_wrong_url_is_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    client, seen = scripted(404)
    waits: list[float] = []
    outcome = send_with_retries(channel(), notice(), client=client, sleep=waits.append)
    assert outcome.result is Result.PERMANENT and outcome.status == 404 and outcome.attempts == 1
    assert waits == [] and len(seen) == 1
    assert "not retried" in caplog.text


def test_retry_after_wins_up_to_its_cap() -> None:
    client, _ = scripted(
        httpx.Response(429, headers={"Retry-After": "12"}),
        httpx.Response(503, headers={"Retry-After": "3600"}),
        200,
    )
    waits: list[float] = []
    outcome = send_with_retries(
        channel(), notice(), client=client, sleep=waits.append, max_retry_after=60
    )
    assert outcome.sent and outcome.attempts == 3
    assert waits == [12.0, 60.0]


def test_deliver_posts_the_rendered_body() -> None:
    client, seen = scripted(200)
    c = channel(url="https://example.org/hook", secret=WHSEC)
    n = notice()
    outcome = deliver(c, n, client=client)
    assert outcome.sent and outcome.status == 200
    (req,) = seen
    assert req.method == "POST" and req.headers["content-type"] == "application/json"
    assert json.loads(req.content) == render(ChannelKind.GENERIC, n)
    standardwebhooks.Webhook(WHSEC).verify(req.content, dict(req.headers))


def test_send_to_all_skips_channels_that_do_not_want_it() -> None:
    client, seen = scripted(200, 200)
    channels = [
        channel(number=1),
        channel(number=2, events=["recovered"]),
        channel(number=3, targets=["blog"]),
    ]
    results = send_to_all(channels, notice(), client=client, sleep=lambda _: None)
    assert [(c.number, o.result) for c, o in results] == [(1, Result.SENT), (3, Result.SENT)]
    assert len(seen) == 2
