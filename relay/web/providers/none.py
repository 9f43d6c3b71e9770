"""`none`: no authentication at all, for a sender that can do nothing else.

Anyone who knows the URL can post to such a hook, so it must be asked for with
`insecure = true` in the hook's table, and every start warns about it. `id_header` and
`event_header` name headers that carry a delivery id and an event, if the sender sends them.
"""

from __future__ import annotations

from typing import ClassVar

from relay.core.build_settings import HookSettings
from relay.core.declare import OptionSpec
from relay.web.providers.base import HEADER_ID_OPTIONS, IncomingRequest, Provider, Verified


class NoAuth(Provider):
    name = "none"
    needs_secret = False
    options: ClassVar[dict[str, OptionSpec]] = {
        **HEADER_ID_OPTIONS,
    }

    @classmethod
    def check(cls, hook: HookSettings) -> list[str]:
        if hook.insecure:
            return []
        return [
            f"hooks.{hook.name}.insecure: provider none accepts requests without any "
            "authentication; set insecure = true to allow that"
        ]

    @classmethod
    def warnings(cls, hook: HookSettings) -> list[str]:
        return [
            f"hooks.{hook.name}: provider none accepts any request to /hooks/{hook.name} "
            "without authentication"
        ]

    def verify(self, request: IncomingRequest) -> Verified:
        return self.from_headers(request)

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        return {"content-type": "application/json"}
