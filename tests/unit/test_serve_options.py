"""`relay serve --workers N|auto`, through click as a user types it."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner

from relay.cli.main import cli
from relay.cli.run import WorkerCount, cores


@pytest.mark.parametrize(("text", "count"), [("1", 1), ("4", 4), ("64", 64), (" AUTO ", None)])
def test_worker_counts(text: str, count: int | None) -> None:
    expected = count if count is not None else max(1, min(64, len(os.sched_getaffinity(0))))
    assert WorkerCount().convert(text, None, None) == expected


def test_auto_is_the_cores_this_process_may_use() -> None:
    assert cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("text", ["0", "65", "-1", "two", "1.5", ""])
def test_a_bad_count_is_one_line_naming_the_option(text: str) -> None:
    result = CliRunner().invoke(cli, ["serve", "--workers", text])
    assert result.exit_code == 2
    assert f"Invalid value for '--workers': {text!r} is not a number from 1 to 64, or auto" in (
        result.output
    )
