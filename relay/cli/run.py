"""`relay up`, `relay serve`, `relay worker`: the long-running processes."""

from __future__ import annotations

import os
from typing import Any

import click
import uvicorn

from relay.cli.options import Options, pass_options, setup_logging
from relay.core.connections import sync_client
from relay.core.settings import Settings
from workers.worker import run_worker


def print_warnings(settings: Settings) -> None:
    for warning in settings.warnings:
        click.secho(f"warning: {warning}", fg="yellow", err=True)


def serve_app(
    settings: Settings, host: str, port: int, *, workers: int = 1, access_log: bool = False
) -> None:
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "proxy_headers": True,
        "server_header": False,
        "access_log": access_log,
    }
    if workers > 1:
        # each uvicorn worker process builds its own app from the same relay.toml
        if settings.path is not None:
            os.environ["RELAY_CONFIG"] = str(settings.path.resolve())
        os.environ["REDIS_URL"] = settings.redis.url.reveal()
        uvicorn.run("relay.web.app:app_from_environment", factory=True, workers=workers, **options)
        return
    from relay.web.app import create_app

    uvicorn.run(create_app(settings), **options)


class WorkerCount(click.ParamType[int]):
    """A number of server processes from 1 to 64, or "auto": one per core this process may use."""

    name = "N|auto"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().lower()
        if text == "auto":
            return max(1, min(64, cores()))
        if text.isdigit() and 1 <= int(text) <= 64:
            return int(text)
        self.fail(f"{value!r} is not a number from 1 to 64, or auto", param, ctx)


def cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@click.command(short_help="Run the receiver, dashboard, API and /metrics.")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, help="port to listen on")
@click.option(
    "--workers",
    default="1",
    show_default=True,
    type=WorkerCount(),
    help="server processes sharing the port; auto: one per core (docs/benchmarks.md)",
)
@click.option("--access-log", is_flag=True, help="log every HTTP request")
@pass_options
def serve(options: Options, host: str, port: int, workers: int, access_log: bool) -> None:
    """Run the HTTP receiver (POST /hooks/NAME), dashboard, JSON API and /metrics.

    Stateless: run as many as you like behind a load balancer; they share Redis. One process
    takes about 10,000 signed webhooks a second on a core (docs/benchmarks.md);
    `--workers auto` runs one per core.
    """
    setup_logging()
    settings = options.settings()
    print_warnings(settings)
    serve_app(settings, host, port, workers=workers, access_log=access_log)


@click.command(short_help="Run a worker: claim bursts, deploy, retry, watch.")
@click.option("--burst", is_flag=True, help="drain what is due now, then exit")
@click.option("--name", default=None, help="worker name shown on the dashboard")
@pass_options
def worker(options: Options, burst: bool, name: str | None) -> None:
    """Run a worker: claims due bursts, triggers Cloudflare, retries and watches builds.

    The claimer loop and the threads that run each deploy attempt and build poll under a
    lease (a worker that dies has its work taken over within [worker] step_lease), plus an RQ
    worker for the prune jobs. Run one or more; each burst becomes exactly one build however
    many run. SIGTERM lets the work in hand finish.
    """

    setup_logging()
    settings = options.settings()
    print_warnings(settings)
    sync_client(settings).ping()
    run_worker(settings, burst=burst, name=name)


COMMANDS = [serve, worker]
