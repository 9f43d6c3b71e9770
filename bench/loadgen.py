"""An exact-count HTTP/1.1 load generator that runs in its own process.

wrk measures the top rate, but it cannot stop after exactly N requests (a stopped thread may
have sent requests it never counts) and it cannot follow a schedule. This generator sends a
fixed list of requests, each at its planned time (or as soon as a connection is free when it
has none), over `connections` keep-alive connections, and records for every request when it
was planned, sent and answered, and its status. Latency from the planned time includes any
wait for a free connection, so an open-loop run is free of coordinated omission.

Parent side: `run(target, requests, connections)`; child side: `python -m bench.loadgen SPEC OUT`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: how long the child may run beyond the last planned send before it gives up on answers
GRACE = 30.0
#: seconds between the connections being opened and the first planned send
LEAD = 0.3
#: a request that gets no complete answer in this long counts as an error (status 0)
REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float | None = None  # seconds after the start; None: as soon as a connection is free


@dataclass(frozen=True)
class Outcome:
    planned: float  # Unix seconds (for as-soon-as-possible requests: the start)
    sent: float
    done: float
    status: int  # 0: no answer (connection error or timeout)

    @property
    def latency(self) -> float:
        """Seconds from sending to the complete answer (service time)."""
        return self.done - self.sent

    @property
    def latency_planned(self) -> float:
        """Seconds from the planned time to the answer (includes waiting for a connection)."""
        return self.done - self.planned


@dataclass(frozen=True)
class LoadResult:
    started: float
    outcomes: list[Outcome]

    @property
    def duration(self) -> float:
        return max(o.done for o in self.outcomes) - self.started if self.outcomes else 0.0

    def count(self, status: int) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> int:
        return sum(1 for o in self.outcomes if 200 <= o.status < 300)

    @property
    def not_ok(self) -> int:
        return len(self.outcomes) - self.ok


def run(
    host: str, port: int, requests: list[Request], connections: int, timeout: float
) -> LoadResult:
    """Send `requests` to host:port from a child process; bounded by `timeout` seconds."""
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec = {
            "host": host,
            "port": port,
            "connections": connections,
            "requests": [
                {"path": r.path, "headers": r.headers, "body": r.body.decode(), "at": r.at}
                for r in requests
            ],
        }
        spec_path.write_text(json.dumps(spec))
        subprocess.run(
            [sys.executable, "-m", "bench.loadgen", str(spec_path), str(out_path)],
            check=True,
            timeout=timeout,
        )
        doc = json.loads(out_path.read_text())
    return LoadResult(started=doc["started"], outcomes=[Outcome(*row) for row in doc["outcomes"]])


# -- child side ---------------------------------------------------------------------------------


def _wire(host: str, port: int, item: dict[str, Any]) -> bytes:
    body = str(item["body"]).encode()
    lines = [f"POST {item['path']} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in item["headers"].items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip() or b"0", 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def exchange(self, wire: bytes) -> int:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(wire)
        return await _read_answer(self.reader)


async def _main(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], int(spec["port"])
    items = spec["requests"]
    wires = [_wire(host, port, item) for item in items]
    conns = [_Connection(host, port) for _ in range(int(spec["connections"]))]
    await asyncio.gather(*(c.open() for c in conns))
    started = time.time() + LEAD
    planned = [started + (item["at"] if item["at"] is not None else 0.0) for item in items]
    outcomes: list[list[float] | None] = [None] * len(items)
    queue: asyncio.Queue[int] = asyncio.Queue()

    async def dispatch() -> None:
        for index in sorted(range(len(items)), key=planned.__getitem__):
            delay = planned[index] - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            queue.put_nowait(index)

    async def drive(conn: _Connection) -> None:
        while True:
            index = await queue.get()
            sent = time.time()
            try:
                status = await asyncio.wait_for(conn.exchange(wires[index]), REQUEST_TIMEOUT)
            except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
                conn.close()
                status = 0
            outcomes[index] = [planned[index], sent, time.time(), status]
            queue.task_done()

    drivers = [asyncio.create_task(drive(c)) for c in conns]
    await dispatch()
    await queue.join()
    for task in drivers:
        task.cancel()
    for conn in conns:
        conn.close()
    return {"started": started, "outcomes": outcomes}


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    import uvloop

    last = max((r["at"] or 0.0 for r in spec["requests"]), default=0.0)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        result = runner.run(asyncio.wait_for(_main(spec), last + LEAD + GRACE + 30))
    Path(argv[1]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
