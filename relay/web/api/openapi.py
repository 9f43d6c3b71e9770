"""The OpenAPI 3 description of the JSON API, served at `GET /api/openapi.json`.

Written by hand and kept in step with `relay.web.api.endpoints` by tests/e2e/test_api.py (every
route is described, and everything described is routed).
"""

from __future__ import annotations

from typing import Any

from relay import __version__


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _object(**properties: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties}


def _list_of(name: str, item: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return _object(**{name: {"type": "array", "items": item}}, **extra)


_RECORD = {"type": "object", "additionalProperties": {"type": "string"}}
_DELIVERY = _object(
    id={"type": "string"},
    hook={"type": "string"},
    outcome={"type": "string", "enum": ["accepted", "duplicate", "ignored", "rejected"]},
    at={"type": "number", "description": "Unix seconds"},
    reason={"type": "string", "nullable": True},
    event={"type": "string", "nullable": True},
    sender_id={"type": "string", "nullable": True},
    targets={"type": "array", "items": {"type": "string"}},
    size={"type": "integer"},
    duplicate_of={"type": "string", "nullable": True},
)
_LIMIT = _query(
    "limit", "how many, newest first", {"type": "integer", "minimum": 1, "maximum": 1000}
)
_UNAUTHORIZED = _error("no or wrong admin token (or none configured)")
_UNAVAILABLE = _error("Redis does not answer; retry (Retry-After: 1)")
_COMMON = {"401": _UNAUTHORIZED, "503": _UNAVAILABLE}


def _get(
    summary: str, ok: dict[str, Any], *parameters: dict[str, Any], **errors: Any
) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "parameters": list(parameters),
            "responses": {"200": ok, **_COMMON, **errors},
        }
    }


def _path(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _action(
    summary: str,
    body: dict[str, Any] | None,
    status: str,
    ok: dict[str, Any],
    **errors: Any,
) -> dict[str, Any]:
    """A POST on one target: `/api/targets/{name}/…`, with an optional JSON body."""
    operation: dict[str, Any] = {"summary": summary, "parameters": [_path("name")]}
    if body is not None:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": body}},
        }
    operation["responses"] = {
        status: ok,
        "400": _error("bad body (the message starts with the field at fault)"),
        "403": _error("session without a valid X-CSRF-Token"),
        "404": _error("unknown target"),
        **errors,
        **_COMMON,
    }
    return {"post": operation}


