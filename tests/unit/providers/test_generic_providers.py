"""The generic providers: hmac-sha256 (hex/base64/prefix), token and basic."""

from __future__ import annotations

import base64

from relay.core.secret import Secret
from relay.web.providers.basic import Basic
from relay.web.providers.hmac_sha256 import HmacSha256
from tests.helpers.provider_kit import (
    BODY,
    accepts,
    hook,
    make,
    reason,
    replace_header,
    request,
    signed,
)


def test_hmac_sha256_needs_its_header_and_has_no_prefix_unless_configured() -> None:
    problems = HmacSha256.check(hook("hmac-sha256", "s", name="h"))
    assert problems and problems[0].startswith("hooks.h.header: provider hmac-sha256 needs")
    bare = make("hmac-sha256", "s", header="X-Signature")
    value = bare.sign(BODY, path="/", now=0)["X-Signature"]
    assert len(value) == 64, "no prefix: the hex digest alone"
    assert accepts(bare, request(BODY, {"X-Signature": value}))


def test_hmac_sha256_githubs_form() -> None:
    provider = make("hmac-sha256", "s", header="X-Hub-Signature-256", prefix="sha256=")
    headers = provider.sign(BODY, path="/", now=0)
    assert headers["X-Hub-Signature-256"].startswith("sha256=")
    assert accepts(provider, request(BODY, headers))
    upper = "sha256=" + headers["X-Hub-Signature-256"][7:].upper()
    assert accepts(provider, request(BODY, {"X-Hub-Signature-256": upper}))  # hex: any case
    assert "does not start with 'sha256='" in reason(
        provider, request(BODY, {"X-Hub-Signature-256": headers["X-Hub-Signature-256"][7:]})
    )


def test_hmac_sha256_base64_without_prefix_and_routing_headers() -> None:
    provider = make(
        "hmac-sha256",
        "s",
        header="X-Sig",
        encoding="base64",
        prefix="",
        id_header="X-Id",
        event_header="X-Event",
    )
    req = request(BODY, {**provider.sign(BODY, path="/", now=0), "X-Id": "d", "X-Event": "e"})
    result = provider.verify(req)
    assert (result.hint_id, result.event) == ("d", "e")
    value = req.header("X-Sig") or ""
    assert base64.b64decode(value)
    assert not accepts(provider, replace_header(req, "X-Sig", value.lower()))


def test_token_header_and_scheme() -> None:
    bearer = make("token", "tok")
    assert accepts(bearer, request(BODY, {"Authorization": "bearer tok"}))
    assert "Bearer scheme" in reason(bearer, request(BODY, {"Authorization": "Basic tok"}))
    assert "does not carry" in reason(bearer, request(BODY, {"Authorization": "Bearer tok2"}))
    plain = make("token", "tok", header="X-Gitlab-Token")
    assert accepts(plain, request(BODY, {"X-Gitlab-Token": "tok"}))
    assert "does not carry" in reason(plain, request(BODY, {"X-Gitlab-Token": "Bearer tok"}))
    custom = make("token", "tok", header="X-Auth", scheme="Token")
    assert accepts(custom, request(BODY, {"X-Auth": "Token tok"}))


def test_basic_user_and_password() -> None:
    provider = Basic(hook("basic", username="dato", password=Secret("pw")))
    assert accepts(provider, signed(provider))

    def auth(pair: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    assert "wrong" in reason(provider, request(BODY, auth("other:pw")))
    assert "wrong" in reason(provider, request(BODY, auth("dato:pw2")))
    assert "wrong" in reason(provider, request(BODY, auth("datopw")))
    assert "not valid base64" in reason(provider, request(BODY, {"Authorization": "Basic %%"}))
    assert "Basic scheme" in reason(provider, request(BODY, {"Authorization": "Bearer x"}))
    problems = Basic.check(hook("basic", name="dato"))
    assert problems == [
        "hooks.dato.username: provider basic needs a username",
        "hooks.dato.password: provider basic needs a password",
    ]
