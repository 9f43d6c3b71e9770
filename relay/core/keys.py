"""Every Redis key and Lua script the relay uses, in one place.

All keys start with `relay:`; RQ's own keys start with `rq:`. Nothing here ever holds a secret:
deliveries keep a digest of the body and the sender's ids, never the body or its auth headers.
"""

from __future__ import annotations

PREFIX = "relay:"

# -- ingest ----------------------------------------------------------------------------------------
#: stream of every delivery (accepted, duplicate, ignored, rejected); one JSON field "d";
#: capped at `server.keep_deliveries` (approximately, MAXLEN ~)
DELIVERIES = "relay:deliveries"
#: hash "<hook>:<outcome>" -> count, since the store was created (for /metrics)
DELIVERY_COUNTS = "relay:counts:deliveries"


def hook_deliveries(hook: str) -> str:
    """Stream of the ids (in DELIVERIES) of one hook's deliveries, for `--hook` listings."""
    return f"relay:deliveries:{hook}"


def dedupe(hook: str, token: str) -> str:
    """String: the delivery id first seen for this sender id/content digest; expires (PX)."""
    return f"relay:seen:{hook}:{token}"


# -- debounce --------------------------------------------------------------------------------------
#: sorted set: target -> when its pending burst is due (Unix ms, Redis server clock)
DUE = "relay:due"
BURST_PREFIX = "relay:burst:"


def burst(target: str) -> str:
    """Hash of a target's pending burst (lua/lib/debounce.lua): first, last, deadline, due (ms),
    count, reason, last_delivery. Deleted by the claim that turns it into a trigger."""
    return f"{BURST_PREFIX}{target}"


INFLIGHT_PREFIX = "relay:inflight:"


def inflight(target: str) -> str:
    """String: the trigger id whose build is in flight for this target (one build at a time).

    Set by the claim that creates the trigger, deleted by the transition to a final state
    (`relay.core.transitions`); its TTL frees the target if a worker disappears for good.
    """
    return f"{INFLIGHT_PREFIX}{target}"


# -- triggers (one per build the relay asks Cloudflare for) ----------------------------------------
TRIGGER_PREFIX = "relay:trigger:"


def trigger(trigger_id: str) -> str:
    """Hash: one deployment trigger and everything learned about it (see `workers.records`)."""
    return f"{TRIGGER_PREFIX}{trigger_id}"


#: sorted set: trigger id -> created (ms); capped at `server.keep_deployments`
TRIGGERS = "relay:triggers"
TRIGGERS_BY_TARGET_PREFIX = "relay:triggers-of:"


def target_triggers(target: str) -> str:
    """Sorted set: one target's trigger ids -> created (ms)."""
    return f"{TRIGGERS_BY_TARGET_PREFIX}{target}"


#: sorted set: trigger id -> failed-for-good time (ms); what `relay failed` lists
FAILED = "relay:failed"
#: sorted set: a trigger's pending step "<kind>:<trigger id>:<n>" -> when it runs (ms), or, once
#: a runner took it (lua/take_steps.lua), when its lease runs out. Kinds: deploy (attempt n),
#: watch (poll n), cancel (a superseded build), notify (a notice, by its id; attempt n). The
#: transition that completes a step removes it (lua/transition.lua, lua/step_done.lua).
STEPS = "relay:steps"
#: hash: step member -> the token of the worker process that holds its lease
STEP_LEASES = "relay:step-leases"
#: hash: worker name -> JSON {pid, host, started_at, beat_at (ms), steps, claimer_restarts}:
#: each worker's heartbeat, written every claimer tick; a worker gone quiet is shown stale
WORKERS = "relay:workers"

#: string with a short TTL: the claimer that holds it reaps this round (orphaned triggers,
#: lost steps, abandoned RQ jobs)
REAPER_LOCK = "relay:reaper"

# -- read by the dashboard and /metrics ------------------------------------------------------------
#: hash "<target>:<status>" -> count of triggers that reached that final status, since the store
#: was created (for /metrics `relay_builds_total`); written where a trigger settles
#: (workers/outcomes.py).
BUILD_COUNTS = "relay:counts:builds"
#: hash of Cloudflare API calls made by the workers, for /metrics (core/cloudflare/usage.py):
#: "status:<HTTP status | timeout | error>" per answer, cumulative "le:<bucket>" per latency
#: bucket (seconds, relay.web.metrics.CLOUDFLARE_BUCKETS), "count" and "sum_ms".
CLOUDFLARE_CALLS = "relay:counts:cloudflare"
STATUS_CACHE_PREFIX = "relay:status-cache:"


def status_cache(target: str) -> str:
    """String (JSON): what the public status page of `target` last read from the Pages API
    (project and first page of deployments, secrets left out) and when; expires after
    `relay.web.status_page.CACHE_KEEP` seconds, refreshed when older than `FRESH`."""
    return f"{STATUS_CACHE_PREFIX}{target}"


def status_refresh_lock(target: str) -> str:
    """String (SET NX PX): held by the one server process refreshing `status_cache(target)`,
    so a popular status page costs one Pages API read per refresh, not one per visitor."""
    return f"{STATUS_CACHE_PREFIX}{target}:lock"


