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
