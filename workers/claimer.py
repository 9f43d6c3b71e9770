"""The claimer: the worker's loop that turns due bursts into triggers and due steps into work.

Every worker process runs one, every `INTERVAL` (100 ms), supervised (`run` survives any error
and a dead thread is started again by `workers.worker`). Each tick: cron slots
(`workers.cron`); `claim.lua`, which hands each due burst to exactly one claimer however many
run (and keeps a burst whose target has a build in flight until that build ends); the due
steps a free thread can run (`workers.steps`); renewing the leases of the running ones; every
few seconds the reaper, which also trims the history (`workers.reaper`). Each tick also writes the
worker's heartbeat (`keys.WORKERS`), which /metrics and `relay check` read.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field

import orjson
import redis
from redis.exceptions import RedisError

from relay.core import keys
from relay.core.clock import server_ms
from relay.core.job_queue import job_queue
from relay.core.records import WorkerBeat
from relay.core.redis_health import check_epoch
from relay.core.scheduled import fire_due
from relay.core.scripts import lua
from relay.core.settings import Settings
from relay.core.store import text
from workers.cron import ScheduleTicker
from workers.faults import die_at, fail_once
from workers.notifications import controls_news, redis_news
from workers.reaper import INTERVAL as REAP_INTERVAL
from workers.reaper import Reaper
from workers.steps import StepRunner

log = logging.getLogger("relay.claimer")

#: how often each claimer looks for due work (seconds); bounds the debounce precision
INTERVAL = 0.1
#: at most this many bursts are claimed per look
BATCH = 200
#: a due burst whose target has a build in flight is looked at again this often (ms); the move
#: that ends the build re-arms it at once, so this is only a safety net
RECHECK_MS = 5_000
#: how often the heartbeat is written (seconds)
BEAT_INTERVAL = 1.0


@dataclass(frozen=True)
class Held:
    """A due burst the claim kept waiting: paused, or past a build budget, until `until`."""

    target: str
    why: str  # "paused" | "budget" | "account budget"
    until: int  # ms
    newly: bool  # held for this reason for the first time (worth telling people)


@dataclass(frozen=True)
class Claimed:
    ids: list[str]
    held: list[Held]
    resumed: list[str]  # targets whose pause ran out (`relay pause --for`)


def policies(settings: Settings | None, now_ms: int) -> bytes:
    """What the claim script needs to know of the config: supersede and the build budgets, with
    the windows they count in now."""
    if settings is None:
        return b"{}"
    targets: dict[str, dict[str, object]] = {}
    for name, config in settings.targets.items():
        policy: dict[str, object] = {}
        if config.supersede == "cancel":
            policy["supersede"] = True
        if config.budget is not None:
            policy["budget"] = config.budget.to_lua(now_ms)
        if policy:
            targets[name] = policy
    doc: dict[str, object] = {"targets": targets}
    account = settings.cloudflare.budget_builds
    if account is not None:
        doc["account"] = account.to_lua(now_ms)
    return orjson.dumps(doc)


def claim(client: redis.Redis, policy: bytes) -> Claimed:
    """Turn due bursts into triggers (`lua/claim.lua`)."""
    ids, held, resumed = client.register_script(lua(keys.SCRIPT_CLAIM))(
        keys=[keys.DUE, keys.TRIGGERS, keys.STEPS, keys.PAUSES, keys.BUILDS_USED],
        args=[
            keys.BURST_PREFIX,
            keys.INFLIGHT_PREFIX,
            keys.TRIGGER_PREFIX,
            keys.TRIGGERS_BY_TARGET_PREFIX,
            BATCH,
            RECHECK_MS,
            keys.builds_used(""),
            policy,
        ],
    )
    return Claimed(
        ids=[text(i) for i in ids],
        held=[Held(text(t), text(w), int(u), bool(int(n))) for t, w, u, n in held],
        resumed=[text(t) for t in resumed],
    )


def claim_bursts(client: redis.Redis, settings: Settings | None = None) -> list[str]:
    """Turn due bursts into triggers; returns their ids."""
    return claim(client, policies(settings, int(time.time() * 1000))).ids


@dataclass
class Health:
    """How this worker's claimer is doing, for its heartbeat."""

    started_at: int = 0  # ms
    restarts: int = 0  # times the supervisor started the claimer again
    errors: int = 0  # ticks that failed on something other than Redis
    extra: dict[str, object] = field(default_factory=dict)


