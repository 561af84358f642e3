"""The fixture world of the authorization matrix (RELIABILITY.md §7.6).

Two sides that must never see each other:

- side X: team Technical support (alice lead, bob agent), the mailbox support@desk.test,
  customers dave and dana of organisation Vektor (which may share its cases);
- side Y: team Billing (carol lead, yuri agent), billing@desk.test, customer erin of
  organisation Other.

Every object of a side carries a canary: ``cnr<side>-<what>`` (``cnrx-subject``,
``cnry-note``...). A response to someone who may not see a side must not contain that side's
canary anywhere; a response to a customer must not contain an internal canary (a note, a
handoff's reason, a contractor's task, a held message) even of their own case.

Everything is made through the services, as the desk makes it, except the rows only a clock
makes (an escalation) or a person reading them (a notification).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from email.message import EmailMessage

from django.test import override_settings

from pomogu.cases import services as cases
from pomogu.cases.choices import MessageKind
from pomogu.cases.models import Case, Handoff, Message, Notification
from pomogu.clocks import services as clocks
from pomogu.clocks.models import (
    Calendar,
    Deadline,
    DeadlineKind,
    Escalation,
    EscalationChain,
    SlaPolicy,
)
from pomogu.contact.models import GuardPhrase, Survey, SurveyState
from pomogu.contact.surveys import schedule
from pomogu.core import clock
from pomogu.core.testing import PASSWORD, Cast, make_cast
from pomogu.desk.models import SavedView
from pomogu.failures import services as failures
from pomogu.failures.models import FailureKind
from pomogu.intake import services as intake
from pomogu.intake.models import Attachment, Mailbox
from pomogu.kb import services as kb
from pomogu.people import services as people
from pomogu.people.models import Customer, Organisation, Team, User

# What only staff may read, even on the customer's own case.
INTERNAL = ("note", "handoff", "task", "held", "promise-internal")


def canary(side: str, what: str) -> str:
    return f"cnr{side}-{what}"


@dataclass
class Side:
    """One side's people and objects (ids and numbers, as the routes take them)."""

    name: str
    team: Team
    lead: User
    agent: User
    customer: Customer
    mailbox: Mailbox
    case: Case  # an open case with every kind of object on it
    solved: Case  # a resolved case with a waiting survey
    handoff: Handoff
    task_id: int
    promise_id: int
    appointment_id: int
    escalation_id: int
    notification_id: int
    attachment_id: int
    note_attachment_id: int | None
    html_message_id: int
    note_id: int
    held_id: int
    survey_token: str
    saved_view_id: int
    inbound_id: int
    article_slug: str
    absence_id: int = 0
    frank_case: Case | None = None
    failure_ids: list[int] = field(default_factory=list)

    @property
    def canary(self) -> str:
        return f"cnr{self.name}"


@dataclass
class World:
    cast: Cast
    yuri: User
    dana: Customer
    vektor: Organisation
    x: Side
    y: Side
    # Desk-wide configuration (no side): read by staff, changed by an administrator.
    calendar_id: int = 0
    policy_id: int = 0
    phrase_id: int = 0

    def side(self, name: str) -> Side:
        return self.x if name == "x" else self.y


def _mail(*, sender: str, to: str, subject: str, body: str, filename: str, html: str = "") -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{subject.replace(' ', '.')}@customer.test>"
    message.set_content(body)
    if html:
        message.add_alternative(html, subtype="html")
    message.add_attachment(
        f"{filename} contents".encode(), maintype="text", subtype="plain", filename=filename
    )
    return message.as_bytes()


