"""The patient file in the portal: pages, forms, downloads, who gets a 404."""

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conciergerie.audit.models import AccessLog
from patients.models import Document, Guardianship, HealthDataConsent, Patient
from tests.patients.factories import (
    INVALID_NIR,
    PDF_BYTES,
    DocumentFactory,
    GuardianshipFactory,
    InsuranceCoverageFactory,
    MedicalProfileFactory,
    SharingConsentFactory,
)

IDENTITY = {
    "last_name": "Girard",
    "first_names": "Inès",
    "birth_date": "1995-10-04",
    "sex": "female",
    "nir": "2 95 10 99 126 111 93",
    "email": "ines.girard@example.fr",
    "mobile_phone": "06 12 34 56 78",
    "address_line": "12 rue des Lilas",
    "postal_code": "69003",
    "city": "Lyon",
    "country": "FR",
    "preferred_language": "fr",
    "reminder_channel": "both",
}


def _url(name: str, patient, *args) -> str:
    return reverse(f"patients:{name}", args=[patient.reference, *args])


@pytest.fixture
def signed_in(client, patient):
    client.force_login(patient.user)
    return client


def _audit_rows() -> int:
    return AccessLog.objects.count()


# --- Registration -------------------------------------------------------------------


def test_a_new_patient_is_sent_to_complete_their_file(client, patient_user):
    client.force_login(patient_user)

    response = client.get("/patients/")

    assert response.status_code == 302
    assert response["Location"] == reverse("patients:register")


def test_completing_the_file_with_consent_opens_it(client, patient_user):
    client.force_login(patient_user)

    response = client.post(
        reverse("patients:register"), {**IDENTITY, "health_data_consent": "on"}
    )

    patient = Patient.objects.get(user=patient_user)
    assert response.status_code == 302
    assert response["Location"] == patient.get_absolute_url()
    assert patient.nir == "295109912611193"
    assert str(patient.mobile_phone) == "+33612345678"
    assert HealthDataConsent.objects.active().filter(patient=patient).exists()


