"""Gapless legal numbering: one counter row per (series, year), locked to take a number.

The number is taken inside the transaction that issues the document. The
counter row stays locked (`SELECT … FOR UPDATE`) until that transaction ends, so
concurrent issues queue up one behind the other; if the transaction rolls back,
the increment rolls back with it and the number is used by the next issue: no
gap, no duplicate.
"""

from django.db import connection

from .models import DocumentCounter


def take_number(*, series: str, year: int) -> str:
    """Return the next number of the series for the year, e.g. FA-2026-000042."""
    if not connection.in_atomic_block:
        raise RuntimeError("A legal number must be taken inside a transaction.")
    # INSERT … ON CONFLICT DO NOTHING: the first issue of a year creates the
    # row without racing another first issue.
    DocumentCounter.objects.bulk_create(
        [DocumentCounter(series=series, year=year, last_value=0)],
        ignore_conflicts=True,
    )
    counter = DocumentCounter.objects.select_for_update().get(series=series, year=year)
    counter.last_value += 1
    counter.save(update_fields=["last_value"])
    return format_number(series=series, year=year, value=counter.last_value)


def format_number(*, series: str, year: int, value: int) -> str:
    return f"{series}-{year}-{value:06d}"
