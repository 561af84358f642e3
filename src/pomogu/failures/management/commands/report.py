"""``pomogu report``: the failure register added up for a period (R8), and customer effort.

    pomogu report [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--team SLUG] [--by team|kind|week]

The period is the last 7 days (today included) unless given; both days are included. The table
shows failures, business hours lost and money at risk by team and kind (or by one of team, kind,
week), with a total line; then, per team, the customer effort on the cases opened in the period:
how often the customer had to write and how many handoffs a case went through.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from pomogu.failures import queries, services
from pomogu.failures.models import Failure
from pomogu.people.models import Team


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _money(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", " ")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], numeric_from: int) -> list[str]:
    """Plain-text columns: text left-aligned, columns from ``numeric_from`` on right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(widths[i]) if i >= numeric_from else cell.ljust(widths[i])
            for i, cell in enumerate(cells)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [line(header), rule, *(line(row) for row in rows)]


class Command(BaseCommand):
    help = "Failures of service by team and kind for a period, with customer effort (R8)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--since", type=_date, help="first day (default: 6 days before --until)"
        )
        parser.add_argument("--until", type=_date, help="last day, included (default: today)")
        parser.add_argument("--team", metavar="SLUG", help="only this team")
        parser.add_argument(
            "--by", choices=["team", "kind", "week"], help="one grouping (default: team and kind)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        since: dt.date | None = options["since"]
        until: dt.date | None = options["until"]
        if since and until and until < since:
            raise CommandError("--until must not be before --since")
        start, end = queries.default_period(since, until)
        failures = Failure.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
        team_ids: list[int] | None = None
        if options["team"]:
            team = Team.objects.filter(slug=options["team"]).first()
            if team is None:
                raise CommandError(f"no team with the short name {options['team']!r}")
            failures = failures.filter(team=team)
            team_ids = [team.pk]
        by: tuple[str, ...] = (options["by"],) if options["by"] else ("team", "kind")

        last_day = (end - dt.timedelta(days=1)).date()
        self.stdout.write(
            _("Failures of service, %(since)s to %(until)s")
            % {"since": start.date().isoformat(), "until": last_day.isoformat()}
        )
        self.stdout.write("")
        rows = services.summarise(failures, by=by)
        self._failures(rows, by)
        self.stdout.write("")
        self._effort(queries.customer_effort(start, end, team_ids=team_ids))
        self.stdout.write("")
        self._surveys(start, end, team_ids)

    def _surveys(self, start: dt.datetime, end: dt.datetime, team_ids: list[int] | None) -> None:
        from pomogu.contact.models import Survey
        from pomogu.contact.surveys import results

        found = Survey.objects.filter(due_at__gte=start, due_at__lt=end)
        if team_ids is not None:
            found = found.filter(case__team_id__in=team_ids)
        figures = results(found)
        average = figures["average"]
        self.stdout.write(
            _("Surveys: %(sent)s sent, %(answered)s answered, average rating %(average)s")
            % {
                "sent": figures["sent"],
                "answered": figures["answered"],
                "average": f"{average:.2f}" if average is not None else "—",
            }
        )

    def _failures(self, rows: list[dict[str, Any]], by: Sequence[str]) -> None:
        titles = {"team": _("Team"), "kind": _("Failure"), "week": _("Week of")}
        header = [titles[name] for name in by] + [_("Count"), _("Hours lost"), _("Money at risk")]
        lines: list[list[str]] = []
        for row in rows:
            cells = []
            for name in by:
                if name == "team":
                    cells.append(row["team_name"] or _("(no team)"))
                elif name == "kind":
                    cells.append(row["kind_label"])
                else:
                    cells.append(row["week"].isoformat() if row["week"] else "")
            lines.append([*cells, *self._figures(row)])
        total = services.totals(rows)
        lines.append([_("Total"), *[""] * (len(by) - 1), *self._figures(total)])
        for text in table(header, lines, numeric_from=len(by)):
            self.stdout.write(text)
        if not rows:
            self.stdout.write(_("No failures in this period."))

    @staticmethod
    def _figures(row: dict[str, Any]) -> list[str]:
        hours = row["minutes_lost"] / 60
        return [str(row["count"]), f"{hours:.1f}", _money(row["money_at_risk"])]

    def _effort(self, rows: list[dict[str, Any]]) -> None:
        self.stdout.write(_("Customer effort (cases opened in the period)"))
        header = [_("Team"), _("Cases"), _("Contacts per case"), _("Handoffs per case")]
        lines = [
            [
                row["team_name"],
                str(row["cases"]),
                f"{row['contacts_per_case']:.2f}",
                f"{row['handoffs_per_case']:.2f}",
            ]
            for row in rows
        ]
        for text in table(header, lines, numeric_from=1):
            self.stdout.write(text)
        if not rows:
            self.stdout.write(_("No cases opened in this period."))
