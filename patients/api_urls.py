"""Patient routes of the partner API, under /api/v1/."""

from django.urls import path

from . import api
from . import urls as _portal_urls  # noqa: F401 - registers the patient_ref converter

urlpatterns = [
    path("patients/", api.PatientCollectionApi.as_view(), name="api-patients"),
    path(
        "patients/<patient_ref:reference>/",
        api.PatientDetailApi.as_view(),
        name="api-patient-detail",
    ),
    path(
        "patients/<patient_ref:reference>/documents/",
        api.PatientDocumentUploadApi.as_view(),
        name="api-patient-documents",
    ),
]
