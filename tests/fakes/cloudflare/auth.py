"""Who may call what: the API token, the account in the path, and the Builds-only refusal.

Both products accept `Authorization: Bearer <token>` or the legacy `X-Auth-Email` + `X-Auth-Key`
pair (Pages reference §1.1, Workers Builds reference §1.2). The fake knows one good token.

Workers Builds additionally refuses account-scoped tokens with 12006 "Invalid token" (Workers
Builds reference §1.2, trap 2) while the same token works everywhere else. The fake models that
with one optional *account-scoped* token (`Credentials.account_scoped`): accepted on the Pages
and Workers Scripts paths, refused on every `/accounts/{a}/builds/...` path. Setting it to the
fake's own token makes the relay's configured token "lack the Builds permission".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from .envelope import ApiError

CODE_AUTH, MSG_AUTH = 10000, "Authentication error"
CODE_INVALID_TOKEN, MSG_INVALID_TOKEN = 12006, "Invalid token"
# UNCONFIRMED (Workers Builds reference §1.2 and §13 item 1): the HTTP status of a 12006
# rejection is not recorded anywhere. The fake answers 403, like the Pages 10000 rejection.
INVALID_TOKEN_STATUS = 403


def presented_token(headers: Any) -> str | None:
    """The token a request carries: the Bearer value, or `X-Auth-Key` next to `X-Auth-Email`."""
    auth = str(headers.get("authorization", ""))
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = headers.get("x-auth-key")
    if headers.get("x-auth-email") and key:
        return str(key)
    return None


@dataclass
class Credentials:
    """The account id and the tokens the fake accepts."""

    account_id: str
    token: str
    account_scoped: str | None = None  # accepted except on Builds paths (12006 there)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set_account_scoped(self, token: str | None) -> None:
        with self._lock:
            self.account_scoped = token or None

    def known(self, headers: Any) -> bool:
        """True for the good token and for the account-scoped one."""
        presented = presented_token(headers)
        with self._lock:
            scoped = self.account_scoped
        return presented is not None and presented in (self.token, scoped)

    def require(self, request: Request) -> None:
        """Pages and Workers Scripts paths: 403/10000 for bad credentials and (our choice)
        for another account's id in the path."""
        if not self.known(request.headers):
            raise ApiError(403, CODE_AUTH, MSG_AUTH)
        if request.path_params.get("account_id") != self.account_id:
            raise ApiError(403, CODE_AUTH, MSG_AUTH)

    def require_builds(self, request: Request) -> None:
        """Workers Builds paths: every credential problem is 403/12006 (reference §11 item 1):
        no token, a wrong one, the account-scoped one, or another account's id."""
        presented = presented_token(request.headers)
        with self._lock:
            scoped = self.account_scoped
        good = presented == self.token and presented != scoped
        if not good or request.path_params.get("account_id") != self.account_id:
            raise ApiError(INVALID_TOKEN_STATUS, CODE_INVALID_TOKEN, MSG_INVALID_TOKEN)