_PAUSE = _object(
    target={"type": "string"},
    since={"type": "integer", "description": "Unix ms"},
    until={"type": "integer", "nullable": True, "description": "Unix ms; null: until resumed"},
    reason={"type": "string", "nullable": True},
)
_USAGE = _object(
    scope={"type": "string", "description": 'a target, or "*" for the account'},
    budget={"type": "string", "description": '"20/day" or "500/month"'},
    used={"type": "integer"},
    limit={"type": "integer"},
    percent={"type": "integer"},
    frees_at={"type": "integer", "nullable": True, "description": "Unix ms, once used up"},
)
_SCHEDULED = _object(
    id={"type": "string"},
    target={"type": "string"},
    at={"type": "integer", "description": "Unix ms"},
    created_at={"type": "integer"},
    status={"type": "string", "enum": ["scheduled", "fired", "cancelled"]},
    reason={"type": "string"},
    fired_at={"type": "integer", "nullable": True},
)
_TARGET = {
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["pages", "pages-hook", "workers", "workers-hook"]},
        "state": {
            "type": "string",
            "enum": ["idle", "debouncing", "building", "retrying", "paused", "held", "failed"],
        },
        "paused": {**_PAUSE, "nullable": True},
        "held": {
            **_object(
                why={"type": "string", "enum": ["paused", "budget", "account budget"]},
                until={"type": "integer", "nullable": True, "description": "Unix ms"},
            ),
            "nullable": True,
            "description": "why the pending burst waits past its due time",
        },
        "budget": {**_USAGE, "nullable": True, "description": "the target's build budget"},
        "can_rollback": {"type": "boolean"},
    },
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "deploy-hook relay API",
        "version": __version__,
        "description": "What the relay's dashboard shows, for scripts. Send the admin token as "
        "`Authorization: Bearer`. The dashboard's own script uses its session cookie and "
        "sends `X-CSRF-Token` on POST.",
    },
    "components": {
        "securitySchemes": {"admin": {"type": "http", "scheme": "bearer"}},
        "schemas": {"Error": _object(error={"type": "string"})},
    },
    "security": [{"admin": []}],
    "paths": {
        "/api/openapi.json": {
            "get": {
                "summary": "This document",
                "security": [],
                "responses": {"200": _ok("OpenAPI 3 document", {"type": "object"})},
            }
        },
        "/api/targets": _get(
            "Each target's state: idle, debouncing (pending deliveries, due time), building, "
            "retrying, paused, held (by a build budget) or failed; its last deployment, builds "
            "saved, pause, budget usage; and the account's build budget",
            _ok(
                "targets",
                _list_of(
                    "targets",
                    _TARGET,
                    now={"type": "integer"},
                    budget_builds={
                        **_USAGE,
                        "nullable": True,
                        "description": "[cloudflare] budget_builds: every target together",
                    },
                ),
            ),
        ),
        "/api/deliveries": _get(
            "Recent deliveries, newest first",
            _ok(
                "deliveries",
                _list_of("deliveries", _DELIVERY, next_before={"type": "string", "nullable": True}),
            ),
            _query("hook", "only this hook's deliveries", {"type": "string"}),
            _LIMIT,
            _query("before", "only deliveries older than this delivery id", {"type": "string"}),
            **{"400": _error("bad limit or before"), "404": _error("unknown hook")},
        ),
        "/api/deployments": _get(
            "Recent deployment triggers and their results, newest first",
            _ok("deployments", _list_of("deployments", _RECORD, total={"type": "integer"})),
            _query("target", "only this target's", {"type": "string"}),
            _LIMIT,
            _query("offset", "skip this many of the newest", {"type": "integer", "minimum": 0}),
            **{"400": _error("bad limit or offset"), "404": _error("unknown target")},
        ),
        "/api/failed": _get(
            "Triggers that failed for good, newest first",
            _ok("failed triggers", _list_of("failed", _RECORD, total={"type": "integer"})),
            _query("target", "only this target's", {"type": "string"}),
            _LIMIT,
            **{"400": _error("bad limit"), "404": _error("unknown target")},
        ),
        "/api/queues": _get(
            "RQ queue and registry counts, workers with their heartbeats, relay timers, and the "
            "shared Cloudflare API budget",
            _ok(
                "queues",
                _object(
                    queues={"type": "array", "items": {"type": "object"}},
                    workers={"type": "array", "items": {"type": "object"}},
                    timers={"type": "integer"},
                    cloudflare_budget={"type": "object"},
                ),
            ),
        ),
        "/api/replay": {
            "post": {
                "summary": "Queue failed triggers again (skipping the debounce)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": _object(
                                ids={"type": "array", "items": {"type": "string"}},
                                all={"type": "boolean"},
                                target={"type": "string", "description": "with all"},
                                since={"type": "string", "description": 'with all, e.g. "2h"'},
                            )
                        }
                    },
                },
                "responses": {
                    "200": _ok(
                        "what was re-queued",
                        _object(
                            replayed={"type": "array", "items": {"type": "object"}},
                            skipped={"type": "array", "items": {"type": "string"}},
                        ),
                    ),
                    "400": _error("bad body (the message names the field)"),
                    "403": _error("session without a valid X-CSRF-Token"),
                    "404": _error("unknown target"),
                    **_COMMON,
                },
            }
        },
        "/api/targets/{name}/deploy": _action(
            "Trigger a target through the debounce, or now; or schedule one deploy at a time. "
            "A paused target answers 409 unless force",
            _object(
                now={"type": "boolean", "description": "skip the debounce"},
                force={"type": "boolean", "description": "build even while the target is paused"},
                ignore_budget={"type": "boolean", "description": "build even past a budget"},
                at={
                    "type": "string",
                    "description": 'a scheduled deploy instead: RFC 3339 ("2026-12-24T18:00:00Z")'
                    ' or relative ("+2h"); fires exactly once; not with now, force, ignore_budget',
                },
            ),
            "202",
            _ok(
                "queued (or, with at, scheduled)",
                _object(
                    target={"type": "string"},
                    now={"type": "boolean"},
                    force={"type": "boolean"},
                    ignore_budget={"type": "boolean"},
                    due={"type": "integer", "description": "Unix ms"},
                    scheduled={**_SCHEDULED, "description": "with at: the scheduled deploy"},
                ),
            ),
            **{"409": _error("the target is paused (send force to build anyway)")},
        ),
        "/api/targets/{name}/pause": _action(
            "Pause a target: deliveries are still verified, stored and answered and collect "
            "into one burst; nothing builds until the pause ends (pausing again replaces it)",
            _object(
                **{
                    "for": {
                        "type": "string",
                        "description": 'how long, e.g. "2h" (or seconds); absent: until resumed',
                    },
                    "reason": {"type": "string", "maxLength": 200},
                }
            ),
            "200",
            _ok("the pause now in force", _object(paused=_PAUSE)),
        ),
        "/api/targets/{name}/resume": _action(
            "End a target's pause: what collected meanwhile becomes exactly one build, now",
            None,
            "200",
            _ok(
                "resumed (false: it was not paused)",
                _object(target={"type": "string"}, resumed={"type": "boolean"}),
            ),
        ),
        "/api/targets/{name}/rollback": _action(
            "Pages: make an earlier successful production deployment live again (the previous "
            "one by default); recorded as a trigger of kind rollback",
            _object(to={"type": "string", "description": "a deployment id; absent: the previous"}),
            "200",
            _ok("the recorded rollback trigger", _object(rollback=_RECORD)),
            **{
                "409": _error(
                    "the target cannot roll back (not Pages, no credentials, no "
                    "earlier successful production deployment)"
                ),
                "502": _error("Cloudflare refused or failed (recorded as a failed trigger)"),
            },
        ),
        "/api/scheduled": _get(
            "Scheduled deploys still to fire (soonest first), then those fired or cancelled in "
            "the last week",
            _ok("scheduled deploys", _list_of("scheduled", _SCHEDULED)),
        ),
        "/api/scheduled/{id}": {
            "delete": {
                "summary": "Cancel a scheduled deploy before it fires",
                "parameters": [_path("id")],
                "responses": {
                    "200": _ok("cancelled", _object(cancelled=_SCHEDULED)),
                    "403": _error("session without a valid X-CSRF-Token"),
                    "404": _error("no such scheduled deploy waits to fire"),
                    **_COMMON,
                },
            }
        },
    },
}
