"""A real HTTP endpoint on loopback that records what is posted to it (a Slack stand-in).

`received` holds each JSON body parsed (as before); `requests` holds each request whole: its
path, headers (lower-cased names), raw body and arrival time (`time.monotonic()`). Answers can
be programmed (`Capture(answers=[500, 200])` or `capture.answer(Answer(429, {"Retry-After":
"7"}))`): each request takes the next one, then 200 "ok" once they are used up. An answer with
a `delay` holds the response back that long, one with a `hold` until the test sets that event
(for a client's timeout, or to show two requests in flight at once); leaving the `with` block
releases every held response at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Answer:
    """What the catcher answers one request."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    body: bytes = b"ok"
    #: answer only once this is set (or the catcher closes): a test decides when, no clock
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Request:
    """One request as it arrived."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    at: float  # time.monotonic() when it arrived
    answered: int  # the status it was answered (or was to be answered, when delayed)

    def json(self) -> Any:
        return json.loads(self.body)


class Capture:
    def __init__(self, answers: Iterable[Answer | int] = ()) -> None:
        self.received: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self._answers: list[Answer] = []
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self.answer(*answers)
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with capture._lock:
                    reply = capture._answers.pop(0) if capture._answers else Answer()
                    capture.requests.append(
                        Request(
                            method="POST",
                            path=self.path,
                            headers={k.lower(): v for k, v in self.headers.items()},
                            body=body,
                            at=arrived,
                            answered=reply.status,
                        )
                    )
                    try:
                        capture.received.append(json.loads(body or b"{}"))
                    except ValueError:
                        capture.received.append({})
                if reply.delay:
                    capture._closing.wait(reply.delay)
                if reply.hold is not None:
                    while not (reply.hold.is_set() or capture._closing.is_set()):
                        reply.hold.wait(0.05)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up waiting (a timeout test): nothing to answer

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/notify"

    def answer(self, *answers: Answer | int) -> None:
        """Queue answers for the next requests (a bare int is that status, no delay)."""
        with self._lock:
            self._answers.extend(a if isinstance(a, Answer) else Answer(a) for a in answers)

    def texts(self) -> list[str]:
        """Each message as one searchable text, whatever its format (Slack's `text` and
        blocks, Discord's embeds, the generic document's `data`)."""
        return [json.dumps(item, ensure_ascii=False) for item in self.received]

    def __enter__(self) -> Capture:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing.set()
        self.server.shutdown()
        self.server.server_close()
