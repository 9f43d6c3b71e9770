"""Prometheus metrics: this process's own, and those read from Redis at scrape time.

`GET /metrics` serves both. The process's metrics (`REGISTRY`) are what only this process sees:
its answers to senders and its ingest latency. `RedisCollector` reads the shared state at
scrape time, so every receiver replica reports the same totals (deliveries counted by the ingest
script in `relay:counts:deliveries`, whichever replica took them), with bounded reads only.
Nothing here carries a secret: labels are hook, target, status and queue names.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from relay.core import keys
from relay.core.budget import usage
from relay.core.cloudflare.usage import CLOUDFLARE_BUCKETS
from relay.core.controls import pauses
from relay.core.redis_health import epoch_watch
from relay.core.settings import Settings
from relay.core.store import Pending, Store
from relay.web.dashboard.overview import held_of
from relay.web.dashboard.queues import REGISTRIES, queues_view
from relay.web.dashboard.tallies import Tallies

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "relay_process_deliveries",
    "Webhook requests answered by this process, by hook and outcome (including too_large and "
    "unavailable, which are not stored); relay_deliveries_total is the all-replica count",
    ["hook", "outcome"],
    registry=REGISTRY,
)
INGEST_SECONDS = Histogram(
    "relay_ingest_seconds",
    "Time from reading a webhook request to answering it (verified and stored)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)


class RedisCollector(Collector):
    """Reads the relay's shared state from Redis at each scrape (a few bounded reads)."""

    def __init__(self, client: redis.Redis, settings: Settings, tallies: Tallies) -> None:
        self.client = client
        self.settings = settings
        self.tallies = tallies

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("relay_redis_up", "1 when Redis answered this scrape")
        started = time.perf_counter()
        try:
            families = list(self._read(Store(self.client)))
        except (RedisError, OSError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families
        took = GaugeMetricFamily(
            "relay_scrape_redis_seconds", "Time this scrape spent reading Redis"
        )
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _read(self, store: Store) -> Iterator[Metric]:
        yield from self._deliveries(store)
        yield from self._targets(store)
        yield from self._queues(store)
        yield from self._cloudflare(store)
        yield from self._redis_data()

    def _deliveries(self, store: Store) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "relay_deliveries",
            "Webhook deliveries stored, by hook and outcome (all receiver replicas)",
            labels=["hook", "outcome"],
        )
        for field_name, count in sorted(store.delivery_counts().items()):
            hook, _, outcome = field_name.rpartition(":")
            family.add_metric([hook, outcome], count)
        yield family

    def _targets(self, store: Store) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "relay_pending_deliveries",
            "Deliveries collected in the target's burst, waiting for its debounce",
            labels=["target"],
        )
        due = GaugeMetricFamily(
            "relay_debounce_due_seconds",
            "Seconds until the target's pending burst is due (negative: overdue, e.g. waiting "
            "for a build in flight)",
            labels=["target"],
        )
        inflight = GaugeMetricFamily(
            "relay_build_in_flight", "1 while a build of the target is in flight", labels=["target"]
        )
        now = store.server_ms()
        bursts = store.pending()
        for name in self.settings.targets:
            burst = bursts.get(name)
            pending.add_metric([name], burst.count if burst else 0)
            if burst:
                due.add_metric([name], (burst.due - now) / 1000)
            inflight.add_metric([name], 1 if store.inflight(name) else 0)
        yield from (pending, due, inflight)
        yield from self._controls(bursts, now)
        yield from self._builds(store)

    def _controls(self, bursts: dict[str, Pending], now: int) -> Iterator[Metric]:
        """Pauses, build budgets and the bursts they hold (a few keys per target)."""
        paused = GaugeMetricFamily(
            "relay_target_paused",
            "1 while the target is paused (relay pause): deliveries collect, nothing builds",
            labels=["target"],
        )
        used = GaugeMetricFamily(
            "relay_build_budget_used",
            'Builds counted against the build budget in its current window (target "*": '
            "the account's [cloudflare] budget_builds)",
            labels=["target"],
        )
        limit = GaugeMetricFamily(
            "relay_build_budget_limit",
            'Builds the budget allows per window (target "*": the account\'s)',
            labels=["target"],
        )
        held = GaugeMetricFamily(
            "relay_builds_held",
            "1 while the target's pending burst is held past its due time, by why: paused, "
            "budget or account budget",
            labels=["target", "why"],
        )
        in_force = pauses(self.client)
        budgets = [(name, t.budget) for name, t in self.settings.targets.items()]
        budgets.append(("*", self.settings.cloudflare.budget_builds))
        for name, budget in budgets:
            if budget is not None:
                used.add_metric([name], usage(self.client, name, budget, now).used)
                limit.add_metric([name], budget.limit)
        for name in self.settings.targets:
            paused.add_metric([name], 1 if name in in_force else 0)
            holding = held_of(bursts.get(name), in_force.get(name), now)
            if holding is not None:
                held.add_metric([name, holding.why], 1)
        yield from (paused, used, limit, held)

    def _builds(self, store: Store) -> Iterator[Metric]:
        stored = GaugeMetricFamily(
            "relay_triggers",
            "Deployment triggers kept in Redis (the newest server.keep_deployments), by target "
            "and status",
            labels=["target", "status"],
        )
        coalesced = GaugeMetricFamily(
            "relay_coalesced_deliveries",
            "Deliveries that the stored triggers of the target coalesced",
            labels=["target"],
        )
        ratio = GaugeMetricFamily(
            "relay_deliveries_per_build",
            "Coalescing ratio of the stored triggers: deliveries per build",
            labels=["target"],
        )
        for name, tally in sorted(self.tallies.get(store).items()):
            for status, count in sorted(tally.by_status.items()):
                stored.add_metric([name, status.value], count)
            coalesced.add_metric([name], tally.deliveries)
            ratio.add_metric([name], tally.per_build)
        failed = GaugeMetricFamily(
            "relay_failed_triggers", "Triggers that failed for good and wait for a replay"
        )
        failed.add_metric([], store.failed_count())
        yield from (stored, coalesced, ratio, failed)
        builds = store.counts(keys.BUILD_COUNTS)
        if builds:
            total = CounterMetricFamily(
                "relay_builds",
                "Deployment triggers that reached a final status, by target and status",
                labels=["target", "status"],
            )
            for field_name, count in sorted(builds.items()):
                target, _, outcome = field_name.rpartition(":")
                total.add_metric([target, outcome], count)
            yield total

    def _queues(self, store: Store) -> Iterator[Metric]:
        view = queues_view(self.client)
        jobs = GaugeMetricFamily(
            "relay_queue_jobs", "RQ jobs by queue and state", labels=["queue", "state"]
        )
        for queue in view.queues:
            for state in ("queued", *REGISTRIES):
                jobs.add_metric([queue["name"], state], queue[state])
        workers = GaugeMetricFamily(
            "relay_workers", "RQ workers registered, by state", labels=["state"]
        )
        states: dict[str, int] = {}
        for worker in view.workers:
            states[worker.state] = states.get(worker.state, 0) + 1
        for state, count in sorted(states.items()):
            workers.add_metric([state], count)
        timers = GaugeMetricFamily(
            "relay_timers", "Deploy retries and build polls waiting for their time"
        )
        timers.add_metric([], view.timers)
        yield from (jobs, workers, timers)
        yield from self._relay_workers(store)

    def _relay_workers(self, store: Store) -> Iterator[Metric]:
        """Each worker's claimer, from its heartbeat: a stale one is not claiming."""
        now = store.server_ms()
        age = GaugeMetricFamily(
            "relay_worker_heartbeat_age_seconds",
            "Seconds since the worker's claimer last beat (it beats every second; a worker whose "
            "claimer is not running shows a growing age)",
            labels=["worker"],
        )
        steps = GaugeMetricFamily(
            "relay_worker_steps", "Deploy attempts and build polls running now", labels=["worker"]
        )
        errors = CounterMetricFamily(
            "relay_worker_claimer_errors",
            "Claimer ticks that failed on something other than Redis (each is logged)",
            labels=["worker"],
        )
        restarts = CounterMetricFamily(
            "relay_worker_claimer_restarts",
            "Times the worker's supervisor started its claimer thread again",
            labels=["worker"],
        )
        for beat in store.workers():
            age.add_metric([beat.name], beat.age(now))
            steps.add_metric([beat.name], beat.steps)
            errors.add_metric([beat.name], beat.claimer_errors)
            restarts.add_metric([beat.name], beat.claimer_restarts)
        yield from (age, steps, errors, restarts)

    def _redis_data(self) -> Iterator[Metric]:
        """Times this process found Redis had lost the relay's data (the epoch key vanished or
        changed: a restart without persistence, a flush; `relay.core.redis_health`). Looked
        at on each scrape, so a loss is counted even while no /readyz probe runs."""
        watch = epoch_watch(self.client)
        watch.check(self.client)
        lost = CounterMetricFamily(
            "relay_redis_data_lost",
            "Times this process found that Redis had lost the relay's data (epoch key gone or "
            "changed); each is also logged as an error",
        )
        lost.add_metric([], watch.lost)
        yield lost

    def _cloudflare(self, store: Store) -> Iterator[Metric]:
        window = self.settings.cloudflare.budget_window
        budget = GaugeMetricFamily(
            "relay_cloudflare_budget_used",
            f"Cloudflare API requests made by all relay processes in the last {window:.0f}s "
            "(the shared budget)",
        )
        budget.add_metric([], store.api_budget_used(int(window * 1000)))
        limit = GaugeMetricFamily(
            "relay_cloudflare_budget_limit", "Cloudflare API requests allowed per budget window"
        )
        limit.add_metric([], self.settings.cloudflare.budget)
        yield from (budget, limit)
        calls = store.counts(keys.CLOUDFLARE_CALLS)
        if not calls:
            return
        statuses = CounterMetricFamily(
            "relay_cloudflare_responses",
            "Cloudflare API answers by HTTP status (429: rate limited)",
            labels=["status"],
        )
        for field_name, count in sorted(calls.items()):
            if field_name.startswith("status:"):
                statuses.add_metric([field_name.removeprefix("status:")], count)
        yield statuses
        latency = HistogramMetricFamily(
            "relay_cloudflare_request_seconds", "Cloudflare API request latency (workers)"
        )
        buckets = [(str(b), calls.get(f"le:{b}", 0)) for b in CLOUDFLARE_BUCKETS]
        buckets.append(("+Inf", calls.get("count", 0)))
        latency.add_metric([], buckets, calls.get("sum_ms", 0) / 1000)
        yield latency
