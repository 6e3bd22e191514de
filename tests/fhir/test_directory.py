"""The FHIR R4 facade: every resource validated with fhir.resources (R4, 4.0.1)."""

from datetime import UTC, datetime, time, timedelta

import fhir.resources
import pytest
from django.utils import timezone
from fhir.resources import construct_fhir_element

from conciergerie.partners import services
from specialists.availability import PARIS
from tests.specialists.factories import (
    OpeningHoursFactory,
    PracticePlaceFactory,
    PractitionerFactory,
)

assert fhir.resources.__fhir_version__ == "4.0.1"

FHIR_JSON = "application/fhir+json"


#: Required bindings (value sets) of the elements the facade fills: the models
#: check types, cardinalities and patterns, not these enumerations.
REQUIRED_BINDINGS = {
    ("Practitioner", "gender"): {"male", "female", "other", "unknown"},
    ("Slot", "status"): {
        "busy",
        "free",
        "busy-unavailable",
        "busy-tentative",
        "entered-in-error",
    },
    ("Bundle", "type"): {"searchset"},
    ("CapabilityStatement", "status"): {"draft", "active", "retired", "unknown"},
    ("CapabilityStatement", "kind"): {"instance", "capability", "requirements"},
}
ISSUE_CODES = {"invalid", "login", "forbidden", "not-found", "throttled", "processing"}


def _check_bindings(resource: dict) -> None:
    kind = resource["resourceType"]
    for (resource_type, element), allowed in REQUIRED_BINDINGS.items():
        if resource_type == kind and element in resource:
            assert resource[element] in allowed, (kind, element, resource[element])
    if kind == "OperationOutcome":
        for issue in resource["issue"]:
            assert issue["severity"] in {"fatal", "error", "warning", "information"}
            assert issue["code"] in ISSUE_CODES
    if kind == "Bundle":
        for entry in resource.get("entry", []):
            assert entry["search"]["mode"] in {"match", "include", "outcome"}
            _check_bindings(entry["resource"])


def validated(resource: dict) -> dict:
    """Parse with the R4 models (raises on any invalid element), check the
    required value sets, return the resource as it was."""
    construct_fhir_element(resource["resourceType"], resource)
    for entry in resource.get("entry", []):
        construct_fhir_element(entry["resource"]["resourceType"], entry["resource"])
    _check_bindings(resource)
    return resource


@pytest.fixture
def fhir_client(api_client, partner_token, db):
    organisation = services.create_organisation(name="Clinique", kind="clinic")
    profile, _ = services.create_application(
        organisation=organisation, name="FHIR", scopes=["specialists:read"]
    )
    token = partner_token(profile.application, "specialists:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
    return api_client


def next_monday() -> datetime.date:
    today = timezone.localdate()
    return today + timedelta(days=7 - today.weekday())


@pytest.fixture
def cardiologist(db):
    practitioner = PractitionerFactory(
        verified=True,
        specialties=["cardiology"],
        first_name="Élodie",
        last_name="Lefèvre",
        languages=["fr", "en", "lsf"],
        teleconsultation=True,
    )
    place = PracticePlaceFactory(practitioner=practitioner, phone="01 42 00 00 00")
    OpeningHoursFactory(
        practitioner=practitioner,
        place=place,
        weekday=0,
        starts_at=time(9),
        ends_at=time(10),
    )
    return practitioner


def get(client, path, params=None):
    response = client.get(path, params or {})
    assert response["Content-Type"].startswith(FHIR_JSON), response.content
    return response


def test_searching_practitioners_by_name_gives_a_valid_searchset(
    fhir_client, cardiologist
):
    PractitionerFactory(verified=True, specialties=["dermatology"], last_name="Roux")

    response = get(fhir_client, "/fhir/r4/Practitioner", {"name": "lefevre"})

    assert response.status_code == 200
    bundle = validated(response.json())
    assert bundle["type"] == "searchset"
    assert bundle["total"] == 1
    [entry] = bundle["entry"]
    practitioner = entry["resource"]
    assert practitioner["id"] == str(cardiologist.public_id)
    assert entry["fullUrl"].endswith(f"/fhir/r4/Practitioner/{cardiologist.public_id}")
    assert practitioner["name"][0]["family"] == "Lefèvre"
    assert practitioner["identifier"][0] == {
        **practitioner["identifier"][0],
        "system": "urn:oid:1.2.250.1.71.4.2.1",
        "value": f"8{cardiologist.rpps}",
    }
    assert practitioner["qualification"][0]["code"]["coding"][0]["code"] == (
        "cardiology"
    )
    assert [c["coding"][0]["code"] for c in practitioner["communication"]] == [
        "fr",
        "en",
        "fsl",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"specialty": "cardiology"},
        {"identifier": "RPPS"},
        {"identifier": "urn:oid:1.2.250.1.71.4.2.1|8RPPS"},
        {"family": "lefev"},
        {"_id": "ID"},
    ],
)
def test_practitioners_are_found_by_specialty_identifier_and_id(
    fhir_client, cardiologist, params
):
    PractitionerFactory(verified=True, specialties=["dermatology"])
    params = {
        key: value.replace("RPPS", cardiologist.rpps).replace(
            "ID", str(cardiologist.public_id)
        )
        for key, value in params.items()
    }

    bundle = validated(get(fhir_client, "/fhir/r4/Practitioner", params).json())

    assert [e["resource"]["id"] for e in bundle["entry"]] == [
        str(cardiologist.public_id)
    ]


