"""Free slots: hours minus closures and bookings, in real time across DST."""

from datetime import UTC, datetime, time, timedelta

import pytest

from specialists import availability
from specialists.availability import PARIS, slots_for, wall_clock_to_utc
from specialists.models import AvailabilityException, ConsultationType, Practitioner
from specialists.services import refresh_availability
from tests.specialists.factories import (
    AvailabilityExceptionFactory,
    ConsultationTypeFactory,
    OpeningHoursFactory,
    PracticePlaceFactory,
    PractitionerFactory,
)

#: Busy intervals served by `busy_from_memory`, per practitioner id.
BUSY: dict[int, list[tuple[datetime, datetime]]] = {}


def busy_from_memory(practitioner_ids, start, end):
    """A stand-in for the appointments app: one query, like the real source."""
    list(Practitioner.objects.filter(pk__in=practitioner_ids).values_list("pk"))
    return {
        pk: [(s, e) for s, e in BUSY.get(pk, []) if s < end and e > start]
        for pk in practitioner_ids
    }


@pytest.fixture
def bookings(settings):
    settings.SPECIALISTS_BUSY_INTERVALS = (
        "tests.specialists.test_availability.busy_from_memory"
    )
    BUSY.clear()
    yield BUSY
    BUSY.clear()


def paris(*args) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def local_times(slots) -> list[str]:
    return [slot.starts_at.astimezone(PARIS).strftime("%d %H:%M") for slot in slots]


@pytest.fixture
def practitioner(db):
    return PractitionerFactory(verified=True, teleconsultation=True)


@pytest.fixture
def place(practitioner):
    return PracticePlaceFactory(practitioner=practitioner)


def hours(practitioner, place, weekday, start, end, **kwargs):
    return OpeningHoursFactory(
        practitioner=practitioner,
        place=place,
        weekday=weekday,
        starts_at=start,
        ends_at=end,
        **kwargs,
    )


# A Monday in winter, long before the DST change.
MONDAY = paris(2026, 2, 2)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)
BEFORE_MARCH = datetime(2026, 3, 1, tzinfo=UTC)
BEFORE_OCTOBER = datetime(2026, 10, 1, tzinfo=UTC)


def test_weekly_hours_give_regular_slots_of_the_consultation_length(
    practitioner, place
):
    hours(practitioner, place, 0, time(9), time(12))

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(slots) == [
        "02 09:00", "02 09:30", "02 10:00", "02 10:30", "02 11:00", "02 11:30",
    ]  # fmt: skip
    assert slots[0].starts_at == datetime(2026, 2, 2, 8, 0, tzinfo=UTC)
    assert all(slot.ends_at - slot.starts_at == timedelta(minutes=30) for slot in slots)
    assert {slot.place_id for slot in slots} == {place.pk}


def test_the_practitioners_own_durations_replace_the_defaults(practitioner, place):
    hours(practitioner, place, 0, time(9), time(10))
    ConsultationTypeFactory(
        practitioner=practitioner,
        kind=ConsultationType.Kind.FOLLOW_UP,
        duration_minutes=15,
    )

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FOLLOW_UP,
        now=LONG_AGO,
    )

    assert local_times(slots) == ["02 09:00", "02 09:15", "02 09:30", "02 09:45"]


def test_9_oclock_stays_9_oclock_on_both_sides_of_the_march_change(practitioner, place):
    # The last Sunday of March 2026 is the 29th: clocks go from 2:00 to 3:00.
    hours(practitioner, place, 5, time(9), time(10))  # Saturday
    hours(practitioner, place, 6, time(9), time(10))  # Sunday

    slots = slots_for(
        practitioner,
        start=paris(2026, 3, 28),
        end=paris(2026, 3, 30),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=BEFORE_MARCH,
    )

    assert local_times(slots) == ["28 09:00", "28 09:30", "29 09:00", "29 09:30"]
    assert slots[0].starts_at == datetime(2026, 3, 28, 8, 0, tzinfo=UTC)  # UTC+1
    assert slots[2].starts_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # UTC+2


