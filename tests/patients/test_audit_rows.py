"""Every view showing health data, on every face, leaves exactly one audit row."""

import pytest
from django.urls import reverse

from conciergerie.audit.models import AccessLog
from patients import services
from tests.patients.factories import (
    DocumentFactory,
    ErasureRequestFactory,
    InsuranceCoverageFactory,
    MedicalProfileFactory,
    SharingConsentFactory,
)


@pytest.fixture
def file(patient, adviser):
    MedicalProfileFactory(patient=patient)
    InsuranceCoverageFactory(patient=patient)
    document = DocumentFactory(patient=patient)
    erasure = ErasureRequestFactory(patient=patient)
    services.assign_staff(patient=patient, staff=adviser, by=adviser)
    return {"patient": patient, "document": document, "erasure": erasure}


def _portal(name, *extra):
    def url(f):
        return reverse(
            f"patients:{name}",
            args=[f["patient"].reference, *[f[e].pk for e in extra]],
        )

    return url


PATIENT_VIEWS = {
    "file overview": (_portal("detail"), "read", "medical_file"),
    "medical profile": (_portal("medical"), "read", "medical_profile"),
    "insurance": (_portal("insurance"), "read", "insurance"),
    "documents": (_portal("documents"), "read", "document"),
    "document download": (
        _portal("document-download", "document"),
        "download",
        "document",
    ),
    "medical summary": (_portal("summary"), "read", "summary"),
}

ADMIN_VIEWS = {
    "patient page": (
        lambda f: reverse("admin:patients_patient_change", args=[f["patient"].pk]),
        "read",
        "medical_file",
    ),
    "patient history": (
        lambda f: reverse("admin:patients_patient_history", args=[f["patient"].pk]),
        "read",
        "patient",
    ),
    "document page": (
        lambda f: reverse("admin:patients_document_change", args=[f["document"].pk]),
        "read",
        "document",
    ),
    "erasure request": (
        lambda f: reverse(
            "admin:patients_erasurerequest_change", args=[f["erasure"].pk]
        ),
        "read",
        "erasure",
    ),
    "document download": (
        lambda f: f["document"].get_absolute_url(),
        "download",
        "document",
    ),
}


def _one_row(client, url: str) -> AccessLog:
    before = AccessLog.objects.count()
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    rows = list(AccessLog.objects.order_by("pk"))[before:]
    assert len(rows) == 1, [(r.action, r.object_type) for r in rows]
    return rows[0]


@pytest.mark.parametrize("view", PATIENT_VIEWS)
def test_each_portal_view_of_health_data_leaves_one_row(client, file, view):
    url, action, what = PATIENT_VIEWS[view]
    client.force_login(file["patient"].user)

    row = _one_row(client, url(file))

    assert (row.action, row.object_type, row.face) == (action, what, "portal")
    assert row.patient_ref == file["patient"].reference


@pytest.mark.parametrize("view", ADMIN_VIEWS)
def test_each_admin_view_of_health_data_leaves_one_row(
    staff_client, adviser, file, view
):
    url, action, what = ADMIN_VIEWS[view]

    row = _one_row(staff_client(adviser), url(file))

    assert (row.action, row.object_type, row.actor) == (action, what, adviser)


def test_the_practitioner_view_of_a_shared_file_leaves_one_row(
    client, practitioner_user, file
):
    SharingConsentFactory(patient=file["patient"], recipient=practitioner_user)
    client.force_login(practitioner_user)

    row = _one_row(client, file["patient"].get_absolute_url())

    assert (row.actor_role, row.object_type) == ("practitioner", "medical_file")


def test_the_api_read_of_a_patient_leaves_one_row(
    api_client, partner_client, partner_token, file
):
    SharingConsentFactory(patient=file["patient"], recipient=partner_client.user)
    token = partner_token(partner_client, "patients:read")
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.token}")

    row = _one_row(api_client, f"/api/v1/patients/{file['patient'].reference}/")

    assert (row.face, row.actor_label) == ("api", partner_client.name)


def test_the_access_log_page_itself_is_not_logged(client, file):
    client.force_login(file["patient"].user)
    before = AccessLog.objects.count()

    client.get(reverse("patients:access-log", args=[file["patient"].reference]))

    assert AccessLog.objects.count() == before


def test_a_refused_view_leaves_no_row(client, other_patient, file):
    client.force_login(other_patient.user)
    before = AccessLog.objects.count()

    response = client.get(file["document"].get_absolute_url())

    assert response.status_code == 404
    assert AccessLog.objects.count() == before
