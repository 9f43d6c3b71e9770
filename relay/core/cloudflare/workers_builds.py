"""The Workers Builds API: find a Worker's trigger, start a build, watch it, cancel it, read its
logs, call a Workers deploy hook, and map a finished build to the Worker version it deployed.

The contract is `shared/reference/workers-builds-api.md` ("§n" and "trap n" below). Calls go
through the shared v4 client (`relay.core.cloudflare.client`), so every failure is a
`CloudflareError` (`CloudflareRetryable` or `CloudflareRejected`) and every request takes a slot
of the shared API budget. On top of that:

* Credentials. Workers Builds wants a *user-scoped* token with Workers CI Read/Write; an
  account-owned token that works for Pages is refused with 12006 "Invalid token" (trap 2), at an
  HTTP status nobody has recorded. Any 401, 403 or 12006 on a Builds path is therefore a
  `CloudflareRejected` whose message says which permission is missing, with Cloudflare's code
  and message kept; `check_access` makes one cheap read to find that out up front. Resolving a
  Worker name needs Workers Scripts Read as well (§3.1), and its refusals say so.
* Names and tags (trap 1). Triggers and builds are keyed by the Worker *tag*, so a deploy goes
  name -> tag (`worker_tag`) -> trigger for the branch (`trigger_for`) -> `start_build`. Both
  look-ups are cached in-process (bounded, `CACHE_TTL` seconds), so a deploy of a known Worker
  costs one call; a start answered 404 drops the cached entries that led to it (`deploy` then
  resolves afresh and tries once more).
* Lenient parsing (trap 12, §1.3). `result` may be an object, a list, a string or null, and
  `messages` are strings: nothing here indexes into an answer without checking its type, unknown
  fields are ignored, a missing field becomes None. Trigger sources and outcomes stay open
  strings (trap 6: `"deploy_hook"` is not in the schema's enum).
* Done means `status == "stopped"` (trap 7); only then is `build_outcome` read (`cancelled`,
  two l's), and `Build.outcome_status` maps it onto the relay's `TriggerStatus`.
* A manual start answers only `{build_uuid, created_on}` (trap 3): poll `build()`. A deploy hook
  may answer an *older* pending build with `already_exists: true` (trap 4) and its documented
  example has another shape (trap 5): only `build_uuid` is relied on.
* Logs page on `truncated`, not on an empty page (trap 11): see `logs`.

No API token and no deploy hook URL ever appears in a message: errors name Workers, branches,
triggers and builds only.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from relay.core.cloudflare.client import CloudflareClient
from relay.core.exceptions import CloudflareRejected, CloudflareRetryable
from relay.core.records import TriggerStatus

#: how long a resolved name -> tag or (tag, branch) -> trigger is trusted, in seconds
CACHE_TTL = 600.0
#: entries per cache: far more Workers and branches than one relay deploys
CACHE_SIZE = 256
#: log pages read at most for one build (page size is not documented; the fake's is 100 lines)
MAX_LOG_PAGES = 200
#: ids per batch look-up (`version_ids`, §1.4)
MAX_BATCH_IDS = 20
#: clock skew allowed between a build's stamps and its Worker deployment's `created_on`
VERSION_SKEW = 2.0

INVALID_TOKEN = 12006
BUILDS_PERMISSION = (
    "the API token needs Workers CI Read/Write (user-scoped); "
    "an account-owned token is refused with 12006"
)
SCRIPTS_PERMISSION = "the API token needs Workers Scripts Read to find a Worker by its name"

#: `build_outcome` -> the relay's status; "canceled" (one l) is accepted as well, just in case
OUTCOME_STATUS: dict[str, TriggerStatus] = {
    "success": TriggerStatus.SUCCESS,
    "fail": TriggerStatus.FAILURE,
    "terminated": TriggerStatus.FAILURE,
    "cancelled": TriggerStatus.CANCELED,
    "canceled": TriggerStatus.CANCELED,
    "skipped": TriggerStatus.SKIPPED,
}

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


# -- lenient parsing ---------------------------------------------------------------------------


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    """A non-empty string, or None for anything else."""
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in _list(value) if isinstance(item, str))


def epoch_seconds(value: Any) -> float | None:
    """Seconds since the epoch from what Cloudflare writes as a time: a number in seconds or
    milliseconds (or microseconds), a numeric string, or an ISO 8601 string (`Z`, an offset, or
    no zone meaning UTC; more than six fractional digits are cut). None if it is none of these.

    A number of 1e11 or more is taken for milliseconds: 1e11 seconds is the year 5138, 1e11
    milliseconds is 1973 (§7: the log timestamp unit is UNCONFIRMED).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        try:
            value = float(value)
        except ValueError:
            return _iso_seconds(value)
    if not isinstance(value, int | float):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    if not math.isfinite(seconds):
        return None
    for _ in range(2):
        if abs(seconds) < 1e11:
            break
        seconds /= 1000.0
    return seconds


