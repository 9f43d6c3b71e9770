"""Baseline (b): the stack's ceiling. A bare Starlette app that reads the body and answers 202
with a small JSON document, run by uvicorn with exactly the options `relay serve` uses.

    python -m bench.bare --port P --workers N
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def hook(request: Request) -> Response:
    await request.body()
    return JSONResponse({"delivery": "0-0", "targets": ["site"]}, status_code=202)


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


def create_app() -> Starlette:
    return Starlette(
        routes=[Route("/hooks/{hook}", hook, methods=["POST"]), Route("/healthz", healthz)]
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    # the same options as relay.cli.run._serve
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": args.port,
        "log_level": "info",
        "proxy_headers": True,
        "server_header": False,
        "access_log": False,
    }
    if args.workers > 1:
        uvicorn.run("bench.bare:create_app", factory=True, workers=args.workers, **options)
    else:
        uvicorn.run(create_app(), **options)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