# -- operator controls (relay/core/controls.py, lua/claim.lua) ------------------------------------
#: hash: target -> JSON {until (ms, 0 = until resumed), reason, at (ms)}: a paused target. The
#: claim keeps its burst collecting; the pause ends by `relay resume` or when `until` passes
PAUSES = "relay:pauses"
#: sorted set: trigger id -> claimed (ms), every trigger of every target: what
#: `[cloudflare] budget_builds` counts (trimmed past the longest budget window)
BUILDS_USED = "relay:builds-used"


def builds_used(target: str) -> str:
    """Sorted set: trigger id -> claimed (ms) of one target: what its `budget` counts."""
    return f"relay:builds-used:{target}"


def budget_notice(scope: str, window: int, percent: int) -> str:
    """String (SET NX, expires with the window): the 80 % / 100 % notice of one budget window
    (scope: a target's name, or "*" for the account) was sent; it is sent once."""
    return f"relay:budget-notice:{scope}:{window}:{percent}"


#: list of JSON {event, target, reason, until, at}: pauses and resumes made by an operator,
#: turned into notifications by a worker's claimer (capped)
CONTROL_EVENTS = "relay:control-events"
#: sorted set: scheduled deploy id -> when it fires (ms); `relay deploy --at`
SCHEDULED = "relay:scheduled"
#: sorted set: every scheduled deploy id of the last week -> when it was to fire (ms), fired
#: and cancelled ones included, for `relay scheduled`
SCHEDULED_LOG = "relay:scheduled-log"


def scheduled(deploy_id: str) -> str:
    """Hash: one scheduled deploy (target, at, reason, created_at, status, fired_at); kept a
    week after it fired or was cancelled, for `relay scheduled`."""
    return f"relay:scheduled:{deploy_id}"


# -- notifications (workers/notifications) ---------------------------------------------------------
def notice(notice_id: str) -> str:
    """String (JSON, expires a day after): one notification waiting to be sent; its sending is
    a step ("notify:<id>:<attempt>" in STEPS), retried with backoff, never blocking a deploy."""
    return f"relay:notice:{notice_id}"


# -- the dashboard's sign-in (relay/web/access.py) -------------------------------------------------
def session(session_id: str) -> str:
    """String "1" while a dashboard session is signed in (EX: the session's lifetime). Signing
    out deletes it, so the cookie stops working at once."""
    return f"relay:session:{session_id}"


def auth_failures(address: str) -> str:
    """Counter (INCR, EX: the window): wrong admin tokens from one client address, kept in
    Redis so that every receiver process counts together."""
    return f"relay:auth-failures:{address}"


# -- Redis itself (relay/core/redis_health.py) -----------------------------------------------------
#: String (no TTL): a random value set once with SET NX. It changing or vanishing means Redis
#: lost the relay's data (a restart without persistence, a flush, a failover to an empty node).
EPOCH = "relay:epoch"


# -- RQ --------------------------------------------------------------------------------------------
#: the RQ queue every relay job runs on
QUEUE = "relay"

# -- Lua scripts (relay/core/lua/<name>.lua) -------------------------------------------------------
SCRIPT_INGEST = "ingest"
SCRIPT_CLAIM = "claim"
SCRIPT_TAKE_STEPS = "take_steps"
SCRIPT_RENEW_STEPS = "renew_steps"
SCRIPT_BUDGET = "budget"
#: sorted set: one member per Cloudflare API request in the current window (shared budget)
API_BUDGET = "relay:cloudflare:budget"
SCRIPT_TOUCH = "touch"
SCRIPT_FIRE_SCHEDULED = "fire_scheduled"
SCRIPT_STEP_DONE = "step_done"
SCRIPT_TRANSITION = "transition"
#: hash: target -> "ok" | "failing" (its last final outcome), for recovery notifications
TARGET_HEALTH = "relay:health"

# -- cron ticks (workers/cron.py) ------------------------------------------------------------------
SCRIPT_CRON_SLOT = "cron_slot"


def schedule_state(kind: str, target: str) -> str:
    """Hash of one target's cron (kind "build" = `schedule`, "prune" = `prune_schedule`):
    expr, since (ms, armed), last_slot / last_fired / last_missed / next_slot (Unix s),
    fired_at (ms), missed (count). No TTL: it is what makes ticks restart-safe."""
    return f"relay:schedule:{kind}:{target}"


def cron_slot(kind: str, target: str, slot: int) -> str:
    """String "fired" | "missed", SET NX EX: one cron slot decided by exactly one worker."""
    return f"relay:cron:{kind}:{target}:{slot}"


# -- prune (workers/prune.py) ----------------------------------------------------------------------
def prune_state(target: str) -> str:
    """Hash: the current or last prune of a target: status, origin, times (ms), counts
    ("deleted", "kept:<why>", "skipped:<why>"), error. What `relay prune` resumes from."""
    return f"relay:prune:{target}"


def prune_todo(target: str) -> str:
    """List: deployment ids the current prune still has to delete (oldest at the right)."""
    return f"relay:prune:{target}:todo"


def prune_lock(project: str) -> str:
    """String (run id, short TTL, refreshed): one prune at a time per Pages project."""
    return f"relay:prune-lock:{project}"
