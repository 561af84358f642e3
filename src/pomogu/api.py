"""The REST API v1: one NinjaAPI, bearer-token auth on every route, OpenAPI at openapi.json."""

from __future__ import annotations

from pomogu.cases.api import router as cases_router
from pomogu.clocks.api import router as clocks_router
from pomogu.contact.api import router as contact_router
from pomogu.core.api_support import (
    BearerToken,
    PomoguApi,
    StorableParser,
    install_error_handlers,
)
from pomogu.failures.api import router as failures_router
from pomogu.intake.api import router as intake_router
from pomogu.people.api import router as people_router
from pomogu.triage.api import router as triage_router

api = PomoguApi(
    title="pomogu",
    version="1",
    description="The pomogu service desk API. Authenticate with `Authorization: Bearer <token>` "
    '(`pomogu token create USERNAME`). Errors are `{"error": code, "detail": text}`.',
    auth=BearerToken(),
    parser=StorableParser(),
    urls_namespace="api",
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("", cases_router)
api.add_router("", people_router)
api.add_router("", intake_router)
api.add_router("", triage_router)
api.add_router("", clocks_router)
api.add_router("", failures_router)
api.add_router("", contact_router)