def _iso_seconds(value: str) -> float | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


@dataclass(frozen=True)
class LogLine:
    """One line of build output; `timestamp` in seconds since the epoch (None if unreadable).
    Shared with the Pages client (`Pages.logs`)."""

    timestamp: float | None
    text: str

    @classmethod
    def from_api(cls, item: Any) -> LogLine | None:
        """A Builds `[timestamp, text]` pair, a Pages `{ts, line}` object, or a bare string;
        None for anything else. A number where the text belongs is kept as its digits."""
        if isinstance(item, list | tuple) and len(item) >= 2:
            stamp, text = item[0], item[1]
        elif isinstance(item, dict):
            stamp = item.get("ts", item.get("timestamp"))
            text = item.get("line", item.get("message"))
        elif isinstance(item, str):
            stamp, text = None, item
        else:
            return None
        if isinstance(text, bool) or not isinstance(text, str | int | float):
            text = "" if text is None else str(text)
        return cls(timestamp=epoch_seconds(stamp), text=str(text))


def first_time(*values: Any) -> float | None:
    """`epoch_seconds` of the first of `values` that reads as a time."""
    for value in values:
        seconds = epoch_seconds(value)
        if seconds is not None:
            return seconds
    return None


def parse_log_lines(items: Iterable[Any]) -> list[LogLine]:
    return [line for line in map(LogLine.from_api, items) if line is not None]


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
        uuid = _text(doc.get("trigger_uuid"))
        if uuid is None or doc.get("deleted_on"):
            return None
        return cls(
            uuid=uuid,
            name=_text(doc.get("trigger_name")),
            branch_includes=_strings(doc.get("branch_includes")),
            branch_excludes=_strings(doc.get("branch_excludes")),
            build_command=_text(doc.get("build_command")),
            deploy_command=_text(doc.get("deploy_command")),
            root_directory=_text(doc.get("root_directory")),
            script_tag=_text(doc.get("external_script_id")),
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
        status = _text(doc.get("status")) or "unknown"
        metadata = _object(doc.get("build_trigger_metadata"))
        trigger = _object(doc.get("trigger"))
        return cls(
            build_uuid=_text(doc.get("build_uuid")) or build_uuid,
            status=status,
            outcome=_text(doc.get("build_outcome")) if status == "stopped" else None,
            created_on=_text(doc.get("created_on")),
            initializing_on=_text(doc.get("initializing_on")),
            running_on=_text(doc.get("running_on")),
            stopped_on=_text(doc.get("stopped_on")),
            branch=_text(metadata.get("branch")),
            commit_hash=_text(metadata.get("commit_hash")),
            commit_message=_text(metadata.get("commit_message")),
            author=_text(metadata.get("author")),
            trigger_source=_text(metadata.get("build_trigger_source")),
            trigger_uuid=_text(trigger.get("trigger_uuid")),
            deploy_command=_text(metadata.get("deploy_command"))
            or _text(trigger.get("deploy_command")),
            script_tag=_text(trigger.get("external_script_id")),
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


# -- the cache ---------------------------------------------------------------------------------


class TtlCache(Generic[K, V]):
    """A small thread-safe map whose entries expire `ttl` seconds after they were put; the
    oldest entries go first once `size` is reached."""

    def __init__(
        self, *, ttl: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._items: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            if item[0] <= self.clock():
                del self._items[key]
                return None
            return item[1]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items.pop(key, None)
            self._items[key] = (self.clock() + self.ttl, value)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def discard_where(self, predicate: Callable[[K, V], bool]) -> None:
        with self._lock:
            for key in [k for k, (_, v) in self._items.items() if predicate(k, v)]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


# -- the client --------------------------------------------------------------------------------


def _refused(exc: CloudflareRejected) -> bool:
    return exc.http_status in (401, 403) or exc.code == INVALID_TOKEN


class WorkersBuilds:
    """The Workers Builds calls the relay makes, over one `CloudflareClient`."""

    def __init__(
        self,
        client: CloudflareClient,
        *,
        cache_ttl: float = CACHE_TTL,
        cache_size: int = CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._tags: TtlCache[str, str] = TtlCache(ttl=cache_ttl, size=cache_size, clock=clock)
        self._triggers: TtlCache[tuple[str, str], Trigger] = TtlCache(
            ttl=cache_ttl, size=cache_size, clock=clock
        )

    def close(self) -> None:
        self.client.close()

    def forget(self) -> None:
        """Empty both caches."""
        self._tags.clear()
        self._triggers.clear()

    # -- plumbing --------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, what: str, permission: str, **kwargs: Any) -> Any:
        """The `result` of an authenticated call under the account; a refusal of the token
        names the permission it lacks (Cloudflare's code and HTTP status are kept)."""
        try:
            return self.client.call(method, self.client.account(path), what=what, **kwargs)
        except CloudflareRejected as exc:
            if not _refused(exc):
                raise
            raise CloudflareRejected(
                f"{exc.message}: {permission}", status_code=exc.http_status, code=exc.code
            ) from None

    def _builds(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        return self._call(
            method, "/builds" + path, what=what, permission=BUILDS_PERMISSION, **kwargs
        )

    def _scripts(self, method: str, path: str, *, what: str, **kwargs: Any) -> Any:
        return self._call(
            method, "/workers" + path, what=what, permission=SCRIPTS_PERMISSION, **kwargs
        )

    # -- finding the trigger (§3) ----------------------------------------------------------

    def worker_tag(self, name: str) -> str:
        """The tag of the Worker called `name` (§3.1): `GET …/workers/services/{name}`
        (`default_environment.script_tag`), or, if that answers 404 or carries no tag, the
        `id` -> `tag` of `GET …/workers/scripts`. A Worker that is in neither is a
        `CloudflareRejected` (HTTP 404) naming it. Cached for `cache_ttl` seconds."""
        cached = self._tags.get(name)
        if cached is not None:
            return cached
        what = f"find Worker {name}"
        code: int | None = None
        try:
            service = self._scripts("GET", f"/services/{quote(name, safe='')}", what=what)
        except CloudflareRejected as exc:
            if exc.http_status != 404:
                raise
            code, tag = exc.code, None
        else:
            tag = _text(_object(_object(service).get("default_environment")).get("script_tag"))
        if tag is None:
            for script in _list(self._scripts("GET", "/scripts", what=what)):
                entry = _object(script)
                if entry.get("id") == name and _text(entry.get("tag")):
                    tag = str(entry["tag"])
                    break
        if tag is None:
            raise CloudflareRejected(
                f"{what}: no Worker named {name!r} in this account", status_code=404, code=code
            )
        self._tags.put(name, tag)
        return tag

    def triggers(self, tag: str) -> list[Trigger]:
        """The Worker's triggers (§3.3), never cached. A tag that names no Worker (or a Worker
        *name* given as a tag, trap 1) is Cloudflare's own rejection (404, 12040 on the fake)."""
        result = self._builds("GET", f"/workers/{tag}/triggers", what=f"list triggers of {tag}")
        found = (Trigger.from_api(_object(doc)) for doc in _list(result))
        return [trigger for trigger in found if trigger is not None]

    def trigger_for(self, tag: str, branch: str) -> Trigger | None:
        """The trigger that builds `branch` (`pick_trigger`), None if none does. A found
        trigger is cached for `cache_ttl` seconds; a miss is not."""
        key = (tag, branch)
        cached = self._triggers.get(key)
        if cached is not None:
            return cached
        trigger = pick_trigger(self.triggers(tag), branch)
        if trigger is not None:
            self._triggers.put(key, trigger)
        return trigger

    # -- starting and watching (§4, §5, §6) ------------------------------------------------

    def start_build(self, trigger_uuid: str, branch: str) -> StartedBuild:
        """Start a build of `branch`'s head through a trigger (§4.1): `POST
        …/builds/triggers/{uuid}/builds` with `{"branch": branch}`. Manual builds are not
        deduplicated. A 404 (a deleted or unknown trigger) drops every cached entry that
        points at the trigger before it is raised. An answer without a `build_uuid` is a
        `CloudflareRetryable`, as the shared client treats answers it does not understand."""
        what = f"start a build of {branch} (trigger {trigger_uuid})"
        try:
            result = self._builds(
                "POST", f"/triggers/{trigger_uuid}/builds", what=what, json={"branch": branch}
            )
        except CloudflareRejected as exc:
            if exc.http_status == 404:
                self._triggers.discard_where(lambda key, trigger: trigger.uuid == trigger_uuid)
            raise
        doc = _object(result)
        build_uuid = _text(doc.get("build_uuid"))
        if build_uuid is None:
            raise CloudflareRetryable(f"{what}: the answer has no build_uuid", status_code=200)
        return StartedBuild(build_uuid=build_uuid, created_on=_text(doc.get("created_on")))

    def deploy(self, worker_name: str, branch: str) -> StartedBuild:
        """Name -> tag -> trigger -> start, from the caches when warm (one call). On a 404 the
        Worker's cached tag and triggers are dropped and the whole chain runs once more (a POST
        answered 404 created nothing). No trigger for the branch is a `CloudflareRejected`
        naming the Worker and the branch."""
        try:
            return self._deploy_once(worker_name, branch)
        except CloudflareRejected as exc:
            if exc.http_status != 404:
                raise
        tag = self._tags.get(worker_name)
        self._tags.discard_where(lambda name, _: name == worker_name)
        self._triggers.discard_where(lambda key, _: key[0] == tag)
        return self._deploy_once(worker_name, branch)

    def _deploy_once(self, worker_name: str, branch: str) -> StartedBuild:
        trigger = self.trigger_for(self.worker_tag(worker_name), branch)
        if trigger is None:
            raise CloudflareRejected(
                f"start a build of {worker_name}: no Workers Builds trigger of Worker "
                f"{worker_name!r} builds branch {branch!r}"
            )
        return self.start_build(trigger.uuid, branch)

    def build(self, build_uuid: str) -> Build:
        """The build now (§5.1); an unknown UUID is Cloudflare's 404 (12000 on the fake). Give
        a watcher its own deadline: builds have been seen stuck in progress (trap 16)."""
        result = self._builds("GET", f"/builds/{build_uuid}", what=f"get build {build_uuid}")
        return Build.from_api(_object(result), build_uuid)

    def cancel(self, build_uuid: str) -> CanceledBuild:
        """`PUT …/builds/{uuid}/cancel`, no body (trap 8). Documented for queued and running
        builds only; what a stopped build answers is UNCONFIRMED, so read `build()` after."""
        result = self._builds(
            "PUT", f"/builds/{build_uuid}/cancel", what=f"cancel build {build_uuid}"
        )
        doc = _object(result)
        return CanceledBuild(
            build_uuid=_text(doc.get("build_uuid")) or build_uuid,
            outcome=_text(doc.get("build_outcome")),
            stopped_on=_text(doc.get("stopped_on")),
        )

    # -- logs (§7) -------------------------------------------------------------------------

    def logs(self, build_uuid: str, *, max_pages: int = MAX_LOG_PAGES) -> list[LogLine]:
        """Every log line printed so far, in order, over all cursor pages (trap 11): the next
        page is read while the answer has a `cursor` *and* `truncated` is true (an empty page
        does not end it; a cursor seen before does). Bounded: at most `max_pages` pages
        (`MAX_LOG_PAGES`, 200) are read, and the lines of those pages are all that is
        returned. Timestamps are normalised to float seconds (`epoch_seconds`)."""
        what = f"read the logs of build {build_uuid}"
        lines: list[LogLine] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(max_pages):
            params = {"cursor": cursor} if cursor else None
            result = _object(
                self._builds("GET", f"/builds/{build_uuid}/logs", what=what, params=params)
            )
            lines.extend(parse_log_lines(_list(result.get("lines"))))
            cursor = _text(result.get("cursor"))
            if cursor is None or result.get("truncated") is not True or cursor in seen:
                break
            seen.add(cursor)
        return lines

    def tail(self, build_uuid: str, n: int, *, max_pages: int = MAX_LOG_PAGES) -> list[str]:
        """The text of the last `n` lines. It still reads every page (the API pages forwards
        only), within the same `max_pages` bound as `logs`."""
        if n <= 0:
            return []
        return [line.text for line in self.logs(build_uuid, max_pages=max_pages)[-n:]]

    # -- deploy hooks (§4.3) ---------------------------------------------------------------

    def trigger_deploy_hook(self, url: str) -> HookAnswer:
        """POST a Workers deploy hook URL with no credentials and no body (the URL is the
        secret and never appears in an error). A 404 (deleted hook) is rejected, a 429 (10
        builds a minute per Worker, 100 per account) is retryable with Retry-After."""
        result = self.client.call(
            "POST", url, what="call the Workers deploy hook", authenticated=False
        )
        doc = _object(result)
        exists = doc.get("already_exists")
        return HookAnswer(
            build_uuid=_text(doc.get("build_uuid")),
            already_exists=exists if isinstance(exists, bool) else None,
            status=_text(doc.get("status")),
            created_on=_text(doc.get("created_on")),
        )

    # -- versions (§4.1, §5.2, §5.5) -------------------------------------------------------

    def version_of(self, worker_name: str, build: Build) -> str | None:
        """The Worker version a successful production build deployed, or None when unsure.

        Approximate: a build object carries no version id (§5.2), so this reads the Worker's
        deployments (`GET …/workers/scripts/{name}/deployments`, §4.1) and takes those created
        while the build ran, from `running_on` (the deploy command runs then) to `stopped_on`,
        each give or take `VERSION_SKEW` seconds. Their `versions[0].version_id` (a deployment
        that splits traffic is left out) are then checked with the by-version look-up
        (`GET …/builds/builds?version_ids=`, §5.5): a version that maps to this build is the
        answer; versions that map to other builds are dropped; if that leaves exactly one, it
        is returned, else None. The look-up refused (not retryable) leaves the time window
        alone to decide. A build that failed, has not stopped, or only uploaded a version
        (preview, trap 9) deployed nothing: None.
        """
        end = epoch_seconds(build.stopped_on)
        start = first_time(build.running_on, build.initializing_on, build.created_on)
        if not build.succeeded or build.preview or end is None or start is None:
            return None
        result = self._scripts(
            "GET",
            f"/scripts/{quote(worker_name, safe='')}/deployments",
            what=f"list deployments of Worker {worker_name}",
        )
        listed = result if isinstance(result, list) else _object(result).get("deployments")
        candidates: list[str] = []
        for item in _list(listed):
            doc = _object(item)
            created = epoch_seconds(doc.get("created_on"))
            if created is None or not start - VERSION_SKEW <= created <= end + VERSION_SKEW:
                continue
            version = _single_version(doc)
            if version is not None and version not in candidates:
                candidates.append(version)
        if not candidates:
            return None
        try:
            builds = self._version_builds(candidates[:MAX_BATCH_IDS])
        except CloudflareRejected:
            builds = {}
        for version in candidates:
            if builds.get(version) == build.build_uuid:
                return version
        unexplained = [v for v in candidates if builds.get(v) is None]
        return unexplained[0] if len(unexplained) == 1 else None

    def _version_builds(self, versions: list[str]) -> dict[str, str | None]:
        """version id -> the UUID of the build that made it (None: not known to Builds)."""
        result = self._builds(
            "GET",
            "/builds",
            what="look up builds by Worker version",
            params={"version_ids": ",".join(versions)},
        )
        found = _object(_object(result).get("builds"))
        return {v: _text(_object(found.get(v)).get("build_uuid")) for v in versions}

    # -- access (§1.2) ---------------------------------------------------------------------

    def check_access(self, tag: str) -> None:
        """One cheap authenticated read (the Worker's trigger list). A token without Workers
        CI access, an account-owned one included (12006 "Invalid token", trap 2), raises
        `CloudflareRejected` with Cloudflare's code and message and the permission needed."""
        self._builds("GET", f"/workers/{tag}/triggers", what="check Workers Builds access")


def _single_version(deployment: dict[str, Any]) -> str | None:
    """`versions[0].version_id` of a deployment that sends all traffic to one version."""
    versions = [_object(v) for v in _list(deployment.get("versions"))]
    if not versions:
        return None
    first = versions[0]
    percentage = first.get("percentage")
    if len(versions) > 1 and not (isinstance(percentage, int | float) and percentage >= 100):
        return None
    return _text(first.get("version_id"))
