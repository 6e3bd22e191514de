"""Free slots: weekly hours and extra openings, minus closures and bookings.

Opening hours are Europe/Paris wall-clock times; each day is converted to UTC on
its own, so 9:00 stays 9:00 on both sides of a DST change, and a night shift that
spans the change lasts its real length. Everything else is computed in UTC.

Bookings live in the appointments app, above this one: the busy intervals come
from the function named by `settings.SPECIALISTS_BUSY_INTERVALS`, called with
(practitioner ids, start, end) and answering, in one query, a mapping of
practitioner id to (start, end) pairs. Until the appointments app plugs its
function in, `no_bookings` says nobody is busy. Its booking notice comes the
same way, from `settings.SPECIALISTS_BOOKING_NOTICE`.

Computing the slots of one practitioner costs two queries: the schedule (hours,
exceptions, consultation types and places folded into one row) and the bookings.
"""

import bisect
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from .models import (
    AvailabilityException,
    ConsultationType,
    OpeningHours,
    PracticePlace,
    Practitioner,
)

PARIS = ZoneInfo("Europe/Paris")
Interval = tuple[datetime, datetime]
BusyIntervals = Mapping[int, Sequence[Interval]]

DEFAULT_BUSY_SOURCE = "specialists.availability.no_bookings"
DEFAULT_BOOKING_NOTICE = "specialists.availability.no_booking_notice"
Kind = ConsultationType.Kind


def no_bookings(
    practitioner_ids: Sequence[int], start: datetime, end: datetime
) -> dict[int, list[Interval]]:
    """The busy-interval source used until bookings exist: nobody is busy."""
    return {}


@cache
def _plugged(path: str) -> Callable:
    """A function the app above plugs in by its dotted path in the settings."""
    return import_string(path)


def busy_intervals(
    practitioner_ids: Sequence[int], start: datetime, end: datetime
) -> BusyIntervals:
    """Bookings and holds overlapping [start, end), per practitioner id."""
    if not practitioner_ids:
        return {}
    path = getattr(settings, "SPECIALISTS_BUSY_INTERVALS", None) or DEFAULT_BUSY_SOURCE
    return _plugged(path)(list(practitioner_ids), start, end)


# --- The schedule of a practitioner, loaded in one query --------------------------


@dataclass(frozen=True)
class HoursRule:
    weekday: int
    starts_at: time
    ends_at: time
    place_id: int | None
    in_person: bool
    remote: bool
    valid_from: date | None = None
    valid_until: date | None = None

    def applies_on(self, day: date) -> bool:
        return (
            day.weekday() == self.weekday
            and (self.valid_from is None or day >= self.valid_from)
            and (self.valid_until is None or day <= self.valid_until)
        )


@dataclass(frozen=True)
class ExceptionRule:
    kind: str
    starts_at: datetime
    ends_at: datetime
    place_id: int | None
    remote: bool

    @property
    def is_closure(self) -> bool:
        return self.kind in AvailabilityException.CLOSURES


@dataclass(frozen=True)
class PlaceInfo:
    id: int
    public_id: UUID
    name: str
    commune: str


@dataclass
class Schedule:
    """What slot computation needs to know about one practitioner."""

    practitioner_id: int
    public_id: UUID | None = None
    offers_teleconsultation: bool = False
    buffer: timedelta = timedelta(0)
    minimum_notice: timedelta = timedelta(hours=2)
    horizon: timedelta = timedelta(days=60)
    hours: list[HoursRule] = field(default_factory=list)
    exceptions: list[ExceptionRule] = field(default_factory=list)
    durations: dict[str, int] = field(default_factory=dict)
    places: dict[int, PlaceInfo] = field(default_factory=dict)

    def duration(self, kind: str) -> timedelta | None:
        minutes = self.durations.get(kind)
        return timedelta(minutes=minutes) if minutes else None

    @property
    def bookable_kinds(self) -> list[str]:
        return [kind for kind in Kind.values if kind in self.durations]


@dataclass(frozen=True)
class Window:
    """An opening in real time, at a place or remote."""

    starts_at: datetime
    ends_at: datetime
    place_id: int | None
    in_person: bool
    remote: bool


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    kind: str
    place_id: int | None

    @property
    def is_remote(self) -> bool:
        return self.kind == Kind.TELECONSULTATION


