"""Who may see which contact records (SEC-1): a survey goes with its case."""

from __future__ import annotations

from django.db.models import QuerySet

from pomogu.cases.queries import visible_cases
from pomogu.contact.models import Survey
from pomogu.people.models import User


def visible_surveys(user: User) -> QuerySet[Survey]:
    return Survey.objects.filter(case__in=visible_cases(user))
