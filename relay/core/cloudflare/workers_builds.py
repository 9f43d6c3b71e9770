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

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from relay.core.cloudflare.answers import (
    LogLine,
    as_list,
    as_object,
    as_text,
    epoch_seconds,
    first_time,
    parse_log_lines,
)
from relay.core.cloudflare.client import CloudflareClient
from relay.core.cloudflare.workers_objects import (
    Build,
    CanceledBuild,
    HookAnswer,
    StartedBuild,
    Trigger,
    pick_trigger,
)
from relay.core.exceptions import CloudflareRejected, CloudflareRetryable
from relay.core.ttl_cache import TtlCache

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
            environment = as_object(as_object(service).get("default_environment"))
            tag = as_text(environment.get("script_tag"))
        if tag is None:
            for script in as_list(self._scripts("GET", "/scripts", what=what)):
                entry = as_object(script)
                if entry.get("id") == name and as_text(entry.get("tag")):
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
        found = (Trigger.from_api(as_object(doc)) for doc in as_list(result))
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
        doc = as_object(result)
        build_uuid = as_text(doc.get("build_uuid"))
        if build_uuid is None:
            raise CloudflareRetryable(f"{what}: the answer has no build_uuid", status_code=200)
        return StartedBuild(build_uuid=build_uuid, created_on=as_text(doc.get("created_on")))

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
        return Build.from_api(as_object(result), build_uuid)

    def cancel(self, build_uuid: str) -> CanceledBuild:
        """`PUT …/builds/{uuid}/cancel`, no body (trap 8). Documented for queued and running
        builds only; what a stopped build answers is UNCONFIRMED, so read `build()` after."""
        result = self._builds(
            "PUT", f"/builds/{build_uuid}/cancel", what=f"cancel build {build_uuid}"
        )
        doc = as_object(result)
        return CanceledBuild(
            build_uuid=as_text(doc.get("build_uuid")) or build_uuid,
            outcome=as_text(doc.get("build_outcome")),
            stopped_on=as_text(doc.get("stopped_on")),
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
            result = as_object(
                self._builds("GET", f"/builds/{build_uuid}/logs", what=what, params=params)
            )
            lines.extend(parse_log_lines(as_list(result.get("lines"))))
            cursor = as_text(result.get("cursor"))
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
        doc = as_object(result)
        exists = doc.get("already_exists")
        return HookAnswer(
            build_uuid=as_text(doc.get("build_uuid")),
            already_exists=exists if isinstance(exists, bool) else None,
            status=as_text(doc.get("status")),
            created_on=as_text(doc.get("created_on")),
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
        listed = result if isinstance(result, list) else as_object(result).get("deployments")
        candidates: list[str] = []
        for item in as_list(listed):
            doc = as_object(item)
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
        found = as_object(as_object(result).get("builds"))
        return {v: as_text(as_object(found.get(v)).get("build_uuid")) for v in versions}

    # -- access (§1.2) ---------------------------------------------------------------------

    def check_access(self, tag: str) -> None:
        """One cheap authenticated read (the Worker's trigger list). A token without Workers
        CI access, an account-owned one included (12006 "Invalid token", trap 2), raises
        `CloudflareRejected` with Cloudflare's code and message and the permission needed."""
        self._builds("GET", f"/workers/{tag}/triggers", what="check Workers Builds access")


def _single_version(deployment: dict[str, Any]) -> str | None:
    """`versions[0].version_id` of a deployment that sends all traffic to one version."""
    versions = [as_object(v) for v in as_list(deployment.get("versions"))]
    if not versions:
        return None
    first = versions[0]
    percentage = first.get("percentage")
    if len(versions) > 1 and not (isinstance(percentage, int | float) and percentage >= 100):
        return None
    return as_text(first.get("version_id"))