def test_a_night_opening_loses_the_hour_that_does_not_exist_in_march(
    practitioner, place
):
    hours(practitioner, place, 6, time(1), time(4))

    slots = slots_for(
        practitioner,
        start=paris(2026, 3, 29),
        end=paris(2026, 3, 30),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=BEFORE_MARCH,
    )

    # 1:00 to 4:00 on that night lasts two real hours: four slots, not six.
    assert local_times(slots) == ["29 01:00", "29 01:30", "29 03:00", "29 03:30"]
    assert slots[-1].ends_at == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def test_9_oclock_stays_9_oclock_on_both_sides_of_the_october_change(
    practitioner, place
):
    # The last Sunday of October 2026 is the 25th: clocks go from 3:00 to 2:00.
    hours(practitioner, place, 5, time(9), time(10))
    hours(practitioner, place, 6, time(9), time(10))

    slots = slots_for(
        practitioner,
        start=paris(2026, 10, 24),
        end=paris(2026, 10, 26),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=BEFORE_OCTOBER,
    )

    assert local_times(slots) == ["24 09:00", "24 09:30", "25 09:00", "25 09:30"]
    assert slots[0].starts_at == datetime(2026, 10, 24, 7, 0, tzinfo=UTC)  # UTC+2
    assert slots[2].starts_at == datetime(2026, 10, 25, 8, 0, tzinfo=UTC)  # UTC+1


def test_a_night_opening_gains_the_repeated_hour_in_october(practitioner, place):
    hours(practitioner, place, 6, time(1), time(4))

    slots = slots_for(
        practitioner,
        start=paris(2026, 10, 25),
        end=paris(2026, 10, 26),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=BEFORE_OCTOBER,
    )

    # 1:00 to 4:00 on that night lasts four real hours: eight slots.
    assert len(slots) == 8
    assert slots[0].starts_at == datetime(2026, 10, 24, 23, 0, tzinfo=UTC)
    assert slots[-1].ends_at == datetime(2026, 10, 25, 3, 0, tzinfo=UTC)
    assert len({slot.starts_at for slot in slots}) == 8


def test_wall_clock_conversion_reads_a_missing_time_as_summer_time():
    assert wall_clock_to_utc(paris(2026, 3, 29).date(), time(2, 30)) == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )


def test_a_holiday_closes_every_place_for_its_days(practitioner, place):
    hours(practitioner, place, 0, time(9), time(12))
    hours(practitioner, place, 1, time(9), time(12))
    AvailabilityExceptionFactory(
        practitioner=practitioner,
        kind=AvailabilityException.Kind.HOLIDAY,
        starts_at=paris(2026, 2, 2),
        ends_at=paris(2026, 2, 3),
    )

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=2),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert {slot.starts_at.astimezone(PARIS).day for slot in slots} == {3}


def test_an_absence_removes_only_the_slots_it_overlaps(practitioner, place):
    hours(practitioner, place, 0, time(9), time(12))
    AvailabilityExceptionFactory(
        practitioner=practitioner,
        kind=AvailabilityException.Kind.ABSENCE,
        starts_at=paris(2026, 2, 2, 9, 45),
        ends_at=paris(2026, 2, 2, 10, 30),
    )

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(slots) == ["02 09:00", "02 10:30", "02 11:00", "02 11:30"]


def test_closing_one_place_leaves_the_other_place_open(practitioner, place):
    other = PracticePlaceFactory(practitioner=practitioner, is_primary=False)
    hours(practitioner, place, 0, time(9), time(10))
    hours(practitioner, other, 0, time(14), time(15))
    AvailabilityExceptionFactory(
        practitioner=practitioner,
        place=place,
        kind=AvailabilityException.Kind.ABSENCE,
        starts_at=MONDAY,
        ends_at=MONDAY + timedelta(days=1),
    )

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(slots) == ["02 14:00", "02 14:30"]
    assert {slot.place_id for slot in slots} == {other.pk}


