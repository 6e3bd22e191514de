"""FHIR `Appointment`: read and search by patient, practitioner and date, for the
partner entitled to the patient only, valid against the R4 definitions."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import Face
from specialists.availability import PARIS
from tests.appointments.factories import free_slots, open_practitioner
from tests.factories import ApplicationFactory
from tests.fhir.test_directory import REQUIRED_BINDINGS, get, validated
from tests.patients.factories import PatientFactory

URL = "/fhir/r4/Appointment"

REQUIRED_BINDINGS[("Appointment", "status")] = {
    "proposed",
    "pending",
    "booked",
    "arrived",
    "fulfilled",
    "cancelled",
    "noshow",
    "entered-in-error",
    "checked-in",
    "waitlist",
}


@pytest.fixture
def client_for(api_client, partner_token):
    def make(application, scopes="appointments:read"):
        token = partner_token(application, scopes)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return api_client

    return make


@pytest.fixture
def practitioner(db):
    return open_practitioner()


@pytest.fixture
def referred(partner_client):
    return PatientFactory(referred_by=partner_client.user, consented=True)


def book(patient, practitioner, by, *, days=3, index=0):
    slot = free_slots(practitioner, after=timezone.now() + timedelta(days=days))[index]
    return services.book_appointment(
        patient=patient,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=by,
        via=Face.API,
    )


def test_a_partner_reads_the_appointment_of_a_patient_it_referred(
    client_for, partner_client, practitioner, referred
):
    appointment = book(referred, practitioner, partner_client.user)

    response = get(client_for(partner_client), f"{URL}/{appointment.public_id}")

    assert response.status_code == 200
    resource = validated(response.json())
    assert resource["status"] == "booked"
    assert resource["start"] == appointment.starts_at.isoformat().replace("+00:00", "Z")
    actors = [item["actor"] for item in resource["participant"]]
    assert actors[0]["reference"] == f"Practitioner/{practitioner.public_id}"
    assert actors[1]["identifier"]["value"] == referred.reference
    assert resource["specialty"][0]["coding"][0]["code"] == "cardiology"


def test_searching_by_patient_practitioner_and_date(
    client_for, partner_client, practitioner, referred
):
    other_practitioner = open_practitioner()
    sibling = PatientFactory(referred_by=partner_client.user, consented=True)
    first = book(referred, practitioner, partner_client.user, days=3)
    later = book(referred, practitioner, partner_client.user, days=10)
    elsewhere = book(referred, other_practitioner, partner_client.user, days=3)
    book(sibling, practitioner, partner_client.user, days=5)
    api = client_for(partner_client)
    day = timezone.localtime(first.starts_at, PARIS).date()

    def ids(params):
        response = get(api, URL, params)
        assert response.status_code == 200, response.json()
        bundle = validated(response.json())
        return [entry["resource"]["id"] for entry in bundle.get("entry", [])]

    assert set(ids({"patient": referred.reference})) == {
        str(first.public_id),
        str(later.public_id),
        str(elsewhere.public_id),
    }
    assert ids(
        {
            "patient": f"Patient/{referred.reference}",
            "practitioner": f"Practitioner/{practitioner.public_id}",
        }
    ) == [str(first.public_id), str(later.public_id)]
    assert ids(
        {
            "practitioner": str(practitioner.public_id),
            "date": [f"ge{day.isoformat()}", f"le{day.isoformat()}"],
            "patient": referred.reference,
        }
    ) == [str(first.public_id)]
    assert ids({"patient": referred.reference, "status": "cancelled"}) == []


def test_a_cancelled_appointment_reads_cancelled(
    client_for, partner_client, practitioner, referred
):
    appointment = book(referred, practitioner, partner_client.user)
    services.cancel_appointment(
        appointment=appointment,
        by=partner_client.user,
        via=Face.API,
        reason="Empêchement",
    )

    resource = validated(
        get(client_for(partner_client), f"{URL}/{appointment.public_id}").json()
    )

    assert resource["status"] == "cancelled"
    assert {item["status"] for item in resource["participant"]} == {"declined"}


def test_another_partner_reads_and_finds_nothing(
    client_for, partner_client, practitioner, referred
):
    appointment = book(referred, practitioner, partner_client.user)
    stranger = client_for(ApplicationFactory(name="Laboratoire Bio"))

    read = get(stranger, f"{URL}/{appointment.public_id}")
    found = get(stranger, URL, {"patient": referred.reference})
    everything = get(stranger, URL)

    assert read.status_code == 404
    assert validated(read.json())["resourceType"] == "OperationOutcome"
    assert validated(found.json()).get("entry", []) == []
    assert validated(everything.json())["total"] == 0


def test_the_directory_scope_alone_cannot_read_appointments(
    client_for, partner_client, practitioner, referred
):
    appointment = book(referred, practitioner, partner_client.user)
    api = client_for(partner_client, "specialists:read")

    assert get(api, f"{URL}/{appointment.public_id}").status_code == 403


def test_a_bad_date_is_a_400_operation_outcome(client_for, partner_client):
    response = get(client_for(partner_client), URL, {"date": "ge2026-13-45"})

    assert response.status_code == 400
    assert validated(response.json())["issue"][0]["code"] == "invalid"


def test_the_capability_statement_lists_the_appointment_searches(api_client, db):
    statement = validated(api_client.get("/fhir/r4/metadata").json())

    [rest] = statement["rest"]
    appointment = next(r for r in rest["resource"] if r["type"] == "Appointment")
    assert {param["name"] for param in appointment["searchParam"]} >= {
        "patient",
        "practitioner",
        "date",
    }