class Claimer:
    def __init__(
        self, client: redis.Redis, settings: Settings, runner: StepRunner, name: str
    ) -> None:
        self.client = client
        self.settings = settings
        self.runner = runner
        self.name = name
        self.health = Health(started_at=server_ms(client))
        self.schedules = ScheduleTicker(client, settings)  # cron ticks, looked at once a second
        self.reaper = Reaper(client, settings, job_queue(client))
        self._last_reap = 0.0
        self._last_beat = 0.0
        #: an outage this long is told to the channels (seconds)
        self.lost_after = settings.worker.redis_lost_after
        self._budgets = settings.cloudflare.budget_builds is not None or any(
            t.budget is not None for t in settings.targets.values()
        )

    def claim(self) -> list[str]:
        """Turn due bursts into triggers; returns their ids. Tells the channels about bursts
        newly held by a budget, pauses that ran out and budgets nearly used up."""
        result = claim(self.client, policies(self.settings, int(time.time() * 1000)))
        if result.ids:
            die_at("claim:after-claim")
        if result.held or result.resumed or (result.ids and self._budgets):
            controls_news.after_claim(self.client, self.settings, result)
        return result.ids

    def tick(self) -> int:
        """One look at everything due; returns how much it started (0: nothing was due)."""
        fail_once("claimer:tick")
        self.schedules.maybe_tick()
        fire_due(self.client)  # deploys at a set time join their bursts (exactly once)
        claimed = self.claim()
        started = self.runner.take()
        self.runner.renew()
        now = time.monotonic()
        if now - self._last_reap > REAP_INTERVAL:
            self._last_reap = now
            self.reaper.reap()
        if now - self._last_beat > BEAT_INTERVAL:
            self._last_beat = now
            self.beat()
            controls_news.tell_control_events(self.client, self.settings)
        if check_epoch(self.client):  # has Redis lost our data? (a GET every few seconds)
            redis_news.tell_data_lost(self.client, self.settings)
        return len(claimed) + started

    def beat(self) -> None:
        """Write this worker's heartbeat (read by /metrics, the dashboard and `relay check`)."""
        beat = WorkerBeat(
            name=self.name,
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=self.health.started_at,
            beat_at=server_ms(self.client),
            steps=self.runner.busy,
            claimer_restarts=self.health.restarts,
            claimer_errors=self.health.errors,
        )
        self.client.hset(keys.WORKERS, self.name, beat.to_json())

    def run(self, stop: threading.Event, interval: float = INTERVAL) -> None:
        """Tick until `stop` is set. A Redis outage is logged once and waited out; any other
        error is logged and counted, and the loop goes on: claiming never stops silently."""
        down_since: float | None = None
        told = False
        while not stop.is_set():
            try:
                busy = self.tick()
            except RedisError as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    log.warning("claimer: Redis unavailable (%s); retrying", type(exc).__name__)
                elif not told and time.monotonic() - down_since > self.lost_after:
                    told = True  # once per outage, straight from here: the outbox is in Redis
                    redis_news.tell_redis_lost(self.settings, time.monotonic() - down_since)
                stop.wait(min(2.0, interval * 10))
                continue
            except Exception:
                self.health.errors += 1
                log.exception("claimer: tick failed; going on")
                stop.wait(1.0)
                continue
            if down_since is not None:
                log.warning("claimer: Redis is back after %.1fs", time.monotonic() - down_since)
                down_since, told = None, False
            if not busy:
                stop.wait(interval)
