"""Per-hook filters: which verified deliveries should build, and why the others do not.

A delivery that fails a filter is answered `200 {"ignored": REASON}` (so the sender does not
retry it) and recorded, but touches no target. Filters fail closed: what a rule needs and the
delivery does not establish keeps it from building.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import orjson

from relay.core.build_settings import FilterSettings, MatchRule
from relay.web.providers.base import IncomingRequest, Provider, Verified


def _matches(value: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def _json_path(doc: Any, path: str) -> Any:
    for part in path.removeprefix("$.").split("."):
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isascii() and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return None
    return doc


class _Body:
    """The body parsed as JSON at most once, and only when a rule needs it."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self._doc: Any = ...

    @property
    def doc(self) -> Any:
        if self._doc is ...:
            try:
                self._doc = orjson.loads(self.raw)
            except orjson.JSONDecodeError:
                self._doc = None
        return self._doc


def _rule_reason(rule: MatchRule, request: IncomingRequest, body: _Body) -> str | None:
    if rule.source == "header":
        value: Any = request.header(rule.key)
        where = f"header {rule.key}"
    else:
        value = _json_path(body.doc, rule.key)
        where = f"body {rule.key}"
    if value is None:
        return f"{where} is missing"
    if rule.values and not _matches(
        value if isinstance(value, str) else orjson.dumps(value).decode(), rule.values
    ):
        return f"{where} is {value!r}, not one of {', '.join(rule.values)}"
    return None


def ignore_reason(
    filters: FilterSettings, provider: Provider, request: IncomingRequest, verified: Verified
) -> str | None:
    """None when the delivery should build; else a short reason naming the rule it failed.

    Filters fail closed: a rule that needs the event, the branch, the type or a field that could
    not be established (from signed or trusted data) does not let the delivery through.
    """
    if verified.handshake:
        return f"{verified.event or 'handshake'}: the sender's unsigned handshake, never built"
    events = filters.events if filters.events is not None else provider.default_events
    if events is not None:
        if verified.event is None:
            return f"the event is unknown, and only {', '.join(events)} build"
        if not _matches(verified.event, events):
            return f"event {verified.event} is not one of {', '.join(events)}"
    if filters.branches:
        if verified.branch is None:
            allowed = ", ".join(filters.branches)
            return f"the branch is unknown (a tag, or not a push), and only {allowed} build"
        if not _matches(verified.branch, filters.branches):
            return f"branch {verified.branch} is not one of {', '.join(filters.branches)}"
    if filters.types and not (
        verified.content_type is not None and _matches(verified.content_type, filters.types)
    ):
        return f"type {verified.content_type or '(none)'} is not one of {', '.join(filters.types)}"
    body = _Body(request.body)
    for rule in filters.match:
        reason = _rule_reason(rule, request, body)
        if reason is not None:
            return reason
    return None
