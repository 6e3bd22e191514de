"""Factories and helpers of appointments: a practitioner open every day, and
appointments in any state."""

import datetime
from datetime import time, timedelta

import factory
from django.utils import timezone

from appointments import availability
from appointments.models import Appointment, Face, Pharmacy
from specialists.models import ConsultationType
from tests.patients.factories import PatientFactory
from tests.specialists.factories import (
    OpeningHoursFactory,
    PracticePlaceFactory,
    PractitionerFactory,
)

Kind = ConsultationType.Kind


def open_practitioner(
    *,
    start: time = time(8, 0),
    end: time = time(20, 0),
    specialties=("cardiology",),
    **kwargs,
):
    """A verified practitioner receiving every day, in person and by video."""
    practitioner = PractitionerFactory(
        **{
            "verified": True,
            "teleconsultation": True,
            "minimum_notice_minutes": 0,
            "booking_horizon_days": 365,
            "specialties": list(specialties),
            "contact_email": "cabinet@example.fr",
            **kwargs,
        }
    )
    place = PracticePlaceFactory(practitioner=practitioner)
    for weekday in range(7):
        OpeningHoursFactory(
            practitioner=practitioner,
            place=place,
            weekday=weekday,
            starts_at=start,
            ends_at=end,
            in_person=True,
            remote=True,
        )
    return practitioner


def free_slots(practitioner, *, kind=Kind.FIRST_VISIT, after=None, days=7, now=None):
    now = now or timezone.now()
    after = after or now
    return availability.compute(
        practitioner.pk,
        kind=kind,
        start=after,
        end=after + timedelta(days=days),
        now=now,
    )


def slot_after(practitioner, *, kind=Kind.FIRST_VISIT, hours=48, now=None):
    """The first free slot at least `hours` from now."""
    now = now or timezone.now()
    return free_slots(
        practitioner, kind=kind, after=now + timedelta(hours=hours), now=now
    )[0]


class AppointmentFactory(factory.django.DjangoModelFactory):
    """An appointment written directly (past ones, states the services reach later).

    Services are tested by calling them; this factory builds the scenery.
    """

    class Meta:
        model = Appointment

    practitioner = factory.LazyFunction(open_practitioner)
    place = factory.LazyAttribute(lambda o: o.practitioner.places.first())
    mode = Appointment.Mode.IN_PERSON
    patient = factory.SubFactory(PatientFactory, consented=True)
    consultation_kind = Kind.FIRST_VISIT
    starts_at = factory.LazyFunction(
        lambda: (timezone.now() + timedelta(days=3)).replace(
            minute=0, second=0, microsecond=0
        )
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(minutes=30))
    state = Appointment.State.BOOKED
    booked_via = Face.ADMIN
    booked_at = factory.LazyFunction(timezone.now)


class PharmacyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pharmacy

    name = factory.Sequence(lambda n: f"Pharmacie du Marché {n}")
    address = "3 place du Marché"
    postal_code = "75011"
    city = "Paris"
    email = factory.Sequence(lambda n: f"pharmacie{n}@example.fr")


def at(year, month, day, hour=0, minute=0) -> datetime.datetime:
    """A Paris wall-clock time as an aware datetime."""
    from specialists.availability import PARIS

    return datetime.datetime(year, month, day, hour, minute, tzinfo=PARIS)
