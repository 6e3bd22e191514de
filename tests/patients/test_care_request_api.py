"""The partner API of care requests, over real HTTP with OAuth2 tokens."""

import pytest

from conciergerie.audit.models import AccessLog
from patients.models import CareRequest
from tests.factories import ApplicationFactory
from tests.patients.factories import CareRequestFactory, PatientFactory

URL = "/api/v1/care-requests/"


@pytest.fixture
def referred(partner_client):
    """A patient the partner clinic referred, with consent."""
    return PatientFactory(consented=True, referred_by=partner_client.user)


@pytest.fixture
def partner(api_client, partner_client, partner_token):
    def authenticate(scopes: str = "care-requests:read care-requests:write"):
        token = partner_token(partner_client, scopes)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return api_client

    return authenticate


def _referral(patient, **extra) -> dict:
    return {
        "patient": patient.reference,
        "kind": "specialist",
        "need": "Souffle cardiaque entendu à l'auscultation, bilan demandé.",
        "specialty": "cardiology",
        "partner_reference": "CLIN-2026-0042",
        "preferences": {"postal_code": "69003", "radius_km": 15, "languages": ["en"]},
        **extra,
    }


def test_a_partner_refers_a_care_request(partner, referred, partner_client):
    response = partner().post(URL, _referral(referred), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    care_request = CareRequest.objects.get(reference=body["reference"])
    assert response["Location"] == f"{URL}{care_request.reference}/"
    assert (body["patient"], body["state"], body["channel"]) == (
        referred.reference,
        "received",
        "api",
    )
    assert body["status"]
    assert body["emergency"] is False
    assert body["preferences"]["postal_code"] == "69003"
    assert body["preferences"]["languages"] == ["en"]
    assert [event["state"] for event in body["timeline"]] == ["received"]
    assert "need" not in body
    assert care_request.requested_by == partner_client.user
    assert care_request.partner_reference == "CLIN-2026-0042"


def test_a_referral_with_red_flags_answers_with_the_emergency_numbers(
    partner, referred
):
    response = partner().post(
        URL,
        _referral(referred, need="Douleur dans la poitrine et bras gauche engourdi."),
        format="json",
    )

    body = response.json()
    assert response.status_code == 201
    assert (body["state"], body["emergency"]) == ("emergency", True)
    assert body["emergency_numbers"][0].startswith("15")


def test_a_referral_without_consent_is_refused_with_its_reason(partner, partner_client):
    patient = PatientFactory(referred_by=partner_client.user)  # no consent

    response = partner().post(URL, _referral(patient), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "consent_required"
    assert not CareRequest.objects.exists()


def test_a_referral_for_a_patient_the_partner_may_not_see_is_refused(partner):
    stranger = PatientFactory(consented=True)

    response = partner().post(URL, _referral(stranger), format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["patient"][0]["code"] == "unknown_patient"


def test_bad_input_answers_400_field_by_field(partner, referred):
    response = partner().post(
        URL,
        {"patient": referred.reference, "kind": "massage", "need": ""},
        format="json",
    )

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert set(fields) == {"kind", "need"}


def test_no_token_answers_401(api_client):
    assert api_client.get(URL).status_code == 401
    assert api_client.post(URL, {}, format="json").status_code == 401


def test_the_wrong_scope_answers_403(partner, referred):
    client = partner("patients:read")

    assert client.get(URL).status_code == 403
    assert client.post(URL, _referral(referred), format="json").status_code == 403


def test_reading_needs_only_the_read_scope(partner, referred, partner_client):
    CareRequestFactory(patient=referred, requested_by=partner_client.user)

    client = partner("care-requests:read")

    assert client.get(URL).status_code == 200
    assert client.post(URL, _referral(referred), format="json").status_code == 403


def test_a_partner_lists_and_reads_its_own_requests_only(
    partner, referred, partner_client
):
    mine = CareRequestFactory(patient=referred, requested_by=partner_client.user)
    other_partner = ApplicationFactory(name="Laboratoire Sud")
    theirs = CareRequestFactory(requested_by=other_partner.user)
    client = partner()

    listing = client.get(URL)
    own = client.get(f"{URL}{mine.reference}/")
    other = client.get(f"{URL}{theirs.reference}/")

    assert [row["reference"] for row in listing.json()["results"]] == [mine.reference]
    assert own.status_code == 200
    assert own.json()["timeline"] == []
    assert other.status_code == 404
    assert other.json()["code"] == "not_found"
    assert AccessLog.objects.filter(
        object_type="care_request", object_id=mine.reference, face="api"
    ).exists()


def test_the_list_filters_by_state(partner, referred, partner_client):
    CareRequestFactory(patient=referred, requested_by=partner_client.user)
    cancelled = CareRequestFactory(
        patient=referred, requested_by=partner_client.user, state="cancelled"
    )

    client = partner()

    response = client.get(URL, {"state": "cancelled"})
    wrong = client.get(URL, {"state": "lost"})

    assert [row["reference"] for row in response.json()["results"]] == [
        cancelled.reference
    ]
    assert wrong.status_code == 400


def test_a_partner_cancels_its_referral(partner, referred, partner_client):
    care_request = CareRequestFactory(
        patient=referred, requested_by=partner_client.user
    )

    response = partner().post(
        f"{URL}{care_request.reference}/transitions/",
        {"transition": "cancel", "reason": "Pris en charge par notre service."},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["state"] == "cancelled"
    assert (
        response.json()["timeline"][-1]["note"] == "Pris en charge par notre service."
    )


def test_an_illegal_transition_answers_400_with_its_code(
    partner, referred, partner_client
):
    closed = CareRequestFactory(
        patient=referred, requested_by=partner_client.user, state="closed"
    )

    response = partner().post(
        f"{URL}{closed.reference}/transitions/",
        {"transition": "cancel", "reason": "Plus besoin."},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["code"] == "transition_not_allowed"
    closed.refresh_from_db()
    assert closed.state == "closed"


def test_a_step_the_partner_role_may_not_take_answers_403(
    partner, referred, partner_client
):
    care_request = CareRequestFactory(
        patient=referred, requested_by=partner_client.user
    )

    response = partner().post(
        f"{URL}{care_request.reference}/transitions/",
        {"transition": "qualify"},
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "role_not_allowed"


def test_a_missing_reason_answers_400_on_the_field(partner, referred, partner_client):
    care_request = CareRequestFactory(
        patient=referred, requested_by=partner_client.user
    )

    response = partner().post(
        f"{URL}{care_request.reference}/transitions/",
        {"transition": "cancel"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["fields"]["reason"][0]["code"] == "reason_required"


def test_transitions_of_another_partners_request_answer_404(partner):
    theirs = CareRequestFactory(requested_by=ApplicationFactory().user)

    response = partner().post(
        f"{URL}{theirs.reference}/transitions/",
        {"transition": "cancel", "reason": "x"},
        format="json",
    )

    assert response.status_code == 404


def test_the_schema_documents_the_care_request_endpoints(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")

    paths = response.json()["paths"]
    assert "/api/v1/care-requests/" in paths
    assert "/api/v1/care-requests/{reference}/transitions/" in paths
