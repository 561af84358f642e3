"""``Idempotency-Key`` for API requests that create something (REL-3): a retried request with
the same key returns what the first one created; the same key with a different body is refused."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from pomogu.cases.models import Case
from pomogu.core.errors import InvalidInput
from pomogu.intake.models import IdempotentRequest
from pomogu.people.models import User


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _replay(existing: IdempotentRequest, request_hash: str) -> Case:
    if existing.request_hash != request_hash:
        raise InvalidInput(
            _("This Idempotency-Key was used for a different request."),
            code="idempotency_key_reused",
        )
    assert existing.case is not None
    return existing.case


def run_once(
    user: User, key: str, request_hash: str, create: Callable[[], Case]
) -> tuple[Case, bool]:
    """Create at most once per (user, key). Returns the case and whether this was a replay."""
    key = key.strip()
    if not key or len(key) > 200:
        raise InvalidInput(
            _("An Idempotency-Key has 1 to 200 characters."), code="invalid_idempotency_key"
        )
    try:
        with transaction.atomic():
            existing = IdempotentRequest.objects.filter(user=user, key=key).first()
            if existing is not None:
                return _replay(existing, request_hash), True
            case = create()
            IdempotentRequest.objects.create(
                user=user, key=key, request_hash=request_hash, status=201, case=case
            )
            return case, False
    except IntegrityError:
        # A concurrent request with the same key committed first; ours was rolled back whole.
        existing = IdempotentRequest.objects.filter(user=user, key=key).first()
        if existing is None:
            raise
        return _replay(existing, request_hash), True
