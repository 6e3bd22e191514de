"""Directory answers come from the cache until what they show changes."""

from datetime import time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conciergerie.accounts.roles import Role
from specialists.models import Practitioner, Specialty, VerificationRecord
from specialists.services import refresh_search_columns, verify_practitioner
from tests.factories import UserFactory
from tests.specialists.factories import (
    OpeningHoursFactory,
    PractitionerFactory,
    cardiologist,
)

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/specialists/"


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["last_name"] for row in response.json()["results"]]


def directory_queries(client, params) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(SEARCH, params)
    return sum("specialists_" in query["sql"] for query in captured), response


def test_the_same_search_again_reads_no_directory_row(reader):
    cardiologist(last_name="Lefèvre")
    asked = {"specialty": "cardiology", "place": "Paris"}

    computed, first = directory_queries(reader, asked)
    served, again = directory_queries(reader, asked)

    assert computed >= 2
    assert served == 0
    assert again.json() == first.json()


def test_cache_off_searches_every_time(reader, settings):
    settings.SPECIALISTS_SEARCH_CACHE_SECONDS = 0
    cardiologist()
    reader.get(SEARCH, {"specialty": "cardiology"})

    served, _response = directory_queries(reader, {"specialty": "cardiology"})

    assert served >= 1


def test_an_edited_practitioner_shows_at_once(reader):
    practitioner = cardiologist(last_name="Lefèvre")
    assert names(reader.get(SEARCH, {"specialty": "cardiology"})) == ["Lefèvre"]

    practitioner.last_name = "Lefebvre"
    practitioner.save()

    assert names(reader.get(SEARCH, {"specialty": "cardiology"})) == ["Lefebvre"]


def test_a_new_specialty_of_a_practitioner_shows_at_once(reader):
    practitioner = cardiologist(last_name="Lefèvre")
    assert names(reader.get(SEARCH, {"specialty": "dermatology"})) == []

    practitioner.specialties.add(Specialty.objects.get(code="dermatology"))

    assert names(reader.get(SEARCH, {"specialty": "dermatology"})) == ["Lefèvre"]


def test_a_bulk_rewrite_of_the_search_columns_shows_at_once(reader):
    # Imports and the demo write without signals, then refresh the search columns.
    cardiologist(last_name="Lefèvre")
    assert names(reader.get(SEARCH, {"q": "coeurologue"})) == []

    Specialty.objects.filter(code="cardiology").update(keywords="coeurologue")
    refresh_search_columns()

    assert names(reader.get(SEARCH, {"q": "coeurologue"})) == ["Lefèvre"]


def test_a_withdrawn_verification_removes_the_practitioner_at_once(reader):
    practitioner = cardiologist(last_name="Lefèvre")
    assert names(reader.get(SEARCH, {"specialty": "cardiology"})) == ["Lefèvre"]

    verify_practitioner(
        practitioner=practitioner,
        by=UserFactory(is_staff=True),
        kind=VerificationRecord.Kind.RPPS_REGISTRATION,
        evidence="Not found in the Annuaire Santé",
        valid_until=None,
        outcome=VerificationRecord.Outcome.FAILED,
    )

    assert names(reader.get(SEARCH, {"specialty": "cardiology"})) == []


def test_an_answer_is_never_served_to_someone_who_sees_otherwise(reader):
    # The back-office may list practitioners not verified yet; partners may not.
    PractitionerFactory(specialties=["cardiology"], last_name="Durand")
    asked = {"specialty": "cardiology", "verified_only": "false"}
    assert names(reader.get(SEARCH, asked)) == []

    reader.credentials()
    reader.force_authenticate(UserFactory(role=Role.CARE_COORDINATOR))

    assert names(reader.get(SEARCH, asked)) == ["Durand"]


def test_the_portal_search_shows_an_edited_practitioner_at_once(client):
    practitioner = cardiologist(last_name="Lefèvre")
    assert "Lefèvre" in client.get("/specialists/", {"q": "cardiologue"}).text

    practitioner.last_name = "Lefebvre"
    practitioner.save()

    page = client.get("/specialists/", {"q": "cardiologue"}).text
    assert "Lefebvre" in page
    assert "Lefèvre" not in page


def slots_path_of_a_cardiologist_open_in_three_days(*, until: time) -> str:
    practitioner = cardiologist()
    OpeningHoursFactory(
        practitioner=practitioner,
        place=practitioner.places.get(),
        weekday=(timezone.localdate() + timedelta(days=3)).weekday(),
        starts_at=time(8),
        ends_at=until,
    )
    return f"/api/v1/specialists/{practitioner.public_id}/slots/"


def test_a_booking_refreshes_the_cached_slots_at_once(reader, settings):
    from tests.appointments.factories import AppointmentFactory

    settings.SPECIALISTS_BUSY_INTERVALS = "appointments.availability.busy_intervals"
    path = slots_path_of_a_cardiologist_open_in_three_days(until=time(12))
    before = reader.get(path).json()["slots"]
    first = before[0]

    AppointmentFactory(
        practitioner=Practitioner.objects.get(),
        starts_at=first["starts_at"],
        ends_at=first["ends_at"],
    )
    after = reader.get(path).json()["slots"]

    assert first["starts_at"] not in {slot["starts_at"] for slot in after}
    assert len(after) < len(before)


def test_cached_slots_are_the_same_document_for_json_and_the_browsable_api(reader):
    path = slots_path_of_a_cardiologist_open_in_three_days(until=time(10))

    first, again = reader.get(path), reader.get(path)
    browsable = reader.get(path, HTTP_ACCEPT="text/html")

    assert first.status_code == again.status_code == browsable.status_code == 200
    assert first["Content-Type"] == "application/json"
    assert again.content == first.content
    assert len(first.json()["slots"]) >= 4
    assert first.json()["slots"][0]["starts_at"] in browsable.text
