"""A sandbox: serve the fake until Ctrl-C (or SIGTERM).

    python -m tests.fakes.cloudflare --port 8788 --project blog --hook blog:main --worker my-app

prints the base URL, the token, the account id, every deploy hook URL and each Worker's tag.
Each `--worker NAME[:PROD_BRANCH]` also gets a deploy hook on its production branch; add more
with `--worker-hook NAME:BRANCH`.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from .envelope import CONTROL_PREFIX
from .pages_objects import OUTCOMES
from .server import DEFAULT_ACCOUNT_ID, DEFAULT_TOKEN, FakeCloudflare
from .workers_objects import OUTCOMES as WORKER_OUTCOMES


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.cloudflare",
        description="Serve a fake Cloudflare Pages + Workers Builds API until Ctrl-C.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8788)
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--project", action="append", default=[], metavar="NAME[:PROD_BRANCH]")
    parser.add_argument("--hook", action="append", default=[], metavar="PROJECT:BRANCH")
    parser.add_argument("--build-duration", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--build-outcome", choices=OUTCOMES, default="success")
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--worker", action="append", default=[], metavar="NAME[:PROD_BRANCH]")
    parser.add_argument("--worker-hook", action="append", default=[], metavar="WORKER:BRANCH")
    parser.add_argument("--worker-build-duration", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--worker-build-outcome", choices=WORKER_OUTCOMES, default="success")
    parser.add_argument("--worker-concurrency", type=int, default=None)
    args = parser.parse_args(argv)
    for spec in [*args.hook, *args.worker_hook]:
        if ":" not in spec:
            parser.error(f"hooks want NAME:BRANCH, got {spec!r}")
    return args


def set_up(api: FakeCloudflare, args: argparse.Namespace) -> list[str]:
    """Create what the arguments ask for; returns the lines to print about it."""
    lines = []
    projects: set[str] = set()
    for spec in args.project:
        name, _, branch = spec.partition(":")
        api.add_project(name, production_branch=branch or "main")
        projects.add(name)
    for spec in args.hook:
        project, _, branch = spec.partition(":")
        if project not in projects:
            api.add_project(project)
            projects.add(project)
        lines.append(f"deploy hook {spec}: {api.add_deploy_hook(project, branch)}")
    default_hooks = []
    workers: set[str] = set()
    for spec in args.worker:
        name, _, branch = spec.partition(":")
        tag = api.add_worker(name, production_branch=branch or "main")
        workers.add(name)
        lines.append(f"worker {name}: tag {tag}")
        default_hooks.append(f"{name}:{branch or 'main'}")
    for spec in [*default_hooks, *args.worker_hook]:
        name, _, branch = spec.partition(":")
        if name not in workers:
            lines.append(f"worker {name}: tag {api.add_worker(name)}")
            workers.add(name)
        lines.append(f"worker deploy hook {spec}: {api.add_worker_deploy_hook(name, branch)}")
    api.set_build(duration=args.build_duration, outcome=args.build_outcome)
    api.set_worker_build(duration=args.worker_build_duration, outcome=args.worker_build_outcome)
    if args.concurrency is not None:
        api.set_concurrency(args.concurrency)
    if args.worker_concurrency is not None:
        api.set_worker_concurrency(args.worker_concurrency)
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)  # `kill` stops it as cleanly as Ctrl-C
    with FakeCloudflare(
        account_id=args.account_id, token=args.token, host=args.host, port=args.port
    ) as api:
        lines = set_up(api, args)
        print(f"CLOUDFLARE_API_BASE={api.base_url}")
        print(f"CLOUDFLARE_API_TOKEN={api.token}")
        print(f"CLOUDFLARE_ACCOUNT_ID={api.account_id}")
        for line in lines:
            print(line)
        print(f"control API: {api.root_url}{CONTROL_PREFIX}/info  (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopping")
    return 0


if __name__ == "__main__":
    sys.exit(main())
