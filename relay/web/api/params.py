"""Reading the API's query parameters and JSON bodies; every refusal is a `BadRequest` (or
`NotFound`, `BodyTooLarge`) whose message names the field at fault."""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from relay.core.duration import parse_duration
from relay.core.exceptions import BadRequest, NotFound
from relay.web.bodies import read_body

STREAM_ID = re.compile(r"^[0-9]{1,20}(-[0-9]{1,20})?$")
#: the largest JSON body the API reads
MAX_BODY = 64 * 1024


def limit(request: Request, *, default: int, maximum: int) -> int:
    text = request.query_params.get("limit")
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= maximum:
        raise BadRequest(f"limit: must be a whole number from 1 to {maximum}")
    return int(text)


def offset(request: Request) -> int:
    text = request.query_params.get("offset") or "0"
    if not (text.isascii() and text.isdigit()) or int(text) > 1_000_000:
        raise BadRequest("offset: must be a whole number from 0 to 1000000")
    return int(text)


def before(request: Request) -> str | None:
    text = request.query_params.get("before") or None
    if text is not None and not STREAM_ID.match(text):
        raise BadRequest("before: must be a delivery id such as 1712345678901-0")
    return text


def known(request: Request, field: str, names: Container[str], what: str) -> str | None:
    """An optional query parameter naming a configured hook or target (404 when unknown)."""
    value = request.query_params.get(field) or None
    if value is not None and value not in names:
        raise NotFound(f"unknown {what} {value!r}")
    return value


async def json_body(request: Request, timeout: float) -> dict[str, Any]:
    """The request's JSON object ({} for an empty body), read within bounds."""
    body = await read_body(request, MAX_BODY, timeout)
    if not body.strip():
        return {}
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("body: not valid JSON") from None
    if not isinstance(doc, dict):
        raise BadRequest("body: must be a JSON object")
    return doc


def only_fields(doc: dict[str, Any], allowed: set[str]) -> None:
    for name in doc:
        if name not in allowed:
            expected = ", ".join(sorted(allowed)) or "no fields"
            raise BadRequest(f"{name}: unknown field (expected {expected})")


@dataclass(frozen=True)
class ReplayRequest:
    """`{"ids": [...]}`, or `{"all": true}` with an optional target and `since`."""

    ids: list[str] | None  # None: every failed trigger (of `target`, failed within `since`)
    target: str | None = None
    since: float | None = None  # seconds


def replay_request(body: dict[str, Any], targets: Container[str], *, cap: int) -> ReplayRequest:
    only_fields(body, {"ids", "all", "target", "since"})
    ids, replay_all = body.get("ids"), body.get("all", False)
    if (ids is None) == (replay_all is not True):
        raise BadRequest('ids: give "ids": [...] or "all": true (one of them)')
    if ids is not None:
        if "target" in body or "since" in body:
            raise BadRequest('target: "target" and "since" go with "all": true')
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= cap
            or not all(isinstance(i, str) and 0 < len(i) <= 200 for i in ids)
        ):
            raise BadRequest(f"ids: must be a list of 1 to {cap} trigger ids")
        return ReplayRequest(ids=list(ids))
    target = body.get("target")
    if target is not None and (not isinstance(target, str) or target not in targets):
        raise NotFound(f"unknown target {target!r}")
    since = None
    if body.get("since") is not None:
        try:
            since = parse_duration(body["since"])
        except ValueError as exc:
            raise BadRequest(f"since: {exc}") from None
    return ReplayRequest(ids=None, target=target, since=since)


def flag(doc: dict[str, Any], name: str) -> bool:
    """An optional true/false field (absent: false)."""
    value = doc.get(name, False)
    if not isinstance(value, bool):
        raise BadRequest(f"{name}: must be true or false")
    return value


@dataclass(frozen=True)
class DeployRequest:
    """`{"now": bool, "force": bool, "ignore_budget": bool}`, or `{"at": TIME}` (scheduled)."""

    now: bool = False
    force: bool = False
    ignore_budget: bool = False
    at: str | None = None  # RFC 3339 or "+2h": a scheduled deploy instead


def deploy_request(body: dict[str, Any]) -> DeployRequest:
    only_fields(body, {"now", "force", "ignore_budget", "at"})
    now, force, ignore_budget = (flag(body, n) for n in ("now", "force", "ignore_budget"))
    at = body.get("at")
    if at is None:
        return DeployRequest(now=now, force=force, ignore_budget=ignore_budget)
    if not isinstance(at, str) or not at.strip() or len(at) > 64:
        raise BadRequest('at: must be a time such as "2026-12-24T18:00:00Z" or "+2h"')
    if now or force or ignore_budget:
        raise BadRequest(
            "at: a scheduled deploy joins whatever burst is pending when it fires; "
            "it takes no now, force or ignore_budget"
        )
    return DeployRequest(at=at)
