"""The partner API of appointments over HTTP: scopes, isolation, the shared error
shape, booking, reading, cancelling and moving."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, Face
from tests.appointments.factories import free_slots
from tests.factories import ApplicationFactory
from tests.patients.factories import PatientFactory

URL = "/api/v1/appointments/"


@pytest.fixture
def partner(partner_client):
    return partner_client.user


@pytest.fixture
def referred(partner):
    return PatientFactory(referred_by=partner, consented=True)


@pytest.fixture
def client_for(api_client, partner_token):
    def make(application, scopes="appointments:read appointments:write"):
        token = partner_token(application, scopes)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return api_client

    return make


def body(practitioner, patient, slot, **extra):
    return {
        "patient": patient.reference,
        "practitioner": str(practitioner.public_id),
        "kind": slot.kind,
        "starts_at": slot.starts_at.isoformat(),
        **extra,
    }


def later_slots(practitioner):
    return free_slots(practitioner, after=timezone.now() + timedelta(days=3))


def test_a_partner_books_a_free_slot_for_a_referred_patient(
    client_for, partner_client, practitioner, referred
):
    api = client_for(partner_client)
    slot = later_slots(practitioner)[0]

    response = api.post(URL, body(practitioner, referred, slot), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["state"] == "booked"
    assert data["patient"] == referred.reference
    assert data["booked_via"] == "api"
    assert data["place"]["id"] == str(practitioner.places.first().public_id)
    assert response["Location"] == f"{URL}{data['id']}/"
    assert "/appointments/ics/" in data["calendar_url"]


def test_a_taken_slot_answers_409_with_alternatives(
    client_for, partner_client, practitioner, referred, partner
):
    api = client_for(partner_client)
    slot = later_slots(practitioner)[0]
    other = PatientFactory(referred_by=partner, consented=True)
    assert api.post(URL, body(practitioner, other, slot)).status_code == 201

    response = api.post(URL, body(practitioner, referred, slot), format="json")

    assert response.status_code == 409
    data = response.json()
    assert data["code"] == "slot_taken"
    assert data["alternatives"]
    assert all("starts_at" in alt for alt in data["alternatives"])


def test_a_time_that_is_not_a_slot_is_a_400_in_the_shared_shape(
    client_for, partner_client, practitioner, referred
):
    api = client_for(partner_client)
    slot = later_slots(practitioner)[0]
    payload = body(practitioner, referred, slot)
    payload["starts_at"] = (slot.starts_at + timedelta(minutes=7)).isoformat()

    response = api.post(URL, payload, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["starts_at"][0]["code"] == "not_a_slot"


def test_bad_input_is_a_field_level_400(client_for, partner_client, practitioner):
    api = client_for(partner_client)

    response = api.post(
        URL,
        {"patient": "P-XXXXXX", "practitioner": "nope", "kind": "x"},
        format="json",
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert {"practitioner", "kind", "starts_at"} <= set(fields)


def test_a_patient_the_partner_may_not_see_cannot_be_booked(
    client_for, partner_client, practitioner, other_patient
):
    api = client_for(partner_client)
    slot = later_slots(practitioner)[0]

    response = api.post(URL, body(practitioner, other_patient, slot), format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["patient"][0]["code"] == "does_not_exist"
    assert not Appointment.objects.exists()


def test_no_token_is_401_and_a_token_without_the_scope_is_403(
    api_client, client_for, partner_client
):
    assert api_client.get(URL).status_code == 401

    reader = client_for(partner_client, "appointments:read")
    assert reader.get(URL).status_code == 200
    assert reader.post(URL, {}, format="json").status_code == 403

    other = client_for(partner_client, "patients:read")
    response = other.get(URL)
    assert response.status_code == 403
    assert set(response.json()) == {"code", "detail"}


def test_another_partners_appointment_is_404(
    client_for, partner_client, practitioner, referred
):
    slot = later_slots(practitioner)[0]
    appointment = services.book_appointment(
        patient=referred,
        practitioner=practitioner,
        kind=slot.kind,
        starts_at=slot.starts_at,
        by=partner_client.user,
        via=Face.API,
    )
    stranger = client_for(ApplicationFactory(name="Laboratoire Bio"))

    assert stranger.get(f"{URL}{appointment.public_id}/").status_code == 404
    assert (
        stranger.post(
            f"{URL}{appointment.public_id}/cancel/", {"reason": "x"}, format="json"
        ).status_code
        == 404
    )
    assert stranger.get(URL).json()["results"] == []
    own = client_for(partner_client)
    assert own.get(f"{URL}{appointment.public_id}/").status_code == 200
    assert [row["id"] for row in own.get(URL).json()["results"]] == [
        str(appointment.public_id)
    ]


def test_cancel_and_reschedule_through_the_api(
    client_for, partner_client, practitioner, referred
):
    api = client_for(partner_client)
    slots = later_slots(practitioner)
    created = api.post(URL, body(practitioner, referred, slots[0])).json()

    moved = api.post(
        f"{URL}{created['id']}/reschedule/",
        {"starts_at": slots[2].starts_at.isoformat(), "reason": "Travail"},
        format="json",
    )
    assert moved.status_code == 201, moved.json()
    assert moved.json()["rescheduled_from"] == created["id"]
    assert (
        api.get(f"{URL}{created['id']}/").json()["rescheduled_to"]
        == (moved.json()["id"])
    )

    no_reason = api.post(
        f"{URL}{moved.json()['id']}/cancel/", {"reason": ""}, format="json"
    )
    assert no_reason.status_code == 400
    assert no_reason.json()["fields"]["reason"][0]["code"] == "reason_required"

    cancelled = api.post(
        f"{URL}{moved.json()['id']}/cancel/", {"reason": "Voyage"}, format="json"
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"


def test_the_list_filters_by_state_and_patient(
    client_for, partner_client, practitioner, referred, partner
):
    api = client_for(partner_client)
    slots = later_slots(practitioner)
    other = PatientFactory(referred_by=partner, consented=True)
    api.post(URL, body(practitioner, referred, slots[0]))
    api.post(URL, body(practitioner, other, slots[2]))

    by_patient = api.get(URL, {"patient": referred.reference}).json()["results"]
    by_state = api.get(URL, {"state": "cancelled"}).json()["results"]

    assert [row["patient"] for row in by_patient] == [referred.reference]
    assert by_state == []
