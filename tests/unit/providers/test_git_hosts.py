"""GitHub and GitLab specifics: events, branches, delivery ids, GitLab's two secret kinds."""

from __future__ import annotations

import base64

from relay.web.providers.base import IncomingRequest
from relay.web.providers.github import GitHub
from relay.web.providers.gitlab import GitLab
from tests.helpers.provider_kit import (
    NOW,
    accepts,
    at,
    hook,
    make,
    reason,
    replace_header,
    request,
    signed,
)

PUSH = b'{"ref":"refs/heads/feature/x","after":"abc","commits":[]}'
TAG = b'{"ref":"refs/tags/v1.0"}'
#: GitLab's bodies name their kind (`object_kind`), inside what a signing token signs
GL_PUSH = b'{"object_kind":"push","ref":"refs/heads/feature/x","after":"abc","commits":[]}'
GL_TAG = b'{"object_kind":"tag_push","ref":"refs/tags/v1.0"}'
SIGNING = "whsec_" + base64.b64encode(b"s" * 32).decode()


def test_github_push_gives_the_branch_and_delivery_id() -> None:
    provider = make("github", "gh")
    req = replace_header(signed(provider, PUSH), "X-GitHub-Delivery", "guid-1")
    result = provider.verify(req)
    assert (result.event, result.branch, result.hint_id) == ("push", "feature/x", "guid-1")
    assert provider.verify(signed(provider, TAG)).branch is None
    other = replace_header(signed(provider, PUSH), "X-GitHub-Event", "ping")
    assert (provider.verify(other).event, provider.verify(other).branch) == ("ping", "feature/x")
    assert GitHub.default_events == ("push",)


def test_github_believes_push_only_where_the_signed_body_is_a_push() -> None:
    """X-GitHub-Event is not signed: a captured ping (or any non-push body) relabelled `push`
    is an unknown event, which the default filter does not build."""
    provider = make("github", "gh")
    ping = b'{"zen":"Keep it logically awesome.","hook_id":1}'
    relabelled = replace_header(signed(provider, ping), "X-GitHub-Event", "push")
    assert provider.verify(relabelled).event is None
    missing = signed(provider, PUSH)
    missing = IncomingRequest(
        missing.method,
        missing.path,
        {k: v for k, v in missing.headers.items() if k != "x-github-event"},
        missing.body,
        missing.received_at,
    )
    assert provider.verify(missing).event is None


def test_gitlab_takes_the_event_from_the_signed_body_and_refuses_a_contradiction() -> None:
    provider = make("gitlab", SIGNING)
    push = b'{"object_kind":"push","ref":"refs/heads/main"}'
    result = provider.verify(signed(provider, push))
    assert (result.event, result.branch) == ("Push Hook", "main")
    assert result.delivery_id is not None and result.hint_id is None, "the signed webhook-id"
    relabelled = replace_header(
        signed(provider, b'{"object_kind":"note"}'), "X-Gitlab-Event", "Push Hook"
    )
    assert provider.verify(relabelled).event is None
    for header in ("System Hook", "Push Hook"):  # instance-wide system hooks say so
        req = replace_header(signed(provider, push), "X-Gitlab-Event", header)
        assert provider.verify(req).event == "Push Hook", header
    confidential = replace_header(
        signed(provider, b'{"object_kind":"issue"}'), "X-Gitlab-Event", "Confidential Issue Hook"
    )
    assert provider.verify(confidential).event == "Issue Hook"
    for body in (b'{"ref":"refs/heads/main"}', b'{"object_kind":"brand_new_kind"}'):
        unknown = replace_header(signed(provider, body), "X-Gitlab-Event", "Push Hook")
        assert provider.verify(unknown).event is None, "no known kind in the body: no event"


def test_github_compares_the_header_exactly_like_octokit() -> None:
    provider = make("github", "gh")
    good = signed(provider)
    value = good.header("X-Hub-Signature-256") or ""
    assert not accepts(
        provider,
        replace_header(good, "X-Hub-Signature-256", value.upper().replace("SHA256=", "sha256=")),
    )
    for garbled in (value[7:], "sha1=" + value[7:], value + "0", "sha256=" + "g" * 64):
        assert reason(provider, replace_header(good, "X-Hub-Signature-256", garbled)).startswith(
            "malformed X-Hub-Signature-256"
        )


def test_github_explains_a_legacy_sha1_only_request() -> None:
    provider = make("github", "gh")
    req = request(PUSH, {"X-Hub-Signature": "sha1=" + "0" * 40})
    assert "legacy SHA-1" in reason(provider, req)


def test_gitlab_token_routing() -> None:
    provider = make("gitlab", "tok")
    req = replace_header(signed(provider, GL_PUSH), "Idempotency-Key", None)
    result = provider.verify(replace_header(req, "X-Gitlab-Event-UUID", "uuid-1"))
    assert (result.event, result.branch, result.hint_id) == ("Push Hook", "feature/x", "uuid-1")
    keyed = provider.verify(replace_header(signed(provider, GL_PUSH), "Idempotency-Key", "idem"))
    assert keyed.hint_id == "idem"
    tag = replace_header(signed(provider, GL_TAG), "X-Gitlab-Event", "Tag Push Hook")
    assert provider.verify(tag).branch is None
    assert GitLab.default_events is None


def test_gitlab_signing_token_uses_standard_webhooks_and_its_tolerance() -> None:
    provider = make("gitlab", SIGNING)
    req = signed(provider, GL_PUSH)
    assert "x-gitlab-token" not in req.headers
    assert req.header("webhook-id") == req.header("Idempotency-Key")
    result = provider.verify(req)
    assert (result.event, result.branch) == ("Push Hook", "feature/x")
    assert "too old" in reason(provider, at(req, NOW + 301))
    assert accepts(make("gitlab", SIGNING, tolerance=600.0), at(req, NOW + 301))
    # a signing-token hook does not fall back to the clear token
    token_only = request(PUSH, {"X-Gitlab-Token": SIGNING, "X-Gitlab-Event": "Push Hook"})
    assert reason(provider, token_only).startswith("missing webhook-")


def test_gitlab_with_both_kinds_accepts_either_but_holds_signed_requests_to_the_signature() -> None:
    both = make("gitlab", "tok", SIGNING)
    assert accepts(both, signed(make("gitlab", "tok"), PUSH))
    assert accepts(both, signed(make("gitlab", SIGNING), PUSH))
    forged = replace_header(
        signed(make("gitlab", SIGNING), PUSH),
        "webhook-signature",
        "v1," + base64.b64encode(b"x" * 32).decode(),
    )
    forged = replace_header(forged, "X-Gitlab-Token", "tok")
    assert "does not match" in reason(both, forged)


def test_gitlab_check_reports_a_bad_signing_token() -> None:
    assert GitLab.check(hook("gitlab", "plain token", SIGNING)) == []
    problems = GitLab.check(hook("gitlab", "whsec_!!notbase64", name="gl"))
    assert problems == ["hooks.gl.secret: not a GitLab signing token (whsec_ followed by base64)"]
