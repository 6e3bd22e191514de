"""Bookings as the directory sees them, and free slots as bookings see them.

`busy_intervals` is the function `SPECIALISTS_BUSY_INTERVALS` names: the slot
computation of the specialists app takes these intervals out of opening hours.
A hold whose time is up is not busy, even before the sweep marks it expired.
"""

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.utils import timezone

from specialists import availability as directory
from specialists.availability import Slot

from .models import Appointment

Interval = tuple[datetime, datetime]

ALTERNATIVES = 5
ALTERNATIVES_DAYS = 14


def busy_intervals(
    practitioner_ids: Sequence[int],
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
) -> dict[int, list[Interval]]:
    """Appointments and live holds overlapping [start, end), per practitioner: one
    query, served by the partial index on active appointments."""
    rows = (
        Appointment.objects.live(now=now)
        .filter(
            practitioner_id__in=list(practitioner_ids),
            starts_at__lt=end,
            ends_at__gt=start,
        )
        .order_by("starts_at")
        .values_list("practitioner_id", "starts_at", "ends_at")
    )
    busy: dict[int, list[Interval]] = defaultdict(list)
    for practitioner_id, starts_at, ends_at in rows:
        busy[practitioner_id].append((starts_at, ends_at))
    return dict(busy)


def compute(
    practitioner_id: int,
    *,
    kind: str | None,
    start: datetime,
    end: datetime,
    now: datetime | None = None,
    ignore_bookings: bool = False,
) -> list[Slot]:
    """Free slots of one practitioner starting in [start, end): two queries.

    Bookings come from `busy_intervals` whatever the setting says, so that the
    booking service never trusts another source than its own table. With
    `ignore_bookings`, the slots of the grid whatever is booked.
    """
    schedule = directory.load_schedules([practitioner_id], start, end).get(
        practitioner_id
    )
    if schedule is None:
        return []
    if ignore_bookings:
        busy: Sequence[Interval] = []
    else:
        # Widened by a day: a buffer around a booking just outside counts.
        busy = busy_intervals(
            [practitioner_id],
            start - timedelta(days=1),
            end + timedelta(days=1),
            now=now,
        ).get(practitioner_id, [])
    return directory.compute_slots(
        schedule, start=start, end=end, kind=kind, now=now, busy=busy
    )


def find_slot(
    practitioner_id: int,
    *,
    kind: str,
    starts_at: datetime,
    place_id: int | None = None,
    now: datetime | None = None,
    ignore_bookings: bool = False,
) -> Slot | None:
    """The free slot of this kind starting exactly at `starts_at`, if there is one.

    With `ignore_bookings`, the slot of the grid whatever is booked: it tells a
    slot just taken from a time that was never offered.
    """
    slots = compute(
        practitioner_id,
        kind=kind,
        start=starts_at,
        end=starts_at + timedelta(minutes=1),
        now=now,
        ignore_bookings=ignore_bookings,
    )
    for slot in slots:
        if slot.starts_at == starts_at and (
            place_id is None or slot.place_id == place_id
        ):
            return slot
    return None


def alternatives(
    practitioner_id: int,
    *,
    kind: str,
    after: datetime,
    now: datetime | None = None,
    limit: int = ALTERNATIVES,
) -> list[Slot]:
    """The next free slots of this kind from `after` (or now), for a patient who
    just lost a race: fresh, since they are read after the winner committed."""
    now = now or timezone.now()
    start = max(after, now)
    slots = compute(
        practitioner_id,
        kind=kind,
        start=start,
        end=start + timedelta(days=ALTERNATIVES_DAYS),
        now=now,
    )
    return slots[:limit]
