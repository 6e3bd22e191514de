"""API search pages come from the cache until the directory changes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conciergerie.accounts.roles import Role
from specialists.models import Specialty, VerificationRecord
from specialists.services import verify_practitioner
from tests.factories import UserFactory
from tests.specialists.factories import PracticePlaceFactory, PractitionerFactory

pytestmark = pytest.mark.django_db

SEARCH = "/api/v1/specialists/"


@pytest.fixture
def reader(api_client, partner_client, partner_token):
    token = partner_token(partner_client, "specialists:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    return api_client


def cardiologist(**kwargs):
    practitioner = PractitionerFactory(
        verified=True, specialties=["cardiology"], **kwargs
    )
    PracticePlaceFactory(practitioner=practitioner)
    return practitioner


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