def load_schedules(
    practitioners: Iterable[int] | Q, start: datetime, end: datetime
) -> dict[int, Schedule]:
    """The schedules of some practitioners, with exceptions overlapping [start, end).

    One query whatever the number of practitioners: hours, exceptions,
    consultation types and places come back as JSON arrays on each row. Written
    in SQL: it runs on every slot computation and booking, and building the same
    statement through the ORM cost five times what PostgreSQL spends running it.
    """
    if isinstance(practitioners, Q):
        chosen, chosen_params = (
            Practitioner.objects.filter(practitioners)
            .order_by()
            .values("pk")
            .query.sql_with_params()
        )
        condition = f"p.id IN ({chosen})"
        params: list = [*chosen_params]
    else:
        condition = "p.id = ANY(%s)"
        params = [list(practitioners)]
    sql = _SCHEDULES_SQL.format(
        practitioner=Practitioner._meta.db_table,
        hours=OpeningHours._meta.db_table,
        exceptions=AvailabilityException._meta.db_table,
        types=ConsultationType._meta.db_table,
        places=PracticePlace._meta.db_table,
        condition=condition,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [end, start, *params])
        rows = cursor.fetchall()
    return {row[0]: _schedule_from_row(row) for row in rows}


#: Table names come from the models; the only values are bound parameters.
_SCHEDULES_SQL = """
SELECT p.id, p.public_id, p.teleconsultation, p.buffer_minutes,
       p.minimum_notice_minutes, p.booking_horizon_days,
       (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                   'w', h.weekday, 's', h.starts_at, 'e', h.ends_at,
                   'p', h.place_id, 'i', h.in_person, 'r', h.remote,
                   'f', h.valid_from, 'u', h.valid_until)
                   ORDER BY h.weekday, h.starts_at), '[]')
          FROM {hours} AS h LEFT JOIN {places} AS hp ON hp.id = h.place_id
         WHERE h.practitioner_id = p.id AND (h.place_id IS NULL OR hp.is_active)),
       (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                   'k', x.kind, 's', x.starts_at, 'e', x.ends_at,
                   'p', x.place_id, 'r', x.remote) ORDER BY x.starts_at), '[]')
          FROM {exceptions} AS x
         WHERE x.practitioner_id = p.id AND x.starts_at < %s AND x.ends_at > %s),
       (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                   'k', t.kind, 'm', t.duration_minutes, 'a', t.is_active)
                   ORDER BY t.kind), '[]')
          FROM {types} AS t WHERE t.practitioner_id = p.id),
       (SELECT COALESCE(jsonb_agg(jsonb_build_object(
                   'i', pl.id, 'u', pl.public_id, 'n', pl.name, 'c', pl.commune)
                   ORDER BY pl.is_primary DESC, pl.id), '[]')
          FROM {places} AS pl WHERE pl.practitioner_id = p.id AND pl.is_active)
  FROM {practitioner} AS p
 WHERE {condition}
"""


def _json(value: str | list) -> list:
    # The connection hands jsonb over as text (Django leaves decoding to fields).
    return json.loads(value) if isinstance(value, str | bytes) else value


def _schedule_from_row(row: tuple) -> Schedule:
    (
        pk,
        public_id,
        remote_ok,
        buffer,
        notice,
        horizon,
        hours,
        exceptions,
        types,
        places,
    ) = row
    hours, exceptions, types, places = map(_json, (hours, exceptions, types, places))
    durations: dict[str, int] = {}
    declared = {item["k"]: item for item in types}
    for kind in Kind.values:
        item = declared.get(kind)
        if item is not None:
            if item["a"]:
                durations[kind] = item["m"]
        elif kind != Kind.TELECONSULTATION or remote_ok:
            durations[kind] = ConsultationType.DEFAULT_MINUTES[kind]
    if not remote_ok:
        durations.pop(Kind.TELECONSULTATION, None)
    return Schedule(
        practitioner_id=pk,
        public_id=public_id,
        offers_teleconsultation=remote_ok,
        buffer=timedelta(minutes=buffer),
        minimum_notice=timedelta(minutes=notice),
        horizon=timedelta(days=horizon),
        hours=[
            HoursRule(
                weekday=item["w"],
                starts_at=time.fromisoformat(item["s"]),
                ends_at=time.fromisoformat(item["e"]),
                place_id=item["p"],
                in_person=item["i"],
                remote=item["r"],
                valid_from=date.fromisoformat(item["f"]) if item["f"] else None,
                valid_until=date.fromisoformat(item["u"]) if item["u"] else None,
            )
            for item in hours
        ],
        exceptions=[
            ExceptionRule(
                kind=item["k"],
                starts_at=_parse_datetime(item["s"]),
                ends_at=_parse_datetime(item["e"]),
                place_id=item["p"],
                remote=item["r"],
            )
            for item in exceptions
        ],
        durations=durations,
        places={
            item["i"]: PlaceInfo(item["i"], UUID(item["u"]), item["n"], item["c"])
            for item in places
        },
    )


def _parse_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # PostgreSQL sessions run in UTC under USE_TZ
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


# --- Pure computation ---------------------------------------------------------------