def _side(
    name: str,
    *,
    team: Team,
    lead: User,
    agent: User,
    customer: Customer,
    address: str,
) -> Side:
    c = lambda what: canary(name, what)  # noqa: E731 - a short local spelling
    mailbox = Mailbox.objects.create(name=team.name, address=address, team=team)
    raw = _mail(
        sender=customer.email,
        to=address,
        subject=f"{c('subject')} router down",
        body=f"Hello, {c('body')} the router is down since nine.",
        filename=f"{c('file')}.txt",
        html=f"<p>Hello, {c('html')} the router is down.</p>",
    )
    receipt = intake.receive(raw, mailbox=mailbox, source="api")
    inbound = receipt.inbound
    case = Case.objects.get(pk=inbound.case_id)
    if case.owner_id != agent.pk:
        case = cases.assign(case.pk, actor=lead, to_user=agent)
    first = Message.objects.filter(case=case, kind=MessageKind.INBOUND).earliest("id")
    attachment = Attachment.objects.filter(message=first).get()

    cases.add_message(case.pk, actor=agent, body=f"We are on it. {c('reply')}")
    note = cases.add_message(
        case.pk, actor=agent, body=f"Internal: {c('note')}", kind=MessageKind.NOTE
    )
    # Mail from someone not on the case is held for staff (AZ-7): never the customer's.
    stranger = _mail(
        sender=f"stranger-{name}@elsewhere.test",
        to=address,
        subject=f"Re: [#{case.number}-{case.tag}] {c('held')}",
        body=f"Verification code {c('held')}",
        filename=f"{c('held')}.txt",
    )
    intake.receive(stranger, mailbox=mailbox, source="api")
    held = Message.objects.filter(case=case, kind=MessageKind.HELD).latest("id")

    task = cases.add_contractor_task(
        case.pk, actor=agent, contractor="Linemen Ltd", description=f"Splice {c('task')}"
    )
    now = clock.now()
    promise = clocks.make_promise(
        case.pk, actor=agent, text=f"Call back {c('promise')}", due_at=now + dt.timedelta(days=1)
    )
    appointment = clocks.schedule_appointment(
        case.pk,
        actor=agent,
        staff=agent,
        starts_at=now + dt.timedelta(days=2),
        ends_at=now + dt.timedelta(days=2, hours=1),
        place=f"Flat 5, {c('place')}",
    )
    handoff = cases.request_handoff(
        case.pk, actor=agent, to_team=team, to_user=lead, reason=f"Needs {c('handoff')}"
    )
    deadline = Deadline.objects.filter(case=case).exclude(kind=DeadlineKind.PROMISE).first()
    if deadline is None:
        deadline = Deadline.objects.filter(case=case).first()
    assert deadline is not None
    escalation = Escalation.objects.create(
        deadline=deadline,
        case=case,
        level=1,
        recipient=lead,
        created_at=now,
        ack_due_at=now + dt.timedelta(hours=1),
    )
    notification = Notification.objects.create(
        recipient=agent, case=case, kind="angry", title=f"Angry {c('notification')}"
    )

    # A second case, solved, with its survey waiting.
    solved = cases.open_case(
        customer=customer, team=team, subject=f"{c('solved')} bill", body=f"Bill {c('solved')}"
    )
    cases.add_message(
        solved.pk, actor=agent if solved.owner_id == agent.pk else solved.owner, body="Done."
    )
    solved = cases.resolve(solved.pk, actor=lead, summary=f"Fixed {c('summary')}")
    survey = Survey.objects.filter(case=solved).first() or schedule(solved)
    assert survey is not None
    Survey.objects.filter(pk=survey.pk).update(state=SurveyState.SENT, sent_at=now)
    # A customer with a case on each side: what one side sees of them (their other cases in
    # the related panel, the customer API) must not reach into the other side.
    frank = people.find_or_create_customer(email="frank@both.test", name="Frank Both")
    both = cases.open_case(
        customer=frank, team=team, subject=f"{c('frank')} modem", body=f"Modem {c('frank')}"
    )
    EscalationChain.objects.create(team=team)

    failure_ids = []
    for kind in (FailureKind.SLA_FIRST_RESPONSE, FailureKind.ANGER):
        failure = failures.record(
            kind, key=f"{name}:{kind}", case=case, summary=f"Late {c('failure')}"
        )
        assert failure is not None
        failure_ids.append(failure.pk)
    view = SavedView.objects.create(owner=agent, team=team, name=f"Mine {c('view')}", query="q=x")
    absence = people.add_absence(
        agent, starts_at=now + dt.timedelta(days=10), ends_at=now + dt.timedelta(days=11)
    )
    article = kb.create_article(
        title=f"Draft {name}",
        body="How to restart the router.",
        language="en",
        visibility="internal",
        team=team,
        actor=agent,
    )
    return Side(
        name=name,
        team=team,
        lead=lead,
        agent=agent,
        customer=customer,
        mailbox=mailbox,
        case=Case.objects.get(pk=case.pk),
        solved=Case.objects.get(pk=solved.pk),
        handoff=handoff,
        task_id=task.pk,
        promise_id=promise.pk,
        appointment_id=appointment.pk,
        escalation_id=escalation.pk,
        notification_id=notification.pk,
        attachment_id=attachment.pk,
        note_attachment_id=None,
        html_message_id=first.pk,
        note_id=note.pk,
        held_id=held.pk,
        survey_token=survey.token,
        saved_view_id=view.pk,
        inbound_id=inbound.pk,
        article_slug=article.slug,
        absence_id=absence.pk,
        frank_case=both,
        failure_ids=failure_ids,
    )


def build_world() -> World:
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        cast = make_cast()
        yuri = people.create_staff(
            "yuri", name="Yuri Billing", email="yuri@desk.test", password=PASSWORD
        )
    people.add_member(cast.billing, yuri)
    vektor = Organisation.objects.create(name="Vektor", domains=["customer.test"])
    other = Organisation.objects.create(name="Other", domains=["other.test"])
    Customer.objects.filter(pk=cast.dave.pk).update(organisation=vektor, name="Dave cnrx-name")
    Customer.objects.filter(pk=cast.erin.pk).update(organisation=other, name="Erin cnry-name")
    cast.dave.refresh_from_db()
    cast.erin.refresh_from_db()
    dana = people.find_or_create_customer(email="dana@customer.test", name="Dana Colleague")
    Customer.objects.filter(pk=dana.pk).update(organisation=vektor)
    dana.refresh_from_db()
    x = _side(
        "x",
        team=cast.support,
        lead=cast.alice,
        agent=cast.bob,
        customer=cast.dave,
        address="support@desk.test",
    )
    y = _side(
        "y",
        team=cast.billing,
        lead=cast.carol,
        agent=yuri,
        customer=cast.erin,
        address="billing@desk.test",
    )
    calendar = Calendar.objects.create(name="Office hours", config={"time_zone": "Europe/Moscow"})
    policy = SlaPolicy.objects.create(name="Standard", first_response_minutes=60)
    phrase = GuardPhrase.objects.create(text="не по адресу", note="a brush-off")
    return World(
        cast=cast,
        yuri=yuri,
        dana=dana,
        vektor=vektor,
        x=x,
        y=y,
        calendar_id=calendar.pk,
        policy_id=policy.pk,
        phrase_id=phrase.pk,
    )
