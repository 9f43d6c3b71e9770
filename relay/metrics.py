"""Prometheus metrics of this process (GET /metrics adds the ones read from Redis)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

DELIVERIES = Counter(
    "relay_deliveries",
    "Webhook deliveries answered by this process, by hook and outcome",
    ["hook", "outcome"],
    registry=REGISTRY,
)
INGEST_SECONDS = Histogram(
    "relay_ingest_seconds",
    "Time from reading a webhook request to answering it (verified and stored)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0),
    registry=REGISTRY,
)
