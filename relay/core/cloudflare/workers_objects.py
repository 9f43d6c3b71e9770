"""What the Workers Builds API answers, as the relay reads it: triggers, builds, hook answers.

The contract is `shared/reference/workers-builds-api.md`; see `relay.core.cloudflare.
workers_builds` for the traps these objects are read around.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from relay.core.cloudflare.answers import (
    as_object,
    as_strings,
    as_text,
    epoch_seconds,
    first_time,
)
from relay.core.records import TriggerStatus

#: `build_outcome` -> the relay's status; "canceled" (one l) is accepted as well, just in case
OUTCOME_STATUS: dict[str, TriggerStatus] = {
    "success": TriggerStatus.SUCCESS,
    "fail": TriggerStatus.FAILURE,
    "terminated": TriggerStatus.FAILURE,
    "cancelled": TriggerStatus.CANCELED,
    "canceled": TriggerStatus.CANCELED,
    "skipped": TriggerStatus.SKIPPED,
}


# -- what the API answers ----------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """A Workers Builds trigger (§3.3). There is no production flag (trap 9): a Worker has a
    production trigger (`branch_includes: [<production branch>]`) and a preview one
    (`["*"]`, excluding the production branch)."""

    uuid: str
    name: str | None
    branch_includes: tuple[str, ...]
    branch_excludes: tuple[str, ...]
    build_command: str | None = None
    deploy_command: str | None = None
    root_directory: str | None = None
    script_tag: str | None = None

    @classmethod
    def from_api(cls, doc: dict[str, Any]) -> Trigger | None:
        """None for an entry without a trigger UUID or one marked deleted."""
        uuid = as_text(doc.get("trigger_uuid"))
        if uuid is None or doc.get("deleted_on"):
            return None
        return cls(
            uuid=uuid,
            name=as_text(doc.get("trigger_name")),
            branch_includes=as_strings(doc.get("branch_includes")),
            branch_excludes=as_strings(doc.get("branch_excludes")),
            build_command=as_text(doc.get("build_command")),
            deploy_command=as_text(doc.get("deploy_command")),
            root_directory=as_text(doc.get("root_directory")),
            script_tag=as_text(doc.get("external_script_id")),
        )

    def rank(self, branch: str) -> int:
        """2: an include names `branch` exactly; 1: an include matches it as a glob; 0: no
        include matches, or an exclude does. Patterns are `fnmatch` globs, case-sensitive like
        Git branches (Cloudflare documents only `*`: §3.3, UNCONFIRMED beyond that). A trigger
        with no includes builds nothing."""
        if any(fnmatchcase(branch, pattern) for pattern in self.branch_excludes):
            return 0
        if branch in self.branch_includes:
            return 2
        return 1 if any(fnmatchcase(branch, p) for p in self.branch_includes) else 0

    def matches(self, branch: str) -> bool:
        return self.rank(branch) > 0

    @property
    def preview(self) -> bool:
        """True when it only uploads a version (`wrangler versions upload`, trap 9): its
        `success` does not change the live Worker."""
        return _uploads_only(self.deploy_command)


def _uploads_only(deploy_command: str | None) -> bool:
    return deploy_command is not None and "versions upload" in deploy_command


def pick_trigger(triggers: Iterable[Trigger], branch: str) -> Trigger | None:
    """The trigger that builds `branch`: an exact include beats a glob; between equals, the
    first listed."""
    best: Trigger | None = None
    best_rank = 0
    for trigger in triggers:
        rank = trigger.rank(branch)
        if rank > best_rank:
            best, best_rank = trigger, rank
    return best


@dataclass(frozen=True)
class StartedBuild:
    """The answer to a manual start (§4.1): no status (trap 3)."""

    build_uuid: str
    created_on: str | None


@dataclass(frozen=True)
class Build:
    """A build as `GET …/builds/builds/{uuid}` shows it (§5.2). Times are Cloudflare's ISO
    strings; `epoch_seconds` reads them."""

    build_uuid: str
    status: str
    outcome: str | None
    created_on: str | None = None
    initializing_on: str | None = None
    running_on: str | None = None
    stopped_on: str | None = None
    branch: str | None = None
    commit_hash: str | None = None
    commit_message: str | None = None
    author: str | None = None
    trigger_source: str | None = None
    trigger_uuid: str | None = None
    deploy_command: str | None = None
    script_tag: str | None = None

    @classmethod
    def from_api(cls, doc: dict[str, Any], build_uuid: str = "") -> Build:
        """`build_outcome` is kept only once `status` is "stopped" (trap 7): an outcome next to
        any other status (the API reference's examples have such pairs) is not final."""
        status = as_text(doc.get("status")) or "unknown"
        metadata = as_object(doc.get("build_trigger_metadata"))
        trigger = as_object(doc.get("trigger"))
        return cls(
            build_uuid=as_text(doc.get("build_uuid")) or build_uuid,
            status=status,
            outcome=as_text(doc.get("build_outcome")) if status == "stopped" else None,
            created_on=as_text(doc.get("created_on")),
            initializing_on=as_text(doc.get("initializing_on")),
            running_on=as_text(doc.get("running_on")),
            stopped_on=as_text(doc.get("stopped_on")),
            branch=as_text(metadata.get("branch")),
            commit_hash=as_text(metadata.get("commit_hash")),
            commit_message=as_text(metadata.get("commit_message")),
            author=as_text(metadata.get("author")),
            trigger_source=as_text(metadata.get("build_trigger_source")),
            trigger_uuid=as_text(trigger.get("trigger_uuid")),
            deploy_command=as_text(metadata.get("deploy_command"))
            or as_text(trigger.get("deploy_command")),
            script_tag=as_text(trigger.get("external_script_id")),
        )

    @property
    def final(self) -> bool:
        return self.status == "stopped"

    @property
    def succeeded(self) -> bool:
        return self.final and self.outcome == "success"

    @property
    def preview(self) -> bool:
        """Built by a `wrangler versions upload` trigger: success left the live Worker as it
        was (trap 9)."""
        return _uploads_only(self.deploy_command)

    @property
    def outcome_status(self) -> TriggerStatus | None:
        """success / failure / canceled / skipped once stopped, None before. `terminated`
        (most likely the 20-minute timeout) is a failure; a stopped build with no or an
        unknown outcome counts as a failure too, so that a watcher always ends."""
        if not self.final:
            return None
        return OUTCOME_STATUS.get(self.outcome or "", TriggerStatus.FAILURE)

    @property
    def duration(self) -> float | None:
        """Seconds from `running_on` (else `created_on`) to `stopped_on`; None until stopped
        or when a stamp is unreadable."""
        end = epoch_seconds(self.stopped_on)
        start = first_time(self.running_on, self.created_on)
        if not self.final or end is None or start is None:
            return None
        return max(0.0, end - start)


@dataclass(frozen=True)
class CanceledBuild:
    """The answer to a cancel (§6): `outcome` is expected to be "cancelled", but a build that
    had already stopped keeps its own (UNCONFIRMED); re-read the build to be sure."""

    build_uuid: str
    outcome: str | None
    stopped_on: str | None


@dataclass(frozen=True)
class HookAnswer:
    """A Workers deploy hook's answer (§4.3). `already_exists` True: no new build, `build_uuid`
    is the hook's pending one (trap 4). Both it and `status` are None when absent (trap 5);
    `build_uuid` is None only for an answer without one."""

    build_uuid: str | None
    already_exists: bool | None
    status: str | None
    created_on: str | None = None
