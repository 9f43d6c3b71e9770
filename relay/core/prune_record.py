"""A prune's record in Redis: plan, progress and counts, the lock, and the dashboard's reader.

    prune_state(target)  hash    status, run, origin, project, keep, started_at, planned_at,
                                 finished_at, stopped_at, listed, resumes, error, and the
                                 counts: deleted, kept:<why>, skipped:<why>
    prune_todo(target)   list    ids still to delete: newest at the left, oldest at the right
    prune_lock(project)  string  the run id holding the project, LOCK_TTL, refreshed each step

Each deletion removes its id from the plan and counts it in one transaction, so the record is
always a consistent "where we are". A dry run reads it and never writes (`writable=False`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.exceptions import PruneBusy
from relay.core.store import decode_hash, text

#: a stored plan older than this is made again rather than resumed (seconds)
PLAN_MAX_AGE = 6 * 3600
#: how long a prune holds its project without a sign of life (seconds)
LOCK_TTL = 300
#: statuses an unfinished prune is left in; the next run resumes from them
RESUMABLE = {"deleting", "paused", "interrupted"}


def _counts(state: dict[str, str]) -> Counter[str]:
    return Counter(
        {
            k: int(v)
            for k, v in state.items()
            if k == "deleted" or k.startswith(("kept:", "skipped:"))
        }
    )


class PruneState:
    def __init__(
        self, client: redis.Redis, target: str, project: str, run_id: str, *, writable: bool
    ) -> None:
        self.client = client
        self.writable = writable
        self.run_id = run_id
        self.key, self.todo = keys.prune_state(target), keys.prune_todo(target)
        self.lock_key = keys.prune_lock(project)

    def lock(self) -> None:
        if self.writable and not self.client.set(self.lock_key, self.run_id, nx=True, ex=LOCK_TTL):
            raise PruneBusy(
                f"a prune of project {self.lock_key.rsplit(':', 1)[1]} is already running "
                f"(or stopped uncleanly less than {LOCK_TTL // 60} minutes ago)"
            )

    def refresh(self) -> None:
        if self.writable:
            self.client.expire(self.lock_key, LOCK_TTL)

    def unlock(self) -> None:
        if self.writable and text(self.client.get(self.lock_key)) == self.run_id:
            self.client.delete(self.lock_key)

    def resumable(self) -> tuple[list[str], Counter[str]] | None:
        """The plan left (ids newest first) and the counts so far, if a prune is unfinished."""
        state = decode_hash(self.client.hgetall(self.key))
        planned_at = int(state.get("planned_at") or 0)
        if (
            state.get("status") not in RESUMABLE
            or server_ms(self.client) - planned_at > PLAN_MAX_AGE * 1000
        ):
            return None
        todo = [text(i) for i in self.client.lrange(self.todo, 0, -1)]
        if self.writable:
            self.mark("deleting", run=self.run_id)
            self.client.hincrby(self.key, "resumes", 1)
        return todo, _counts(state)

    def begin(self, header: dict[str, str | int]) -> None:
        """Forget the previous prune: a new plan is being made."""
        if self.writable:
            pipe = self.client.pipeline(transaction=True)
            pipe.delete(self.key, self.todo)
            fields: dict[FieldT, EncodableT] = {"status": "planning", "run": self.run_id}
            fields.update(header)
            pipe.hset(self.key, mapping=fields)
            pipe.execute()

    def planned(self, todo: list[str], counts: Counter[str], listed: int) -> None:
        if self.writable:
            pipe = self.client.pipeline(transaction=True)
            fields: dict[FieldT, EncodableT] = {
                "status": "deleting",
                "planned_at": server_ms(self.client),
                "listed": listed,
                "deleted": 0,
            }
            fields.update(counts)
            pipe.hset(self.key, mapping=fields)
            if todo:
                pipe.rpush(self.todo, *todo)
            pipe.execute()

    def record(self, dep_id: str, outcome: str) -> None:
        """One planned deployment dealt with: "deleted" or "skipped:<why>"."""
        if self.writable:
            pipe = self.client.pipeline(transaction=True)
            pipe.lrem(self.todo, -1, dep_id)
            pipe.hincrby(self.key, outcome, 1)
            pipe.execute()

    def mark(self, status: str, **fields: str | int | None) -> None:
        if self.writable:
            setting: dict[FieldT, EncodableT] = {k: v for k, v in fields.items() if v is not None}
            self.client.hset(self.key, mapping={"status": status, **setting})
            if removing := [k for k, v in fields.items() if v is None]:
                self.client.hdel(self.key, *removing)


@dataclass(frozen=True)
class PruneStatus:
    """A target's current or last prune."""

    target: str
    status: str  # planning | deleting | paused | interrupted | failed | done
    origin: str  # "cli" | "schedule"
    started_at: int | None  # ms
    finished_at: int | None  # ms, once done
    deleted: int
    kept: dict[str, int]  # why -> count
    skipped: dict[str, int]
    remaining: int  # planned deletions not done yet: what a resume goes on with
    error: str | None

    @property
    def tone(self) -> str:
        if self.status == "done":
            return "good"
        return "bad" if self.status in {"interrupted", "failed"} else "busy"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def last_prune(client: redis.Redis, target: str) -> PruneStatus | None:
    """The target's current or last prune (for the dashboard and the JSON API)."""
    pipe = client.pipeline(transaction=False)
    pipe.hgetall(keys.prune_state(target))
    pipe.llen(keys.prune_todo(target))
    raw, remaining = pipe.execute()
    if not raw:
        return None
    state = decode_hash(raw)
    counts = _counts(state)

    def by(kind: str) -> dict[str, int]:
        return {k.split(":", 1)[1]: n for k, n in sorted(counts.items()) if k.startswith(kind)}

    return PruneStatus(
        target=target,
        status=state.get("status", ""),
        origin=state.get("origin", ""),
        started_at=int(state["started_at"]) if state.get("started_at") else None,
        finished_at=int(state["finished_at"]) if state.get("finished_at") else None,
        deleted=counts["deleted"],
        kept=by("kept:"),
        skipped=by("skipped:"),
        remaining=int(remaining),
        error=state.get("error"),
    )