def wall_clock_to_utc(day: date, moment: time) -> datetime:
    """A Europe/Paris wall-clock time on a given day, as an aware UTC datetime.

    A time that does not exist (2:30 on the last Sunday of March) is read with the
    offset in force before the change, i.e. it lands at 3:30 summer time; an
    ambiguous one (2:30 on the last Sunday of October) is its first occurrence.
    """
    return datetime.combine(day, moment, tzinfo=PARIS).astimezone(UTC)


def opening_windows(schedule: Schedule, start: datetime, end: datetime) -> list[Window]:
    """Weekly hours and extra openings overlapping [start, end), in real time."""
    windows: list[Window] = []
    first_day = start.astimezone(PARIS).date() - timedelta(days=1)
    last_day = end.astimezone(PARIS).date()
    day = first_day
    while day <= last_day:
        for rule in schedule.hours:
            if not rule.applies_on(day):
                continue
            opens = wall_clock_to_utc(day, rule.starts_at)
            closes = wall_clock_to_utc(day, rule.ends_at)
            if opens < end and closes > start and closes > opens:
                windows.append(
                    Window(opens, closes, rule.place_id, rule.in_person, rule.remote)
                )
        day += timedelta(days=1)
    for exception in schedule.exceptions:
        if exception.is_closure:
            continue
        if exception.starts_at < end and exception.ends_at > start:
            windows.append(
                Window(
                    exception.starts_at,
                    exception.ends_at,
                    exception.place_id,
                    exception.place_id is not None,
                    exception.remote,
                )
            )
    windows.sort(key=lambda window: (window.starts_at, window.place_id or 0))
    return windows


def subtract(interval: Interval, blocked: Sequence[Interval]) -> list[Interval]:
    """The parts of `interval` not covered by `blocked` (sorted by start)."""
    pieces = []
    cursor, stop = interval
    for block_start, block_end in blocked:
        if block_end <= cursor:
            continue
        if block_start >= stop:
            break
        if block_start > cursor:
            pieces.append((cursor, block_start))
        cursor = max(cursor, block_end)
        if cursor >= stop:
            break
    if cursor < stop:
        pieces.append((cursor, stop))
    return pieces