def test_a_bad_nir_is_shown_in_french_next_to_its_field_and_nothing_saved(
    client, patient_user
):
    client.force_login(patient_user)

    response = client.post(
        reverse("patients:register"), {**IDENTITY, "nir": INVALID_NIR}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert response.context["form"].errors.as_data()["nir"][0].code == "invalid_nir_key"
    assert "ne correspond pas à sa clé" in html
    assert 'id="id_nir_error"' in html
    assert 'aria-describedby="id_nir_helptext id_nir_error"' in html
    assert 'aria-invalid="true"' in html
    assert not Patient.objects.exists()


def test_a_bad_phone_is_refused_in_french(client, patient_user):
    client.force_login(patient_user)

    response = client.post(
        reverse("patients:register"), {**IDENTITY, "mobile_phone": "06 12"}
    )

    assert response.status_code == 200
    assert (
        response.context["form"].errors.as_data()["mobile_phone"][0].code == "invalid"
    )
    assert "numéro de téléphone" in response.content.decode().lower()
    assert not Patient.objects.exists()


def test_registering_a_child_twice_shows_the_existing_file_first(client, patient_user):
    client.force_login(patient_user)
    child = {**IDENTITY, "birth_date": "2018-06-01", "nir": "", "email": ""}
    client.post(reverse("patients:add-dependant"), {**child, "relationship": "parent"})

    again = client.post(
        reverse("patients:add-dependant"), {**child, "relationship": "parent"}
    )
    confirmed = client.post(
        reverse("patients:add-dependant"),
        {**child, "relationship": "parent", "confirm_duplicate": "on"},
    )

    existing = Patient.objects.order_by("created_at").first()
    assert again.status_code == 200
    assert again.context["duplicates"] == [existing]
    assert existing.reference in again.content.decode()
    assert confirmed.status_code == 302
    assert Patient.objects.count() == 2
    assert Patient.objects.filter(duplicate_review_needed=True).count() == 1
    assert Guardianship.objects.filter(guardian=patient_user).count() == 2


# --- Reading the file ---------------------------------------------------------------


def test_the_file_page_shows_the_patient_their_data_and_logs_one_read(
    signed_in, patient
):
    MedicalProfileFactory(patient=patient, allergies="Pénicilline")
    InsuranceCoverageFactory(patient=patient, mutuelle_name="Harmonie Mutuelle")
    DocumentFactory(patient=patient, title="Bilan sanguin")
    before = _audit_rows()

    response = signed_in.get(patient.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    assert "Pénicilline" in html
    assert "Harmonie Mutuelle" in html
    assert "Bilan sanguin" in html
    assert patient.reference in html
    assert (
        response["Cache-Control"].startswith("no-store")
        or "no-store" in response["Cache-Control"]
    )
    assert _audit_rows() == before + 1
    row = AccessLog.objects.first()
    assert (row.action, row.actor, row.face) == ("read", patient.user, "portal")


def test_another_patients_file_answers_404_everywhere(signed_in, other_patient):
    document = DocumentFactory(patient=other_patient)
    urls = [
        _url("detail", other_patient),
        _url("identity", other_patient),
        _url("insurance", other_patient),
        _url("medical", other_patient),
        _url("documents", other_patient),
        _url("document-download", other_patient, document.pk),
        _url("summary", other_patient),
        _url("consents", other_patient),
        _url("access-log", other_patient),
        _url("rights", other_patient),
    ]

    statuses = {url: signed_in.get(url).status_code for url in urls}
    export = signed_in.post(_url("export", other_patient))

    assert set(statuses.values()) == {404}, statuses
    assert export.status_code == 404
    assert not AccessLog.objects.filter(patient_ref=other_patient.reference).exists()


def test_the_file_page_asks_to_sign_in(client, patient):
    response = client.get(patient.get_absolute_url())

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_guardian_sees_the_childs_file_and_the_child_list(client, patient_user):
    child = GuardianshipFactory(guardian=patient_user).patient
    client.force_login(patient_user)

    listing = client.get("/patients/")
    page = client.get(child.get_absolute_url())

    assert listing.status_code == 200
    assert child.reference in listing.content.decode()
    assert page.status_code == 200


# --- Rectification, medical profile, insurance --------------------------------------


def test_the_patient_rectifies_their_address(signed_in, patient):
    data = {
        **IDENTITY,
        "last_name": patient.last_name,
        "first_names": patient.first_names,
        "birth_date": patient.birth_date.isoformat(),
        "nir": "",
        "city": "Marseille",
        "postal_code": "13001",
    }

    response = signed_in.post(_url("identity", patient), data)

    patient.refresh_from_db()
    assert response.status_code == 302
    assert patient.city == "Marseille"
    assert AccessLog.objects.filter(action="update", object_type="patient").count() == 1


def test_the_medical_profile_page_logs_one_read_and_saves_encrypted(signed_in, patient):
    MedicalProfileFactory(patient=patient)
    before = _audit_rows()

    page = signed_in.get(_url("medical", patient))
    assert _audit_rows() == before + 1
    response = signed_in.post(
        _url("medical", patient),
        {
            "medical_history": "",
            "allergies": "Arachides",
            "current_treatments": "",
            "specific_needs": "",
            "height_cm": "172",
            "weight_kg": "64.5",
            "blood_group": "O+",
        },
    )

    assert page.status_code == 200
    assert response.status_code == 302
    profile = patient.medical_profile
    profile.refresh_from_db()
    assert profile.allergies == "Arachides"
    assert profile.measurements == {
        "height_cm": 172,
        "weight_kg": "64.5",
        "blood_group": "O+",
    }


def test_the_medical_profile_needs_consent_first(client, db, patient_user):
    from tests.patients.factories import PatientFactory

    patient = PatientFactory(user=patient_user)
    client.force_login(patient_user)

    response = client.post(_url("medical", patient), {"allergies": "Arachides"})

    assert response.status_code == 200
    assert not hasattr(Patient.objects.get(pk=patient.pk), "medical_profile") or (
        not patient.medical_profile.allergies
    )


def test_insurance_is_saved_with_decimal_rates(signed_in, patient):
    response = signed_in.post(
        _url("insurance", patient),
        {
            "regime": "general",
            "beneficiary_status": "insured",
            "treating_doctor_declared": "on",
            "treating_doctor_name": "Dr Lambert",
            "mutuelle_name": "MGEN",
            "contrat_responsable": "on",
            "coverage_rate": "150",
            "optam_overrun_rate": "100",
            "non_optam_overrun_rate": "80",
            "valid_from": "2026-01-01",
        },
    )

    assert response.status_code == 302
    coverage = patient.current_insurance()
    assert str(coverage.coverage_rate) == "150.00"


def test_a_contrat_responsable_caps_non_optam_overruns(signed_in, patient):
    response = signed_in.post(
        _url("insurance", patient),
        {
            "regime": "general",
            "beneficiary_status": "insured",
            "mutuelle_name": "MGEN",
            "contrat_responsable": "on",
            "coverage_rate": "200",
            "optam_overrun_rate": "100",
            "non_optam_overrun_rate": "100",
            "valid_from": "2026-01-01",
        },
    )

    assert response.status_code == 200
    codes = [e.code for e in response.context["form"].non_field_errors().as_data()]
    assert "contrat_responsable_overrun" in codes


# --- Documents ----------------------------------------------------------------------


def test_uploading_a_document_encrypts_it_and_lists_it(signed_in, patient):
    response = signed_in.post(
        _url("documents", patient),
        {
            "file": SimpleUploadedFile("radio.pdf", PDF_BYTES, "application/pdf"),
            "kind": "imaging",
            "title": "Radio du genou",
            "document_date": "2026-02-10",
            "source": "Imagerie du Parc",
        },
    )

    document = Document.objects.get()
    assert response.status_code == 302
    assert document.title == "Radio du genou"
    assert document.origin == "portal"


def test_an_executable_upload_is_refused_in_french_and_nothing_stored(
    signed_in, patient, settings
):
    import os

    response = signed_in.post(
        _url("documents", patient),
        {
            "file": SimpleUploadedFile("cr.pdf", b"MZ\x90\x00" + b"\0" * 64),
            "kind": "results",
        },
    )

    assert response.status_code == 200
    assert (
        response.context["form"].errors.as_data()["file"][0].code == "executable_file"
    )
    assert "programmes et les scripts sont refusés" in response.content.decode()
    assert not Document.objects.exists()
    assert not os.path.exists(settings.MEDIA_ROOT) or not any(
        os.scandir(settings.MEDIA_ROOT)
    )


def test_an_oversized_upload_is_refused_in_french(signed_in, patient, settings):
    settings.DOCUMENT_MAX_UPLOAD_BYTES = 100

    response = signed_in.post(
        _url("documents", patient),
        {"file": SimpleUploadedFile("big.pdf", PDF_BYTES * 3), "kind": "results"},
    )

    assert response.context["form"].errors.as_data()["file"][0].code == "file_too_large"
    assert "trop volumineux" in response.content.decode()
    assert not Document.objects.exists()


def test_downloading_a_document_serves_the_clear_bytes_and_logs_one_row(
    signed_in, patient
):
    document = DocumentFactory(patient=patient)
    before = _audit_rows()

    response = signed_in.get(document.get_absolute_url())

    assert response.status_code == 200
    assert response.content == PDF_BYTES
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"]
    assert _audit_rows() == before + 1
    assert AccessLog.objects.first().action == "download"


def test_documents_are_never_served_from_a_media_url(client, patient):
    document = DocumentFactory(patient=patient)

    response = client.get(f"/media/{document.storage_name}")

    assert response.status_code == 404


# --- Practitioners ------------------------------------------------------------------


def test_a_practitioner_downloads_a_shared_document_but_not_an_unshared_one(
    client, practitioner_user, patient
):
    shared = DocumentFactory(patient=patient, title="Compte rendu")
    unshared = DocumentFactory(patient=patient, title="Bilan psychiatrique")
    SharingConsentFactory(patient=patient, recipient=practitioner_user, document=shared)
    client.force_login(practitioner_user)

    ok = client.get(shared.get_absolute_url())
    refused = client.get(unshared.get_absolute_url())
    page = client.get(patient.get_absolute_url())

    assert ok.status_code == 200
    assert refused.status_code == 404
    html = page.content.decode()
    assert "Compte rendu" in html
    assert "Bilan psychiatrique" not in html
    assert patient.email not in html  # contact details stay with the patient
    assert client.get(_url("summary", patient)).status_code == 404


def test_a_practitioner_with_the_whole_file_gets_the_summary_pdf(
    client, practitioner_user, patient
):
    MedicalProfileFactory(patient=patient)
    SharingConsentFactory(patient=patient, recipient=practitioner_user)
    client.force_login(practitioner_user)
    before = _audit_rows()

    response = client.get(_url("summary", patient))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert _audit_rows() == before + 1
    assert AccessLog.objects.first().object_type == "summary"


def test_a_practitioner_lists_the_files_shared_with_them(
    client, practitioner_user, patient
):
    SharingConsentFactory(patient=patient, recipient=practitioner_user)
    client.force_login(practitioner_user)

    response = client.get(reverse("patients:shared"))

    assert patient.reference in response.content.decode()


# --- Consents -----------------------------------------------------------------------


def test_sharing_then_revoking_from_the_portal_is_immediate(
    signed_in, patient, practitioner_user, client
):
    document = DocumentFactory(patient=patient)
    signed_in.post(_url("share", patient), {"email": practitioner_user.email})
    consent = patient.sharing_consents.get()

    signed_in.post(_url("share-revoke", patient, consent.pk))

    client.force_login(practitioner_user)
    assert client.get(document.get_absolute_url()).status_code == 404


def test_sharing_with_an_unknown_address_is_a_field_error(signed_in, patient):
    response = signed_in.post(_url("share", patient), {"email": "nobody@example.fr"})

    assert response.context["form"].errors.as_data()["email"][0].code == (
        "unknown_practitioner"
    )


def test_withdrawing_and_giving_consent_again(signed_in, patient):
    signed_in.post(_url("consent-withdraw", patient))
    assert not HealthDataConsent.objects.active().filter(patient=patient).exists()

    signed_in.post(_url("consent-give", patient), {"agree": "on"})

    assert HealthDataConsent.objects.active().filter(patient=patient).exists()


# --- Access log and rights ----------------------------------------------------------


def test_the_patient_sees_who_accessed_their_file(signed_in, patient, adviser):
    from patients import services

    services.break_the_glass(
        user=adviser, patient=patient, reason="Patiente au téléphone, dossier urgent"
    )

    response = signed_in.get(_url("access-log", patient))

    html = response.content.decode()
    assert response.status_code == 200
    assert adviser.get_full_name() in html
    assert "conseiller médical" in html
    assert "Patiente au téléphone, dossier urgent" in html


def test_the_export_downloads_a_zip_and_is_audited(signed_in, patient):
    DocumentFactory(patient=patient)
    before = _audit_rows()

    response = signed_in.post(_url("export", patient))

    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert {"dossier.json", "dossier.pdf"} <= set(archive.namelist())
    assert _audit_rows() == before + 1
    assert AccessLog.objects.first().action == "export"


def test_requesting_erasure_needs_a_confirmation(signed_in, patient):
    refused = signed_in.post(_url("erasure", patient), {"message": "Au revoir"})
    accepted = signed_in.post(_url("erasure", patient), {"confirm": "on"})

    assert refused.status_code == accepted.status_code == 302
    assert patient.erasure_requests.count() == 1
    page = signed_in.get(_url("rights", patient))
    assert "demandée" in page.content.decode()


def test_the_dashboard_links_to_the_file(signed_in, patient):
    response = signed_in.get("/dashboard/")

    assert patient.get_absolute_url() in response.content.decode()
