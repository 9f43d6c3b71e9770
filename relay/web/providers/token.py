"""A shared secret sent as a header (Strapi, GitLab's X-Gitlab-Token, Directus, Builder.io …).

Default: `Authorization: Bearer <secret>`. With `header = "X-Gitlab-Token"` the whole header
value is the secret; with `scheme = ""` no scheme word is expected.
"""

from __future__ import annotations

from typing import ClassVar

from relay.core.declare import Kind, OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.web.providers.base import (
    HEADER_ID_OPTIONS,
    IncomingRequest,
    Provider,
    Verified,
    matches_any,
    secret_key,
)


class Token(Provider):
    name = "token"
    options: ClassVar[dict[str, OptionSpec]] = {
        "header": OptionSpec(Kind.STRING, "Authorization", "the header carrying the token"),
        "scheme": OptionSpec(
            Kind.STRING, None, "word before the token (default Bearer for Authorization)"
        ),
        **HEADER_ID_OPTIONS,
    }

    @property
    def scheme(self) -> str:
        scheme = self.option("scheme")
        if scheme is None:
            return "Bearer" if str(self.option("header")).lower() == "authorization" else ""
        return str(scheme)

    def verify(self, request: IncomingRequest) -> Verified:
        header = str(self.option("header"))
        value = request.require(header)
        if self.scheme:
            word, _, value = value.partition(" ")
            if word.lower() != self.scheme.lower():
                raise WebhookRejected(f"{header} does not use the {self.scheme} scheme")
            value = value.strip()
        if not matches_any([s.reveal() for s in self.secrets], value):
            raise WebhookRejected(f"{header} does not carry the hook's token")
        return self.from_headers(request)

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        token = self.secrets[0].reveal()
        value = f"{self.scheme} {token}" if self.scheme else token
        return {str(self.option("header")): value, "content-type": "application/json"}

    def curl_args(self, body: bytes, *, path: str, now: float) -> list[str]:
        placeholder = f"<{secret_key(self.hook, 0)}>"
        value = f"{self.scheme} {placeholder}" if self.scheme else placeholder
        return ["-H", f"{self.option('header')}: {value}", "-H", "content-type: application/json"]
