"""Which team gets a new request (R1). The hook the triage router plugs into (issue 4); until
then a message goes to its mailbox's team, or the desk's default team."""

from __future__ import annotations

from pomogu.intake.parsing import ParsedMail
from pomogu.people import services as people
from pomogu.people.models import Team


def choose_team(parsed: ParsedMail, *, mailbox_team: Team | None) -> Team:
    return mailbox_team or people.default_team()