def free_slots(
    schedule: Schedule,
    *,
    kind: str,
    start: datetime,
    end: datetime,
    busy: Sequence[Interval] = (),
    now: datetime | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Bookable slots of one consultation kind starting in [start, end).

    Slots follow a grid from the opening of each window, one every
    (duration + buffer); a slot must fit in the window without touching a
    closure or a booking (bookings widened by the buffer on both sides), start
    after the minimum notice, and before the booking horizon.
    """
    duration = schedule.duration(kind)
    if duration is None:
        return []
    now = now or timezone.now()
    notice = max(schedule.minimum_notice, booking_notice(kind))
    earliest = max(start, now + notice)
    latest = min(end, now + schedule.horizon)
    if earliest >= latest:
        return []
    remote = kind == Kind.TELECONSULTATION
    step = duration + schedule.buffer
    closures = [exception for exception in schedule.exceptions if exception.is_closure]
    widened = sorted(
        (booking_start - schedule.buffer, booking_end + schedule.buffer)
        for booking_start, booking_end in busy
    )
    slots: list[Slot] = []
    taken: set[datetime] = set()
    for window in opening_windows(schedule, earliest, latest + duration):
        if not (window.remote if remote else window.in_person):
            continue
        if not remote and window.place_id is None:
            continue
        blocked = sorted(
            widened
            + [
                (closure.starts_at, closure.ends_at)
                for closure in closures
                if closure.place_id is None
                or (not remote and closure.place_id == window.place_id)
            ]
        )
        pieces = subtract((window.starts_at, window.ends_at), _merge(blocked))
        if not pieces:
            continue
        piece_ends = [piece_end for _piece_start, piece_end in pieces]
        candidate = window.starts_at
        if candidate < earliest:
            skipped = -(-(earliest - candidate) // step)  # ceiling division
            candidate += step * skipped
        while candidate + duration <= window.ends_at and candidate < latest:
            index = bisect.bisect_right(piece_ends, candidate)
            fits = index < len(pieces) and (
                pieces[index][0] <= candidate
                and candidate + duration <= pieces[index][1]
            )
            if fits and candidate not in taken:
                taken.add(candidate)
                slots.append(
                    Slot(
                        candidate,
                        candidate + duration,
                        kind,
                        None if remote else window.place_id,
                    )
                )
            candidate += step
    slots.sort(key=lambda slot: slot.starts_at)
    return slots[:limit] if limit is not None else slots


def no_booking_notice(kind: str) -> timedelta:
    """The booking notice used until booking rules exist: none."""
    return timedelta(0)


def booking_notice(kind: str) -> timedelta:
    """How long before its start a slot of this kind can still be booked.

    The booking rules live in the appointments app, above this one: the function
    named by `settings.SPECIALISTS_BOOKING_NOTICE` answers. The directory never
    offers a slot closer than that, even for a practitioner whose own minimum
    notice is shorter, so every slot offered can be booked.
    """
    path = getattr(settings, "SPECIALISTS_BOOKING_NOTICE", None)
    return _plugged(path or DEFAULT_BOOKING_NOTICE)(kind)


def _merge(intervals: Sequence[Interval]) -> list[Interval]:
    merged: list[Interval] = []
    for interval_start, interval_end in intervals:
        if merged and interval_start <= merged[-1][1]:
            if interval_end > merged[-1][1]:
                merged[-1] = (merged[-1][0], interval_end)
        else:
            merged.append((interval_start, interval_end))
    return merged


def first_free_slot(
    schedule: Schedule,
    *,
    busy: Sequence[Interval] = (),
    now: datetime | None = None,
    kinds: Sequence[str] | None = None,
) -> Slot | None:
    """The earliest slot a new patient can book, in person or remote.

    Searched week by week up to the horizon, so that a practitioner free
    tomorrow costs one week of computation, not two months.
    """
    now = now or timezone.now()
    kinds = kinds or [
        kind
        for kind in (Kind.FIRST_VISIT, Kind.TELECONSULTATION)
        if kind in schedule.durations
    ]
    cursor = now
    stop = now + schedule.horizon
    while cursor < stop:
        chunk_end = min(cursor + timedelta(days=7), stop)
        found = [
            slots[0]
            for kind in kinds
            if (
                slots := free_slots(
                    schedule,
                    kind=kind,
                    start=cursor,
                    end=chunk_end,
                    busy=busy,
                    now=now,
                    limit=1,
                )
            )
        ]
        if found:
            return min(found, key=lambda slot: slot.starts_at)
        cursor = chunk_end
    return None


# --- Entry points -------------------------------------------------------------------


def slots_for(
    practitioner: Practitioner | int,
    *,
    start: datetime,
    end: datetime,
    kind: str | None = None,
    now: datetime | None = None,
) -> list[Slot]:
    """Free slots of one practitioner in [start, end): two queries.

    Without a kind, slots of every bookable kind come back, in time order.
    """
    practitioner_id = practitioner if isinstance(practitioner, int) else practitioner.pk
    schedule = load_schedules([practitioner_id], start, end).get(practitioner_id)
    if schedule is None:
        return []
    return compute_slots(schedule, start=start, end=end, kind=kind, now=now)


def compute_slots(
    schedule: Schedule,
    *,
    start: datetime,
    end: datetime,
    kind: str | None = None,
    now: datetime | None = None,
    busy: Sequence[Interval] | None = None,
) -> list[Slot]:
    if busy is None:
        # Widened by a day so that a buffer around a booking just outside counts.
        busy = busy_intervals(
            [schedule.practitioner_id],
            start - timedelta(days=1),
            end + timedelta(days=1),
        ).get(schedule.practitioner_id, [])
    kinds = [kind] if kind else schedule.bookable_kinds
    slots = [
        slot
        for each in kinds
        for slot in free_slots(
            schedule, kind=each, start=start, end=end, busy=busy, now=now
        )
    ]
    slots.sort(key=lambda slot: (slot.starts_at, slot.kind))
    return slots


def is_slot_free(
    practitioner: Practitioner | int,
    *,
    kind: str,
    starts_at: datetime,
    place_id: int | None = None,
    now: datetime | None = None,
) -> bool:
    """True when `starts_at` is a free slot of this kind (and place, if given).

    For the booking service: it checks the requested slot, then relies on the
    database's exclusion constraint for the race between two patients.
    """
    slots = slots_for(
        practitioner,
        start=starts_at,
        end=starts_at + timedelta(minutes=1),
        kind=kind,
        now=now,
    )
    return any(
        slot.starts_at == starts_at and (place_id is None or slot.place_id == place_id)
        for slot in slots
    )


def next_available_times(
    practitioner_ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, datetime | None]:
    """The earliest bookable slot of each practitioner: two queries per call."""
    now = now or timezone.now()
    if not practitioner_ids:
        return {}
    schedules = load_schedules(practitioner_ids, now, now + timedelta(days=366))
    horizon_end = now + max(
        (schedule.horizon for schedule in schedules.values()), default=timedelta(0)
    )
    busy = busy_intervals(list(schedules), now - timedelta(days=1), horizon_end)
    result: dict[int, datetime | None] = {}
    for practitioner_id, schedule in schedules.items():
        slot = first_free_slot(schedule, busy=busy.get(practitioner_id, ()), now=now)
        result[practitioner_id] = slot.starts_at if slot else None
    return result
