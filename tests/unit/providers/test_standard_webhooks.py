"""Standard Webhooks / Svix specifics, cross-checked live with the PyPI libraries."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relay.web.providers.standard_webhooks import StandardWebhooks
from tests.helpers.provider_kit import (
    NOW,
    accepts,
    hook,
    make,
    reason,
    replace_header,
    request,
    signed,
)

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def test_svix_headers_are_read_first() -> None:
    provider = make("standard-webhooks", SECRET)
    good = signed(provider)
    svix = {k.replace("webhook-", "svix-"): v for k, v in good.headers.items()}
    result = provider.verify(request(good.body, svix))
    assert result.delivery_id == good.header("webhook-id")
    assert result.event == "page.content_updated"
    broken = {**svix, "webhook-signature": "v1,garbage"}
    assert accepts(provider, request(good.body, broken))
    assert "missing svix-signature" in reason(
        provider, request(good.body, {k: v for k, v in svix.items() if k != "svix-signature"})
    )


def test_signature_lists_and_versions() -> None:
    provider = make("standard-webhooks", SECRET)
    good = signed(provider)
    value = good.header("webhook-signature") or ""
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    assert accepts(provider, replace_header(good, "webhook-signature", f"{other} {value}"))
    assert accepts(provider, replace_header(good, "webhook-signature", f"v1a,abc {value}"))
    text = reason(provider, replace_header(good, "webhook-signature", value.replace("v1,", "v2,")))
    assert "no v1 signature" in text
    assert "does not match" in reason(provider, replace_header(good, "webhook-signature", other))


def test_timestamps() -> None:
    provider = make("standard-webhooks", SECRET)
    good = signed(provider)
    assert "too old" in reason(provider, request(good.body, good.headers, received_at=NOW + 301))
    assert "future" in reason(provider, request(good.body, good.headers, received_at=NOW - 301))
    assert "not a Unix timestamp" in reason(
        provider, replace_header(good, "webhook-timestamp", "17e8")
    )


def test_check_reports_a_secret_that_is_not_base64() -> None:
    assert StandardWebhooks.check(hook("standard-webhooks", SECRET)) == []
    problems = StandardWebhooks.check(hook("standard-webhooks", "whsec_*bad*", name="sw"))
    assert problems == [
        "hooks.sw.secret: not a Standard Webhooks secret (whsec_ followed by base64)"
    ]


@settings(max_examples=30, deadline=None)
@given(
    body=st.binary(min_size=1, max_size=200).filter(lambda b: b.strip() != b""),
    msg_id=st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=30),
)
def test_the_pypi_libraries_accept_what_the_relay_signs(body: bytes, msg_id: str) -> None:
    standardwebhooks = pytest.importorskip("standardwebhooks.webhooks")
    svix = pytest.importorskip("svix.webhooks")
    text = body.decode("utf-8", "replace").encode()
    provider = make("standard-webhooks", SECRET)
    headers = provider.sign(text, path="/", now=NOW)
    ours = headers["webhook-signature"]
    ts = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
    theirs = standardwebhooks.Webhook(SECRET).sign(headers["webhook-id"], ts, text.decode())
    assert ours == theirs
    assert svix.Webhook(SECRET).sign(headers["webhook-id"], ts, text.decode()) == ours
    # and the relay accepts what the library signs for any message id
    signed_by_lib = standardwebhooks.Webhook(SECRET).sign(msg_id, ts, text.decode())
    req = request(
        text,
        {
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(NOW)),
            "webhook-signature": signed_by_lib,
        },
    )
    assert accepts(provider, req)
