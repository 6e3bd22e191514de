"""The partner API of teleconsultations: a clinic reads its sessions and the
practitioner's link; another partner gets 404; eligibility before booking."""

import pytest
from rest_framework.test import APIClient

from conciergerie.accounts.roles import Role
from teleconsult import links
from teleconsult.models import PractitionerPass
from tests.factories import ApplicationFactory, UserFactory
from tests.patients.factories import PatientFactory
from tests.teleconsult.conftest import make_video_appointment

SCOPES = "appointments:read"


@pytest.fixture
def clinic(partner_token, db):
    def make(name):
        owner = UserFactory(role=Role.PARTNER)
        application = ApplicationFactory(name=name, user=owner)
        client = APIClient()
        token = partner_token(application, SCOPES)
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return owner, client

    return make


def test_a_clinic_reads_its_patients_session_and_the_practitioners_link(clinic):
    owner, client = clinic("Clinique du Parc")
    patient = PatientFactory(referred_by=owner, consented=True)
    session = make_video_appointment(patient=patient).teleconsultation

    listing = client.get("/api/v1/teleconsultations/")
    detail = client.get(f"/api/v1/teleconsultations/{session.public_id}/")

    assert listing.status_code == 200
    assert [row["id"] for row in listing.json()["results"]] == [str(session.public_id)]
    body = detail.json()
    assert body["patient"] == patient.reference
    assert body["state"] == "waiting"
    current = PractitionerPass.objects.get(session=session)
    token = body["practitioner_url"].rstrip("/").rsplit("/", 1)[1]
    assert "/teleconsultations/p/" in body["practitioner_url"]
    assert links.read_practitioner_token(token) == current.public_id
    assert body["eligibility"][0]["code"] in ("outside_pathway", "not_seen_in_person")


def test_another_partner_gets_404_and_an_empty_list(clinic):
    owner, _client = clinic("Clinique du Parc")
    _other, intruder = clinic("Clinique Voisine")
    patient = PatientFactory(referred_by=owner, consented=True)
    session = make_video_appointment(patient=patient).teleconsultation

    assert (
        intruder.get(f"/api/v1/teleconsultations/{session.public_id}/").status_code
        == 404
    )
    assert intruder.get("/api/v1/teleconsultations/").json()["results"] == []


def test_a_token_without_the_scope_is_refused(partner_token, db):
    owner = UserFactory(role=Role.PARTNER)
    client = APIClient()
    token = partner_token(ApplicationFactory(user=owner), "patients:read")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")

    response = client.get("/api/v1/teleconsultations/")

    assert response.status_code == 403
    assert set(response.json()) == {"code", "detail"}


def test_eligibility_before_booking_for_a_patient_the_clinic_may_see(clinic):
    from tests.appointments.factories import open_practitioner

    owner, client = clinic("Clinique du Parc")
    patient = PatientFactory(referred_by=owner, consented=True)
    stranger = PatientFactory(consented=True)
    practitioner = open_practitioner()
    query = {"practitioner": str(practitioner.public_id)}

    mine = client.get(
        "/api/v1/teleconsultations/eligibility/",
        {**query, "patient": patient.reference},
    )
    theirs = client.get(
        "/api/v1/teleconsultations/eligibility/",
        {**query, "patient": stranger.reference},
    )
    bad = client.get("/api/v1/teleconsultations/eligibility/", {"patient": "x"})

    assert mine.status_code == 200
    assert mine.json()["reimbursable"] is False
    assert {r["code"] for r in mine.json()["reasons"]} == {
        "outside_pathway",
        "not_seen_in_person",
    }
    assert theirs.status_code == 404
    assert bad.status_code == 400
    assert set(bad.json()) == {"code", "detail", "fields"}


def test_a_bad_cursor_is_bad_input(clinic):
    _owner, client = clinic("Clinique du Parc")

    response = client.get("/api/v1/teleconsultations/", {"cursor": "nonsense"})

    assert response.status_code == 400
    assert response.json()["fields"]["cursor"][0]["code"] == "invalid_cursor"
