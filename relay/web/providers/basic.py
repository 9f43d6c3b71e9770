"""HTTP Basic authentication (`username`, `password`), e.g. DatoCMS."""

from __future__ import annotations

import base64
from typing import ClassVar

from relay.core.build_settings import HookSettings
from relay.core.declare import Kind, OptionSpec
from relay.core.exceptions import WebhookRejected
from relay.core.secret import Secret
from relay.web.providers.base import IncomingRequest, Provider, Verified, matches_any


class Basic(Provider):
    name = "basic"
    needs_secret = False
    options: ClassVar[dict[str, OptionSpec]] = {
        "username": OptionSpec(Kind.STRING, None, "the user name the sender sends"),
        "password": OptionSpec(Kind.SECRET, None, "the password the sender sends"),
    }

    @classmethod
    def check(cls, hook: HookSettings) -> list[str]:
        missing = [
            f"hooks.{hook.name}.{key}: provider basic needs a {key}"
            for key in ("username", "password")
            if not hook.options.get(key)
        ]
        password = hook.options.get("password")
        if isinstance(password, Secret) and password.reveal() and not password.reveal().strip():
            missing.append(f"hooks.{hook.name}.password: is blank")
        return missing + super().check(hook)

    def _passwords(self) -> list[str]:
        password = self.option("password")
        found = [password.reveal()] if isinstance(password, Secret) else []
        return found + [s.reveal() for s in self.secrets]

    def verify(self, request: IncomingRequest) -> Verified:
        value = request.require("Authorization")
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic":
            raise WebhookRejected("Authorization does not use the Basic scheme")
        try:
            user, sep, password = (
                base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
            )
        except ValueError:  # binascii.Error, non-ASCII text, bytes that are not UTF-8
            raise WebhookRejected("Authorization Basic credentials are not valid base64") from None
        user_ok = matches_any([str(self.option("username"))], user)
        if not (sep and user_ok & matches_any(list(self._passwords()), password)):
            raise WebhookRejected("Authorization Basic credentials are wrong")
        return Verified()

    def sign(self, body: bytes, *, path: str, now: float) -> dict[str, str]:
        pair = f"{self.option('username')}:{self._passwords()[0]}".encode()
        return {
            "authorization": "Basic " + base64.b64encode(pair).decode(),
            "content-type": "application/json",
        }

    def curl_args(self, body: bytes, *, path: str, now: float) -> list[str]:
        where = f"hooks.{self.hook.name}.password"
        user = f"{self.option('username')}:<{where}>"
        return ["-u", user, "-H", "content-type: application/json"]
