"""Each kind of receiver's message: Slack, Discord, Microsoft Teams workflows, generic JSON.

The kind follows the URL (`detect_kind`), unless a channel names it (`Channel.format`):

- Slack incoming webhooks: ``https://hooks.slack.com/services/…`` and
  ``https://hooks.slack-gov.com/services/…``. (Workflow Builder triggers, ``/workflows/…`` and
  ``/triggers/…``, take their own variables, not blocks: they are generic.)
- Discord webhooks: ``https://discord.com/api/webhooks/…`` (also ``/api/v10/webhooks/…``), on
  ``discord.com`` or ``discordapp.com``, optionally under ``canary.`` or ``ptb.``.
- Microsoft Teams workflows (Power Automate "when a Teams webhook request is received"):
  ``https://<anything>.logic.azure.com/workflows/…`` (e.g. ``prod-12.westus.logic.azure.com:443``)
  and ``https://<anything>.environment.api.powerplatform.com/…``; the retired Office 365
  connectors, ``https://<tenant>.webhook.office.com/webhookb2/…``, accept the same envelope.
- anything else, and any ``http://`` URL: generic JSON, signed as Standard Webhooks when the
  channel has a secret.

Untrusted text (an error message, a build log) cannot ping anyone or inject markup: Slack's
mrkdwn gets `&`, `<` and `>` escaped (so ``<!channel>`` stays text), Discord's markdown is
backslash-escaped and `allowed_mentions` is empty, and Teams gets it as Adaptive Card
`TextRun`s, which are never read as markdown. Every receiver's length limits are kept.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from workers.notifications.events import Event, Notice


class ChannelKind(StrEnum):
    SLACK = "slack"
    DISCORD = "discord"
    TEAMS = "teams"
    GENERIC = "generic"


SLACK_HOSTS = frozenset({"hooks.slack.com", "hooks.slack-gov.com"})
DISCORD_HOSTS = frozenset(
    f"{sub}{domain}"
    for sub in ("", "canary.", "ptb.")
    for domain in ("discord.com", "discordapp.com")
)
_DISCORD_PATH = re.compile(r"^/api(?:/v\d+)?/webhooks/")

#: (red, green, amber, grey) by tone, as RGB
COLOURS = {"bad": 0xD93F3F, "good": 0x2EB67D, "warn": 0xECB22E, "neutral": 0x95A5A6}
#: Adaptive Card text colours by tone
TEAMS_COLOURS = {"bad": "Attention", "good": "Good", "warn": "Warning", "neutral": "Default"}
ICONS = {
    Event.FAILED: "❌",
    Event.FAILED_FOR_GOOD: "🛑",
    Event.RECOVERED: "✅",
    Event.STUCK: "⏳",
    Event.HELD_BY_BUDGET: "🚦",
    Event.BUDGET_WARNING: "⚠️",
    Event.PAUSED: "⏸️",
    Event.RESUMED: "▶️",
    Event.REDIS_LOST: "🔌",
}
LINK_TEXT = "Open the dashboard"
FOOTER = "deploy-hook relay"

# Slack: https://api.slack.com/reference/block-kit/blocks
SLACK_HEADER = 150
SLACK_SECTION = 3000
SLACK_URL = 3000
# Discord: https://discord.com/developers/docs/resources/message#embed-object-embed-limits
DISCORD_CONTENT = 2000
DISCORD_TITLE = 256
DISCORD_DESCRIPTION = 4096
DISCORD_FIELD_NAME = 256
DISCORD_FIELD_VALUE = 1024
DISCORD_FIELDS = 25
DISCORD_EMBED_TOTAL = 6000
DISCORD_URL = 2048


def detect_kind(url: str) -> ChannelKind:
    """The kind of receiver a webhook URL belongs to (GENERIC when it is not recognised)."""
    try:
        parts = urllib.parse.urlsplit(url.strip())
        host = (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return ChannelKind.GENERIC
    if parts.scheme.lower() != "https":
        return ChannelKind.GENERIC
    path = parts.path
    if host in SLACK_HOSTS and path.startswith("/services/"):
        return ChannelKind.SLACK
    if host in DISCORD_HOSTS and _DISCORD_PATH.match(path):
        return ChannelKind.DISCORD
    if (
        (host.endswith(".logic.azure.com") and path.startswith("/workflows/"))
        or host.endswith(".environment.api.powerplatform.com")
        or (host.endswith(".webhook.office.com") and path.startswith("/webhookb2/"))
    ):
        return ChannelKind.TEAMS
    return ChannelKind.GENERIC


def render(kind: ChannelKind, notice: Notice) -> dict[str, Any]:
    """The JSON document `kind` of receiver is sent for `notice`."""
    return _RENDERERS[ChannelKind(kind)](notice)


def encode(document: dict[str, Any]) -> bytes:
    """The body as sent (and signed): compact UTF-8 JSON."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def iso(at_ms: int) -> str:
    """ISO 8601 in UTC with milliseconds: 2024-05-01T12:00:00.000Z."""
    moment = datetime.fromtimestamp(at_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _headline(notice: Notice) -> str:
    return f"{ICONS[notice.event]} {notice.title}"


def _footer(notice: Notice) -> str:
    moment = datetime.fromtimestamp(notice.at / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"{FOOTER} · {notice.event.value} · {moment}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code_block(lines: list[str]) -> str:
    return "```\n" + "\n".join(line.replace("```", "'''") for line in lines) + "\n```"


def _with_log(main: str, log: tuple[str, ...], limit: int, escape: Callable[[str], str]) -> str:
    """`main` then the log as a code block, within `limit`: the oldest log lines go first, then
    the block, then the end of `main` (a code block is never cut open)."""
    lines = [escape(line) for line in log]
    while lines:
        block = "Build log (last lines):\n" + _code_block(lines)
        text = f"{main}\n{block}" if main else block
        if len(text) <= limit:
            return text
        lines = lines[1:]
    return _cut(main, limit)


# -- Slack --------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """Slack mrkdwn's three control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(notice: Notice) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(_headline(notice), SLACK_HEADER)},
        }
    ]
    main = "\n".join(slack_escape(line) for line in notice.details)
    section = _with_log(main, notice.log, SLACK_SECTION, slack_escape)
    if section:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section}})
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(_footer(notice))}]}
    )
    if notice.link and len(notice.link) <= SLACK_URL:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": LINK_TEXT},
                        "url": notice.link,
                    }
                ],
            }
        )
    return {"text": slack_escape(_headline(notice)), "blocks": blocks}


