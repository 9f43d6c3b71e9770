"""Build logs of the fake Workers Builds API (reference §7): what a build prints, and when.

Lines are `[epoch_seconds, "text"]` pairs (the schema example is in seconds; the fake sends a
float with millisecond precision). A build prints its lines over its life, so a read shows the
lines printed by then. Pages are cut at `page_size` lines with an opaque `cursor`, `truncated` is
true while more printed lines remain after the page, and every page carries a cursor (the last
page's cursor resumes after its last line, which lets a client follow a running build).

Default lines imitate a real build (`Initializing build environment...`, wrangler output, a
`✘ [ERROR] Build failed with 1 error:` block for a failure). `WorkerBuildProfile.log_lines`
replaces them verbatim, spread evenly from `initializing_on` to the natural end.
"""

from __future__ import annotations

import base64
import binascii
import json

from .envelope import JSON, ApiError
from .workers_objects import CODE_BAD_BODY, MSG_BAD_BODY, WorkerBuild

Line = tuple[float, str]

INIT_LINES = (
    "Initializing build environment...",
    "Success: Finished initializing build environment",
)
# UNCONFIRMED wording: no source quotes these three lines
CANCELLED_LINE = "Build was cancelled"
SKIPPED_LINE = "Build was skipped: no changed file matches the build watch paths"
TIMED_OUT_LINE = "Build was timed out"  # [DOCS] troubleshoot.mdx (§7)


def _spread(texts: list[str], begin: float, end: float) -> list[Line]:
    """`texts` at evenly spaced moments from `begin` to `end` (both included)."""
    if len(texts) == 1:
        return [(begin, texts[0])]
    step = (end - begin) / max(1, len(texts) - 1)
    return [(end if i == len(texts) - 1 else begin + i * step, t) for i, t in enumerate(texts)]


def _body(build: WorkerBuild, worker_name: str) -> list[str]:
    """The lines after initialization: clone, install, build, then the outcome's own lines."""
    lines = [
        "Cloning repository...",
        f"HEAD is now at {build.commit_hash[:7]} {build.commit_message}",
        "Success: Finished cloning repository files",
        "Installing project dependencies: npm clean-install --progress=false",
        "added 147 packages, and audited 148 packages in 4s",
        f"Executing user build command: {build.build_command}",
    ]
    outcome = build.profile.outcome
    if outcome == "fail":
        return [
            *lines,
            "✘ [ERROR] Build failed with 1 error:",
            '  src/index.ts:12:2: ERROR: Expected ";" but found "}"',
            "Failed: error occurred while running build command",
        ]
    if outcome == "terminated":
        return [*lines, TIMED_OUT_LINE]
    if outcome == "cancelled":
        return [*lines, CANCELLED_LINE]
    if build.production:
        uploaded = [
            f"Deployed {worker_name} triggers (0.41 sec)",
            f"Current Version ID: {build.version_id}",
        ]
    else:
        uploaded = [f"Worker Version ID: {build.version_id}"]
    return [
        *lines,
        "Success: Build command completed",
        f"Executing user deploy command: {build.deploy_command}",
        f"Uploaded {worker_name} (2.31 sec)",
        *uploaded,
        "Success: Deploy command completed",
    ]


def planned_lines(build: WorkerBuild, worker_name: str) -> list[Line]:
    """Every line the build prints if nobody cancels it, with the moment it prints it."""
    profile = build.profile
    if profile.skipped:
        return [(build.created, SKIPPED_LINE)]
    start, running, end = build.start, build.running_at, build.natural_end
    if start is None or running is None or end is None:
        return []  # still queued, or cancelled before it got a slot
    if profile.log_lines is not None:
        return _spread(profile.log_lines, start, end) if profile.log_lines else []
    return [
        *_spread(list(INIT_LINES), start, running),
        *_spread(_body(build, worker_name), running, end),
    ]


def printed_lines(build: WorkerBuild, worker_name: str, now: float) -> list[list[float | str]]:
    """The lines printed by `now`, as `[epoch_seconds, text]` pairs in order."""
    planned = planned_lines(build, worker_name)
    cancelled = build.cancelled_at
    if cancelled is not None and cancelled <= now:
        lines = [line for line in planned if line[0] < cancelled] + [(cancelled, CANCELLED_LINE)]
    else:
        lines = [line for line in planned if line[0] <= now]
    return [[round(ts, 3), text] for ts, text in lines]


def encode_cursor(position: int) -> str:
    raw = json.dumps({"line": position}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    """The line a cursor points at; a cursor the fake did not make is 400/12002 (our choice)."""
    if cursor is None or cursor == "":
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        position = json.loads(raw)["line"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ApiError(400, CODE_BAD_BODY, MSG_BAD_BODY) from None
    if not isinstance(position, int) or position < 0:
        raise ApiError(400, CODE_BAD_BODY, MSG_BAD_BODY)
    return position


def logs_page(lines: list[list[float | str]], cursor: str | None, page_size: int) -> JSON:
    """`builds_BuildLogsResponse`: `{cursor, lines, truncated}` for the page at `cursor`."""
    start = decode_cursor(cursor)
    chunk = lines[start : start + page_size]
    after = start + len(chunk)
    return {"cursor": encode_cursor(after), "lines": chunk, "truncated": after < len(lines)}
