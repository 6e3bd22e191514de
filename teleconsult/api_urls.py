from django.urls import URLPattern, URLResolver, path

from . import api

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "teleconsultations/",
        api.TeleconsultationCollectionApi.as_view(),
        name="api-teleconsultations",
    ),
    path(
        "teleconsultations/eligibility/",
        api.TeleconsultationEligibilityApi.as_view(),
        name="api-teleconsultation-eligibility",
    ),
    path(
        "teleconsultations/<uuid:public_id>/",
        api.TeleconsultationDetailApi.as_view(),
        name="api-teleconsultation",
    ),
]