# -- Discord ------------------------------------------------------------------------------------

_DISCORD_SPECIAL = re.compile(r"([\\*_~`|>\[\]<#@])")


def discord_escape(text: str) -> str:
    """Backslashes before Discord markdown's characters (and before @ and <, for mentions)."""
    return _DISCORD_SPECIAL.sub(r"\\\1", text)


def _discord_fields(notice: Notice) -> list[dict[str, Any]]:
    facts = notice.trigger
    if facts is None:
        return []
    pairs: list[tuple[str, str]] = [("Status", facts.status), ("Trigger", facts.id)]
    if facts.attempts:
        pairs.append(("Attempts", str(facts.attempts)))
    if facts.error_code is not None:
        pairs.append(("Error code", str(facts.error_code)))
    return [
        {
            "name": _cut(name, DISCORD_FIELD_NAME),
            "value": _cut(discord_escape(value), DISCORD_FIELD_VALUE),
            "inline": True,
        }
        for name, value in pairs[:DISCORD_FIELDS]
    ]


def discord(notice: Notice) -> dict[str, Any]:
    embed: dict[str, Any] = {"title": _cut(discord_escape(notice.title), DISCORD_TITLE)}
    fields = _discord_fields(notice)
    footer = _footer(notice)
    used = len(embed["title"]) + len(footer) + sum(len(f["name"]) + len(f["value"]) for f in fields)
    main = "\n".join(discord_escape(line) for line in notice.details)
    limit = min(DISCORD_DESCRIPTION, DISCORD_EMBED_TOTAL - used)
    description = _with_log(main, notice.log, limit, lambda line: line)
    if description:
        embed["description"] = description
    if notice.link and len(notice.link) <= DISCORD_URL:
        embed["url"] = notice.link
    embed["color"] = COLOURS[notice.event.tone]
    embed["timestamp"] = iso(notice.at)
    if fields:
        embed["fields"] = fields
    embed["footer"] = {"text": footer}
    return {
        "content": _cut(discord_escape(_headline(notice)), DISCORD_CONTENT),
        "embeds": [embed],
        "allowed_mentions": {"parse": []},
    }


# -- Microsoft Teams (workflows) ----------------------------------------------------------------


def _run(text: str, **style: Any) -> dict[str, Any]:
    """A paragraph of literal text (a TextRun is never read as markdown)."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def teams(notice: Notice) -> dict[str, Any]:
    tone = notice.event.tone
    body: list[dict[str, Any]] = [
        _run(_headline(notice), weight="Bolder", size="Medium", color=TEAMS_COLOURS[tone])
    ]
    body.extend({**_run(line), "spacing": "Small"} for line in notice.details)
    if notice.log:
        body.append(
            {
                "type": "Container",
                "style": "emphasis",
                "items": [
                    _run("Build log (last lines):", weight="Bolder", size="Small"),
                    *(_run(line, fontType="Monospace", size="Small") for line in notice.log),
                ],
            }
        )
    body.append(_run(_footer(notice), isSubtle=True, size="Small"))
    actions = (
        [{"type": "Action.OpenUrl", "title": LINK_TEXT, "url": notice.link}] if notice.link else []
    )
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": body,
                    "actions": actions,
                    "msteams": {"width": "Full"},
                },
            }
        ],
    }


# -- generic (Standard Webhooks payload convention) ---------------------------------------------


def generic(notice: Notice) -> dict[str, Any]:
    return {
        "type": f"relay.{notice.event.value}",
        "timestamp": iso(notice.at),
        "data": {
            "id": notice.id,
            "event": notice.event.value,
            "target": notice.target,
            "title": notice.title,
            "details": list(notice.details),
            "log": list(notice.log),
            "link": notice.link,
            "at": notice.at,
            "trigger": notice.trigger.to_dict() if notice.trigger else None,
        },
    }


_RENDERERS = {
    ChannelKind.SLACK: slack,
    ChannelKind.DISCORD: discord,
    ChannelKind.TEAMS: teams,
    ChannelKind.GENERIC: generic,
}
