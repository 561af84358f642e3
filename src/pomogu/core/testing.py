"""The named cast every test uses (STYLE.md), built through services like real data.

- alice: lead of Technical support;  bob: agent in Technical support
- carol: agent in Billing, must see nothing of Technical support's
- dave, erin: customers
- mallory: a manager (sees every team); root: an administrator
"""

from __future__ import annotations

from dataclasses import dataclass

from pomogu.cases import services as cases
from pomogu.cases.models import Case
from pomogu.people import services as people
from pomogu.people.choices import StaffRole
from pomogu.people.models import Customer, Team, User

PASSWORD = "correct horse battery staple"  # noqa: S105 - the test cast's password


@dataclass
class Cast:
    alice: User
    bob: User
    carol: User
    mallory: User
    root: User
    support: Team
    billing: Team
    dave: Customer
    erin: Customer

    def open_case(
        self,
        *,
        customer: Customer | None = None,
        team: Team | None = None,
        subject: str = "Нет интернета с утра",
        body: str = "Здравствуйте, с 9 утра нет интернета.",
    ) -> Case:
        return cases.open_case(
            customer=customer or self.dave, team=team or self.support, subject=subject, body=body
        )


def make_cast() -> Cast:
    alice = people.create_staff(
        "alice", name="Alice Lead", email="alice@desk.test", password=PASSWORD
    )
    bob = people.create_staff("bob", name="Bob Agent", email="bob@desk.test", password=PASSWORD)
    carol = people.create_staff(
        "carol", name="Carol Billing", email="carol@desk.test", password=PASSWORD
    )
    mallory = people.create_staff(
        "mallory", name="Mallory Manager", password=PASSWORD, role=StaffRole.MANAGER
    )
    root = people.create_staff("root", name="Root Admin", password=PASSWORD, role=StaffRole.ADMIN)
    support = people.create_team("Technical support", slug="support", lead=alice, is_default=True)
    people.add_member(support, bob)
    billing = people.create_team("Billing", slug="billing", lead=carol)
    dave = people.find_or_create_customer(email="dave@customer.test", name="Dave Customer")
    erin = people.find_or_create_customer(email="erin@other.test", name="Erin Other")
    return Cast(alice, bob, carol, mallory, root, support, billing, dave, erin)


def database_url_for_subprocesses() -> str:
    """A DATABASE_URL naming the database this test runs on, so that a subprocess (a real
    `pomogu lmtp` or `pomogu fetchmail`) sees the same data, on SQLite and PostgreSQL alike."""
    from urllib.parse import quote

    from django.db import connection

    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    auth = quote(settings["USER"] or "", safe="")
    if settings["PASSWORD"]:
        auth += ":" + quote(settings["PASSWORD"], safe="")
    host = settings["HOST"] or "localhost"
    port = f":{settings['PORT']}" if settings["PORT"] else ""
    return f"postgresql://{auth}@{host}{port}/{settings['NAME']}"


def wait_until_subprocesses_disconnect(timeout: float = 3) -> None:
    """After a subprocess that used the test database exits, PostgreSQL ends its session a
    moment later; wait for that, so the test database can be dropped at the end of the run."""
    import time

    from django.db import connection

    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            row = cursor.fetchone()
            if row is None or row[0] == 0:
                return
            time.sleep(0.1)
