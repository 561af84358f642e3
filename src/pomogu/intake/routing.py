"""Which team gets a new request (R1): the triage router decides, and falls back to the
mailbox's team (or the desk's default team) when it has no model or is unsure."""

from __future__ import annotations

from pomogu.intake.parsing import ParsedMail
from pomogu.people.models import Team
from pomogu.triage import services as triage
from pomogu.triage.services import Route


def choose_team(parsed: ParsedMail, *, mailbox_team: Team | None) -> Route:
    return triage.route(
        parsed.subject, parsed.visible_text or parsed.text, mailbox_team=mailbox_team
    )