def test_an_extra_opening_adds_slots_on_a_closed_day(practitioner, place):
    AvailabilityExceptionFactory(
        practitioner=practitioner,
        place=place,
        kind=AvailabilityException.Kind.EXTRA_OPENING,
        starts_at=paris(2026, 2, 7, 10),  # a Saturday without hours
        ends_at=paris(2026, 2, 7, 11),
    )

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=7),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(slots) == ["07 10:00", "07 10:30"]


def test_a_buffer_separates_consecutive_slots(practitioner, place):
    practitioner.buffer_minutes = 10
    practitioner.save(update_fields=["buffer_minutes"])
    hours(practitioner, place, 0, time(9), time(12))

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(slots) == ["02 09:00", "02 09:40", "02 10:20", "02 11:00"]


def test_bookings_from_the_pluggable_source_are_not_offered(
    practitioner, place, bookings
):
    hours(practitioner, place, 0, time(9), time(11))
    bookings[practitioner.pk] = [(paris(2026, 2, 2, 9, 30), paris(2026, 2, 2, 10, 0))]

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(slots) == ["02 09:00", "02 10:00", "02 10:30"]


def test_the_buffer_also_keeps_distance_from_a_booking(practitioner, place, bookings):
    practitioner.buffer_minutes = 10
    practitioner.save(update_fields=["buffer_minutes"])
    hours(practitioner, place, 0, time(9), time(12))
    # A follow-up booked 10:20-10:40 blocks 10:10 to 10:50 with its buffers: the
    # 9:40 slot still ends in time (10:10), the 10:20 one does not.
    bookings[practitioner.pk] = [(paris(2026, 2, 2, 10, 20), paris(2026, 2, 2, 10, 40))]

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(slots) == ["02 09:00", "02 09:40", "02 11:00"]


def test_no_slot_is_offered_within_the_minimum_notice(practitioner, place):
    practitioner.minimum_notice_minutes = 120
    practitioner.save(update_fields=["minimum_notice_minutes"])
    hours(practitioner, place, 0, time(9), time(12))

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=paris(2026, 2, 2, 8, 15),
    )

    assert local_times(slots) == ["02 10:30", "02 11:00", "02 11:30"]


def test_no_slot_is_offered_beyond_the_booking_horizon(practitioner, place):
    practitioner.booking_horizon_days = 7
    practitioner.save(update_fields=["booking_horizon_days"])
    hours(practitioner, place, 0, time(9), time(10))

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=28),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=paris(2026, 2, 1, 12),
    )

    assert local_times(slots) == ["02 09:00", "02 09:30"]


def test_hours_apply_only_within_their_validity(practitioner, place):
    hours(
        practitioner,
        place,
        0,
        time(9),
        time(10),
        valid_from=paris(2026, 2, 9).date(),
    )

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=14),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(slots) == ["09 09:00", "09 09:30"]


def test_teleconsultation_slots_come_from_remote_hours_only(practitioner, place):
    hours(practitioner, place, 0, time(9), time(10))
    hours(practitioner, None, 0, time(18), time(19), in_person=False, remote=True)

    remote = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.TELECONSULTATION,
        now=LONG_AGO,
    )
    in_person = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.FIRST_VISIT,
        now=LONG_AGO,
    )

    assert local_times(remote) == ["02 18:00", "02 18:20", "02 18:40"]
    assert all(slot.place_id is None and slot.is_remote for slot in remote)
    assert local_times(in_person) == ["02 09:00", "02 09:30"]


def test_a_practitioner_without_teleconsultation_has_no_remote_slot(db):
    practitioner = PractitionerFactory(verified=True, teleconsultation=False)
    hours(practitioner, None, 0, time(18), time(19), in_person=False, remote=True)

    slots = slots_for(
        practitioner,
        start=MONDAY,
        end=MONDAY + timedelta(days=1),
        kind=ConsultationType.Kind.TELECONSULTATION,
        now=LONG_AGO,
    )

    assert slots == []


