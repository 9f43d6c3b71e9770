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
            "retrying or failed; its last deployment and builds saved",
            _ok("targets", _list_of("targets", _RECORD, now={"type": "integer"})),
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
        "/api/targets/{name}/deploy": {
            "post": {
                "summary": "Trigger a target through the debounce, or now",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "requestBody": {
                    "required": False,
                    "content": {"application/json": {"schema": _object(now={"type": "boolean"})}},
                },
                "responses": {
                    "202": _ok(
                        "queued",
                        _object(
                            target={"type": "string"},
                            now={"type": "boolean"},
                            due={"type": "integer", "description": "Unix ms"},
                        ),
                    ),
                    "400": _error("bad body"),
                    "403": _error("session without a valid X-CSRF-Token"),
                    "404": _error("unknown target"),
                    **_COMMON,
                },
            }
        },
    },
}
