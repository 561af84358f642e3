"""REST endpoints for the quarantine: list, look, download the bytes, process again."""

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Router
from ninja.pagination import paginate

from pomogu.core.api_support import Page, actor_of, errors
from pomogu.intake import queries, services
from pomogu.intake.downloads import raw_message_download
from pomogu.intake.models import InboundMessage
from pomogu.intake.schemas import InboundOut

router = Router(tags=["intake"])


@router.get("/quarantine", response=list[InboundOut], summary="Messages held for a person")
@paginate(Page)
def list_quarantine(request: HttpRequest) -> QuerySet[InboundMessage]:
    return queries.quarantine_of(actor_of(request))


@router.get(
    "/inbound/{inbound_id}",
    response={200: InboundOut, **errors(404)},
    summary="One received message",
)
def get_inbound(request: HttpRequest, inbound_id: int) -> InboundMessage:
    return queries.get_visible_inbound(actor_of(request), inbound_id)


@router.get(
    "/inbound/{inbound_id}/raw",
    response={200: None, **errors(404)},
    summary="The message exactly as received (as a download)",
    openapi_extra={"responses": {200: {"content": {"application/octet-stream": {"schema": {}}}}}},
)
def get_inbound_raw(request: HttpRequest, inbound_id: int) -> HttpResponse:
    return raw_message_download(queries.get_visible_inbound(actor_of(request), inbound_id))


@router.post(
    "/inbound/{inbound_id}/reprocess",
    response={200: InboundOut, **errors(404, 409)},
    summary="Process a quarantined message again",
)
def reprocess(request: HttpRequest, inbound_id: int) -> InboundMessage:
    row = queries.get_visible_inbound(actor_of(request), inbound_id)
    return services.reprocess(row.pk)
