"""GitLab: the `X-Gitlab-Token` secret token, or the Standard Webhooks signing token.

A hook secret that starts with `whsec_` is a GitLab *signing token*: GitLab then sends
`webhook-id`, `webhook-timestamp` and `webhook-signature` (Standard Webhooks, verified with
`verify_standard`, 5-minute `tolerance`). Any other secret is the classic *secret token*, sent
in clear in `X-Gitlab-Token` and compared in constant time. With both kinds listed (while
moving from one to the other) a request passes with either; a signed request is always held to
its signature. The delivery id is `Idempotency-Key` (GitLab 17.4+), else `X-Gitlab-Event-UUID`;
the event is `X-Gitlab-Event` (`Push Hook` …); a push to `refs/heads/<b>` gives the branch.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import ClassVar

from relay.core.declare import OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.core.settings import HookSettings
from relay.web.providers.base import (
    IncomingRequest,
    Provider,
    Verified,
    matches_any,
    undecodable_secrets,
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


class GitLab(Provider):
    name = "gitlab"
    options: ClassVar[dict[str, OptionSpec]] = {
        "tolerance": tolerance_option(DEFAULT_TOLERANCE),
    }

    def __init__(self, hook: HookSettings) -> None:
        super().__init__(hook)
        signing = [s for s in hook.secrets if s.reveal().startswith(SIGNING_PREFIX)]
        self.keys = [decode_secret(s) for s in signing]
        self.tokens = [s for s in hook.secrets if s not in signing]

    @classmethod
    def check(cls, hook: HookSettings) -> list[str]:
        return undecodable_secrets(
            hook,
            decode_secret,
            "not a GitLab signing token (whsec_ followed by base64)",
            only=lambda secret: secret.reveal().startswith(SIGNING_PREFIX),
        )

    def verify(self, request: IncomingRequest) -> Verified:
        if self.keys and (request.header("webhook-signature") or not self.tokens):
            verify_standard(request, self.keys, seconds(self.option("tolerance")))
        else:
            offered = request.require(TOKEN_HEADER)
            if not matches_any([token.reveal() for token in self.tokens], offered):
                raise WebhookRejected(f"{TOKEN_HEADER} does not carry the hook's secret token")
        event = request.header("X-Gitlab-Event") or None
        branch = None
        if event == "Push Hook":
            branch = branch_of(field(json_body(request.body), "ref"))
        delivery = request.header("Idempotency-Key") or request.header("X-Gitlab-Event-UUID")
        return Verified(delivery_id=delivery or None, event=event, branch=branch)

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