def test_an_unverified_practitioner_is_not_in_the_facade(fhir_client, db):
    hidden = PractitionerFactory(specialties=["cardiology"])

    search = get(fhir_client, "/fhir/r4/Practitioner").json()
    read = get(fhir_client, f"/fhir/r4/Practitioner/{hidden.public_id}")

    assert search["total"] == 0
    assert read.status_code == 404
    assert validated(read.json())["issue"][0]["code"] == "not-found"


def test_reading_a_practitioner(fhir_client, cardiologist):
    response = get(fhir_client, f"/fhir/r4/Practitioner/{cardiologist.public_id}")

    assert response.status_code == 200
    assert validated(response.json())["resourceType"] == "Practitioner"


def test_pages_follow_the_next_link(fhir_client, db):
    for _ in range(3):
        PractitionerFactory(verified=True, specialties=["cardiology"])

    first = get(fhir_client, "/fhir/r4/Practitioner", {"_count": 2}).json()
    [next_link] = [link for link in first["link"] if link["relation"] == "next"]
    second = get(fhir_client, next_link["url"].split("testserver")[1]).json()

    assert first["total"] == 3
    assert len(first["entry"]) == 2
    assert len(second["entry"]) == 1
    assert not [link for link in second["link"] if link["relation"] == "next"]
    ids = {e["resource"]["id"] for e in first["entry"] + second["entry"]}
    assert len(ids) == 3


def test_the_schedule_of_a_practitioner(fhir_client, cardiologist):
    search = get(
        fhir_client,
        "/fhir/r4/Schedule",
        {"actor": f"Practitioner/{cardiologist.public_id}"},
    ).json()
    read = get(fhir_client, f"/fhir/r4/Schedule/{cardiologist.public_id}").json()

    [entry] = validated(search)["entry"]
    assert entry["resource"] == {
        **validated(read),
        "planningHorizon": entry["resource"]["planningHorizon"],
    }
    assert read["actor"][0]["reference"] == f"Practitioner/{cardiologist.public_id}"
    assert {c["coding"][0]["code"] for c in read["serviceType"]} == {
        "first_visit",
        "follow_up",
        "teleconsultation",
    }


