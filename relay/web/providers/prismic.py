"""Prismic: the webhook's secret travels in the JSON body, as its `secret` field.

Prismic signs nothing: the secret typed in the webhook form is sent in clear inside the body
and compared in constant time; the body itself has no integrity protection (use HTTPS). The
event is the body's `type`; by default only `api-update` builds (`test-trigger`, sent by the
webhook form's test button, is recorded and ignored). Prismic sends no delivery id and treats
any answer other than 200 as a failure (retried every 10 minutes, up to 5 times), so a stored
delivery is answered 200 rather than 202.
"""

from __future__ import annotations

from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any
from relay.web.providers.payload import field, json_body

FIELD = "secret"


class Prismic(Provider):
    name = "prismic"
    default_events = ("api-update",)
    accepted_status = 200

    def verify(self, request: IncomingRequest) -> Verified:
        doc = json_body(request.body)
        if not isinstance(doc, dict):
            raise WebhookRejected("body is not a JSON object (Prismic sends its secret in it)")
        offered = doc.get(FIELD)
        if not isinstance(offered, str) or not offered:
            raise WebhookRejected(f"missing {FIELD} field in the JSON body")
        if not matches_any([s.reveal() for s in self.secrets], offered):
            raise WebhookRejected(f"the body's {FIELD} field is not the hook's secret")
        return Verified(event=field(doc, "type"))

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        # the secret belongs in the body's "secret" field, which the caller has to put there
        return {"content-type": "application/json"}
