"""The back-office: field-level hiding by role, break-the-glass, audited views."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conciergerie.audit.models import AccessLog
from patients import services
from patients.models import Document, ErasureRequest, Patient
from tests.patients.factories import (
    INVALID_NIR,
    PDF_BYTES,
    DocumentFactory,
    ErasureRequestFactory,
    InsuranceCoverageFactory,
    MedicalProfileFactory,
    PatientFactory,
)

ALLERGY = "Allergie grave au latex"
ALD_LABEL = "Sclérose en plaques"


@pytest.fixture
def full_file(patient):
    MedicalProfileFactory(patient=patient, allergies=ALLERGY)
    InsuranceCoverageFactory(patient=patient, ald=True, ald_label=ALD_LABEL)
    DocumentFactory(patient=patient, title="IRM cérébrale")
    return patient


def _change_url(patient) -> str:
    return reverse("admin:patients_patient_change", args=[patient.pk])


def _rows_since(before: int) -> list[AccessLog]:
    return list(AccessLog.objects.order_by("pk"))[before:]


def test_admin_urls_use_uuids_not_sequential_ids(patient):
    assert str(patient.pk) in _change_url(patient)
    assert len(str(patient.pk)) == 36


def test_a_coordinator_is_refused_the_medical_profile_and_documents(
    staff_client, coordinator, full_file
):
    client = staff_client(coordinator)
    before = AccessLog.objects.count()

    response = client.get(_change_url(full_file))

    html = response.content.decode()
    assert response.status_code == 200
    assert full_file.last_name in html  # identity: yes
    assert ALLERGY not in html  # medical profile: no
    assert "IRM cérébrale" not in html  # documents: no
    assert ALD_LABEL not in html  # the name of the illness: no
    assert 'name="insurance_coverages-0-ald"' in html  # the ALD flag for billing
    rows = _rows_since(before)
    assert [(r.action, r.object_type) for r in rows] == [("read", "patient")]


def test_a_coordinator_cannot_open_documents_in_the_admin(
    staff_client, coordinator, full_file
):
    client = staff_client(coordinator)
    document = full_file.documents.get()

    assert client.get(reverse("admin:patients_document_changelist")).status_code == 403
    assert (
        client.get(
            reverse("admin:patients_document_change", args=[document.pk])
        ).status_code
        == 403
    )
    assert client.get(document.get_absolute_url()).status_code == 404


def test_a_manager_sees_identity_read_only_and_no_medical_data(
    staff_client, manager, full_file
):
    client = staff_client(manager)

    response = client.get(_change_url(full_file))

    html = response.content.decode()
    assert response.status_code == 200
    assert ALLERGY not in html
    assert 'name="_save"' not in html


def test_an_unassigned_adviser_must_break_the_glass(staff_client, adviser, full_file):
    client = staff_client(adviser)
    before = AccessLog.objects.count()

    hidden = client.get(_change_url(full_file))
    glass_url = reverse("admin:patients_patient_break_glass", args=[full_file.pk])
    too_short = client.post(glass_url, {"reason": "urgent"})
    opened = client.post(
        glass_url, {"reason": "La patiente appelle, sa conseillère est absente"}
    )
    shown = client.get(_change_url(full_file))

    assert ALLERGY not in hidden.content.decode()
    assert glass_url in hidden.content.decode()
    assert too_short.status_code == 200
    assert opened.status_code == 302
    assert ALLERGY in shown.content.decode()
    assert ALD_LABEL in shown.content.decode()
    assert [(r.action, r.object_type, r.reason) for r in _rows_since(before)] == [
        ("read", "patient", ""),
        (
            "break_glass",
            "medical_file",
            "La patiente appelle, sa conseillère est absente",
        ),
        ("read", "medical_file", ""),
    ]


def test_an_assigned_adviser_reads_the_medical_file_directly(
    staff_client, adviser, full_file
):
    services.assign_staff(patient=full_file, staff=adviser, by=adviser)
    client = staff_client(adviser)
    before = AccessLog.objects.count()

    response = client.get(_change_url(full_file))

    assert ALLERGY in response.content.decode()
    assert "IRM cérébrale" in response.content.decode()
    assert [(r.action, r.object_type) for r in _rows_since(before)] == [
        ("read", "medical_file")
    ]


def test_an_adviser_changes_the_medical_profile_through_the_service(
    staff_client, adviser, full_file
):
    services.assign_staff(patient=full_file, staff=adviser, by=adviser)
    client = staff_client(adviser)
    page = client.get(_change_url(full_file))
    data = _form_data(page)
    data["medical_profile-0-allergies"] = "Latex et pénicilline"

    response = client.post(_change_url(full_file), data)

    assert response.status_code == 302, _errors(response)
    full_file.medical_profile.refresh_from_db()
    assert full_file.medical_profile.allergies == "Latex et pénicilline"
    assert full_file.medical_profile.updated_by == adviser
    assert AccessLog.objects.filter(
        action="update", object_type="medical_profile"
    ).exists()


def test_opening_a_document_in_the_admin_is_audited_once(
    staff_client, adviser, full_file
):
    services.assign_staff(patient=full_file, staff=adviser, by=adviser)
    document = full_file.documents.get()
    client = staff_client(adviser)
    before = AccessLog.objects.count()

    response = client.get(reverse("admin:patients_document_change", args=[document.pk]))
    download = client.get(document.get_absolute_url())

    assert response.status_code == 200
    assert download.content == PDF_BYTES
    assert [(r.action, r.object_type) for r in _rows_since(before)] == [
        ("read", "document"),
        ("download", "document"),
    ]


def test_an_unassigned_adviser_downloading_a_document_is_sent_to_break_the_glass(
    staff_client, adviser, full_file
):
    document = full_file.documents.get()

    response = staff_client(adviser).get(document.get_absolute_url())

    assert response.status_code == 302
    assert "break-glass" in response["Location"]


def test_the_document_list_shows_only_open_files(staff_client, adviser, full_file):
    services.assign_staff(patient=full_file, staff=adviser, by=adviser)
    other = DocumentFactory(title="Autre patient")

    response = staff_client(adviser).get(reverse("admin:patients_document_changelist"))

    html = response.content.decode()
    assert "IRM cérébrale" in html
    assert other.title not in html


# --- Registration by a concierge ----------------------------------------------------


def _form_data(response) -> dict:
    """The values of the admin form as a browser would post them back."""
    context = response.context
    data = {}
    for name, value in context["adminform"].form.initial.items():
        if value is not None:
            data[name] = value
    form = context["adminform"].form
    for field in form:
        value = field.value()
        if value is None:
            continue
        if isinstance(value, list):
            data[field.html_name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[field.html_name] = "on"
        else:
            data[field.html_name] = value
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        for field in formset.management_form:
            data[field.html_name] = field.value()
        for inline_form in formset.forms:
            for field in inline_form:
                value = field.value()
                if value is None:
                    continue
                if isinstance(value, bool):
                    if value:
                        data[field.html_name] = "on"
                else:
                    data[field.html_name] = value
    data.pop("nir", None)
    return data


def _errors(response) -> object:
    if response.context is None:
        return response.status_code
    return response.context["adminform"].form.errors, [
        inline.formset.errors for inline in response.context["inline_admin_formsets"]
    ]


ADMIN_IDENTITY = {
    "last_name": "Roux",
    "first_names": "Nina",
    "birth_date": "1988-04-12",
    "sex": "female",
    "email": "nina.roux@example.fr",
    "mobile_phone": "06 12 34 56 79",
    "postal_code": "33000",
    "city": "Bordeaux",
    "country": "FR",
    "preferred_language": "fr",
    "reminder_channel": "sms",
    "registration_channel": "phone",
}


def test_a_concierge_registers_a_patient_after_a_phone_call(staff_client, coordinator):
    response = staff_client(coordinator).post(
        reverse("admin:patients_patient_add"),
        {**ADMIN_IDENTITY, "health_data_consent": "on"},
    )

    assert response.status_code == 302, _errors(response)
    patient = Patient.objects.get()
    assert patient.registration_channel == "phone"
    assert patient.created_by == coordinator
    consent = patient.health_data_consents.get()
    assert (consent.channel, consent.recorded_by) == ("phone", coordinator)


def test_a_bad_nir_in_the_admin_is_a_field_error_and_nothing_is_saved(
    staff_client, coordinator
):
    response = staff_client(coordinator).post(
        reverse("admin:patients_patient_add"), {**ADMIN_IDENTITY, "nir": INVALID_NIR}
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert errors["nir"][0].code == "invalid_nir_key"
    assert not Patient.objects.exists()


def test_the_admin_warns_of_a_likely_duplicate_before_creating(
    staff_client, coordinator
):
    existing = PatientFactory(
        last_name="Roux", first_names="Nina", birth_date="1988-04-12"
    )
    client = staff_client(coordinator)

    warned = client.post(reverse("admin:patients_patient_add"), ADMIN_IDENTITY)
    confirmed = client.post(
        reverse("admin:patients_patient_add"),
        {**ADMIN_IDENTITY, "confirm_duplicate": "on"},
    )

    assert warned.status_code == 200
    assert existing.reference in warned.content.decode()
    assert confirmed.status_code == 302
    assert Patient.objects.filter(duplicate_review_needed=True).count() == 1


def test_patients_are_found_by_nir_in_the_admin(staff_client, coordinator):
    from tests.patients.factories import VALID_NIR

    patient = PatientFactory(nir=VALID_NIR, birth_date="1995-10-04")
    PatientFactory()

    response = staff_client(coordinator).get(
        reverse("admin:patients_patient_changelist"), {"q": "2 95 10 99 126 111 93"}
    )

    assert list(response.context["cl"].result_list) == [patient]


def test_patient_files_cannot_be_deleted_from_the_admin(staff_client, adviser, patient):
    response = staff_client(adviser).post(
        reverse("admin:patients_patient_delete", args=[patient.pk]), {"post": "yes"}
    )

    assert response.status_code == 403
    assert Patient.objects.filter(pk=patient.pk).exists()


def test_merging_two_duplicates_from_the_list(staff_client, coordinator, patient):
    duplicate = PatientFactory(
        last_name=patient.last_name,
        first_names=patient.first_names,
        birth_date=patient.birth_date,
    )
    client = staff_client(coordinator)
    url = reverse("admin:patients_patient_changelist")
    selection = {
        "action": "merge_two_files",
        "_selected_action": [patient.pk, duplicate.pk],
    }

    confirm_page = client.post(url, selection)
    merged = client.post(url, {**selection, "confirm": "yes", "keep": str(patient.pk)})

    assert confirm_page.status_code == 200
    assert merged.status_code == 302
    duplicate.refresh_from_db()
    assert duplicate.merged_into == patient


# --- Documents and consents ---------------------------------------------------------


def test_an_adviser_adds_a_document_and_an_executable_is_refused(
    staff_client, adviser, patient
):
    client = staff_client(adviser)
    url = reverse("admin:patients_document_add")

    refused = client.post(
        url,
        {
            "patient": patient.pk,
            "file": SimpleUploadedFile("x.pdf", b"MZ" + b"\0" * 40),
            "kind": "results",
        },
    )
    accepted = client.post(
        url,
        {
            "patient": patient.pk,
            "file": SimpleUploadedFile("cr.pdf", PDF_BYTES),
            "kind": "consultation_report",
            "title": "Compte rendu de cardiologie",
        },
    )

    assert refused.status_code == 200
    assert refused.context["adminform"].form.errors.as_data()["file"][0].code == (
        "executable_file"
    )
    assert accepted.status_code == 302
    document = Document.objects.get()
    assert (document.origin, document.uploaded_by) == ("admin", adviser)


def test_recording_a_phone_consent_from_the_admin(staff_client, coordinator, db):
    patient = PatientFactory()

    response = staff_client(coordinator).post(
        reverse("admin:patients_healthdataconsent_add"),
        {"patient": patient.pk, "channel": "phone"},
    )

    assert response.status_code == 302
    assert services.has_health_data_consent(patient)


# --- Erasure ------------------------------------------------------------------------


def test_a_concierge_carries_out_an_erasure_from_its_page(
    staff_client, coordinator, patient, mailoutbox, django_capture_on_commit_callbacks
):
    erasure = ErasureRequestFactory(patient=patient)
    client = staff_client(coordinator)
    url = reverse("admin:patients_erasurerequest_change", args=[erasure.pk])

    page = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"response": "", "_carry_out": "1"})

    assert page.status_code == 200
    assert response.status_code == 302
    erasure.refresh_from_db()
    assert erasure.state == ErasureRequest.State.COMPLETED
    assert Patient.objects.get(pk=patient.pk).erased_at is not None
    assert len(mailoutbox) == 1
    assert "conservons" in mailoutbox[0].body


def test_refusing_an_erasure_without_an_answer_is_refused(
    staff_client, coordinator, patient
):
    erasure = ErasureRequestFactory(patient=patient)
    client = staff_client(coordinator)
    url = reverse("admin:patients_erasurerequest_change", args=[erasure.pk])

    client.post(url, {"response": "", "_reject": "1"})
    erasure.refresh_from_db()
    assert erasure.state == ErasureRequest.State.REQUESTED

    client.post(
        url, {"response": "Un litige de facturation est en cours.", "_reject": "1"}
    )
    erasure.refresh_from_db()
    assert erasure.state == ErasureRequest.State.REJECTED


def test_a_manager_cannot_download_a_document(staff_client, manager, full_file):
    document = full_file.documents.get()

    response = staff_client(manager).get(document.get_absolute_url())

    assert response.status_code == 404
    assert not AccessLog.objects.filter(action="download").exists()


def test_a_coordinator_cannot_write_the_medical_profile_by_posting_it(
    staff_client, coordinator, full_file
):
    client = staff_client(coordinator)
    data = _form_data(client.get(_change_url(full_file)))
    data.update(
        {
            "medical_profile-TOTAL_FORMS": "1",
            "medical_profile-INITIAL_FORMS": "1",
            "medical_profile-0-id": str(full_file.medical_profile.pk),
            "medical_profile-0-patient": str(full_file.pk),
            "medical_profile-0-allergies": "Aucune",
        }
    )

    response = client.post(_change_url(full_file), data)

    assert response.status_code == 302, _errors(response)
    full_file.medical_profile.refresh_from_db()
    assert full_file.medical_profile.allergies == ALLERGY
