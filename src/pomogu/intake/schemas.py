"""API shapes for what came in."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


class InboundOut(Schema):
    id: int
    state: str
    reason: str
    detail: str
    source: str
    queue: str
    envelope_from: str
    envelope_to: str
    message_id: str
    sha256: str
    size: int
    received_at: dt.datetime
    processed_at: dt.datetime | None
    case_id: int | None

    @staticmethod
    def resolve_message_id(obj: object) -> str:
        return str(obj.rfc_message_id)  # type: ignore[attr-defined]
