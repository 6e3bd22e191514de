"""Patient routes of the partner API, under /api/v1/."""

from django.urls import path

from . import api, care_api
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
    path(
        "care-requests/",
        care_api.CareRequestCollectionApi.as_view(),
        name="api-care-requests",
    ),
    path(
        "care-requests/<request_ref:reference>/",
        care_api.CareRequestDetailApi.as_view(),
        name="api-care-request-detail",
    ),
    path(
        "care-requests/<request_ref:reference>/transitions/",
        care_api.CareRequestTransitionApi.as_view(),
        name="api-care-request-transition",
    ),
]
