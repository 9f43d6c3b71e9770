"""What `relay check` and the start-up check say about a Redis, from what could be read of it."""

from __future__ import annotations

from typing import Any

import pytest

from relay.core.config import parse_settings
from relay.core.redis_health import Facts, findings
from relay.core.settings import Settings
from relay.web.providers.registry import PROVIDERS

SAFE = Facts(
    version="7.2.4",
    cluster=False,
    role="master",
    maxmemory_policy="noeviction",
    aof=True,
    appendfsync="always",
    replicas=2,
)


def _settings(**redis: Any) -> Settings:
    doc = {"redis": {"url": "redis://db:6379/0", **redis}, "targets": {"blog": {"project": "b"}}}
    return parse_settings(doc, {}, schemes=PROVIDERS)


def _said(facts: Facts, settings: Settings) -> list[tuple[str, str]]:
    return [(f.level, f.text) for f in findings(facts, settings)]


def test_a_safe_redis_says_nothing() -> None:
    assert _said(SAFE, _settings()) == []


@pytest.mark.parametrize(
    ("change", "level", "starts"),
    [
        ({"cluster": True}, "error", "redis: cluster mode is on"),
        ({"role": "slave"}, "error", "redis: the server is a read-only replica"),
        ({"maxmemory_policy": "volatile-lru"}, "error", "redis: maxmemory-policy is volatile-lru"),
        ({"aof": False}, "error", "redis: appendonly is no: a restart of Redis loses"),
        ({"appendfsync": "no"}, "warning", "redis: appendfsync is no"),
        ({"maxmemory_policy": None}, "warning", "redis: maxmemory-policy cannot be read"),
    ],
)
def test_each_unsafe_setting_is_named(change: dict[str, Any], level: str, starts: str) -> None:
    facts = Facts(**{**SAFE.__dict__, **change})
    said = _said(facts, _settings())
    assert len(said) == 1 and said[0][0] == level and said[0][1].startswith(starts), said


def test_no_aof_behind_replicated_acks_is_refused_saying_what_the_replicas_cover() -> None:
    """ElastiCache has no AOF: the replicas cover the primary's loss, not a full restart."""
    facts = Facts(**{**SAFE.__dict__, "aof": False})
    said = _said(facts, _settings(ack="replicated"))
    assert [level for level, _ in said] == ["error"]
    assert "a 2xx survives the loss of the primary, but a restart of every node" in said[0][1]


def test_replicated_needs_the_replicas_and_fsynced_needs_7_2() -> None:
    alone = Facts(**{**SAFE.__dict__, "replicas": 0})
    assert _said(alone, _settings(ack="replicated"))[0][1].startswith(
        'redis.ack: "replicated" needs 1 replica(s)'
    )
    old = Facts(**{**SAFE.__dict__, "version": "7.0.15"})
    said = findings(old, _settings(ack="fsynced"))
    assert said[0].fatal and "needs Redis >= 7.2" in said[0].text
