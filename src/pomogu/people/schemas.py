"""API shapes for people and teams."""

from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from pomogu.cases.schemas import UserRef
from pomogu.core.api_support import Email, Strict


class TeamOut(Schema):
    id: int
    slug: str
    name: str
    description: str
    email: str
    is_default: bool
    lead: UserRef | None
    members: list[UserRef]

    @staticmethod
    def resolve_members(obj: object) -> list[object]:
        return list(obj.members.all())  # type: ignore[attr-defined]


class TeamIn(Strict):
    name: str = Field(..., min_length=1, max_length=120)
    slug: str = Field(..., min_length=1, max_length=60, pattern=r"^[-a-z0-9_]+$")
    description: str = Field("", max_length=5000)
    email: Email = None
    lead: int | str | None = None
    is_default: bool = False


class MemberIn(Strict):
    user: int | str
    role: str = Field("member", pattern=r"^(member|lead)$")


class CustomerOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    organisation_id: int | None
    tier: str
    created_at: dt.datetime


class CustomerCreateIn(Strict):
    email: Email = None
    name: str = Field("", max_length=200)
    phone: str = Field("", max_length=32)
