"""GitLab: the `X-Gitlab-Token` secret token, or the Standard Webhooks signing token.

A hook secret that starts with `whsec_` is a GitLab *signing token*: GitLab then sends
`webhook-id`, `webhook-timestamp` and `webhook-signature` (Standard Webhooks, verified with
`verify_standard`, 5-minute `tolerance`). Any other secret is the classic *secret token*, sent
in clear in `X-Gitlab-Token` and compared in constant time. With both kinds listed (while
moving from one to the other) a request passes with either; a signed request is always held to
its signature. With a signing token `webhook-id` is the (signed) delivery id; otherwise
`Idempotency-Key` (GitLab 17.4+), else `X-Gitlab-Event-UUID`, is a hint. The event is named as
`X-Gitlab-Event` names it (`Push Hook` …) but read from the body's `object_kind`; a header that
contradicts the body, or a body of a kind the relay does not know, gives no event (filters on
events then ignore it). A push to `refs/heads/<b>` gives the branch.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import ClassVar

from relay.core.build_settings import HookSettings
from relay.core.declare import OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.core.secret import Secret
from relay.web.providers.base import (
    IncomingRequest,
    KeyScheme,
    Provider,
    Verified,
    matches_any,
)
from relay.web.providers.payload import branch_of, field, json_body
from relay.web.providers.standard_webhooks import (
    DEFAULT_TOLERANCE,
    decode_secret,
    signature,
    verify_standard,
)
from relay.web.providers.timestamps import seconds, tolerance_option

TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105 (a header name, not a secret)
SIGNING_PREFIX = "whsec_"


#: the body's `object_kind` (inside what the signature covers) -> the X-Gitlab-Event name
OBJECT_KINDS = {
    "push": "Push Hook",
    "tag_push": "Tag Push Hook",
    "merge_request": "Merge Request Hook",
    "note": "Note Hook",
    "issue": "Issue Hook",
    "pipeline": "Pipeline Hook",
    "build": "Job Hook",
    "deployment": "Deployment Hook",
    "release": "Release Hook",
    "wiki_page": "Wiki Page Hook",
    "feature_flag": "Feature Flag Hook",
    "emoji": "Emoji Hook",
    "milestone": "Milestone Hook",
}
#: headers that go with a kind besides its own name: confidential issues and notes, and
#: instance-wide system hooks (which send project events as `System Hook`)
ALSO_SENT_AS = {
    "issue": {"Confidential Issue Hook"},
    "note": {"Confidential Note Hook"},
}
SYSTEM_HOOK = "System Hook"


def _event_and_branch(request: IncomingRequest) -> tuple[str | None, str | None]:
    """The event, from the body's `object_kind` (signed) where it has one, and refused when the
    unsigned X-Gitlab-Event header says otherwise; the branch of a push, from the body."""
    doc = json_body(request.body)
    header = request.header("X-Gitlab-Event") or None
    kind = field(doc, "object_kind")
    event = OBJECT_KINDS.get(kind) if kind else None
    allowed = {event, SYSTEM_HOOK, *ALSO_SENT_AS.get(kind or "", ())}
    if header and event and header not in allowed:
        event = None  # the header and the signed body disagree: believe neither
    branch = branch_of(field(doc, "ref")) if event == "Push Hook" else None
    return event, branch


def is_signing_token(secret: Secret) -> bool:
    return secret.reveal().startswith(SIGNING_PREFIX)


class GitLab(Provider):
    name = "gitlab"
    options: ClassVar[dict[str, OptionSpec]] = {
        "tolerance": tolerance_option(DEFAULT_TOLERANCE),
    }

    key_scheme = KeyScheme(
        decode_secret,
        "a GitLab signing token (whsec_ followed by base64)",
        24,
        64,
        applies=is_signing_token,
    )

    def __init__(self, hook: HookSettings) -> None:
        super().__init__(hook)
        self.tokens = [s for s in hook.secrets if not is_signing_token(s)]

    def verify(self, request: IncomingRequest) -> Verified:
        signed: Verified | None = None
        if self.keys and (request.header("webhook-signature") or not self.tokens):
            signed = verify_standard(request, self.keys, seconds(self.option("tolerance")))
        else:
            offered = request.require(TOKEN_HEADER)
            if not matches_any([token.reveal() for token in self.tokens], offered):
                raise WebhookRejected(f"{TOKEN_HEADER} does not carry the hook's secret token")
        event, branch = _event_and_branch(request)
        if signed is not None:  # the signed webhook-id, never the unsigned Idempotency-Key
            return Verified(delivery_id=signed.delivery_id, event=event, branch=branch)
        hint = request.header("Idempotency-Key") or request.header("X-Gitlab-Event-UUID")
        return Verified(hint_id=hint or None, event=event, branch=branch)

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        delivery = str(uuid.UUID(bytes=hashlib.sha256(body + str(now).encode()).digest()[:16]))
        headers = {
            "X-Gitlab-Event": "Push Hook",
            "X-Gitlab-Event-UUID": delivery,
            "Idempotency-Key": delivery,
            "content-type": "application/json",
        }
        first = self.secrets[0]
        if first.reveal().startswith(SIGNING_PREFIX):
            timestamp = str(int(now))
            value = signature(decode_secret(first), delivery, timestamp, body)
            headers |= {
                "webhook-id": delivery,
                "webhook-timestamp": timestamp,
                "webhook-signature": f"v1,{value}",
            }
        else:
            headers[TOKEN_HEADER] = first.reveal()
        return headers
