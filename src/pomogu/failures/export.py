"""The failure register as CSV: one writer for the API's export and the dashboard's."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone

from pomogu.core import clock
from pomogu.failures.models import Failure

# Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

SEPARATORS = (",", ";")

HEADER = (
    "occurred_at",
    "kind",
    "case",
    "team",
    "person",
    "minutes_lost",
    "money_at_risk",
    "summary",
)


def cell(value: object) -> str:
    """A value as CSV text; one that would start a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def _rows(failures: Iterable[Failure]) -> Iterable[list[str]]:
    if isinstance(failures, QuerySet):
        failures = failures.iterator(chunk_size=2000)
    for failure in failures:
        yield [
            cell(value)
            for value in (
                timezone.localtime(failure.occurred_at).isoformat(timespec="seconds"),
                failure.get_kind_display(),
                failure.case.number if failure.case is not None else "",
                failure.team.name if failure.team is not None else "",
                failure.person.display_name if failure.person is not None else "",
                f"{failure.minutes_lost:.1f}",
                f"{failure.money_at_risk:.2f}",
                failure.summary,
            )
        ]


def csv_response(failures: Iterable[Failure], *, sep: str = ",") -> HttpResponse:
    """The failures, in the order given, as an attached UTF-8 CSV file with a byte order mark
    (so that Excel shows Cyrillic text). ``sep`` is "," or ";" (Excel in a Russian locale
    splits on ";"). Cells that would start a formula get a leading apostrophe. Pass a
    queryset with ``select_related("case", "team", "person")``: it is read in chunks."""
    if sep not in SEPARATORS:
        raise ValueError(f"the CSV separator must be one of {SEPARATORS}, got {sep!r}")
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=sep)
    writer.writerow(HEADER)
    writer.writerows(_rows(failures))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate(clock.now()).strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="failures-{stamp}.csv"'
    return response
