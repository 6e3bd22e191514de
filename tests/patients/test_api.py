"""The partner API of the patient file, over real HTTP with OAuth2 tokens."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conciergerie.audit.models import AccessLog
from patients.models import Document, HealthDataConsent, Patient
from tests.factories import ApplicationFactory
from tests.patients.factories import (
    INVALID_NIR,
    PDF_BYTES,
    VALID_NIR,
    PatientFactory,
    SharingConsentFactory,
)

REFERRAL = {
    "last_name": "Girard",
    "first_names": "Inès",
    "birth_date": "1995-10-04",
    "sex": "female",
    "nir": VALID_NIR,
    "email": "ines.girard@example.fr",
    "mobile_phone": "06 12 34 56 78",
    "postal_code": "69003",
    "city": "Lyon",
}


@pytest.fixture
def partner(api_client, partner_client, partner_token):
    """An API client authenticated as the partner clinic with the given scopes."""

    def authenticate(scopes: str = "patients:read patients:write documents:write"):
        token = partner_token(partner_client, scopes)
        api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")
        return api_client

    return authenticate


def _fields(response, name: str) -> list[str]:
    return [error["code"] for error in response.json()["fields"][name]]


# --- Referral -----------------------------------------------------------------------


def test_a_partner_refers_a_patient(partner, partner_client):
    client = partner()

    response = client.post(
        "/api/v1/patients/", {**REFERRAL, "health_data_consent_collected": True}
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    patient = Patient.objects.get(reference=body["reference"])
    assert response["Location"] == f"/api/v1/patients/{patient.reference}/"
    assert body["mobile_phone"] == "+33612345678"
    assert body["has_health_data_consent"] is True
    assert body["referred_by_you"] is True
    assert patient.referred_by == partner_client.user
    assert patient.registration_channel == "api"
    assert HealthDataConsent.objects.get(patient=patient).channel == "api"
    row = AccessLog.objects.get(action="create", object_type="patient")
    assert (row.face, row.actor_label, row.actor_role) == (
        "api",
        "Clinique du Parc",
        "partner",
    )
    assert "id" not in body  # no sequential or internal identifier


def test_a_referral_with_a_bad_nir_is_a_400_field_error_and_nothing_saved(partner):
    response = partner().post("/api/v1/patients/", {**REFERRAL, "nir": INVALID_NIR})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert _fields(response, "nir") == ["invalid_nir_key"]
    assert "clé" in response.json()["fields"]["nir"][0]["message"]
    assert not Patient.objects.exists()


def test_a_referral_with_a_bad_phone_is_a_400_field_error(partner):
    response = partner().post("/api/v1/patients/", {**REFERRAL, "mobile_phone": "12"})

    assert response.status_code == 400
    assert _fields(response, "mobile_phone") == ["invalid"]
    assert not Patient.objects.exists()


def test_referring_the_same_patient_twice_answers_409_with_the_reference(partner):
    client = partner()
    first = client.post("/api/v1/patients/", REFERRAL).json()

    again = client.post("/api/v1/patients/", REFERRAL)
    confirmed = client.post("/api/v1/patients/", {**REFERRAL, "confirm_new": True})

    assert again.status_code == 409
    assert again.json()["code"] == "possible_duplicate"
    assert again.json()["duplicates"] == [first["reference"]]
    assert confirmed.status_code == 201
    assert Patient.objects.get(
        reference=confirmed.json()["reference"]
    ).duplicate_review_needed


def test_a_duplicate_the_partner_cannot_see_is_not_revealed(partner, patient):
    response = partner().post(
        "/api/v1/patients/",
        {
            **REFERRAL,
            "last_name": patient.last_name,
            "first_names": patient.first_names,
            "birth_date": patient.birth_date.isoformat(),
            "nir": "",
        },
    )

    assert response.status_code == 201
    assert patient.reference not in response.content.decode()
    assert Patient.objects.get(
        reference=response.json()["reference"]
    ).duplicate_review_needed


def test_referring_needs_the_write_scope(partner):
    response = partner("patients:read").post("/api/v1/patients/", REFERRAL)

    assert response.status_code == 403
    assert not Patient.objects.exists()


def test_a_signed_in_patient_cannot_refer_through_the_api(api_client, patient_user):
    api_client.force_login(patient_user)

    response = api_client.post("/api/v1/patients/", REFERRAL, format="json")

    assert response.status_code == 403


# --- Reads --------------------------------------------------------------------------


def test_a_partner_lists_only_the_patients_it_referred_or_that_shared(
    partner, partner_client, patient, other_patient
):
    referred = PatientFactory(referred_by=partner_client.user)
    SharingConsentFactory(patient=patient, recipient=partner_client.user)

    response = partner("patients:read").get("/api/v1/patients/")

    references = {p["reference"] for p in response.json()["results"]}
    assert response.status_code == 200
    assert references == {referred.reference, patient.reference}


def test_reading_a_patient_logs_one_row_with_the_partner_name(partner, partner_client):
    referred = PatientFactory(referred_by=partner_client.user)

    response = partner("patients:read").get(f"/api/v1/patients/{referred.reference}/")

    assert response.status_code == 200
    assert response.json()["reference"] == referred.reference
    row = AccessLog.objects.get()
    assert (row.action, row.patient_ref, row.actor_label) == (
        "read",
        referred.reference,
        "Clinique du Parc",
    )


def test_another_partners_patient_answers_404(partner, db):
    other_partner = ApplicationFactory(name="Laboratoire Voisin").user
    theirs = PatientFactory(referred_by=other_partner)

    response = partner("patients:read").get(f"/api/v1/patients/{theirs.reference}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not AccessLog.objects.exists()


def test_references_are_read_whatever_their_case(partner, partner_client):
    referred = PatientFactory(referred_by=partner_client.user)

    response = partner("patients:read").get(
        f"/api/v1/patients/{referred.reference.lower()}/"
    )

    assert response.status_code == 200


def test_a_patient_reads_their_own_file_through_the_session(api_client, patient):
    api_client.force_login(patient.user)

    own = api_client.get(f"/api/v1/patients/{patient.reference}/")
    listing = api_client.get("/api/v1/patients/")

    assert own.status_code == 200
    assert [p["reference"] for p in listing.json()["results"]] == [patient.reference]


def test_a_coordinator_session_sees_identity_but_uploads_nothing(
    api_client, coordinator, patient
):
    api_client.force_login(coordinator)

    read = api_client.get(f"/api/v1/patients/{patient.reference}/")
    upload = api_client.post(
        f"/api/v1/patients/{patient.reference}/documents/",
        {"file": SimpleUploadedFile("a.pdf", PDF_BYTES), "kind": "results"},
        format="multipart",
    )

    assert read.status_code == 200
    assert upload.status_code == 403
    assert not Document.objects.exists()


# --- Documents ----------------------------------------------------------------------


def _upload(client, reference: str, content: bytes = PDF_BYTES, **data):
    return client.post(
        f"/api/v1/patients/{reference}/documents/",
        {
            "file": SimpleUploadedFile("resultats.pdf", content, "application/pdf"),
            "kind": "results",
            "title": "NFS du 3 mars",
            "source": "Laboratoire du Parc",
            **data,
        },
        format="multipart",
    )


def test_a_partner_sends_results_to_a_patient_it_referred(partner, partner_client):
    referred = PatientFactory(referred_by=partner_client.user, consented=True)

    response = _upload(partner("documents:write"), referred.reference)

    assert response.status_code == 201, response.json()
    document = Document.objects.get(pk=response.json()["id"])
    assert document.origin == "api"
    assert document.uploaded_by == partner_client.user
    assert (
        AccessLog.objects.filter(action="create", object_type="document").count() == 1
    )


def test_documents_need_the_patients_consent(partner, partner_client):
    referred = PatientFactory(referred_by=partner_client.user)

    response = _upload(partner("documents:write"), referred.reference)

    assert response.status_code == 400
    assert response.json()["code"] == "health_data_consent_required"
    assert not Document.objects.exists()


def test_an_executable_sent_through_the_api_is_refused(partner, partner_client):
    referred = PatientFactory(referred_by=partner_client.user, consented=True)

    response = _upload(
        partner("documents:write"), referred.reference, content=b"\x7fELF" + b"\0" * 64
    )

    assert response.status_code == 400
    assert _fields(response, "file") == ["executable_file"]
    assert "refusés" in response.json()["fields"]["file"][0]["message"]
    assert not Document.objects.exists()


def test_an_oversized_file_sent_through_the_api_is_refused(
    partner, partner_client, settings
):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 64
    referred = PatientFactory(referred_by=partner_client.user, consented=True)

    response = _upload(partner("documents:write"), referred.reference)

    assert response.status_code == 400
    assert _fields(response, "file") == ["file_too_large"]


def test_documents_cannot_be_sent_to_a_patient_the_partner_cannot_see(partner, patient):
    response = _upload(partner("documents:write"), patient.reference)

    assert response.status_code == 404
    assert not Document.objects.exists()


def test_uploading_needs_the_documents_scope(partner, partner_client):
    referred = PatientFactory(referred_by=partner_client.user, consented=True)

    response = _upload(partner("patients:write"), referred.reference)

    assert response.status_code == 403


def test_the_schema_documents_the_patient_routes(client, db):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()

    assert "/api/v1/patients/" in schema["paths"]
    assert "/api/v1/patients/{reference}/documents/" in schema["paths"]
    assert set(schema["paths"]["/api/v1/patients/"]) >= {"get", "post"}
