"""Domain errors: what a service raises when a rule of the house refuses an action.

Views, API endpoints, mail handlers and commands translate them; services never know who called.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A rule refused the action. ``code`` is stable (API clients match on it); ``detail`` is
    for people and is translated."""

    code = "refused"
    status = 409

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = str(detail)
        if code:
            self.code = code
        self.extra = extra


class NotFound(DomainError):
    """The object does not exist, or the caller may not know that it does (always 404)."""

    code = "not_found"
    status = 404


class InvalidInput(DomainError):
    """A value is malformed (an email address, a phone number): the caller must correct it."""

    code = "invalid_input"
    status = 422


class PermissionDenied(DomainError):
    """The caller can see the object but may not do this to it."""

    code = "forbidden"
    status = 403


class InvalidTransition(DomainError):
    """The case's state machine does not allow this move."""

    code = "invalid_transition"
    status = 409


class InvariantViolation(DomainError):
    """The action would break an invariant (for example, an open case without an owner)."""

    code = "invariant"
    status = 409


class ReplyGuarded(DomainError):
    """The reply guard (R7) found a brush-off in an agent's reply; it was not sent. ``extra``
    holds the phrases found and a suggested wording; the agent may send it anyway with a
    reason, which is recorded."""

    code = "reply_guard"
    status = 422
