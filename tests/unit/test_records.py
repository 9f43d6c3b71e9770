"""The typed records: one mapping to and from Redis, the status groups every screen uses, and
the Lua scripts spelling only field names the records know."""

from __future__ import annotations

import dataclasses
import re

import orjson
import pytest

from relay.core.records import (
    Delivery,
    DeliveryOutcome,
    Trigger,
    TriggerStatus,
    TriggerSummary,
)
from tests.helpers import paths

LUA = paths.ROOT / "relay" / "core" / "lua"


def test_a_trigger_round_trips_through_its_hash() -> None:
    trigger = Trigger(
        id="blog-1",
        target="blog",
        status=TriggerStatus.BUILDING,
        deliveries=50,
        created_at=1_700_000_000_123,
        error_code=8000007,
        build_seconds=42.5,
        url="https://x.blog.pages.dev",
    )
    stored = trigger.to_hash()
    assert stored["deliveries"] == "50" and stored["status"] == "building"
    assert "error" not in stored, "None is an absent field"
    assert Trigger.from_hash({k.encode(): v.encode() for k, v in stored.items()}) == trigger


def test_a_hash_that_lost_its_identity_is_no_trigger() -> None:
    assert Trigger.from_hash({}) is None
    assert Trigger.from_hash({b"status": b"building", b"target": b"blog"}) is None


def test_unknown_fields_survive_and_an_unknown_status_reads_as_failed() -> None:
    raw = {b"id": b"x-1", b"target": b"x", b"status": b"exploded", b"future_field": b"7"}
    trigger = Trigger.from_hash(raw)
    assert trigger is not None and trigger.status is TriggerStatus.FAILED
    assert trigger.to_hash()["future_field"] == "7"


def test_changes_are_the_fields_set_and_the_fields_removed() -> None:
    before = Trigger(id="t-1", target="t", error="boom", attempts=1)
    after = dataclasses.replace(before, status=TriggerStatus.RETRYING, error=None, attempts=2)
    setting, removing = after.changes(before)
    assert setting == {"status": "retrying", "attempts": "2"} and removing == ["error"]


def test_the_json_shape_has_every_field_and_numbers_as_numbers() -> None:
    doc = Trigger(id="t-1", target="t", deliveries=3, created_at=1, finished_at=2501).to_dict()
    assert doc["deliveries"] == 3 and doc["url"] is None and doc["duration"] == 2.5
    assert orjson.loads(orjson.dumps(doc)) == doc


@pytest.mark.parametrize("status", list(TriggerStatus))
def test_every_status_is_in_exactly_one_group(status: TriggerStatus) -> None:
    assert status.final != status.in_progress
    assert status.tone in {"good", "bad", "busy", "neutral"}
    assert not (status.failing and status.in_progress)
    assert status.replayable == (status is TriggerStatus.FAILED)


def test_the_groups() -> None:
    in_progress = {s.value for s in TriggerStatus if s.in_progress}
    assert in_progress == {"queued", "triggering", "retrying", "building"}
    failing = {s.value for s in TriggerStatus if s.failing}
    assert failing == {"failure", "canceled", "stuck", "failed"}


def test_a_delivery_round_trips_through_its_stream_entry() -> None:
    delivery = Delivery(
        hook="cms",
        outcome=DeliveryOutcome.IGNORED,
        at=1.5,
        size=9,
        digest="ab",
        reason="event x is not one of y",
        targets=("blog",),
        ip="10.0.0.1",
    )
    read = Delivery.from_entry("1-0", orjson.loads(delivery.to_json()))
    assert read == dataclasses.replace(delivery, id="1-0")
    assert "ip" not in read.to_dict(), "addresses stay out of the listings"


def test_the_summary_reads_only_trigger_fields() -> None:
    names = {item.name for item in dataclasses.fields(Trigger)}
    assert set(TriggerSummary.fields()) <= names


def _arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments of a Lua call (commas inside parentheses kept)."""
    out, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            out.append(current.strip())
            current = ""
        else:
            current += char
    return [*out, current.strip()]


def _hset_fields(script: str) -> set[str]:
    """The field names a script writes into a trigger hash (`HSET ARGV[3] .. id, f, v, ...`)."""
    found: set[str] = set()
    for call in re.findall(r"redis\.call\('HSET', ARGV\[3\] \.\. id,(.*?)\)\n", script, re.S):
        names = _arguments(call)[0::2]
        found |= {name.strip("'") for name in names if re.fullmatch(r"'[a-z_]+'", name)}
    return found


def test_the_claim_script_writes_only_trigger_fields() -> None:
    written = _hset_fields((LUA / "claim.lua").read_text())
    assert written >= {"id", "target", "status", "created_at", "deliveries"}
    assert written <= {item.name for item in dataclasses.fields(Trigger)}


def test_the_ingest_script_writes_only_delivery_fields() -> None:
    script = (LUA / "ingest.lua").read_text()
    written = set(re.findall(r"dup\['([a-z_]+)'\]", script))
    assert written and written <= {item.name for item in dataclasses.fields(Delivery)}
