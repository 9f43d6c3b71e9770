"""The receiver and the dashboard as an attacker approaches them, answered by a real server
on loopback (the app under uvicorn, a real Redis). Eleven of these failed against the relay
before the hostile-input fixes; the non-ASCII-digit, no-store and replay-within-window cases
already held and stay as guards."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
import socket
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from relay.core import keys
from relay.core.clock import server_ms
from tests.fakes.cloudflare import FakeCloudflare
from tests.helpers.app_server import ADMIN, BEARER, AppServer, Records, make_settings
from tests.helpers.polling import wait_for
from tests.helpers.processes import Server
from tests.helpers.relay_env import RelayEnv, send, setup, trigger
from tests.helpers.senders import SECRET, WHSEC, github_headers, standard_headers

GITHUB = {"provider": "github", "secret": SECRET, "targets": ["blog"]}
SANITY_SECRET = "sanity-secret-for-tests-1f3a"


def sanity_headers(body: bytes, ts_ms: int, key: str = "idem-1") -> dict[str, str]:
    """As @sanity/webhook signs: unpadded base64url HMAC-SHA256 of "{t}.{body}"."""
    digest = hmac.new(SANITY_SECRET.encode(), f"{ts_ms}.".encode() + body, hashlib.sha256)
    value = base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
    return {"sanity-webhook-signature": f"t={ts_ms},v1={value}", "idempotency-key": key}


@pytest.fixture
def app(redis_url: str) -> Iterator[AppServer]:
    hooks = {
        "gh": {**GITHUB, "filter": {"branches": ["main"]}},
        "woo": {
            "provider": "woocommerce",
            "secret": SECRET,
            "targets": ["blog"],
            "filter": {"events": ["*"]},
        },
        "sanity": {"provider": "sanity", "secret": SANITY_SECRET, "targets": ["blog"]},
        "gitlab": {"provider": "gitlab", "secret": WHSEC, "targets": ["blog"]},
        "plain": {
            "provider": "hmac-sha256",
            "header": "X-Signature",
            "secret": SECRET,
            "targets": ["blog"],
        },
    }
    settings = make_settings(redis_url, hooks=hooks, server={"body_timeout": "1s"})
    with AppServer(settings) as server:
        yield server


def post(app: AppServer, hook: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{app.url}/hooks/{hook}", content=body, headers=headers, timeout=10)


def pending(rclient: redis.Redis) -> bool:
    return bool(rclient.exists(keys.burst("blog")))


def test_woocommerces_unsigned_ping_never_builds(app: AppServer, rclient: redis.Redis) -> None:
    for n in (1, 2, 3):
        answer = post(app, "woo", f"webhook_id={n}".encode(), {})
        assert answer.status_code == 200 and "handshake" in answer.json()["ignored"]
    assert not pending(rclient), "an unsigned ping touched a target"


def test_githubs_unsigned_event_header_cannot_smuggle_a_build(
    app: AppServer, rclient: redis.Redis
) -> None:
    """A captured, signed push to feature-x, replayed without X-GitHub-Event and with a new
    X-GitHub-Delivery, past `branches = ["main"]`; a captured ping relabelled `push`."""
    push = json.dumps({"ref": "refs/heads/feature-x", "commits": []}).encode()
    replayed = {**github_headers(push), "X-GitHub-Delivery": str(uuid.uuid4())}
    answer = post(app, "gh", push, replayed)
    assert answer.status_code == 200 and "ignored" in answer.json()
    ping = b'{"zen":"Design for failure.","hook_id":7}'
    relabelled = {**github_headers(ping), "X-GitHub-Event": "push"}
    answer = post(app, "gh", ping, relabelled)
    assert answer.status_code == 200 and "event is unknown" in answer.json()["ignored"]
    main = json.dumps({"ref": "refs/heads/main", "commits": []}).encode()
    real = post(app, "gh", main, {**github_headers(main), "X-GitHub-Event": "push"})
    assert real.status_code == 202, real.text
    assert pending(rclient)


def test_gitlab_signed_mode_dedupes_on_the_signed_id(app: AppServer) -> None:
    body = b'{"object_kind":"push","ref":"refs/heads/main"}'
    headers = {**standard_headers(body, "msg-signed-1"), "X-Gitlab-Event": "Push Hook"}
    first = post(app, "gitlab", body, {**headers, "Idempotency-Key": "a"})
    again = post(app, "gitlab", body, {**headers, "Idempotency-Key": "b"})
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["duplicate"] is True, "a fresh unsigned key does not make it new"


def test_a_captured_sanity_request_cannot_build_again(app: AppServer, rclient: redis.Redis) -> None:
    body = b'{"_type":"post","_id":"p1"}'
    old = int((time.time() - 86400 * 365) * 1000)
    stale = post(app, "sanity", body, sanity_headers(body, old, key=str(uuid.uuid4())))
    assert stale.status_code == 401 and "too old" in stale.json()["error"]
    now = server_ms(rclient)
    first = post(app, "sanity", body, sanity_headers(body, now, key="k1"))
    replay = post(app, "sanity", body, sanity_headers(body, now, key=str(uuid.uuid4())))
    assert first.status_code == 202
    assert replay.status_code == 200 and replay.json()["duplicate"] is True


def test_the_generic_provider_has_no_prefix_unless_configured(app: AppServer) -> None:
    body = b'{"a":1}'
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert post(app, "plain", body, {"X-Signature": digest}).status_code == 202


@pytest.mark.parametrize(
    ("hook", "headers"),
    [
        ("gitlab", {"webhook-id": "m", "webhook-timestamp": "\u00b2", "webhook-signature": "v1,x"}),
        ("sanity", {"sanity-webhook-signature": "t=\u00b2\u00b3,v1=abc"}),
        ("gh", {"X-Hub-Signature-256": "sha256=\u0661" * 8}),
        ("cms", {"Content-Length": "\u00b2", "X-Hub-Signature-256": "sha256=" + "0" * 64}),
    ],
)
def test_non_ascii_digits_are_refused_never_a_500(
    app: AppServer, hook: str, headers: dict[str, str]
) -> None:
    encoded = [(k.encode(), v.encode("utf-8")) for k, v in headers.items()]
    answer = raw_post(app, f"/hooks/{hook}", b"{}", encoded)
    assert 400 <= answer < 500


def raw_post(app: AppServer, path: str, body: bytes, headers: list[tuple[bytes, bytes]]) -> int:
    """POST with headers exactly as given (bytes outside latin-1, a wrong Content-Length)."""
    host, port = app.url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1".encode(), f"Host: {host}".encode()]
    if not any(name.lower() == b"content-length" for name, _ in headers):
        lines.append(f"Content-Length: {len(body)}".encode())
    lines += [name + b": " + value for name, value in headers]
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    return int(status.split()[1])


def test_query_numbers_in_other_scripts_are_a_400_or_ignored(app: AppServer) -> None:
    with app.client(headers=BEARER) as client:
        for query in ("limit=\u00b2", "limit=\u0661\u0660", "offset=\u00b2"):
            answer = client.get(f"/api/deployments?{query}")
            assert answer.status_code == 400, (query, answer.text)
        assert client.get("/deployments?page=\u00b2").status_code == 200


def test_sign_in_reads_no_big_body_before_the_token(app: AppServer) -> None:
    big = b"token=" + b"x" * (60 * 1024 * 1024)
    with app.client() as client:
        answer = client.post(
            "/login", content=big, headers={"content-type": "application/x-www-form-urlencoded"}
        )
        assert answer.status_code == 413
        files = {"token": ("token.txt", b"x" * 1000, "text/plain")}
        assert client.post("/login", files=files).status_code in {400, 413}


def test_a_body_trickled_byte_by_byte_gets_408(app: AppServer) -> None:
    host, port = app.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"POST /hooks/cms HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\n".encode()
        )
        sock.sendall(b"{")  # then nothing: a slowloris sender
        status = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status.split()[1] == b"408"


def test_wrong_admin_tokens_are_slowed_down_with_429(app: AppServer) -> None:
    with app.client() as client:
        codes = [
            client.get("/api/targets", headers={"Authorization": f"Bearer wrong-{n}"}).status_code
            for n in range(11)
        ]
        assert codes[:10] == [401] * 10 and codes[10] == 429
        locked = client.get("/api/targets", headers=BEARER)
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        form = client.post("/login", data={"token": "also-wrong"})
        assert form.status_code == 429


def test_signing_out_ends_the_session_on_the_server(app: AppServer) -> None:
    with app.client() as client:
        signed_in = client.post("/login", data={"token": ADMIN})
        assert signed_in.status_code == 303
        cookie = client.cookies.get("relay_session")
        assert cookie and client.get("/api/targets").status_code == 200
        page = client.get("/logout")
        csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    with app.client(cookies={"relay_session": cookie}) as stolen:
        assert stolen.get("/api/targets").status_code == 401, "the old cookie still works"


def test_every_authenticated_answer_is_no_store(app: AppServer) -> None:
    with app.client(headers=BEARER) as client:
        for path in ("/api/targets", "/api/deliveries", "/api/deployments", "/api/queues", "/"):
            assert client.get(path).headers["cache-control"] == "no-store", path


def test_a_javascript_url_from_cloudflare_is_never_a_link(
    app: AppServer, rclient: redis.Redis
) -> None:
    records = Records(rclient, app.settings)
    records.succeed("blog", url="javascript:alert(document.cookie)")
    with app.client(headers={**BEARER, "accept": "text/html"}) as client:
        page = client.get("/").text + client.get("/deployments").text
    assert "javascript:" not in page


def _config_problems(redis_url: str, **pieces: Any) -> list[str]:
    from relay.core.config import parse_settings
    from relay.core.exceptions import ConfigError
    from relay.web.providers.registry import PROVIDERS

    raw = {"redis": {"url": redis_url}, "targets": {"blog": {"project": "blog"}}, **pieces}
    try:
        parse_settings(raw, {"EMPTY": ""}, schemes=PROVIDERS)
    except ConfigError as exc:
        return exc.problems
    return []


def test_weak_secrets_and_plain_http_are_config_errors(redis_url: str) -> None:
    hook = {"provider": "standard-webhooks", "targets": ["blog"]}
    empty = _config_problems(redis_url, hooks={"h": {**hook, "secret": "whsec_${EMPTY}"}})
    assert empty == ["hooks.h.secret: decodes to a 0-byte key; a Standard Webhooks secret "
                     "(whsec_ followed by base64) needs 24 to 64 bytes"]  # fmt: skip
    short = "whsec_" + base64.b64encode(b"k" * 8).decode()
    assert "8-byte key" in _config_problems(redis_url, hooks={"h": {**hook, "secret": short}})[0]
    blank = {"provider": "github", "secret": " ", "targets": ["blog"]}
    assert _config_problems(redis_url, hooks={"g": blank}) == ["hooks.g.secret: is blank"]
    assert "at least 16" in _config_problems(redis_url, admin={"token": "short"})[0]
    hook_target = {"blog": {"deploy_hook": "http://api.example.com/hook/x"}}
    problems = _config_problems(redis_url, targets=hook_target)
    assert problems == [
        "targets.blog.deploy_hook: must be an https:// URL "
        "(http:// only for 127.0.0.1 or localhost)"
    ]
    assert "x/hook" not in " ".join(problems)
    cloudflare = {"api_base": "http://api.example.com/client/v4"}
    assert "https://" in _config_problems(redis_url, cloudflare=cloudflare)[0]


def test_a_captured_request_replayed_later_is_not_stored_twice(
    app: AppServer, rclient: redis.Redis
) -> None:
    """What a replay leaves behind: one delivery accepted, the replays recorded as duplicates."""
    body = b'{"_type":"post","_id":"p2"}'
    headers = sanity_headers(body, server_ms(rclient), key="k2")
    answers = [post(app, "sanity", body, headers).status_code for _ in range(3)]
    assert answers == [202, 200, 200]
    wait_for(lambda: rclient.xlen(keys.DELIVERIES) >= 3, timeout=5, what="the records")


class _Touch:
    """Unpickling this creates a file: what a planted RQ job would do to a pickling worker."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def test_a_pickled_job_planted_in_redis_runs_no_code_in_the_worker(
    relay_env: RelayEnv, fake_api: FakeCloudflare, rclient: redis.Redis, tmp_path: Path
) -> None:
    """Someone who can write to Redis plants an RQ job whose payload is a pickle. The worker
    reads jobs as JSON, so it fails the job and keeps working; nothing is unpickled."""
    marker = tmp_path / "pwned"
    payload = zlib.compress(pickle.dumps((_Touch(str(marker)), (), {})))
    job = f"rq:job:{uuid.uuid4()}"
    rclient.hset(job, mapping={"data": payload, "status": "queued", "origin": keys.QUEUE})
    rclient.hset(job, mapping={"created_at": "2026-01-01T00:00:00.000000Z", "timeout": "60"})
    rclient.rpush(f"rq:queue:{keys.QUEUE}", job.removeprefix("rq:job:"))
    rclient.sadd("rq:queues", f"rq:queue:{keys.QUEUE}")
    fake_api.add_project("blog")
    setup(relay_env)
    wait_for(lambda: rclient.llen(f"rq:queue:{keys.QUEUE}") == 0, timeout=20, what="the job taken")
    server, worker = relay_env.processes
    assert isinstance(server, Server)
    assert send(server.url, "cms", b'{"after":1}').status_code == 202
    trigger(relay_env, "success")
    assert not marker.exists(), "the planted pickle ran"
    assert worker.process is not None and worker.process.poll() is None
