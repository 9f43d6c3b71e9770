"""`relay up` from nothing, as the README tells a newcomer: a starter config, an embedded Redis,
a signed curl that is accepted, and the (dry-run) deployment recorded after the debounce."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from relay.cli.embedded_redis import free_port
from tests.helpers.polling import wait_for


def test_relay_up_from_an_empty_directory(tmp_path: Path) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "REDIS_URL",
            "CLOUDFLARE_API_TOKEN",
            "CLOUDFLARE_ACCOUNT_ID",
            "RELAY_CONFIG",
            "RELAY_ADMIN_TOKEN",
        }
    }
    env["PYTHONUNBUFFERED"] = "1"
    # no relay.toml and no Redis configured: `relay up` writes one and embeds its own Redis
    log = (tmp_path / "up.log").open("w")
    up = subprocess.Popen(
        [sys.executable, "-m", "relay", "up", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        output = wait_for(
            lambda: (
                (tmp_path / "up.log").read_text()
                if "curl" in (tmp_path / "up.log").read_text()
                else None
            ),
            timeout=30,
            what="the banner with the curl",
        )
        assert (tmp_path / "relay.toml").exists()
        assert (tmp_path / ".relay" / "port").exists()
        assert "dry-run" in output

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).is_success
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=20, what="the receiver")
        curl = next(line.strip() for line in output.splitlines() if line.strip().startswith("curl"))
        result = subprocess.run(
            [*shlex.split(curl), "-sS"], capture_output=True, text=True, timeout=10
        )
        assert "202 Accepted" in result.stdout
        assert re.search(r'"targets":\["site"\]', result.stdout)

        def recorded() -> list[dict[str, Any]] | None:
            out = subprocess.run(
                [sys.executable, "-m", "relay", "deployments", "--json"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=30,
            )
            rows = json.loads(out.stdout)["deployments"] if out.returncode == 0 else []
            return rows if rows and rows[0]["status"] == "dry-run" else None

        rows = wait_for(recorded, timeout=30, what="the dry-run deployment")
        assert rows[0]["status"] == "dry-run"
        assert rows[0]["deliveries"] == 1
        assert "my-site" in rows[0]["note"]
    finally:
        os.killpg(up.pid, signal.SIGTERM)
        up.wait(timeout=30)
        log.close()
    assert (tmp_path / ".relay" / "appendonlydir").exists() or list(
        (tmp_path / ".relay").glob("appendonly*")
    ), "the embedded Redis keeps its data on disk"
