"""Factories of the specialist directory."""

from datetime import time, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from specialists.models import (
    AvailabilityException,
    ConsultationType,
    OpeningHours,
    PracticePlace,
    Practitioner,
    Review,
    Specialty,
)
from specialists.services import refresh_search_columns
from specialists.validators import luhn_check_digit


def valid_rpps(n: int) -> str:
    body = f"1{n:09d}"
    return body + luhn_check_digit(body)


class PractitionerFactory(factory.django.DjangoModelFactory):
    """`PractitionerFactory(specialties=["cardiology"], verified=True)`."""

    class Meta:
        model = Practitioner
        skip_postgeneration_save = True

    class Params:
        verified = factory.Trait(
            verified_until=factory.LazyFunction(
                lambda: timezone.localdate() + timedelta(days=365)
            ),
            verified_at=factory.LazyFunction(timezone.now),
        )

    civility = Practitioner.Civility.DOCTOR
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    rpps = factory.Sequence(valid_rpps)
    languages = factory.LazyFunction(lambda: ["fr"])
    gender = Practitioner.Gender.FEMALE
    sector = Practitioner.Sector.SECTOR_1
    consultation_fee = Decimal("30.00")
    minimum_notice_minutes = 0
    booking_horizon_days = 60

    @factory.post_generation
    def specialties(obj, create, extracted, **kwargs):
        if not create or not extracted:
            return
        obj.specialties.set(Specialty.objects.filter(code__in=extracted))
        refresh_search_columns(practitioner_ids=[obj.pk])
        obj.refresh_from_db(fields=["specialty_labels", "search_vector"])


class PracticePlaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PracticePlace

    practitioner = factory.SubFactory(PractitionerFactory)
    name = "Cabinet médical"
    address = "12 rue de la Paix"
    postal_code = "75002"
    commune = "Paris"
    latitude = 48.8686
    longitude = 2.3314
    geocode_precision = PracticePlace.GeocodePrecision.MANUAL
    is_primary = True


class OpeningHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OpeningHours

    practitioner = factory.SubFactory(PractitionerFactory)
    place = factory.LazyAttribute(
        lambda o: (
            PracticePlaceFactory(practitioner=o.practitioner) if o.in_person else None
        )
    )
    weekday = 0
    starts_at = time(9, 0)
    ends_at = time(12, 0)
    in_person = True
    remote = False


class ConsultationTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ConsultationType

    practitioner = factory.SubFactory(PractitionerFactory)
    kind = ConsultationType.Kind.FIRST_VISIT
    duration_minutes = 30


class AvailabilityExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AvailabilityException

    practitioner = factory.SubFactory(PractitionerFactory)
    kind = AvailabilityException.Kind.HOLIDAY


class ReviewFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Review

    practitioner = factory.SubFactory(PractitionerFactory)
    rating = 5
    comment = "Très à l'écoute."


def cardiologist(**kwargs) -> Practitioner:
    """A verified cardiologist with one place (Paris 2e), listed to everyone."""
    practitioner = PractitionerFactory(
        verified=True, specialties=["cardiology"], **kwargs
    )
    PracticePlaceFactory(practitioner=practitioner)
    return practitioner
