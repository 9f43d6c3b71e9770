"""Notifications to several channels (`[[notify]]`): Slack, Discord, Microsoft Teams workflows
and signed generic JSON (Standard Webhooks).

`events` says what happened (`Event`, `Notice`), `formats` writes it the way each kind of
receiver wants it, `channels` says who wants what (`Channel`), and `sender` posts it and retries
(`deliver`, `send_with_retries`, `send_to_all`, `send_in_background`). Best effort throughout: a
notification that cannot be sent is logged (never with its URL) and never changes a deployment.
"""

from __future__ import annotations

from workers.notifications.channels import Channel
from workers.notifications.events import Event, Notice, TriggerFacts
from workers.notifications.formats import ChannelKind, detect_kind, render
from workers.notifications.sender import (
    Outcome,
    Result,
    deliver,
    send_in_background,
    send_to_all,
    send_with_retries,
    sign,
)

__all__ = [
    "Channel",
    "ChannelKind",
    "Event",
    "Notice",
    "Outcome",
    "Result",
    "TriggerFacts",
    "deliver",
    "detect_kind",
    "render",
    "send_in_background",
    "send_to_all",
    "send_with_retries",
    "sign",
]
