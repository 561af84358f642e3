"""REST endpoints for the quarantine: list, look, download the bytes, process again."""

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.pagination import LimitOffsetPagination, paginate

from pomogu.core.api_support import actor_of
from pomogu.intake import queries, services
from pomogu.intake.downloads import raw_message_download
from pomogu.intake.models import InboundMessage
from pomogu.intake.schemas import InboundOut

router = Router(tags=["intake"])


@router.get("/quarantine", response=list[InboundOut], summary="Messages held for a person")
@paginate(LimitOffsetPagination)
def list_quarantine(request: HttpRequest) -> QuerySet[InboundMessage]:
    return queries.quarantine_of(actor_of(request))


@router.get("/inbound/{inbound_id}", response=InboundOut, summary="One received message")
def get_inbound(request: HttpRequest, inbound_id: int) -> InboundMessage:
    return queries.get_visible_inbound(actor_of(request), inbound_id)


@router.get(
    "/inbound/{inbound_id}/raw",
    response={200: None},
    summary="The message exactly as received (message/rfc822, as a download)",
)
def get_inbound_raw(request: HttpRequest, inbound_id: int) -> HttpResponse:
    return raw_message_download(queries.get_visible_inbound(actor_of(request), inbound_id))


@router.post(
    "/inbound/{inbound_id}/reprocess",
    response=InboundOut,
    summary="Process a quarantined message again",
)
def reprocess(request: HttpRequest, inbound_id: int) -> InboundMessage:
    row = queries.get_visible_inbound(actor_of(request), inbound_id)
    return services.reprocess(row.pk)
