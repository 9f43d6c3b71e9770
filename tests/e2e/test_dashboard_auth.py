"""Who gets in: the admin token as Bearer or through the sign-in form's session cookie; CSRF
on every state-changing request; and nothing at all without a configured admin token."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from relay.web.access import COOKIE
from tests.helpers.app_server import ADMIN, BEARER, AppServer, make_settings


@pytest.fixture
def app(redis_url: str) -> Iterator[AppServer]:
    with AppServer(make_settings(redis_url)) as server:
        yield server


def sign_in(app: AppServer, token: str = ADMIN) -> httpx.Client:
    client = app.client()
    answer = client.post("/login?next=/", data={"token": token})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client) -> str:
    page = client.get("/")
    assert page.status_code == 200
    marker = 'name="csrf-token" content="'
    start = page.text.index(marker) + len(marker)
    return page.text[start : page.text.index('"', start)]


def test_without_credentials_a_browser_is_sent_to_sign_in(app: AppServer) -> None:
    with app.client() as client:
        page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2F"
        script = client.get("/")
        assert script.status_code == 401
        assert script.headers["www-authenticate"].startswith("Bearer")
        form = client.get("/login")
        assert form.status_code == 200 and 'name="token"' in form.text


def test_bearer_token(app: AppServer) -> None:
    with app.client() as client:
        assert client.get("/", headers=BEARER).status_code == 200
        assert client.get("/api/targets", headers=BEARER).status_code == 200
        wrong = client.get("/api/targets", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "error" in wrong.json()
        assert client.get("/api/targets").status_code == 401


def test_sign_in_sets_a_strict_http_only_cookie_that_is_not_the_token(app: AppServer) -> None:
    with app.client() as client:
        answer = client.post("/login?next=/deployments", data={"token": ADMIN})
        assert answer.status_code == 303 and answer.headers["location"] == "/deployments"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
        assert ADMIN not in cookie
        assert client.get("/").status_code == 200
        assert client.get("/api/targets").status_code == 200


def test_wrong_token_on_the_form_is_401_and_sets_nothing(app: AppServer) -> None:
    with app.client() as client:
        answer = client.post("/login", data={"token": "guess"})
        assert answer.status_code == 401
        assert "not the admin token" in answer.text
        assert "set-cookie" not in answer.headers


def test_sign_in_never_redirects_off_site(app: AppServer) -> None:
    with app.client() as client:
        for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            answer = client.post("/login", params={"next": target}, data={"token": ADMIN})
            assert answer.headers["location"] == "/"


def test_forged_or_expired_cookies_are_refused(app: AppServer) -> None:
    with app.client() as client:
        client.cookies.set(COOKIE, "abc.123.deadbeef")
        assert client.get("/api/targets").status_code == 401
        client.cookies.set(COOKIE, ADMIN)
        assert client.get("/api/targets").status_code == 401


def test_rotating_the_token_signs_everyone_out(redis_url: str) -> None:
    with AppServer(make_settings(redis_url, admin="first-admin-token-0123")) as before:
        client = sign_in(before, "first-admin-token-0123")
        cookie = client.cookies[COOKIE]
        assert client.get("/api/targets").status_code == 200
    second = make_settings(redis_url, admin="second-admin-token-0123")
    with AppServer(second) as after, after.client() as c:
        c.cookies.set(COOKIE, cookie)
        assert c.get("/api/targets").status_code == 401


def test_sign_out(app: AppServer) -> None:
    client = sign_in(app)
    token = csrf_of(client)
    assert client.get("/logout").status_code == 200  # a confirmation form
    refused = client.post("/logout", data={"csrf": "wrong"})
    assert refused.status_code == 403
    answer = client.post("/logout", data={"csrf": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/login"
    assert COOKIE not in client.cookies or not client.cookies[COOKIE]
    assert client.get("/api/targets").status_code == 401
    client.close()


def test_posts_with_a_session_need_the_csrf_token(app: AppServer) -> None:
    client = sign_in(app)
    token = csrf_of(client)
    form = {"target": "blog", "now": "1"}
    assert client.post("/actions/deploy", data=form).status_code == 403
    assert client.post("/actions/deploy", data={**form, "csrf": "0" * 64}).status_code == 403
    assert client.post("/api/targets/blog/deploy", json={}).status_code == 403
    other_site = {"Origin": "https://evil.example"}
    forged = client.post("/actions/deploy", data={**form, "csrf": token}, headers=other_site)
    assert forged.status_code == 403
    done = client.post("/actions/deploy", data={**form, "csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/?done=deploy-now"
    api = client.post("/api/targets/blog/deploy", json={}, headers={"X-CSRF-Token": token})
    assert api.status_code == 202
    client.close()


def test_bearer_posts_need_no_csrf_token(app: AppServer) -> None:
    with app.client() as client:
        answer = client.post("/api/targets/blog/deploy", json={"now": True}, headers=BEARER)
        assert answer.status_code == 202


def test_no_admin_token_configured_disables_dashboard_and_api(redis_url: str) -> None:
    with AppServer(make_settings(redis_url, admin=None)) as app, app.client() as client:
        page = client.get("/", headers={"Accept": "text/html"})
        assert page.status_code == 403
        assert "RELAY_ADMIN_TOKEN" in page.text and "disabled" in page.text
        login = client.post("/login", data={"token": ""}, headers={"Accept": "text/html"})
        assert login.status_code == 403
        api = client.get("/api/targets", headers={"Authorization": "Bearer anything"})
        assert api.status_code == 401 and "no admin token" in api.json()["error"]
        assert client.post("/api/replay", json={"all": True}).status_code == 401
        assert client.get("/metrics").status_code == 200
        assert client.get("/healthz").status_code == 200


def test_pages_carry_security_headers(app: AppServer) -> None:
    with app.client() as client:
        page = client.get("/", headers=BEARER)
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
