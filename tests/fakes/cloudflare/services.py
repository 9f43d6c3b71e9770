"""Everything the fake's handlers share, in one object: credentials, the Pages and the Workers
Builds state, and the traffic layer's records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from .auth import Credentials
from .pages_model import PagesState
from .traffic import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW, CallLog, FaultQueue, RateLimiter
from .workers_model import WorkersState


@dataclass
class FakeServices:
    credentials: Credentials
    pages: PagesState
    workers: WorkersState
    faults: FaultQueue
    limiter: RateLimiter
    calls: CallLog

    @classmethod
    def create(cls, account_id: str, token: str) -> FakeServices:
        """Fresh services for one fake account."""
        return cls(
            Credentials(account_id, token),
            PagesState(),
            WorkersState(),
            FaultQueue(),
            RateLimiter(),
            CallLog(),
        )

    def note(self, request: Request, **values: Any) -> None:
        """Annotate the call-log entry of `request` (set by the traffic layer)."""
        self.calls.annotate(request.scope.get("fake.call"), **values)

    def reset(self) -> None:
        """Forget every project, Worker, build, hook, fault, call and setting. The account id
        and the token stay; the account-scoped token is forgotten."""
        self.pages.reset()
        self.workers.reset()
        self.faults.clear()
        self.calls.clear()
        self.limiter.configure(DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW)
        self.credentials.set_account_scoped(None)
