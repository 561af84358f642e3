"""Rows the whole desk shares."""

from __future__ import annotations

from django.db import models


class Strike(models.Model):
    """One failed attempt at something guessable (a password, a token), kept a short while so
    that too many from one client, or against one account, answer 429 (``core.throttle``).
    ``key`` is a digest or a lower-cased username, never a client's address."""

    scope = models.CharField(max_length=32)  # "sign-in user", "sign-in client", "token"...
    key = models.CharField(max_length=150)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "created_at"], name="strike_lookup")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:12]} {self.created_at:%Y-%m-%d %H:%M}"
