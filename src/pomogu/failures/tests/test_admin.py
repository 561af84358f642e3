"""The admin shows the failure register read-only, filtered and searchable by case number."""

from __future__ import annotations

from django.test import Client

from pomogu.core.testing import Cast
from pomogu.failures.models import Failure, FailureKind
from pomogu.failures.tests.helpers import fail

CHANGELIST = "/admin/failures/failure/"


def test_admin_lists_failures_by_kind_and_finds_them_by_case_number(cast: Cast) -> None:
    first = cast.open_case(subject="Первый")
    second = cast.open_case(subject="Второй")
    fail(first, FailureKind.ANGER, key="anger:msg:1", summary="Клиент рассердился")
    fail(second, FailureKind.REOPENED, key="reopen:2", summary="Case came back")
    client = Client()
    client.force_login(cast.root)

    page = client.get(CHANGELIST, {"kind__exact": "anger"}).content.decode()
    assert "Клиент рассердился" in page
    assert "Case came back" not in page

    for term in (str(second.number), f"#{second.number}"):
        page = client.get(CHANGELIST, {"q": term}).content.decode()
        assert "Case came back" in page
        assert "Клиент рассердился" not in page
    assert client.get(CHANGELIST, {"q": "no such"}).status_code == 200
    assert client.get(CHANGELIST, {"team__id__exact": cast.billing.pk}).status_code == 200


def test_admin_cannot_add_change_or_delete_a_failure(cast: Cast) -> None:
    failure = fail(cast.open_case(), key="k", summary="as recorded")
    client = Client()
    client.force_login(cast.root)
    assert client.get(f"{CHANGELIST}add/").status_code == 403
    response = client.post(f"{CHANGELIST}{failure.pk}/change/", {"summary": "forged"})
    assert response.status_code == 403
    assert client.post(f"{CHANGELIST}{failure.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Failure.objects.get().summary == "as recorded"
