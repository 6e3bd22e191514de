from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from . import health, pwa, views

urlpatterns = [
    path("", views.home, name="home"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("me/", include("conciergerie.portal.urls")),
    path("manifest.webmanifest", pwa.manifest, name="manifest"),
    path("service-worker.js", pwa.service_worker, name="service-worker"),
    path("offline/", pwa.offline, name="offline"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("accounts/", include("allauth.urls")),
    path("staff/", include("conciergerie.accounts.urls")),
    path(settings.ADMIN_URL, admin.site.urls),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("api/v1/", include("conciergerie.api_urls")),
    path("fhir/r4/", include("conciergerie.fhir.urls")),
    path("patients/", include("patients.urls")),
    path("specialists/", include("specialists.urls")),
    path("appointments/", include("appointments.urls")),
    path("teleconsultations/", include("teleconsult.urls")),
    path("billing/", include("billing.urls")),
    path("reimbursements/", include("reimbursements.urls")),
]

# A database outage answers 503 (with Retry-After); anything else the 500 page.
handler500 = "conciergerie.errors.server_error"
