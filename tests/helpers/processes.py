"""The relay's real processes, started the way users start them (`relay serve`, `relay worker`)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from relay.cli.embedded_redis import free_port
from tests.helpers.polling import wait_for


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children first found, depth-first)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in parents.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


class RelayProcess:
    """`relay <args>` as a subprocess with its own environment and a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RelayProcess:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "relay", *self.args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out.close()
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def signal(self, sig: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, sig)

    def kill_group(self) -> None:
        """SIGKILL the process and everything it started, as a container kill would: an RQ
        work horse puts itself in its own process group, so it is found through /proc."""
        assert self.process is not None
        for pid in [*descendants(self.process.pid), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill_group()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Server(RelayProcess):
    """`relay serve` on a free port, ready when /healthz answers."""

    def __init__(self, config: Path, env: dict[str, str], log: Path, port: int | None = None):
        self.port = port or free_port()
        super().__init__(["--config", str(config), "serve", "--port", str(self.port)], env, log)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        super().start()

        def healthy() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"relay serve exited:\n{self.output()}")
            try:
                return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(healthy, timeout=20, what="relay serve to answer /healthz")
        return self

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, timeout=10, **kwargs)
