"""Customers are identified strictly; tokens work once made and stop when revoked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from pomogu.core import clock
from pomogu.core.errors import DomainError
from pomogu.core.testing import Cast
from pomogu.people import services
from pomogu.people.models import ApiToken, Customer, Organisation


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ivan.Petrov@Example.RU", "Ivan.Petrov@example.ru"),
        ("  ivan@mail.corp.local  ", "ivan@mail.corp.local"),
        ("o'brien@example.ie", "o'brien@example.ie"),
    ],
)
def test_email_is_normalised(raw: str, expected: str) -> None:
    assert services.normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ivan",
        "Ivan <ivan@example.ru>",  # a display name is not an address
        "ivan@example.ru, eve@evil.test",  # two addresses
        "alice@example.org(<bob@example.com>",  # CVE-2023-27043 shape
        "ivan@example.ru\r\nBcc: eve@evil.test",  # header injection
        "ivan@@example.ru",
        "ivan@localhost",
    ],
)
def test_anything_but_one_bare_address_is_refused(raw: str) -> None:
    with pytest.raises(DomainError) as refused:
        services.normalise_email(raw)
    assert refused.value.code == "invalid_email"
    assert refused.value.status == 422


def test_customer_is_found_by_email_whatever_its_case(cast: Cast) -> None:
    again = services.find_or_create_customer(email="DAVE@Customer.Test", name="Другое имя")
    assert again == cast.dave
    assert Customer.objects.filter(email__iexact="dave@customer.test").count() == 1
    again.refresh_from_db()
    assert again.name == "Dave Customer"  # a known name is not overwritten by a sender's


def test_database_refuses_a_second_customer_with_the_same_address(cast: Cast) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(email="Dave@customer.test")


def test_phone_only_customer_is_found_by_phone_however_it_is_written(db: object) -> None:
    first = services.find_or_create_customer(phone="+7 912 000-00-00", name="Пётр")
    for spelling in ("8 (912) 000-00-00", "89120000000", "+7 912 000 00 00"):
        assert services.find_or_create_customer(phone=spelling) == first
    assert first.phone == "+79120000000"
    assert first.email == ""
    other = services.find_or_create_customer(phone="+44 20 7946 0958")
    assert other != first
    assert other.phone == "+442079460958"


@pytest.mark.parametrize("raw", ["12345", "not a phone", "+7 912"])
def test_a_number_nobody_can_call_is_refused(db: object, raw: str) -> None:
    with pytest.raises(DomainError) as refused:
        services.find_or_create_customer(phone=raw)
    assert refused.value.code == "invalid_phone"
    assert refused.value.status == 422


def test_customer_needs_some_way_to_reach_them(db: object) -> None:
    with pytest.raises(DomainError) as refused:
        services.find_or_create_customer(name="Аноним")
    assert refused.value.code == "customer_contact_missing"


def test_new_customer_joins_the_organisation_of_their_domain(db: object) -> None:
    org = Organisation.objects.create(name="ООО Ромашка", domains=["romashka.ru"])
    customer = services.find_or_create_customer(email="buh@romashka.ru")
    assert customer.organisation == org
    assert services.find_or_create_customer(email="x@other.ru").organisation is None


def test_only_the_exact_domain_joins_an_organisation(db: object) -> None:
    """The database narrows by text; the match itself is exact (no subdomain, no suffix, no
    part of another organisation's list)."""
    romashka = services.create_organisation("ООО Ромашка", domains=["Romashka.ru", "rmsh.ru"])
    services.create_organisation("Лютик", domains=["lutik.romashka.ru.example"])
    assert services.find_or_create_customer(email="Buh@ROMASHKA.RU").organisation == romashka
    assert services.find_or_create_customer(email="a@rmsh.ru").organisation == romashka
    for stranger in ("b@sub.romashka.ru", "c@ashka.ru", "d@romashka.ru.example"):
        assert services.find_or_create_customer(email=stranger).organisation is None, stranger


def test_token_authenticates_until_revoked(cast: Cast) -> None:
    token = services.create_token(cast.bob, name="script")
    assert token.startswith(services.TOKEN_PREFIX)
    assert services.user_for_token(token) == cast.bob
    stored = ApiToken.objects.get(user=cast.bob)
    assert token not in (stored.digest, stored.prefix)  # only a digest is kept
    stored.revoked_at = clock.now()
    stored.save()
    assert services.user_for_token(token) is None


def test_token_of_a_disabled_account_is_refused(cast: Cast) -> None:
    token = services.create_token(cast.bob)
    cast.bob.is_active = False
    cast.bob.save()
    assert services.user_for_token(token) is None
    assert services.user_for_token(token + "x") is None
    assert services.user_for_token("") is None


def test_deputy_chain_never_loops(cast: Cast) -> None:
    now = clock.now()
    week = dt.timedelta(days=7)
    services.add_absence(cast.alice, starts_at=now, ends_at=now + week, deputy=cast.bob)
    services.add_absence(cast.bob, starts_at=now, ends_at=now + week, deputy=cast.alice)
    # Everyone in the chain is away: the person themselves, never a loop or None.
    assert services.stand_in_for(cast.alice, now + dt.timedelta(hours=1)) == cast.alice


def test_deputy_of_a_deputy_is_used(cast: Cast) -> None:
    now = clock.now()
    week = dt.timedelta(days=7)
    services.add_absence(cast.alice, starts_at=now, ends_at=now + week, deputy=cast.bob)
    services.add_absence(cast.bob, starts_at=now, ends_at=now + week, deputy=cast.carol)
    assert services.stand_in_for(cast.alice, now + dt.timedelta(hours=1)) == cast.carol


def test_absence_must_end_after_it_starts(cast: Cast) -> None:
    now = clock.now()
    with pytest.raises(DomainError):
        services.add_absence(cast.alice, starts_at=now, ends_at=now)
    with pytest.raises(DomainError):
        services.add_absence(
            cast.alice, starts_at=now, ends_at=now + dt.timedelta(days=1), deputy=cast.alice
        )
