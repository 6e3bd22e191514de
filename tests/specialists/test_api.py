"""The partner API: search with the portal's filters, a practitioner, free slots."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from conciergerie.accounts.roles import Role
from specialists.availability import PARIS
from specialists.models import ConsultationType, Practitioner
from tests.factories import UserFactory
from tests.specialists.factories import (
    ConsultationTypeFactory,
    OpeningHoursFactory,
    PracticePlaceFactory,
    PractitionerFactory,
    cardiologist,
)


def test_no_token_is_401(api_client, db):
    response = api_client.get("/api/v1/specialists/")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_token_without_the_scope_is_403(api_client, partner_client, partner_token):
    token = partner_token(partner_client, "profile")

    for path in ["/api/v1/specialists/", "/api/v1/specialties/"]:
        response = api_client.get(path, HTTP_AUTHORIZATION=f"Bearer {token.token}")

        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


def test_search_returns_verified_practitioners_with_public_ids_only(reader, db):
    shown = cardiologist(last_name="Lefèvre", languages=["fr", "en"])
    PractitionerFactory(specialties=["cardiology"], last_name="Pasverifie")

    response = reader.get("/api/v1/specialists/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [row["last_name"] for row in results] == ["Lefèvre"]
    row = results[0]
    assert row["id"] == str(shown.public_id)
    assert row["specialties"] == [{"code": "cardiology", "name": "Cardiologie"}]
    assert row["places"][0]["postal_code"] == "75002"
    assert row["verified"] is True
    assert "negotiated_rate" not in row
    assert "concierge_notes" not in row
    assert str(shown.pk) not in {str(value) for value in row.values()}


def test_every_filter_is_available_through_the_api(reader, db):
    now = timezone.now()
    match = cardiologist(
        last_name="Lefèvre",
        languages=["fr", "en"],
        gender=Practitioner.Gender.FEMALE,
        sector=Practitioner.Sector.SECTOR_1,
        teleconsultation=True,
        wheelchair_accessible=True,
        next_available_at=now + timedelta(days=1),
    )
    cardiologist(last_name="Autre", gender=Practitioner.Gender.MALE)
    query = {
        "q": "lefevre",
        "specialty": "cardiology",
        "place": "75002",
        "radius_km": "5",
        "language": "en",
        "gender": "female",
        "sector": "1",
        "max_fee": "40",
        "teleconsultation": "true",
        "wheelchair_accessible": "true",
        "available_before": (timezone.localdate() + timedelta(days=3)).isoformat(),
        "ordering": "distance",
    }

    response = reader.get("/api/v1/specialists/", query)

    assert response.status_code == 200, response.json()
    results = response.json()["results"]
    assert [row["id"] for row in results] == [str(match.public_id)]
    assert results[0]["distance_km"] is not None


def test_bad_parameters_are_400_with_field_codes(reader, db):
    response = reader.get(
        "/api/v1/specialists/",
        {
            "specialty": "astrology",
            "place": "Atlantide",
            "radius_km": "9000",
            "limit": "0",
            "sector": "9",
            "available_before": "demain",
        },
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert fields["specialty"][0]["code"] == "unknown_specialty"
    assert fields["place"][0]["code"] == "unknown_place"
    assert fields["radius_km"][0]["code"] == "max_value"
    assert fields["limit"][0]["code"] == "min_value"
    assert fields["sector"][0]["code"] == "invalid_choice"
    assert fields["available_before"][0]["code"] == "invalid"


def test_pages_follow_next_links_without_counting(reader, db):
    for index in range(5):
        cardiologist(next_available_at=timezone.now() + timedelta(days=index))

    first = reader.get("/api/v1/specialists/", {"limit": 2}).json()
    second = reader.get(first["next"]).json()
    last = reader.get(reader.get(second["next"]).json()["previous"]).json()

    assert len(first["results"]) == 2
    assert first["previous"] is None
    assert second["results"][0]["id"] not in {row["id"] for row in first["results"]}
    assert last == second
    third = reader.get(second["next"]).json()
    assert len(third["results"]) == 1
    assert third["next"] is None


def test_a_list_request_costs_the_same_few_queries_whatever_the_page_size(reader, db):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(25):
        practitioner = cardiologist(languages=["fr", "en"])
        PracticePlaceFactory(practitioner=practitioner, is_primary=False)
    reader.get("/api/v1/specialists/", {"limit": 1})  # warm any per-process cache

    counts = {}
    for page_size in (1, 20, 100):
        with CaptureQueriesContext(connection) as captured:
            response = reader.get(
                "/api/v1/specialists/",
                {"specialty": "cardiology", "place": "75002", "limit": page_size},
            )
        assert response.status_code == 200
        assert len(response.json()["results"]) == min(page_size, 25)
        directory = [q for q in captured if "specialists_" in q["sql"]]
        counts[page_size] = (len(captured), len(directory))

    # The place, then the page with its specialties and places; the rest is the
    # token's authentication, the same for every API view.
    assert {directory for _total, directory in counts.values()} == {2}
    assert len({total for total, _directory in counts.values()}) == 1


def test_the_detail_shows_the_bookable_consultation_types(reader, db):
    practitioner = cardiologist(teleconsultation=True, bio="Échocardiographie.")
    ConsultationTypeFactory(
        practitioner=practitioner,
        kind=ConsultationType.Kind.FOLLOW_UP,
        duration_minutes=15,
    )

    response = reader.get(f"/api/v1/specialists/{practitioner.public_id}/")

    assert response.status_code == 200
    body = response.json()
    assert body["bio"] == "Échocardiographie."
    assert [
        (row["kind"], row["duration_minutes"]) for row in body["consultation_types"]
    ] == [
        ("first_visit", 30),
        ("follow_up", 15),
        ("teleconsultation", 20),
    ]


def test_an_unverified_or_unknown_practitioner_is_404(reader, db):
    hidden = PractitionerFactory()

    assert reader.get(f"/api/v1/specialists/{hidden.public_id}/").status_code == 404
    assert (
        reader.get(f"/api/v1/specialists/{hidden.public_id}/slots/").status_code == 404
    )
    assert reader.get(f"/api/v1/specialists/{hidden.pk}/").status_code == 404


def test_slots_list_free_times_in_utc_with_the_place(reader, db, settings):
    practitioner = cardiologist()
    place = practitioner.places.get()
    OpeningHoursFactory(
        practitioner=practitioner,
        place=place,
        weekday=0,
        starts_at=time(9),
        ends_at=time(10),
    )
    monday = timezone.localdate() + timedelta(days=7 - timezone.localdate().weekday())

    response = reader.get(
        f"/api/v1/specialists/{practitioner.public_id}/slots/",
        {
            "from": monday.isoformat(),
            "to": (monday + timedelta(days=1)).isoformat(),
            "kind": "first_visit",
        },
    )

    assert response.status_code == 200, response.json()
    slots = response.json()["slots"]
    nine = datetime.combine(monday, time(9), tzinfo=PARIS).astimezone(UTC)
    assert [slot["starts_at"] for slot in slots] == [
        nine.isoformat().replace("+00:00", "Z"),
        (nine + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
    ]
    assert {slot["place"] for slot in slots} == {str(place.public_id)}
    assert response.json()["practitioner"] == str(practitioner.public_id)


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"from": "lundi"}, "from", "invalid"),
        ({"from": "2026-03-10", "to": "2026-03-01"}, "to", "end_before_start"),
        ({"from": "2026-03-01", "to": "2026-05-01"}, "to", "range_too_long"),
        ({"kind": "surgery"}, "kind", "invalid_choice"),
    ],
)
def test_bad_slot_parameters_are_400_with_field_codes(reader, db, params, field, code):
    practitioner = cardiologist()

    response = reader.get(
        f"/api/v1/specialists/{practitioner.public_id}/slots/", params
    )

    assert response.status_code == 400
    assert response.json()["fields"][field][0]["code"] == code


def test_slots_cost_a_constant_number_of_queries(
    reader, db, django_assert_max_num_queries
):
    practitioner = cardiologist()
    for weekday in range(5):
        OpeningHoursFactory(
            practitioner=practitioner,
            place=practitioner.places.get(),
            weekday=weekday,
            starts_at=time(8),
            ends_at=time(19),
        )

    path = f"/api/v1/specialists/{practitioner.public_id}/slots/"
    asked = {"to": (timezone.localdate() + timedelta(days=28)).isoformat()}

    # The token and its user, the partner's rate, who may see the practitioner,
    # the schedule and the bookings.
    with django_assert_max_num_queries(5):
        response = reader.get(path, asked)
    # Asked again: the token, its user and the visibility; the rest is cached.
    with django_assert_max_num_queries(3):
        again = reader.get(path, asked)

    assert response.status_code == again.status_code == 200
    assert len(response.json()["slots"]) > 100
    assert again.json() == response.json()


def test_the_specialty_catalogue_lists_exams_and_intake_questions(reader, db):
    response = reader.get("/api/v1/specialties/")

    assert response.status_code == 200
    cardiology = next(row for row in response.json() if row["code"] == "cardiology")
    assert {"ecg", "echocardiography", "stress-test"} <= {
        row["code"] for row in cardiology["procedures"]
    }
    assert cardiology["intake_questions"][0]["code"] == "chest-pain"


def test_a_signed_in_patient_may_search_through_the_session(api_client, db):
    cardiologist()
    api_client.force_login(UserFactory(role=Role.PATIENT))

    response = api_client.get("/api/v1/specialists/", {"verified_only": "false"})

    assert response.status_code == 200
    assert all(row["verified"] for row in response.json()["results"])


def test_the_back_office_may_list_unverified_practitioners(api_client, db):
    PractitionerFactory(specialties=["cardiology"])
    api_client.force_login(UserFactory(role=Role.MEDICAL_ADVISER))

    response = api_client.get("/api/v1/specialists/", {"verified_only": "false"})

    assert [row["verified"] for row in response.json()["results"]] == [False]


def test_the_schema_documents_the_directory_endpoints(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    assert "/api/v1/specialists/" in schema["paths"]
    assert "/api/v1/specialists/{public_id}/slots/" in schema["paths"]
    search = schema["paths"]["/api/v1/specialists/"]["get"]
    assert {"q", "specialty", "place", "available_before"} <= {
        parameter["name"] for parameter in search["parameters"]
    }


def test_an_unknown_specialty_alone_is_400_but_a_known_empty_one_is_200(reader, db):
    unknown = reader.get("/api/v1/specialists/", {"specialty": "astrology"})
    empty = reader.get("/api/v1/specialists/", {"specialty": "neurology"})

    assert unknown.status_code == 400
    assert unknown.json()["fields"]["specialty"][0]["code"] == "unknown_specialty"
    assert empty.status_code == 200
    assert empty.json()["results"] == []


def test_the_fast_payload_is_exactly_what_the_documented_serializer_gives(db):
    from decimal import Decimal

    from specialists.api import PractitionerSerializer, practitioner_payload
    from specialists.geocoding import GeoPoint
    from specialists.search import SearchFilters

    practitioner = cardiologist(
        languages=["fr", "en"],
        usual_overrun=Decimal("12.5"),
        negotiated_rate=Decimal("45"),
        next_available_at=timezone.now() + timedelta(days=2),
    )
    Practitioner.objects.filter(pk=practitioner.pk).update(
        rating_average=Decimal("4.7"), rating_count=3
    )
    [row] = Practitioner.objects.search(
        SearchFilters(near=GeoPoint(48.86, 2.34), radius_km=5)
    ).with_listing()

    assert practitioner_payload(row) == PractitionerSerializer(row).data