def test_a_disabled_consultation_type_is_not_bookable(practitioner, place):
    hours(practitioner, place, 0, time(9), time(10))
    ConsultationTypeFactory(
        practitioner=practitioner,
        kind=ConsultationType.Kind.FIRST_VISIT,
        duration_minutes=30,
        is_active=False,
    )

    slots = slots_for(
        practitioner, start=MONDAY, end=MONDAY + timedelta(days=1), now=LONG_AGO
    )

    assert {slot.kind for slot in slots} == {ConsultationType.Kind.FOLLOW_UP}


def test_hours_of_a_closed_place_give_no_slot(practitioner, place):
    hours(practitioner, place, 0, time(9), time(10))
    place.is_active = False
    place.save(update_fields=["is_active"])

    assert (
        slots_for(
            practitioner, start=MONDAY, end=MONDAY + timedelta(days=1), now=LONG_AGO
        )
        == []
    )


def test_four_weeks_of_slots_cost_at_most_three_queries(
    practitioner, place, bookings, django_assert_max_num_queries
):
    for weekday in range(5):
        hours(practitioner, place, weekday, time(9), time(12))
        hours(practitioner, place, weekday, time(14), time(18))
    AvailabilityExceptionFactory(
        practitioner=practitioner,
        kind=AvailabilityException.Kind.HOLIDAY,
        starts_at=paris(2026, 2, 9),
        ends_at=paris(2026, 2, 14),
    )
    bookings[practitioner.pk] = [(paris(2026, 2, 3, 9), paris(2026, 2, 3, 9, 30))]

    with django_assert_max_num_queries(3):
        slots = slots_for(
            practitioner, start=MONDAY, end=MONDAY + timedelta(days=28), now=LONG_AGO
        )

    days = {slot.starts_at.astimezone(PARIS).date() for slot in slots}
    assert len(days) == 15  # 20 working days minus a week of holiday
    assert paris(2026, 2, 3, 9) not in {slot.starts_at for slot in slots}


def test_is_slot_free_accepts_a_real_slot_and_refuses_a_booked_one(
    practitioner, place, bookings
):
    hours(practitioner, place, 0, time(9), time(10))
    bookings[practitioner.pk] = [(paris(2026, 2, 2, 9), paris(2026, 2, 2, 9, 30))]
    kind = ConsultationType.Kind.FIRST_VISIT

    assert availability.is_slot_free(
        practitioner, kind=kind, starts_at=paris(2026, 2, 2, 9, 30), now=LONG_AGO
    )
    assert not availability.is_slot_free(
        practitioner, kind=kind, starts_at=paris(2026, 2, 2, 9), now=LONG_AGO
    )
    assert not availability.is_slot_free(
        practitioner, kind=kind, starts_at=paris(2026, 2, 2, 9, 10), now=LONG_AGO
    )


def test_next_availability_is_precomputed_on_the_row(practitioner, place, bookings):
    hours(practitioner, place, 0, time(9), time(10))
    bookings[practitioner.pk] = [(paris(2026, 2, 2, 9), paris(2026, 2, 2, 10))]
    other = PractitionerFactory(verified=True)

    refresh_availability(
        practitioner_ids=[practitioner.pk, other.pk], now=paris(2026, 2, 1, 12)
    )

    practitioner.refresh_from_db()
    other.refresh_from_db()
    assert practitioner.next_available_at == paris(2026, 2, 9, 9)  # booked on the 2nd
    assert other.next_available_at is None  # no hours at all


def test_the_next_slot_prefers_the_earliest_of_in_person_and_remote(
    practitioner, place
):
    hours(practitioner, place, 1, time(9), time(10))
    hours(practitioner, None, 0, time(18), time(19), in_person=False, remote=True)

    refresh_availability(practitioner_ids=[practitioner.pk], now=paris(2026, 2, 1, 12))

    practitioner.refresh_from_db()
    assert practitioner.next_available_at == paris(2026, 2, 2, 18)
