"""GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.

As `@octokit/webhooks-methods` `verify`: the secret as UTF-8, the whole header compared (so the
hex is lowercase). The legacy SHA-1 `X-Hub-Signature` is not accepted. Only the body is signed:
`X-GitHub-Delivery` is a hint (it recognises GitHub's redeliveries), and `X-GitHub-Event` is
believed as `push` only when the signed body is a push (`ref` and a `commits` list); the branch
is the body's `ref`. By default only `push` events build (GitHub sends a `ping` when a webhook
is created).
"""

from __future__ import annotations

import hashlib
import re
import uuid

from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.hmac_sha256 import digest
from relay.web.providers.payload import branch_of, field, json_body

HEADER = "X-Hub-Signature-256"
LEGACY_HEADER = "X-Hub-Signature"
_FORMAT = re.compile(r"sha256=[0-9a-fA-F]{64}")


def _get(doc: object, key: str) -> object:
    return doc.get(key) if isinstance(doc, dict) else None


class GitHub(Provider):
    name = "github"
    default_events = ("push",)

    def verify(self, request: IncomingRequest) -> Verified:
        if not request.header(HEADER) and request.header(LEGACY_HEADER):
            raise WebhookRejected(
                f"missing {HEADER} header (the legacy SHA-1 {LEGACY_HEADER} is not accepted)"
            )
        offered = request.require(HEADER)
        if not _FORMAT.fullmatch(offered):
            raise WebhookRejected(f"malformed {HEADER} header (expected sha256=<64 hex digits>)")
        expected = ["sha256=" + digest(s.encode(), request.body, "hex") for s in self.secrets]
        if not matches_any(list(expected), offered):
            raise WebhookRejected(
                f"{HEADER} does not match the body (wrong secret or altered body)"
            )
        # X-GitHub-Event is not signed: it is believed only where the signed body agrees (a
        # push body has `ref` and `commits`), and the branch comes from the signed body alone
        doc = json_body(request.body)
        event = request.header("X-GitHub-Event") or None
        if event == "push" and not (field(doc, "ref") and isinstance(_get(doc, "commits"), list)):
            event = None
        branch = branch_of(field(doc, "ref"))
        return Verified(
            hint_id=request.header("X-GitHub-Delivery") or None, event=event, branch=branch
        )

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        delivery = uuid.UUID(bytes=hashlib.sha256(body + str(now).encode()).digest()[:16])
        return {
            HEADER: "sha256=" + digest(self.secrets[0].encode(), body, "hex"),
            "X-GitHub-Event": "push",
            "X-GitHub-Delivery": str(delivery),
            "content-type": "application/json",
        }
