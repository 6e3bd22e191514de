"""Every `/api/v1/` route, app by app."""

from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from conciergerie.accounts.api import MeApi

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(url_name="api-schema"),
        name="api-docs",
    ),
    path(
        "redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"
    ),
    path("me/", MeApi.as_view(), name="api-me"),
    path("", include("patients.api_urls")),
    path("", include("specialists.api_urls")),
    path("", include("appointments.api_urls")),
    path("", include("teleconsult.api_urls")),
    path("", include("billing.api_urls")),
    path("", include("reimbursements.api_urls")),
    path("", include("conciergerie.notifications.api_urls")),
    path("", include("conciergerie.partners.api_urls")),
]