def test_free_slots_come_from_the_directorys_availability(fhir_client, cardiologist):
    monday = next_monday()

    response = get(
        fhir_client,
        "/fhir/r4/Slot",
        [
            ("schedule", f"Schedule/{cardiologist.public_id}"),
            ("start", f"ge{monday.isoformat()}"),
            ("start", f"lt{(monday + timedelta(days=1)).isoformat()}"),
            ("service-type", "first_visit"),
        ],
    )

    assert response.status_code == 200, response.json()
    bundle = validated(response.json())
    nine = datetime.combine(monday, time(9), tzinfo=PARIS).astimezone(UTC)
    starts = [entry["resource"]["start"] for entry in bundle["entry"]]
    assert starts == [
        nine.isoformat().replace("+00:00", "Z"),
        (nine + timedelta(minutes=30)).isoformat().replace("+00:00", "Z"),
    ]
    slot = bundle["entry"][0]["resource"]
    assert slot["status"] == "free"
    assert slot["schedule"]["reference"] == f"Schedule/{cardiologist.public_id}"
    api = fhir_client.get(
        f"/api/v1/specialists/{cardiologist.public_id}/slots/",
        {
            "from": monday.isoformat(),
            "to": (monday + timedelta(days=1)).isoformat(),
            "kind": "first_visit",
        },
    ).json()
    assert [s["starts_at"] for s in api["slots"]] == starts


def test_a_slot_reads_back_while_free(fhir_client, cardiologist):
    monday = next_monday()
    bundle = get(
        fhir_client,
        "/fhir/r4/Slot",
        {
            "schedule.actor": f"Practitioner/{cardiologist.public_id}",
            "start": f"eq{monday.isoformat()}",
        },
    ).json()
    slot = bundle["entry"][0]["resource"]

    read = get(fhir_client, f"/fhir/r4/Slot/{slot['id']}")
    gone = get(fhir_client, f"/fhir/r4/Slot/{cardiologist.public_id}.1.first-visit")

    assert read.status_code == 200
    assert validated(read.json()) == slot
    assert gone.status_code == 404


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({}, "schedule"),
        ({"schedule": "Schedule/ID", "start": "ge2026-13-01"}, "Invalid date"),
        (
            {"schedule": "Schedule/ID", "start": ["ge2026-03-01", "lt2026-05-01"]},
            "31 days",
        ),
        ({"schedule": "Schedule/ID", "service-type": "surgery"}, "service-type"),
        ({"schedule": "Patient/x/y"}, "reference"),
    ],
)
def test_bad_slot_searches_are_400_operation_outcomes(
    fhir_client, cardiologist, params, fragment
):
    params = {
        key: (
            [v.replace("ID", str(cardiologist.public_id)) for v in value]
            if isinstance(value, list)
            else value.replace("ID", str(cardiologist.public_id))
        )
        for key, value in params.items()
    }

    response = get(fhir_client, "/fhir/r4/Slot", params)

    assert response.status_code == 400
    outcome = validated(response.json())
    assert outcome["issue"][0]["code"] == "invalid"
    assert fragment in outcome["issue"][0]["diagnostics"]


def test_without_a_token_the_answer_is_a_401_operation_outcome(api_client, db):
    response = get(api_client, "/fhir/r4/Practitioner")

    assert response.status_code == 401
    assert validated(response.json())["issue"][0]["code"] == "login"


def test_a_token_without_specialists_read_is_403(
    api_client, partner_client, partner_token
):
    token = partner_token(partner_client, "profile")

    response = api_client.get(
        "/fhir/r4/Practitioner", HTTP_AUTHORIZATION=f"Bearer {token.token}"
    )

    assert response.status_code == 403
    assert validated(response.json())["issue"][0]["code"] == "forbidden"


def test_an_unknown_resource_type_is_404(fhir_client):
    response = get(fhir_client, "/fhir/r4/Patient")

    assert response.status_code == 404
    validated(response.json())


def test_the_capability_statement_lists_the_served_resources(api_client, db):
    response = get(api_client, "/fhir/r4/metadata")

    statement = validated(response.json())
    assert statement["fhirVersion"] == "4.0.1"
    assert [r["type"] for r in statement["rest"][0]["resource"]] == [
        "Practitioner",
        "Schedule",
        "Slot",
        "Appointment",
    ]
